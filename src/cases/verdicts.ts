/**
 * An analyst's verdict on a case: fraud, legitimate or escalate, with a note. In ONE
 * transaction: the analyst takes (or already holds) the case's claim, the verdict row is
 * appended (table case_verdicts: who, when, what), the label for `fraud-labels` (source
 * `analyst`) goes into the outbox (label_outbox, published by ./relay.ts), the claim is
 * released and the action log records it. A Kafka outage therefore loses no label, and a
 * verdict never exists without its label (or the label without its verdict).
 * Escalate publishes nothing: it hands the case on, and a closing verdict may follow.
 */
import type pg from 'pg';
import type { LabelEvent } from '../events/types.js';
import { recordAction } from '../identity/action-log.js';
import { containsPan } from '../security/pan.js';
import { inTransaction, type Queryable } from '../storage/pool.js';
import { takeClaim } from './claims.js';
import { CaseError } from './errors.js';

export const VERDICTS = ['fraud', 'legitimate', 'escalate'] as const;
export type Verdict = (typeof VERDICTS)[number];
export const MAX_NOTE = 2000;
export const LABEL_SOURCE = 'analyst';

export interface VerdictInput {
  authId: string;
  by: string;
  verdict: Verdict;
  note: string;
  /** The labels topic the label is published to (kafka.topic_labels). */
  topic: string;
  /** The claim's length while the verdict is written (console.claim_ttl_minutes). */
  claimTtlMs: number;
  /** A bulk verdict: the case it was given from. */
  bulkOf?: string;
}

export interface VerdictRecord {
  id: number;
  authId: string;
  verdict: Verdict;
  note: string;
  decidedBy: string;
  decidedAt: string;
  bulkOf: string | null;
}

export interface VerdictResult {
  verdict: VerdictRecord;
  /** The label queued for Kafka; null for escalate, or when the decision carried no customer/terminal. */
  label: LabelEvent | null;
  /** Why no label was queued, for the person. */
  noLabel?: string;
}

interface CaseRow {
  auth_id: string;
  event_time: Date;
  card_token: string;
  outcome: string;
  customer_id: string | null;
  terminal_id: string | null;
}

interface VerdictRow {
  id: string;
  auth_id: string;
  verdict: Verdict;
  note: string;
  decided_by: string;
  decided_at: Date;
  bulk_of: string | null;
}

const toVerdict = (r: VerdictRow): VerdictRecord => ({
  id: Number(r.id),
  authId: r.auth_id,
  verdict: r.verdict,
  note: r.note,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at.toISOString(),
  bulkOf: r.bulk_of,
});

/** Refuses a verdict or note the tables must not hold (an unknown verdict, a long note, a card number). */
export function checkVerdict(verdict: string, note: string): asserts verdict is Verdict {
  if (!(VERDICTS as readonly string[]).includes(verdict))
    throw new CaseError('invalid', `Unknown verdict '${verdict}': choose fraud, legitimate or escalate.`);
  if (note.length > MAX_NOTE) throw new CaseError('invalid', `The note is too long (at most ${MAX_NOTE} characters).`);
  if (containsPan(note))
    throw new CaseError('invalid', 'The note contains what looks like a card number: remove it; nothing was saved.');
}

/** The verdicts given on a case, oldest first. */
export async function verdictsOf(db: Queryable, authId: string): Promise<VerdictRecord[]> {
  const res = await db.query<VerdictRow>(
    `SELECT id, auth_id, verdict, note, decided_by, decided_at, bulk_of FROM case_verdicts WHERE auth_id = $1 ORDER BY id`,
    [authId],
  );
  return res.rows.map(toVerdict);
}

/** The verdict inside the caller's transaction (`db` a client with BEGIN issued). */
export async function giveVerdictIn(db: pg.ClientBase, v: VerdictInput): Promise<VerdictResult> {
  checkVerdict(v.verdict, v.note);
  const c = (
    await db.query<CaseRow>(
      `SELECT auth_id, event_time, card_token, outcome, customer_id, terminal_id FROM decision_audit
        WHERE auth_id = $1 ORDER BY event_time DESC LIMIT 1`,
      [v.authId],
    )
  ).rows[0];
  if (!c || c.outcome !== 'REVIEW') throw new CaseError('not_found', `There is no review case ${v.authId}.`);
  // The claim row is locked until commit: a second verdict on this case waits here, then
  // finds the claim gone (and the case closed) or held by the first analyst.
  const claim = await takeClaim(db, { authId: v.authId, to: v.by, ttlMs: v.claimTtlMs });
  if (!claim.ok)
    throw new CaseError(
      'conflict',
      `Case ${v.authId} is claimed by ${claim.heldBy.claimedBy} until ${claim.heldBy.expiresAt}; nothing was changed.`,
    );
  const closed = (
    await db.query<VerdictRow>(
      `SELECT id, auth_id, verdict, note, decided_by, decided_at, bulk_of FROM case_verdicts
        WHERE auth_id = $1 AND verdict <> 'escalate'`,
      [v.authId],
    )
  ).rows[0];
  if (closed)
    throw new CaseError(
      'conflict',
      `Case ${v.authId} was already decided (${closed.verdict}) by ${closed.decided_by} at ${closed.decided_at.toISOString()}; nothing was changed.`,
    );
  const row = (
    await db.query<VerdictRow>(
      `INSERT INTO case_verdicts (auth_id, event_time, card_token, verdict, note, decided_by, bulk_of)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       RETURNING id, auth_id, verdict, note, decided_by, decided_at, bulk_of`,
      [c.auth_id, c.event_time, c.card_token, v.verdict, v.note, v.by, v.bulkOf ?? null],
    )
  ).rows[0]!;
  const verdict = toVerdict(row);
  let label: LabelEvent | null = null;
  let noLabel: string | undefined;
  if (v.verdict === 'escalate') noLabel = 'escalated: no label until a closing verdict';
  else if (!c.customer_id || !c.terminal_id)
    noLabel = 'the decision carried no customer or terminal, which a label needs';
  else {
    label = {
      auth_id: c.auth_id,
      card_token: c.card_token,
      customer_id: c.customer_id,
      terminal_id: c.terminal_id,
      tx_time: c.event_time.getTime(),
      label_time: row.decided_at.getTime(),
      fraud: v.verdict === 'fraud',
      source: LABEL_SOURCE,
    };
    await db.query(`INSERT INTO label_outbox (verdict_id, topic, message_key, label) VALUES ($1, $2, $3, $4)`, [
      row.id,
      v.topic,
      c.card_token,
      JSON.stringify(label),
    ]);
  }
  await db.query(`DELETE FROM case_claims WHERE auth_id = $1`, [v.authId]);
  await recordAction(db, {
    actor: v.by,
    action: 'case.verdict',
    subject: v.authId,
    detail: {
      verdict: v.verdict,
      verdict_id: verdict.id,
      label: label !== null,
      ...(v.bulkOf ? { bulk_of: v.bulkOf } : {}),
    },
  });
  return { verdict, label, ...(noLabel ? { noLabel } : {}) };
}

/** A verdict in its own transaction; throws CaseError (nothing changed) when refused. */
export function giveVerdict(pool: pg.Pool, v: VerdictInput): Promise<VerdictResult> {
  return inTransaction(pool, (db) => giveVerdictIn(db, v));
}
