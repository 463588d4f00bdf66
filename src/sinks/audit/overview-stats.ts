/**
 * The console overview's figures from the audit trail: decisions of the last hour and 24 hours
 * by outcome (and how many were degraded), a per-minute series of the last hour, the top rule
 * hits, the score distribution and the versions in force on the newest decision (the review
 * queue's figures come from src/cases/queue.ts, which knows which cases are decided). Windows are on event_time, so
 * only the last day's partitions are read (migration 012 indexes the slices). The row → figure
 * mapping is pure and exported for tests.
 */
import type { Queryable } from '../../storage/pool.js';
import type { Outcome } from '../../events/types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Score histogram: ten buckets of 0.1 over [0, 1]. */
export const SCORE_BUCKETS = 10;
const TOP_RULES = 10;
export const OUTCOMES: readonly Outcome[] = ['APPROVE', 'REVIEW', 'DECLINE'];

export type OutcomeCounts = Record<Outcome, number> & { total: number; degraded: number };

export interface MinuteCounts extends Record<Outcome, number> {
  /** Start of the minute. */
  minute: Date;
}

export interface RuleHitCount {
  rule: string;
  mode: string;
  action: string;
  hits: number;
}

export interface ScoreBucket {
  lo: number;
  hi: number;
  count: number;
}

export interface OverviewStats {
  at: Date;
  lastHour: OutcomeCounts;
  lastDay: OutcomeCounts;
  /** The last 60 minutes, oldest first, the current minute last; minutes without decisions are zero. */
  perMinute: MinuteCounts[];
  /** Last 24 h, most hits first. */
  topRules: RuleHitCount[];
  /** Last 24 h, decisions with a score. */
  scores: ScoreBucket[];
  /** On the newest decision of the last 24 h. */
  versions: { model: string; ruleset: string; at: Date } | null;
}

export interface WindowRow {
  outcome: string;
  hour: string | number;
  day: string | number;
  hour_degraded: string | number;
  day_degraded: string | number;
}

const zeroCounts = (): OutcomeCounts => ({ APPROVE: 0, REVIEW: 0, DECLINE: 0, total: 0, degraded: 0 });
const isOutcome = (s: string): s is Outcome => (OUTCOMES as readonly string[]).includes(s);

/** The hour's and the day's counts from one row per outcome (count(*) arrives as a string). */
export function windowCountsOf(rows: WindowRow[]): { lastHour: OutcomeCounts; lastDay: OutcomeCounts } {
  const lastHour = zeroCounts();
  const lastDay = zeroCounts();
  for (const r of rows) {
    if (!isOutcome(r.outcome)) continue;
    lastHour[r.outcome] += Number(r.hour);
    lastDay[r.outcome] += Number(r.day);
    lastHour.total += Number(r.hour);
    lastDay.total += Number(r.day);
    lastHour.degraded += Number(r.hour_degraded);
    lastDay.degraded += Number(r.day_degraded);
  }
  return { lastHour, lastDay };
}

/** Start of the minute of `now`. */
const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** The first minute of the per-minute series that ends with the minute of `now`. */
export function seriesStart(now: Date): Date {
  return new Date(minuteOf(now.getTime()) - 59 * MINUTE_MS);
}

/** Sixty minutes ending with the minute of `now`, zero-filled, from (minute epoch-ms, outcome, n) rows. */
export function minuteSeriesOf(
  rows: { minute_ms: string | number; outcome: string; n: string | number }[],
  now: Date,
): MinuteCounts[] {
  const start = seriesStart(now).getTime();
  const series: MinuteCounts[] = Array.from({ length: 60 }, (_, i) => ({
    minute: new Date(start + i * MINUTE_MS),
    APPROVE: 0,
    REVIEW: 0,
    DECLINE: 0,
  }));
  for (const r of rows) {
    const i = Math.round((Number(r.minute_ms) - start) / MINUTE_MS);
    const slot = series[i];
    if (slot && isOutcome(r.outcome)) slot[r.outcome] += Number(r.n);
  }
  return series;
}

