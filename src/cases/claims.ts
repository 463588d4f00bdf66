/**
 * Who works a case (table case_claims, migration 030). Taking a case is ONE statement, an
 * INSERT … ON CONFLICT DO UPDATE … WHERE the present claim lapsed or is the same person's:
 * PostgreSQL serialises concurrent writers on the row, so of two analysts claiming at once
 * exactly one gets it and the other sees who holds it. A claim lapses after
 * console.claim_ttl_minutes; claiming again renews it.
 */
import { recordAction } from '../identity/action-log.js';
import type { Queryable } from '../storage/pool.js';
import { CaseError } from './errors.js';

export interface Claim {
  authId: string;
  claimedBy: string;
  claimedAt: string;
  expiresAt: string;
  assignedBy: string | null;
}

interface ClaimRow {
  auth_id: string;
  claimed_by: string;
  claimed_at: Date;
  expires_at: Date;
  assigned_by: string | null;
}

const toClaim = (r: ClaimRow): Claim => ({
  authId: r.auth_id,
  claimedBy: r.claimed_by,
  claimedAt: r.claimed_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  assignedBy: r.assigned_by,
});

export type ClaimResult = { ok: true; claim: Claim } | { ok: false; heldBy: Claim };

/**
 * Takes (or renews) the case for `to`. `force` takes it from a live claim of someone else
 * (an approver reassigning). Does not check that the case exists or is open: see claimCase.
 */
export async function takeClaim(
  db: Queryable,
  o: { authId: string; to: string; ttlMs: number; assignedBy?: string; force?: boolean },
): Promise<ClaimResult> {
  const res = await db.query<ClaimRow>(
    `INSERT INTO case_claims AS c (auth_id, claimed_by, claimed_at, expires_at, assigned_by)
     VALUES ($1, $2, now(), now() + $3 * interval '1 millisecond', $4)
     ON CONFLICT (auth_id) DO UPDATE
       SET claimed_by = EXCLUDED.claimed_by, claimed_at = now(), expires_at = EXCLUDED.expires_at,
           assigned_by = EXCLUDED.assigned_by
       WHERE $5 OR c.expires_at <= now() OR c.claimed_by = EXCLUDED.claimed_by
     RETURNING auth_id, claimed_by, claimed_at, expires_at, assigned_by`,
    [o.authId, o.to, o.ttlMs, o.assignedBy ?? null, o.force === true],
  );
  const row = res.rows[0];
  if (row) return { ok: true, claim: toClaim(row) };
  const held = await liveClaim(db, o.authId);
  // The holder's claim may have lapsed between the two statements: then it is free; try again.
  if (!held) return takeClaim(db, o);
  return { ok: false, heldBy: held };
}

/** The live claim of a case, or null (none, or lapsed). */
export async function liveClaim(db: Queryable, authId: string): Promise<Claim | null> {
  const res = await db.query<ClaimRow>(
    `SELECT auth_id, claimed_by, claimed_at, expires_at, assigned_by FROM case_claims
      WHERE auth_id = $1 AND expires_at > now()`,
    [authId],
  );
  return res.rows[0] ? toClaim(res.rows[0]) : null;
}

/** Whether a case is a REVIEW decision of the audit trail and not closed by a verdict yet. */
export async function openCaseExists(db: Queryable, authId: string): Promise<'open' | 'closed' | 'none'> {
  const res = await db.query<{ closed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM case_verdicts v WHERE v.auth_id = a.auth_id AND v.verdict <> 'escalate') AS closed
       FROM decision_audit a WHERE a.auth_id = $1 AND a.outcome = 'REVIEW' LIMIT 1`,
    [authId],
  );
  const row = res.rows[0];
  return !row ? 'none' : row.closed ? 'closed' : 'open';
}

/**
 * An analyst claims an open case for themself, or (assignedBy set) someone assigns it to `to`.
 * Refused (CaseError) when there is no such open case or someone else holds it; recorded in
 * the action log.
 */
export async function claimCase(
  db: Queryable,
  o: { authId: string; to: string; ttlMs: number; assignedBy?: string; force?: boolean },
): Promise<Claim> {
  const state = await openCaseExists(db, o.authId);
  if (state === 'none') throw new CaseError('not_found', `There is no review case ${o.authId}.`);
  if (state === 'closed') throw new CaseError('conflict', `Case ${o.authId} is already decided.`);
  const res = await takeClaim(db, o);
  if (!res.ok)
    throw new CaseError(
      'conflict',
      `Case ${o.authId} is claimed by ${res.heldBy.claimedBy} until ${res.heldBy.expiresAt}; nothing was changed.`,
    );
  await recordAction(db, {
    actor: o.assignedBy ?? o.to,
    action: o.assignedBy ? 'case.assign' : 'case.claim',
    subject: o.authId,
    detail: { to: o.to, expires_at: res.claim.expiresAt, ...(o.force ? { forced: true } : {}) },
  });
  return res.claim;
}

/** Gives up one's own claim; false when `by` held none. */
export async function releaseClaim(db: Queryable, authId: string, by: string): Promise<boolean> {
  const res = await db.query(`DELETE FROM case_claims WHERE auth_id = $1 AND claimed_by = $2`, [authId, by]);
  if ((res.rowCount ?? 0) === 0) return false;
  await recordAction(db, { actor: by, action: 'case.release', subject: authId });
  return true;
}
