/**
 * The Kafka edge of the audit sink: a consumer group of its own reads `decisions` per fetched
 * batch, decodes them (Avro through the registry), writes them to PostgreSQL in one statement
 * per chunk, and commits the offsets only once the rows are committed. At-least-once: a crash
 * before the offset commit re-delivers, and the insert ignores rows already stored.
 *
 * A write that fails (PostgreSQL away) is retried with back-off while the sink runs, holding the
 * partition; a message that cannot be decoded is counted, logged with its offset and skipped.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { AvroCodecs } from '../../events/codec.js';
import { DecodeError } from '../../events/codec.js';
import type { Decision } from '../../events/types.js';
import type { AuditMetrics } from './metrics.js';
import type { AuditInput, AuditWriter } from './writer.js';

export interface AuditRunnerOptions {
  consumer: Consumer;
  codecs: AvroCodecs;
  writer: AuditWriter;
  topic: string;
  log: Logger;
  metrics: AuditMetrics;
  /** Most decisions per INSERT (default 1000). */
  maxRows?: number;
  partitionsConsumedConcurrently?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KafkaAuditRunner {
  private assigned = 0;
  private running = false;
  /** Messages consumed and committed (written, duplicates and skipped). */
  consumed = 0;
  written = 0;
  duplicates = 0;
  skipped = 0;

  constructor(private readonly o: AuditRunnerOptions) {}

  get isAssigned(): boolean { return this.assigned > 0; }
  get isRunning(): boolean { return this.running; }

  async start(): Promise<void> {
    const { consumer, topic, log } = this.o;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const mine = (e.payload.memberAssignment[topic] ?? []) as number[];
      this.assigned = mine.length;
      log.info({ partitions: mine }, 'audit sink joined consumer group');
    });
    consumer.on(consumer.events.CRASH, (e) => log.error({ err: e.payload.error, restart: e.payload.restart }, 'audit consumer crashed'));
    await consumer.subscribe({ topic, fromBeginning: true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Stops fetching; the batch in flight finishes (rows, then offsets) before the group is left. */
  async stop(): Promise<void> {
    this.running = false;
    await this.o.consumer.disconnect();
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const { metrics } = this.o;
    const maxRows = this.o.maxRows ?? 1000;
    const lag = (nextOffset: bigint) => {
      const hw = BigInt(batch.highWatermark);
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(hw > nextOffset ? hw - nextOffset : 0n));
    };
    lag(BigInt(batch.firstOffset() ?? batch.highWatermark));
    for (let start = 0; start < batch.messages.length; start += maxRows) {
      if (!p.isRunning() || p.isStale()) return;
      const t0 = performance.now();
      const chunk = batch.messages.slice(start, start + maxRows);
      const rows = await this.decode(batch.topic, batch.partition, chunk);
      if (!(await this.writeWithRetry(rows, p))) return;
      const last = chunk[chunk.length - 1]!.offset;
      const next = BigInt(last) + 1n;
      p.resolveOffset(last);
      await this.o.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next.toString() }]);
      this.consumed += chunk.length;
      metrics.batchLatency.observe(performance.now() - t0);
      lag(next);
      await p.heartbeat();
    }
  }

  private async decode(topic: string, partition: number, messages: EachBatchPayload['batch']['messages']): Promise<AuditInput[]> {
    const rows: AuditInput[] = [];
    for (const m of messages) {
      try {
        rows.push({ decision: await this.o.codecs.decode<Decision>(m.value), partition, offset: m.offset });
      } catch (err) {
        const reason = err instanceof DecodeError ? err.reason : 'decode_error';
        this.o.metrics.skipped.inc({ reason });
        this.skipped++;
        this.o.log.error({ topic, partition, offset: m.offset, reason, err: (err as Error).message }, 'audit: undecodable decision skipped');
      }
    }
    return rows;
  }

  /** True once written; false when the sink stopped before the write succeeded (nothing committed). */
  private async writeWithRetry(rows: AuditInput[], p: EachBatchPayload): Promise<boolean> {
    const { metrics, log } = this.o;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.o.writer.write(rows);
        metrics.rows.inc(r.inserted);
        metrics.duplicates.inc(r.duplicates);
        metrics.batchRows.observe(rows.length);
        this.written += r.inserted;
        this.duplicates += r.duplicates;
        return true;
      } catch (err) {
        metrics.writeErrors.inc();
        const wait = Math.min(200 * 2 ** attempt, 5000);
        log.warn({ err: (err as Error).message, rows: rows.length, attempt, retryInMs: wait }, 'audit: write failed, retrying');
        if (!this.running || !p.isRunning()) return false;
        await sleep(wait);
        await p.heartbeat().catch(() => undefined);
        if (!this.running || !p.isRunning() || p.isStale()) return false;
      }
    }
  }
}
