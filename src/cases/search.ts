/**
 * Searching the audit trail: by card token, auth id, time range, outcome and rule, newest
 * first. The one search of decisions: the console's /decisions page and the CLI's
 * `decisions search` both call it. Every filter is optional and each is served by an index
 * (migrations 010 and 013); a time range prunes the day partitions outside it.
 */
import type { Outcome } from '../events/types.js';
import { AUDIT_COLUMNS, toRecord, type AuditRecord, type AuditRow } from '../sinks/audit/queries.js';
import type { Queryable } from '../storage/pool.js';

export const OUTCOMES: readonly Outcome[] = ['APPROVE', 'REVIEW', 'DECLINE'];
export const DEFAULT_SEARCH_LIMIT = 100;
export const MAX_SEARCH_LIMIT = 1000;

export interface DecisionQuery {
  card?: string;
  authId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  outcome?: Outcome;
  /** A rule id that hit (active or shadow). */
  rule?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** The WHERE clause and its arguments of a query (no filter: every decision). */
function whereOf(q: DecisionQuery): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (clause: (n: number) => string, v: unknown) => {
    args.push(v);
    where.push(clause(args.length));
  };
  if (q.card) add((n) => `card_token = $${n}`, q.card);
  if (q.authId) add((n) => `auth_id = $${n}`, q.authId);
  if (q.from !== undefined) add((n) => `event_time >= $${n}::timestamptz`, new Date(q.from).toISOString());
  if (q.to !== undefined) add((n) => `event_time < $${n}::timestamptz`, new Date(q.to).toISOString());
  if (q.outcome) add((n) => `outcome = $${n}`, q.outcome);
  if (q.rule) add((n) => `rule_hits @> $${n}::jsonb`, JSON.stringify([{ rule_id: q.rule }]));
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** Decisions matching every given filter, newest first. */
export async function searchDecisions(db: Queryable, q: DecisionQuery): Promise<AuditRecord[]> {
  const { sql, args } = whereOf(q);
  const limit = Math.min(Math.max(1, q.limit ?? DEFAULT_SEARCH_LIMIT), MAX_SEARCH_LIMIT);
  args.push(limit);
  const res = await db.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM decision_audit ${sql} ORDER BY event_time DESC, auth_id LIMIT $${args.length}`,
    args,
  );
  return res.rows.map(toRecord);
}