/** Ten buckets of 0.1 from (bucket 1..10, n) rows; missing buckets are zero. */
export function scoreBucketsOf(rows: { bucket: string | number; n: string | number }[]): ScoreBucket[] {
  const out: ScoreBucket[] = Array.from({ length: SCORE_BUCKETS }, (_, i) => ({
    lo: i / SCORE_BUCKETS,
    hi: (i + 1) / SCORE_BUCKETS,
    count: 0,
  }));
  for (const r of rows) {
    const b = out[Number(r.bucket) - 1];
    if (b) b.count += Number(r.n);
  }
  return out;
}

/**
 * Reads every figure of the overview: five queries at once, so `db` should be a pool (one client
 * would queue them). Over a million audit rows in the day: 1.6 s when run one after another on a
 * loaded 2-core machine (the day's counts and the score histogram are the two full scans).
 */
export async function overviewStats(db: Queryable, o: { now?: Date } = {}): Promise<OverviewStats> {
  const now = o.now ?? new Date();
  const dayAgo = new Date(now.getTime() - DAY_MS);
  const hourAgo = new Date(now.getTime() - HOUR_MS);
  const [windows, minutes, rules, scores, latest] = await Promise.all([
    db.query<WindowRow>(
      `SELECT outcome,
              count(*) FILTER (WHERE event_time >= $2) AS hour,
              count(*) AS day,
              count(*) FILTER (WHERE event_time >= $2 AND cardinality(degraded) > 0) AS hour_degraded,
              count(*) FILTER (WHERE cardinality(degraded) > 0) AS day_degraded
         FROM decision_audit WHERE event_time >= $1 AND event_time <= $3 GROUP BY outcome`,
      [dayAgo, hourAgo, now],
    ),
    db.query<{ minute_ms: string; outcome: string; n: string }>(
      `SELECT (floor(extract(epoch FROM event_time) / 60) * 60000)::bigint AS minute_ms, outcome, count(*) AS n
         FROM decision_audit WHERE event_time >= $1 AND event_time <= $2 GROUP BY 1, 2`,
      [seriesStart(now), now],
    ),
    db.query<{ rule: string; mode: string; action: string; hits: string }>(
      `SELECT h ->> 'rule_id' AS rule, coalesce(h ->> 'mode', '') AS mode, coalesce(h ->> 'action', '') AS action,
              count(*) AS hits
         FROM decision_audit, jsonb_array_elements(rule_hits) AS h
        WHERE event_time >= $1 AND event_time <= $2 AND rule_hits <> '[]'::jsonb
        GROUP BY 1, 2, 3 ORDER BY hits DESC, rule LIMIT ${TOP_RULES}`,
      [dayAgo, now],
    ),
    db.query<{ bucket: number; n: string }>(
      `SELECT greatest(1, least(${SCORE_BUCKETS}, width_bucket(score, 0, 1, ${SCORE_BUCKETS}))) AS bucket, count(*) AS n
         FROM decision_audit WHERE event_time >= $1 AND event_time <= $2 AND score IS NOT NULL GROUP BY 1`,
      [dayAgo, now],
    ),
    db.query<{ model_version: string; ruleset_version: string; event_time: Date }>(
      `SELECT model_version, ruleset_version, event_time FROM decision_audit
        WHERE event_time >= $1 AND event_time <= $2 ORDER BY event_time DESC LIMIT 1`,
      [dayAgo, now],
    ),
  ]);
  const v = latest.rows[0];
  return {
    at: now,
    ...windowCountsOf(windows.rows),
    perMinute: minuteSeriesOf(minutes.rows, now),
    topRules: rules.rows.map((r) => ({ rule: r.rule, mode: r.mode, action: r.action, hits: Number(r.hits) })),
    scores: scoreBucketsOf(scores.rows),
    versions: v ? { model: v.model_version, ruleset: v.ruleset_version, at: v.event_time } : null,
  };
}
