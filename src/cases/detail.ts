/**
 * Everything a case page (and a decision's detail page) shows about one authorization: the
 * stored decision, its features beside the customer's usual behaviour (the median of each
 * feature over their recent audited decisions before this one), the card's, customer's and
 * terminal's decisions around it as timelines, the verdicts and the live claim. A few indexed
 * queries (migrations 010 and 013), run together.
 */
import { getDecision, type AuditRecord } from '../sinks/audit/queries.js';
import type { Queryable } from '../storage/pool.js';
import { liveClaim, type Claim } from './claims.js';
import { openCasesOfCard, type RelatedCase } from './bulk.js';
import { verdictsOf, type Verdict, type VerdictRecord } from './verdicts.js';

/** How many of the customer's earlier decisions make up their usual behaviour. */
export const BASELINE_DECISIONS = 50;
/** Decisions shown on each side of the case in a timeline. */
export const TIMELINE_EACH_SIDE = 8;

export interface FeatureBaseline {
  feature: string;
  value: number | null;
  /** Median over the customer's earlier decisions; null when none had the feature. */
  median: number | null;
  /** How many earlier decisions had the feature. */
  n: number;
}

export interface TimelineEntry {
  authId: string;
  eventTime: string;
  outcome: string;
  score: number | null;
  amountMinor: number | null;
  currency: string | null;
  /** The closing verdict, when the decision was a case that has been decided. */
  verdict: Verdict | null;
}

export type TimelineEntity = 'card' | 'customer' | 'terminal';

export interface CaseDetail {
  record: AuditRecord;
  /** Whether the decision is a review case. */
  isCase: boolean;
  baseline: FeatureBaseline[];
  /** Whose decisions the baseline came from. */
  baselineOf: 'customer' | 'card';
  timelines: { entity: TimelineEntity; id: string; entries: TimelineEntry[] }[];
  verdicts: VerdictRecord[];
  claim: Claim | null;
  /** The card's other open cases (for a bulk verdict). */
  related: RelatedCase[];
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const COLUMN: Record<TimelineEntity, string> = { card: 'card_token', customer: 'customer_id', terminal: 'terminal_id' };

async function timeline(db: Queryable, entity: TimelineEntity, id: string, at: Date): Promise<TimelineEntry[]> {
  const col = COLUMN[entity];
  const res = await db.query<{
    auth_id: string;
    event_time: Date;
    outcome: string;
    score: number | null;
    amount_minor: string | null;
    currency: string | null;
    verdict: Verdict | null;
  }>(
    `SELECT t.*, (SELECT v.verdict FROM case_verdicts v WHERE v.auth_id = t.auth_id AND v.verdict <> 'escalate') AS verdict
       FROM ((SELECT auth_id, event_time, outcome, score, amount_minor::text AS amount_minor, currency FROM decision_audit
               WHERE ${col} = $1 AND event_time <= $2 ORDER BY event_time DESC LIMIT $3)
             UNION ALL
             (SELECT auth_id, event_time, outcome, score, amount_minor::text, currency FROM decision_audit
               WHERE ${col} = $1 AND event_time > $2 ORDER BY event_time LIMIT $3)) t
      ORDER BY t.event_time DESC, t.auth_id`,
    [id, at, TIMELINE_EACH_SIDE],
  );
  return res.rows.map((r) => ({
    authId: r.auth_id,
    eventTime: r.event_time.toISOString(),
    outcome: r.outcome,
    score: r.score,
    amountMinor: r.amount_minor === null ? null : Number(r.amount_minor),
    currency: r.currency,
    verdict: r.verdict,
  }));
}

async function baselineOf(
  db: Queryable,
  rec: AuditRecord,
): Promise<{ of: 'customer' | 'card'; rows: FeatureBaseline[] }> {
  const customer = rec.context?.customer_id;
  const [col, id, of] = customer
    ? (['customer_id', customer, 'customer'] as const)
    : (['card_token', rec.card_token, 'card'] as const);
  const res = await db.query<{ features: Record<string, number | null> }>(
    `SELECT features FROM decision_audit WHERE ${col} = $1 AND event_time < $2 ORDER BY event_time DESC LIMIT $3`,
    [id, rec.event_time, BASELINE_DECISIONS],
  );
  const rows = Object.entries(rec.features).map(([feature, value]) => {
    const xs = res.rows.map((r) => r.features[feature]).filter((x): x is number => typeof x === 'number');
    return { feature, value, median: median(xs), n: xs.length };
  });
  return { of, rows };
}

/** The detail of one authorization, or null when the audit trail has no decision for it. */
export async function caseDetail(db: Queryable, authId: string): Promise<CaseDetail | null> {
  const record = await getDecision(db, authId);
  if (!record) return null;
  const at = new Date(record.event_time);
  const ctx = record.context;
  const entities: [TimelineEntity, string | null | undefined][] = [
    ['card', record.card_token],
    ['customer', ctx?.customer_id],
    ['terminal', ctx?.terminal_id],
  ];
  const isCase = record.outcome === 'REVIEW';
  const [baseline, timelines, verdicts, claim, related] = await Promise.all([
    baselineOf(db, record),
    Promise.all(
      entities
        .filter((e): e is [TimelineEntity, string] => typeof e[1] === 'string' && e[1].length > 0)
        .map(async ([entity, id]) => ({ entity, id, entries: await timeline(db, entity, id, at) })),
    ),
    verdictsOf(db, authId),
    liveClaim(db, authId),
    isCase ? openCasesOfCard(db, record.card_token, 50) : Promise.resolve([]),
  ]);
  return {
    record,
    isCase,
    baseline: baseline.rows,
    baselineOf: baseline.of,
    timelines,
    verdicts,
    claim,
    related: related.filter((r) => r.authId !== authId),
  };
}
