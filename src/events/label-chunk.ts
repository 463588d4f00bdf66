/**
 * A chunk of `fraud-labels` messages decoded and held to the label bounds: the labels to apply,
 * and the dead letters (oversized, undecodable, invalid) with their reasons. One home for the
 * label pipeline and the audit sink's label consumer, which must treat a label alike.
 */
import type { KafkaMessage } from 'kafkajs';
import { DecodeError, type AvroCodecs } from './codec.js';
import type { LabelEvent } from './types.js';

export interface LabelChunkOptions {
  codecs: AvroCodecs;
  maxMessageBytes: number;
  /** A DLQ reason for a decoded label that breaks the bounds, or null. */
  validate: (l: LabelEvent, now: number) => string | null;
}

/** A message to dead-letter, and why (the shape of kafka/dead-letter.ts's DeadLetter). */
export interface RefusedLabel {
  reason: string;
  message: KafkaMessage;
}

export async function decodeLabelChunk(
  messages: readonly KafkaMessage[],
  o: LabelChunkOptions,
  now: number = Date.now(),
): Promise<{ labels: LabelEvent[]; dead: RefusedLabel[] }> {
  const labels: LabelEvent[] = [];
  const dead: RefusedLabel[] = [];
  for (const m of messages) {
    if (m.value && m.value.length > o.maxMessageBytes) {
      dead.push({ reason: 'oversized_payload', message: m });
      continue;
    }
    try {
      const l = await o.codecs.decodeLabel(m.value);
      const invalid = o.validate(l, now);
      if (invalid) dead.push({ reason: invalid, message: m });
      else labels.push(l);
    } catch (err) {
      // Anything but a decoding failure is the handler's (the loop retries, then crashes).
      if (!(err instanceof DecodeError)) throw err;
      dead.push({ reason: err.reason, message: m });
    }
  }
  return { labels, dead };
}
