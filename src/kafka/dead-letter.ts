/**
 * Dead letters: the original message and why it could not be handled, in a topic of its own.
 *
 * The original bytes are kept for a person to look at and to replay, except when that would
 * store a card number: a payload, key or header with anything card-number-shaped in it, or a
 * reason that says so (`pan_*`), is withheld whole (bytes, key and original headers), and the
 * headers say where the original is (`dlq.source`). An oversized payload is not copied either.
 * Every header this module writes is masked too (a reason may quote a value).
 */
import type { IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { bufferContainsPan, containsPan, maskPans } from '../security/pan.js';
import { sendBatchComplete } from './complete-send.js';

export interface DeadLetter {
  /** A code a person can read (`schema_not_allowed`, `invalid_field:currency:not_iso4217`, …). */
  reason: string;
  message: Pick<KafkaMessage, 'key' | 'value' | 'offset'> & { headers?: IHeaders };
}

/** Dead-letter bytes per produce request at most (the broker's default message.max.bytes is 1 MiB). */
const REQUEST_BYTES = 512 * 1024;

function headerHasPan(h: IHeaders[string]): boolean {
  if (h === undefined || h === null) return false;
  if (Array.isArray(h)) return h.some(headerHasPan);
  return typeof h === 'string' ? containsPan(h) : bufferContainsPan(h);
}

/** The DLQ message for one dead letter read from `topic`/`partition`. */
export function deadLetterMessage(d: DeadLetter, topic: string, partition: number, maxPayloadBytes: number): Message {
  const raw = d.message.value;
  const headers = d.message.headers ?? {};
  const oversized = raw !== null && raw.length > maxPayloadBytes;
  const pan =
    /(^|:)pan_/.test(d.reason) ||
    (d.message.key !== null && bufferContainsPan(d.message.key)) ||
    Object.entries(headers).some(([k, h]) => containsPan(k) || headerHasPan(h)) ||
    (!oversized && raw !== null && bufferContainsPan(raw));
  const withheld = pan ? 'withheld:pan_like_content' : oversized ? 'withheld:oversized' : null;
  return {
    key: pan ? null : d.message.key,
    value: withheld ? null : raw,
    headers: {
      ...(pan ? {} : headers),
      'dlq.reason': maskPans(d.reason),
      'dlq.source': `${topic}/${partition}/${d.message.offset}`,
      'dlq.time': new Date().toISOString(),
      ...(withheld ? { 'dlq.payload': withheld } : {}),
      ...(oversized ? { 'dlq.size': String(raw.length) } : {}),
    },
  };
}

/**
 * Messages in requests of bounded size: a partition's record batch over the broker's
 * message.max.bytes fails that partition alone, and kafkajs then rewinds the idempotent
 * sequence numbers of the whole request (out-of-order sequence, a fatal crash).
 */
export function bySize(messages: Message[], maxBytes = REQUEST_BYTES): Message[][] {
  const groups: Message[][] = [];
  let size = Infinity;
  for (const m of messages) {
    const bytes = 64 + (m.value?.length ?? 0) + (m.key?.length ?? 0);
    if (size + bytes > maxBytes) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1]!.push(m);
    size += bytes;
  }
  return groups;
}

/** Where one consumer's dead letters go: a topic, through an idempotent producer, acks=all. */
export class DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    readonly topic: string,
    private readonly maxPayloadBytes: number,
  ) {}

  async send(letters: readonly DeadLetter[], from: { topic: string; partition: number }): Promise<void> {
    if (!letters.length) return;
    const messages = letters.map((d) => deadLetterMessage(d, from.topic, from.partition, this.maxPayloadBytes));
    for (const group of bySize(messages))
      await sendBatchComplete(this.producer, { acks: -1, topicMessages: [{ topic: this.topic, messages: group }] });
  }
}
