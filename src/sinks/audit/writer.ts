/**
 * Writes decisions to `decision_audit` (migration 010_audit) in batches: the partitions of
 * the batch's days are created first (on demand, cached), then the whole batch goes in ONE
 * multi-row INSERT built from column arrays (unnest), ON CONFLICT (auth_id, event_time) DO
 * NOTHING, so a redelivered decision adds no row. The decision's `context` (the authorization's
 * fields, migration 011) fills its own columns, its top factors (migration 014) a jsonb column, the
 * challenger's score and version (migration 015) two columns.
 * One statement = one transaction: when it returns, every row of the batch is committed.
 */
import type pg from 'pg';
import type { Decision } from '../../events/types.js';
import { DAY_MS } from '../../events/time.js';

/**
 * Days given a partition of their own: a window around the clock. Anything else (a replay of
 * old decisions, a bogus event_time) goes to the default partition, so that no message can
 * make the sink create partitions at will (one per day from 2000 to 2100 before).
 */
export const PARTITION_WINDOW = { pastDays: 35, futureDays: 2 };

/** A decoded decision plus where it was read from. */
export interface AuditInput {
  decision: Decision;
  partition?: number;
  offset?: string;
}

const INSERT_SQL = `
INSERT INTO decision_audit (
  auth_id, event_time, card_token, outcome, score, reasons, rule_hits, tags, degraded, features,
  model_version, ruleset_version, decided_time, engine_latency_ms, kafka_partition, kafka_offset,
  customer_id, terminal_id, merchant_id, mcc, amount_minor, currency, channel, country, device_id, factors,
  challenger_score, challenger_version)
SELECT r.auth_id, timestamptz 'epoch' + r.event_ms * interval '1 millisecond', r.card_token, r.outcome, r.score,
  ARRAY(SELECT jsonb_array_elements_text(r.reasons)), r.rule_hits,
  ARRAY(SELECT jsonb_array_elements_text(r.tags)), ARRAY(SELECT jsonb_array_elements_text(r.degraded)), r.features,
  r.model_version, r.ruleset_version, timestamptz 'epoch' + r.decided_ms * interval '1 millisecond', r.latency, r.part, r.off,
  r.ctx ->> 'customer_id', r.ctx ->> 'terminal_id', r.ctx ->> 'merchant_id', r.ctx ->> 'mcc',
  (r.ctx ->> 'amount_minor')::bigint, r.ctx ->> 'currency', r.ctx ->> 'channel', r.ctx ->> 'country', r.ctx ->> 'device_id',
  r.factors, r.ch_score, r.ch_version
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::float8[], $6::jsonb[], $7::jsonb[], $8::jsonb[], $9::jsonb[],
            $10::jsonb[], $11::text[], $12::text[], $13::bigint[], $14::float8[], $15::int[], $16::bigint[], $17::jsonb[],
            $18::jsonb[], $19::float8[], $20::text[])
  AS r(auth_id, event_ms, card_token, outcome, score, reasons, rule_hits, tags, degraded, features,
       model_version, ruleset_version, decided_ms, latency, part, off, ctx, factors, ch_score, ch_version)
ON CONFLICT (auth_id, event_time) DO NOTHING`;

/** PostgreSQL text cannot hold NUL; nothing else is changed. */
export const clean = (s: string): string => (s.includes('\u0000') ? s.split('\u0000').join('') : s);
/** JSON for a jsonb column: JSON escapes a NUL as \u0000, which jsonb refuses, so it is stripped from strings first. */
const jsonb = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? clean(x) : x));
const finite = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Epoch ms of a timestamp-millis field, whether the codec gave a number, a bigint or a Date. */
export function millis(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  throw new TypeError(`not a timestamp: ${String(v)}`);
}

/** `YYYY-MM-DD` (UTC) of an epoch-ms time. */
export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

export interface WriteResult {
  /** Rows inserted by this batch. */
  inserted: number;
  /** Rows already stored (redeliveries), not inserted again. */
  duplicates: number;
}

