/**
 * The audit trail read for training (`train --from-audit`): every decision of a window with its
 * served feature vector, joined with the labels (label_audit, migration 016) that arrived by a
 * cut-off, streamed through a server-side cursor in batches, so a month of decisions never sits
 * in memory at once. The label rule itself (which rows are trained on) is
 * src/features/audit-training.ts; this module only reads.
 */
import type pg from 'pg';

/** One decision of the window (structurally src/features/audit-training.ts's AuditTrainingRow). */
export interface AuditTrainingRecord {
  auth_id: string;
  /** Epoch ms. */
  event_time: number;
  outcome: string;
  degraded: string[];
  /** decision_audit.features as stored: feature name → value. */
  features: unknown;
  /** The labels with label_time <= the cut-off: true if any says fraud, false if all say legitimate; null: none. */
  fraud: boolean | null;
}

export interface AuditTrainingQuery {
  /** Window of event times [from, to), epoch ms. */
  from: number;
  to: number;
  /** Labels that arrived after this (epoch ms) are not read. */
  labelCutoff: number;
  /** Rows per FETCH (default 2000). */
  batchSize?: number;
}

// Labels are joined on auth_id; their tx_time is the decision's event_time (016_label_audit),
// which lets the label side use its tx_time index. Sorted so that the same trail gives the same
// file (the trainer's bagging depends on row order).
const SELECT_SQL = `
SELECT d.auth_id, d.event_time, d.outcome, d.degraded, d.features, l.fraud
FROM decision_audit d
LEFT JOIN (
  SELECT auth_id, bool_or(fraud) AS fraud
  FROM label_audit
  WHERE tx_time >= $1 AND tx_time < $2 AND label_time <= $3
  GROUP BY auth_id
) l ON l.auth_id = d.auth_id
WHERE d.event_time >= $1 AND d.event_time < $2
ORDER BY d.event_time, d.auth_id`;

interface Row {
  auth_id: string;
  event_time: Date;
  outcome: string;
  degraded: string[];
  features: unknown;
  fraud: boolean | null;
}

/**
 * The window's decisions in batches of `batchSize`, in event time order, from one read-only
 * transaction (one snapshot) on a client of `pool`; the transaction ends when the iteration
 * does, also when the caller stops early.
 */
export async function* readAuditTrainingRows(
  pool: pg.Pool,
  q: AuditTrainingQuery,
): AsyncGenerator<AuditTrainingRecord[]> {
  const batchSize = q.batchSize ?? 2000;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be an integer >= 1, got ${batchSize}`);
  const client = await pool.connect();
  let open = false;
  try {
    await client.query('BEGIN READ ONLY');
    open = true;
    // Every row is fetched: plan for the whole result, not the first rows (a cursor's default,
    // 0.1, picked a fast-start plan 10x slower on 200k decisions).
    await client.query('SET LOCAL cursor_tuple_fraction = 1.0');
    await client.query(`DECLARE audit_training NO SCROLL CURSOR FOR ${SELECT_SQL}`, [
      new Date(q.from),
      new Date(q.to),
      new Date(q.labelCutoff),
    ]);
    for (;;) {
      const res = await client.query<Row>(`FETCH FORWARD ${batchSize} FROM audit_training`);
      if (res.rows.length > 0)
        yield res.rows.map((r) => ({
          auth_id: r.auth_id,
          event_time: r.event_time.getTime(),
          outcome: r.outcome,
          degraded: r.degraded,
          features: r.features,
          fraud: r.fraud,
        }));
      if (res.rows.length < batchSize) break;
    }
    await client.query('COMMIT');
    open = false;
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
