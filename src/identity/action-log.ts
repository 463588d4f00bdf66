/**
 * The append-only log of what people do (table action_log, migration 020): logins, verdicts,
 * claims, rule drafts, submissions, approvals, activations, rollbacks, list changes, users.
 * The table refuses UPDATE, DELETE and TRUNCATE; write an entry in the same transaction as the
 * change it records, so that neither exists without the other.
 */
import type { Queryable } from '../storage/pool.js';

export interface ActionEntry {
  /** The username who acted ('system' for the tooling's own steps). */
  actor: string;
  /** Dotted lower-case name, e.g. `login`, `case.verdict`, `ruleset.approve`, `list.add`. */
  action: string;
  /** What was acted on: an auth id, a ruleset version, `list:name/value`, a username. */
  subject?: string;
  detail?: Record<string, unknown>;
}

export interface LoggedAction extends Required<ActionEntry> {
  id: number;
  at: Date;
}

export async function recordAction(db: Queryable, e: ActionEntry): Promise<void> {
  await db.query('INSERT INTO action_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4)', [
    e.actor,
    e.action,
    e.subject ?? '',
    JSON.stringify(e.detail ?? {}),
  ]);
}

export interface ActionQuery {
  actor?: string;
  /** A prefix: `ruleset` matches `ruleset.approve` and `ruleset.submit`. */
  action?: string;
  subject?: string;
  /** Entries at or after this time. */
  since?: Date;
  /** Entries before this time. */
  until?: Date;
  /** Entries older than this id (paging backwards). */
  beforeId?: number;
  limit?: number;
}

/** Newest first. */
export async function listActions(db: Queryable, q: ActionQuery = {}): Promise<LoggedAction[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    args.push(v);
    where.push(sql.replace('?', `$${args.length}`));
  };
  if (q.actor) add('actor = ?', q.actor);
  if (q.action) add(`action LIKE ? || '%'`, q.action);
  if (q.subject) add('subject = ?', q.subject);
  if (q.since) add('at >= ?', q.since);
  if (q.until) add('at < ?', q.until);
  if (q.beforeId) add('id < ?', q.beforeId);
  args.push(Math.min(Math.max(q.limit ?? 100, 1), 1000));
  const { rows } = await db.query<LoggedAction & { id: string }>(
    `SELECT id, at, actor, action, subject, detail FROM action_log
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`,
    args,
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
