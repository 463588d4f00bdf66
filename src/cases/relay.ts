/**
 * The outbox relay: publishes the labels of label_outbox (written with their verdicts, see
 * ./verdicts.ts) to Kafka and marks them sent. One pass: lock a batch of pending rows of this
 * relay's topic (FOR UPDATE SKIP LOCKED, so several consoles share the work without sending a
 * row twice at once), send them, and only after the broker acknowledged them mark them sent in
 * the same transaction. A failed send rolls back (the rows stay pending), counts the attempt and
 * is retried on the next pass. Delivery is at least once: a crash between the broker's ack and
 * the commit sends a label again, which the label pipeline treats idempotently (by auth id).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { LabelEvent } from '../events/types.js';

/** Where labels go: Kafka in production (./publisher.ts), anything in tests. */
export interface LabelPublisher {
  /** Resolves once the broker acknowledged every message (acks=all); throws otherwise. */
  send(topic: string, messages: readonly { key: string; label: LabelEvent }[]): Promise<void>;
  close(): Promise<void>;
}

export interface RelayOptions {
  /** The topic whose rows this relay publishes (kafka.topic_labels). */
  topic: string;
  /** Pause between passes when idle or after a failure. */
  everyMs?: number;
  batch?: number;
  log?: Logger;
}

export class LabelRelay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private again = false;
  private failures = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly publisher: LabelPublisher,
    private readonly o: RelayOptions,
  ) {}

  /** One pass: publishes up to `batch` pending labels; resolves to how many were sent. Throws when the send failed. */
  async drain(): Promise<number> {
    const client = await this.pool.connect();
    let ids: string[] = [];
    try {
      await client.query('BEGIN');
      const rows = (
        await client.query<{ id: string; message_key: string; label: LabelEvent }>(
          `SELECT id, message_key, label FROM label_outbox
            WHERE topic = $1 AND sent_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [this.o.topic, this.o.batch ?? 100],
        )
      ).rows;
      ids = rows.map((r) => r.id);
      if (rows.length > 0) {
        await this.publisher.send(
          this.o.topic,
          rows.map((r) => ({ key: r.message_key, label: r.label })),
        );
        await client.query(
          `UPDATE label_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])`,
          [ids],
        );
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (ids.length > 0)
        await client
          .query(`UPDATE label_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`, [
            ids,
            String((err as Error).message).slice(0, 500),
          ])
          .catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Labels not yet sent on this relay's topic. */
  async pending(): Promise<number> {
    const res = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM label_outbox WHERE topic = $1 AND sent_at IS NULL`,
      [this.o.topic],
    );
    return Number(res.rows[0]!.n);
  }

  /** Passes every `everyMs` (backing off after failures) until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** A pass now (after a verdict), or right after the one under way. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.publisher.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), ms);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    this.timer = null;
    if (this.running || this.stopped) return;
    const every = this.o.everyMs ?? 1000;
    let next = every;
    this.running = (async () => {
      try {
        const sent = await this.drain();
        this.failures = 0;
        // A full batch: more may be waiting.
        if (sent >= (this.o.batch ?? 100)) next = 0;
      } catch (err) {
        this.failures++;
        next = Math.min(every * 2 ** Math.min(this.failures, 5), 30_000);
        this.o.log?.warn({ err, topic: this.o.topic, failures: this.failures }, 'label outbox: publishing failed');
      }
    })();
    await this.running;
    this.running = null;
    if (this.again) {
      this.again = false;
      next = 0;
    }
    this.schedule(next);
  }
}
