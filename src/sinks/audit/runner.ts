/**
 * The Kafka edge of the audit sink, a handler of the shared batch loop (src/kafka/batch-loop.ts):
 * a consumer group of its own reads `decisions`, decodes them (only the topic's own schema ids),
 * validates them, writes each chunk to PostgreSQL in one statement, and the loop commits the
 * offsets once the rows are committed. At-least-once: a crash before the offset commit
 * re-delivers, and the insert ignores rows already stored.
 *
 * PostgreSQL away: the write is retried with back-off, holding the partition (and /readyz says
 * so). A decision that cannot be decoded, is invalid, or that PostgreSQL refuses alone
 * `maxAttempts` times goes to the sink's own dead-letter topic with the reason; the partition
 * moves on.
 */
import type { Consumer, ConsumerConfig, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { EngineConfig } from '../../config/config.js';
import { DecodeError, type AvroCodecs } from '../../events/codec.js';
import { LoopRunner, reasonLabel, wiredLoop, type ChunkResult, type LoopChunk } from '../../kafka/batch-loop.js';
import type { DeadLetter } from '../../kafka/dead-letter.js';
import { msToSeconds } from '../../observability/metrics.js';
import type { AuditMetrics } from './metrics.js';
import { validateDecision } from './validate.js';
import type { AuditInput, AuditWriter } from './writer.js';

export interface AuditRunnerOptions {
  consumer: Consumer;
  producer: Producer;
  codecs: AvroCodecs;
  writer: AuditWriter;
  topic: string;
  /** The sink's dead-letter topic. */
  dlq: string;
  log: Logger;
  metrics: AuditMetrics;
  /** Most decisions per INSERT (default 1000). */
  maxRows?: number;
  /** Times PostgreSQL may refuse a decision alone before it is dead-lettered (default 3). */
  maxAttempts?: number;
  maxMessageBytes?: number;
  partitionsConsumedConcurrently?: number;
  /** Is PostgreSQL answering at all (SELECT 1)? */
  probe: () => Promise<void>;
  onFatal?: (err: Error) => void;
}

/** The audit consumer's settings: the group (default `<kafka.group_id>-audit`) and its timings. */
export function auditConsumerConfig(cfg: EngineConfig, groupId?: string): ConsumerConfig {
  return {
    groupId: groupId ?? `${cfg.kafka.group_id}-audit`,
    maxWaitTimeInMs: 200,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    allowAutoTopicCreation: false,
  };
}

/** The audit runner's topics and bounds from the configuration (`kafka.topic_*`, `engine.*`). */
export function auditRunnerSettingsOf(
  cfg: EngineConfig,
): Pick<AuditRunnerOptions, 'topic' | 'dlq' | 'maxMessageBytes'> {
  return {
    topic: cfg.kafka.topic_decisions,
    dlq: cfg.kafka.topic_audit_dlq,
    maxMessageBytes: cfg.engine.max_message_bytes,
  };
}

/**
 * The dead-letter reason of a row PostgreSQL refused: `<prefix>:<SQLSTATE or error name>`, cut
 * short (a reason is a metric label too).
 */
export function writeFailedReason(prefix: string): (err: unknown) => string {
  return (err) =>
    `${prefix}:${String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error').slice(0, 16)}`;
}

export class KafkaAuditRunner extends LoopRunner {
  /** Messages consumed and committed (written, duplicates and dead-lettered). */
  consumed = 0;
  written = 0;
  duplicates = 0;

  constructor(private readonly o: AuditRunnerOptions) {
    super({
      name: 'audit',
      ...wiredLoop(o, o.topic, o.dlq, o.maxMessageBytes ?? 65_536),
      maxChunk: o.maxRows ?? 1000,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 3,
      maxAttempts: o.maxAttempts ?? 3,
      handlerBudgetMs: 60_000,
      probe: o.probe,
      reasonFor: writeFailedReason('audit_write_failed'),
      onDeadLetter: (reason) => o.metrics.skipped.inc({ reason: reasonLabel(reason) }),
    });
  }

  /** Messages dead-lettered (undecodable, invalid, refused by PostgreSQL). */
  get skipped(): number {
    return this.deadLettered;
  }

  /** The counts so far, for the logs. */
  counts(): { consumed: number; written: number; duplicates: number; skipped: number } {
    return { consumed: this.consumed, written: this.written, duplicates: this.duplicates, skipped: this.skipped };
  }

  /** The readiness checks of /readyz, with PostgreSQL's probe `postgres`. */
  checks(postgres: boolean): Record<string, boolean> {
    return { kafka: this.isRunning, assigned: this.isAssigned, postgres, flowing: this.stalledMs < 60_000 };
  }

  protected async handle(chunk: LoopChunk): Promise<ChunkResult> {
    const { metrics } = this.o;
    const t0 = performance.now();
    const rows: AuditInput[] = [];
    const dead: DeadLetter[] = [];
    for (const m of chunk.messages) {
      try {
        const decision = await this.o.codecs.decodeDecision(m.value);
        const invalid = validateDecision(decision);
        if (invalid) dead.push({ reason: invalid, message: m });
        else rows.push({ decision, partition: chunk.partition, offset: m.offset });
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        dead.push({ reason: err.reason, message: m });
      }
    }
    try {
      const r = await this.o.writer.write(rows);
      metrics.rows.inc(r.inserted);
      metrics.duplicates.inc(r.duplicates);
      metrics.batchRows.observe(rows.length);
      this.written += r.inserted;
      this.duplicates += r.duplicates;
    } catch (err) {
      metrics.writeErrors.inc();
      throw err;
    }
    this.consumed += chunk.messages.length;
    metrics.batchLatency.observe(msToSeconds(performance.now() - t0));
    return { dead };
  }
}
