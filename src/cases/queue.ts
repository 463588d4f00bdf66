/**
 * The review queue: every REVIEW decision of the audit trail is a case, oldest first, with its
 * age against the review SLA (console.review_sla_minutes). States: open (no closing verdict;
 * escalated cases stay open), claimed (open and held by someone now), decided (closed by a
 * fraud or legitimate verdict, newest verdict first). Served by the partial index of 013 on
 * REVIEW decisions and the anti-join on case_verdicts' closing index.
 */
import type { Queryable } from '../storage/pool.js';
import type { Verdict } from './verdicts.js';

export const QUEUE_STATES = ['open', 'claimed', 'decided'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueCase {
  authId: string;
  eventTime: string;
  cardToken: string;
  score: number | null;
  reasons: string[];
  amountMinor: number | null;
  currency: string | null;
  /** Milliseconds since the authorization (at the time of the query). */
  ageMs: number;
  overdue: boolean;
  claimedBy: string | null;
  claimExpiresAt: string | null;
  /** The latest verdict: escalate for an open case, fraud / legitimate for a decided one. */
  verdict: Verdict | null;
  decidedBy: string | null;
  decidedAt: string | null;
}

export interface QueueCounts {
  open: number;
  overdue: number;
  claimed: number;
  /** Age of the oldest open case, ms; null when the queue is empty. */
  oldestAgeMs: number | null;
}

export interface QueuePage {
  cases: QueueCase[];
  counts: QueueCounts;
}

interface QueueRow {
  auth_id: string;
  event_time: Date;
  card_token: string;
  score: number | null;
  reasons: string[];
  amount_minor: string | null;
  currency: string | null;
  age_ms: number;
  claimed_by: string | null;
  claim_expires_at: Date | null;
  verdict: Verdict | null;
  decided_by: string | null;
  decided_at: Date | null;
}

const OPEN = `a.outcome = 'REVIEW'
  AND NOT EXISTS (SELECT 1 FROM case_verdicts v WHERE v.auth_id = a.auth_id AND v.verdict <> 'escalate')`;

const SELECT = `a.auth_id, a.event_time, a.card_token, a.score, a.reasons, a.amount_minor::text AS amount_minor, a.currency,
  (extract(epoch FROM now() - a.event_time) * 1000)::float8 AS age_ms,
  c.claimed_by, c.expires_at AS claim_expires_at`;

const LATEST_VERDICT = `LEFT JOIN LATERAL (
    SELECT v.verdict, v.decided_by, v.decided_at FROM case_verdicts v WHERE v.auth_id = a.auth_id ORDER BY v.id DESC LIMIT 1
  ) lv ON true`;

function sqlOf(state: QueueState): string {
  const claims = `LEFT JOIN case_claims c ON c.auth_id = a.auth_id AND c.expires_at > now()`;
  if (state === 'decided')
    // The latest closing verdicts first (their own index), then each one's audit row by its key.
    return `SELECT ${SELECT}, top.verdict, top.decided_by, top.decided_at
      FROM (SELECT v.id, v.auth_id, v.event_time, v.verdict, v.decided_by, v.decided_at FROM case_verdicts v
             WHERE v.verdict <> 'escalate' ORDER BY v.decided_at DESC, v.id DESC LIMIT $1) top
      JOIN LATERAL (SELECT * FROM decision_audit d WHERE d.auth_id = top.auth_id AND d.event_time = top.event_time LIMIT 1) a ON true
      ${claims}
      ORDER BY top.decided_at DESC, top.id DESC`;
  return `SELECT ${SELECT}, lv.verdict, lv.decided_by, lv.decided_at
    FROM decision_audit a
    ${state === 'claimed' ? `JOIN case_claims c ON c.auth_id = a.auth_id AND c.expires_at > now()` : claims}
    ${LATEST_VERDICT}
    WHERE ${OPEN}
    ORDER BY a.event_time, a.auth_id LIMIT $1`;
}

/** The cases of one state (oldest first; decided: newest verdict first) and the open queue's counts. */
export async function listQueue(
  db: Queryable,
  o: { state?: QueueState; limit?: number; slaMs: number },
): Promise<QueuePage> {
  const state = o.state ?? 'open';
  const [rows, counts] = await Promise.all([
    db.query<QueueRow>(sqlOf(state), [Math.min(Math.max(o.limit ?? 100, 1), 500)]),
    queueCounts(db, o.slaMs),
  ]);
  return {
    counts,
    cases: rows.rows.map((r) => ({
      authId: r.auth_id,
      eventTime: r.event_time.toISOString(),
      cardToken: r.card_token,
      score: r.score,
      reasons: r.reasons,
      amountMinor: r.amount_minor === null ? null : Number(r.amount_minor),
      currency: r.currency,
      ageMs: r.age_ms,
      overdue: state !== 'decided' && r.age_ms > o.slaMs,
      claimedBy: r.claimed_by,
      claimExpiresAt: r.claim_expires_at?.toISOString() ?? null,
      verdict: r.verdict,
      decidedBy: r.decided_by,
      decidedAt: r.decided_at?.toISOString() ?? null,
    })),
  };
}

/** Depth and age of the open queue: how many, how many past the SLA, how many claimed, the oldest. */
export async function queueCounts(db: Queryable, slaMs: number): Promise<QueueCounts> {
  const res = await db.query<{ open: string; overdue: string; claimed: string; oldest_ms: number | null }>(
    `SELECT count(*) AS open,
            count(*) FILTER (WHERE a.event_time < now() - $1 * interval '1 millisecond') AS overdue,
            count(c.auth_id) AS claimed,
            (extract(epoch FROM now() - min(a.event_time)) * 1000)::float8 AS oldest_ms
       FROM decision_audit a
       LEFT JOIN case_claims c ON c.auth_id = a.auth_id AND c.expires_at > now()
      WHERE ${OPEN}`,
    [slaMs],
  );
  const r = res.rows[0]!;
  return { open: Number(r.open), overdue: Number(r.overdue), claimed: Number(r.claimed), oldestAgeMs: r.oldest_ms };
}
