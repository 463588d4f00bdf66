/**
 * Reading the audit trail (`decisions show`, `explain`; searches: src/cases/search.ts) and storing an
 * analyst explanation on a row. Times come back as ISO 8601 strings (UTC).
 */
import type pg from 'pg';
import type { Decision } from '../../events/types.js';
import { table } from '../../observability/table.js';
import type { Queryable } from '../../storage/pool.js';

/** A stored decision: the decision's fields (times as ISO strings), where it was read from, and its explanation. */
export interface AuditRecord extends Omit<Decision, 'event_time' | 'decided_time' | 'engine_latency_ms'> {
  event_time: string;
  decided_time: string;
  engine_latency_ms: number | null;
  kafka_partition: number | null;
  kafka_offset: string | null;
  written_at: string;
  explanation: string | null;
  explanation_model: string | null;
  explained_at: string | null;
}

/** The columns of an AuditRecord, for every reader of decision_audit (src/cases/ too). */
export const AUDIT_COLUMNS = `auth_id, card_token, outcome, score, reasons, rule_hits, tags, degraded, features, model_version, ruleset_version,
  event_time, decided_time, engine_latency_ms, kafka_partition, kafka_offset::text AS kafka_offset, written_at,
  explanation, explanation_model, explained_at,
  CASE WHEN customer_id IS NULL THEN NULL ELSE jsonb_build_object(
    'customer_id', customer_id, 'terminal_id', terminal_id, 'merchant_id', merchant_id, 'mcc', mcc,
    'amount_minor', amount_minor, 'currency', currency, 'channel', channel, 'country', country, 'device_id', device_id)
  END AS context, factors, challenger_score, challenger_version`;

/** A decision_audit row as pg returns AUDIT_COLUMNS. */
export type AuditRow = Omit<AuditRecord, 'event_time' | 'decided_time' | 'written_at' | 'explained_at'> & {
  event_time: Date;
  decided_time: Date;
  written_at: Date;
  explained_at: Date | null;
};

export function toRecord(r: AuditRow): AuditRecord {
  return {
    ...r,
    event_time: r.event_time.toISOString(),
    decided_time: r.decided_time.toISOString(),
    written_at: r.written_at.toISOString(),
    explained_at: r.explained_at ? r.explained_at.toISOString() : null,
  };
}

/** The stored decision of one authorization, or null. */
export async function getDecision(pool: Queryable, authId: string): Promise<AuditRecord | null> {
  const res = await pool.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM decision_audit WHERE auth_id = $1 ORDER BY event_time DESC LIMIT 1`,
    [authId],
  );
  const row = res.rows[0];
  return row ? toRecord(row) : null;
}

/** Stores an explanation on the decision's row; false when there is no such row. */
export async function saveExplanation(
  pool: pg.Pool,
  authId: string,
  explanation: string,
  model: string,
): Promise<boolean> {
  const res = await pool.query(
    `UPDATE decision_audit SET explanation = $2, explanation_model = $3, explained_at = now() WHERE auth_id = $1`,
    [authId, explanation, model],
  );
  return (res.rowCount ?? 0) > 0;
}

/** The partitions of decision_audit with their bounds, for operators and tests. */
export async function listPartitions(pool: pg.Pool): Promise<{ name: string; bounds: string }[]> {
  const res = await pool.query<{ name: string; bounds: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'decision_audit'::regclass ORDER BY c.relname`,
  );
  return res.rows;
}

const fmtScore = (s: number | null) => (s === null ? '-' : s.toFixed(3));

/** A fixed-width table of decisions (`decisions search`), one per line, newest first. */
export function decisionsTable(rows: readonly AuditRecord[]): string {
  const lines = rows.map((r) => [
    r.event_time,
    r.auth_id,
    r.outcome,
    fmtScore(r.score),
    r.reasons.join(',') || '-',
    r.rule_hits.map((h) => (h.mode === 'SHADOW' ? `(${h.rule_id})` : h.rule_id)).join(',') || '-',
    r.degraded.join(',') || '-',
  ]);
  const head = ['event_time', 'auth_id', 'outcome', 'score', 'reasons', 'rule_hits', 'degraded'];
  return `${table([head, ...lines])}\n(${rows.length} decision${rows.length === 1 ? '' : 's'}; shadow rule hits in parentheses)`;
}