export class AuditWriter {
  /** Days whose partition exists (true) or that stay in the default partition (false). */
  private readonly days = new Map<string, boolean>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates the partitions of the given days (within PARTITION_WINDOW) that this process has not seen yet. */
  async ensurePartitions(eventTimes: Iterable<number>): Promise<void> {
    const wanted = new Set<string>();
    const today = Math.floor(this.now() / DAY_MS) * DAY_MS;
    const lo = today - PARTITION_WINDOW.pastDays * DAY_MS;
    const hi = today + (PARTITION_WINDOW.futureDays + 1) * DAY_MS;
    for (const t of eventTimes) {
      if (!(t >= lo && t < hi)) continue;
      const day = utcDay(t);
      if (!this.days.has(day)) wanted.add(day);
    }
    if (wanted.size === 0) return;
    const res = await this.pool.query<{ day: string; ok: boolean }>(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day, decision_audit_ensure_partition(d) AS ok FROM unnest($1::date[]) AS d`,
      [[...wanted]],
    );
    for (const r of res.rows) this.days.set(r.day, r.ok);
  }

  /** Partition days this writer created or found, and whether each has its own partition. */
  get knownDays(): ReadonlyMap<string, boolean> {
    return this.days;
  }

  async write(batch: readonly AuditInput[]): Promise<WriteResult> {
    if (batch.length === 0) return { inserted: 0, duplicates: 0 };
    const n = batch.length;
    const cols = {
      auth: new Array<string>(n),
      event: new Array<number>(n),
      card: new Array<string>(n),
      outcome: new Array<string>(n),
      score: new Array<number | null>(n),
      reasons: new Array<string>(n),
      hits: new Array<string>(n),
      tags: new Array<string>(n),
      degraded: new Array<string>(n),
      features: new Array<string>(n),
      model: new Array<string>(n),
      ruleset: new Array<string>(n),
      decided: new Array<number>(n),
      latency: new Array<number | null>(n),
      part: new Array<number | null>(n),
      off: new Array<string | null>(n),
      context: new Array<string | null>(n),
      factors: new Array<string | null>(n),
      chScore: new Array<number | null>(n),
      chVersion: new Array<string | null>(n),
    };
    for (let i = 0; i < n; i++) {
      const { decision: d, partition, offset } = batch[i]!;
      cols.auth[i] = clean(d.auth_id);
      cols.event[i] = millis(d.event_time);
      cols.card[i] = clean(d.card_token);
      cols.outcome[i] = d.outcome;
      cols.score[i] = finite(d.score);
      cols.reasons[i] = jsonb(d.reasons ?? []);
      cols.hits[i] = jsonb(d.rule_hits ?? []);
      cols.tags[i] = jsonb(d.tags ?? []);
      cols.degraded[i] = jsonb(d.degraded ?? []);
      // JSON.stringify turns NaN / Infinity into null: the snapshot stays valid jsonb.
      cols.features[i] = jsonb(d.features ?? {});
      cols.model[i] = clean(d.model_version);
      cols.ruleset[i] = clean(d.ruleset_version);
      cols.decided[i] = millis(d.decided_time);
      cols.latency[i] = finite(d.engine_latency_ms);
      cols.part[i] = partition ?? null;
      cols.off[i] = offset ?? null;
      // The authorization's fields (decisions without them: NULL columns); an amount is a long,
      // which the codec may give as a bigint that JSON cannot hold.
      cols.context[i] = d.context ? jsonb({ ...d.context, amount_minor: Number(d.context.amount_minor) }) : null;
      // The model's top factors (decisions without them: NULL); a non-finite number becomes null.
      cols.factors[i] = d.factors ? jsonb(d.factors) : null;
      cols.chScore[i] = finite(d.challenger_score);
      cols.chVersion[i] = d.challenger_version ? clean(d.challenger_version) : null;
    }
    await this.ensurePartitions(cols.event);
    const res = await this.pool.query(INSERT_SQL, [
      cols.auth,
      cols.event,
      cols.card,
      cols.outcome,
      cols.score,
      cols.reasons,
      cols.hits,
      cols.tags,
      cols.degraded,
      cols.features,
      cols.model,
      cols.ruleset,
      cols.decided,
      cols.latency,
      cols.part,
      cols.off,
      cols.context,
      cols.factors,
      cols.chScore,
      cols.chVersion,
    ]);
    const inserted = res.rowCount ?? 0;
    return { inserted, duplicates: n - inserted };
  }
}
