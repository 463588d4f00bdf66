/**
 * The audit sink's second consumer, a handler of the shared batch loop (src/kafka/batch-loop.ts):
 * a consumer group of its own (`<audit group>-labels`) reads `fraud-labels` (chargebacks, analyst
 * verdicts), decodes them (only the topic's own schema ids), validates them as the label pipeline
 * does, and upserts each chunk into label_audit in one statement; the loop commits the offsets
 * once the rows are committed. At-least-once: a redelivered label changes nothing.
 *
 * PostgreSQL away: the write is retried with back-off, holding the partition. A label that cannot
 * be decoded, is invalid, or that PostgreSQL refuses alone `maxAttempts` times goes to the sink's
 * dead-letter topic (the decisions' one: `dlq.source` names the labels topic) with the reason.
 */
import type { Consumer, ConsumerConfig, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { EngineConfig } from '../../config/config.js';
import type { AvroCodecs } from '../../events/codec.js';
import { decodeLabelChunk } from '../../events/label-chunk.js';
import type { LabelEvent } from '../../events/types.js';
import { LoopRunner, reasonLabel, wiredLoop, type ChunkResult, type LoopChunk } from '../../kafka/batch-loop.js';
import type { LabelAuditWriter } from './label-writer.js';
import type { AuditMetrics } from './metrics.js';
import { auditConsumerConfig, writeFailedReason } from './runner.js';

export interface LabelAuditRunnerOptions {
  consumer: Consumer;
  producer: Producer;
  codecs: AvroCodecs;
  writer: LabelAuditWriter;
  /** The labels topic (kafka.topic_labels). */
  topic: string;
  /** The sink's dead-letter topic (kafka.topic_audit_dlq). */
  dlq: string;
  log: Logger;
  metrics: AuditMetrics;
  /**
   * The label pipeline's validation (a DLQ reason, or null): passed in by the composition root,
   * so that the sink holds labels to the very same bounds without depending on the pipeline.
   */
  validate: (l: LabelEvent, now: number) => string | null;
  maxMessageBytes: number;
  /** Times PostgreSQL may refuse a label alone before it is dead-lettered (default 3). */
  maxAttempts?: number;
  probe: () => Promise<void>;
  onFatal?: (err: Error) => void;
}

/** The labels consumer's settings: the audit group (default `<kafka.group_id>-audit`) + `-labels`. */
export function labelAuditConsumerConfig(cfg: EngineConfig, auditGroupId?: string): ConsumerConfig {
  const base = auditConsumerConfig(cfg, auditGroupId);
  return { ...base, groupId: `${base.groupId}-labels` };
}

export class KafkaLabelAuditRunner extends LoopRunner {
  /** Labels consumed and committed (stored, unchanged and dead-lettered). */
  consumed = 0;
  stored = 0;
  unchanged = 0;

  constructor(private readonly o: LabelAuditRunnerOptions) {
    super({
      name: 'audit-labels',
      ...wiredLoop(o, o.topic, o.dlq, o.maxMessageBytes),
      maxChunk: 1000,
      partitionsConsumedConcurrently: 1,
      maxAttempts: o.maxAttempts ?? 3,
      handlerBudgetMs: 60_000,
      probe: o.probe,
      reasonFor: writeFailedReason('label_write_failed'),
      onDeadLetter: (reason) => o.metrics.skipped.inc({ reason: `label:${reasonLabel(reason)}` }),
    });
  }

  /** Labels dead-lettered (undecodable, invalid, refused by PostgreSQL). */
  get skipped(): number {
    return this.deadLettered;
  }

  counts(): { consumed: number; stored: number; unchanged: number; skipped: number } {
    return { consumed: this.consumed, stored: this.stored, unchanged: this.unchanged, skipped: this.skipped };
  }

  protected async handle(chunk: LoopChunk): Promise<ChunkResult> {
    const { labels, dead } = await decodeLabelChunk(chunk.messages, this.o);
    try {
      const r = await this.o.writer.write(labels);
      if (r.storedFraud) this.o.metrics.labels.inc({ fraud: 'true' }, r.storedFraud);
      if (r.stored - r.storedFraud) this.o.metrics.labels.inc({ fraud: 'false' }, r.stored - r.storedFraud);
      this.o.metrics.labelDuplicates.inc(r.unchanged);
      this.stored += r.stored;
      this.unchanged += r.unchanged;
    } catch (err) {
      this.o.metrics.writeErrors.inc();
      throw err;
    }
    this.consumed += chunk.messages.length;
    return { dead };
  }
}
