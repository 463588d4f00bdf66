/**
 * Bulk verdicts: one verdict on several open cases of one card (a card's burst of reviews is
 * usually one story). Each case is decided in its own transaction (verdict + outbox label +
 * action log, as ./verdicts.ts), so one case held by another analyst or decided meanwhile is
 * skipped with its reason while the others are decided.
 */
import type pg from 'pg';
import type { Queryable } from '../storage/pool.js';
import { CaseError } from './errors.js';
import { checkVerdict, giveVerdict, type Verdict, type VerdictResult } from './verdicts.js';

export interface RelatedCase {
  authId: string;
  eventTime: string;
  score: number | null;
  claimedBy: string | null;
}

/** The card's open review cases (no closing verdict), oldest first, with their live claim. */
export async function openCasesOfCard(db: Queryable, cardToken: string, limit = 200): Promise<RelatedCase[]> {
  const res = await db.query<{ auth_id: string; event_time: Date; score: number | null; claimed_by: string | null }>(
    `SELECT a.auth_id, a.event_time, a.score, c.claimed_by
       FROM decision_audit a
       LEFT JOIN case_claims c ON c.auth_id = a.auth_id AND c.expires_at > now()
      WHERE a.card_token = $1 AND a.outcome = 'REVIEW'
        AND NOT EXISTS (SELECT 1 FROM case_verdicts v WHERE v.auth_id = a.auth_id AND v.verdict <> 'escalate')
      ORDER BY a.event_time, a.auth_id LIMIT $2`,
    [cardToken, limit],
  );
  return res.rows.map((r) => ({
    authId: r.auth_id,
    eventTime: r.event_time.toISOString(),
    score: r.score,
    claimedBy: r.claimed_by,
  }));
}

export interface BulkInput {
  cardToken: string;
  authIds: readonly string[];
  by: string;
  verdict: Verdict;
  note: string;
  topic: string;
  claimTtlMs: number;
  /** The case page the bulk verdict was given from. */
  bulkOf: string;
}

export interface BulkResult {
  decided: VerdictResult[];
  skipped: { authId: string; reason: string }[];
}

/** Decides each of `authIds` (all of them open cases of `cardToken`); the rest are skipped with their reason. */
export async function bulkVerdict(pool: pg.Pool, b: BulkInput): Promise<BulkResult> {
  checkVerdict(b.verdict, b.note);
  if (b.authIds.length === 0) throw new CaseError('invalid', 'Choose at least one case for the bulk verdict.');
  const open = new Set((await openCasesOfCard(pool, b.cardToken, 1000)).map((c) => c.authId));
  const out: BulkResult = { decided: [], skipped: [] };
  for (const authId of new Set(b.authIds)) {
    if (!open.has(authId)) {
      out.skipped.push({ authId, reason: 'not an open case of this card' });
      continue;
    }
    try {
      out.decided.push(
        await giveVerdict(pool, {
          authId,
          by: b.by,
          verdict: b.verdict,
          note: b.note,
          topic: b.topic,
          claimTtlMs: b.claimTtlMs,
          ...(authId === b.bulkOf ? {} : { bulkOf: b.bulkOf }),
        }),
      );
    } catch (err) {
      if (!(err instanceof CaseError)) throw err;
      out.skipped.push({ authId, reason: err.message });
    }
  }
  return out;
}
