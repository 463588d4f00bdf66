/**
 * Writes fraud labels to `label_audit` (migration 016_label_audit) in batches: ONE multi-row
 * INSERT built from column arrays (unnest). One row per (auth_id, source): a redelivered label
 * changes nothing, a label of the same source with a later label_time (a corrected verdict)
 * replaces the stored one, and labels of different sources (a chargeback and an analyst verdict)
 * are both kept, even when they disagree: the reader decides.
 * One statement = one transaction: when it returns, every row of the batch is committed.
 */
import type pg from 'pg';
import type { LabelEvent } from '../../events/types.js';
import { clean } from './writer.js';

const UPSERT_SQL = `
INSERT INTO label_audit AS l (auth_id, source, card_token, customer_id, terminal_id, tx_time, label_time, fraud)
SELECT r.auth_id, r.source, r.card_token, r.customer_id, r.terminal_id,
  timestamptz 'epoch' + r.tx_ms * interval '1 millisecond', timestamptz 'epoch' + r.label_ms * interval '1 millisecond', r.fraud
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::boolean[])
  AS r(auth_id, source, card_token, customer_id, terminal_id, tx_ms, label_ms, fraud)
ON CONFLICT (auth_id, source) DO UPDATE SET
  card_token = EXCLUDED.card_token, customer_id = EXCLUDED.customer_id, terminal_id = EXCLUDED.terminal_id,
  tx_time = EXCLUDED.tx_time, label_time = EXCLUDED.label_time, fraud = EXCLUDED.fraud, received_at = now()
WHERE EXCLUDED.label_time > l.label_time
RETURNING l.fraud`;

export interface LabelWriteResult {
  /** Labels inserted or replacing an older label of the same auth id and source. */
  stored: number;
  /** Of those, the fraud labels. */
  storedFraud: number;
  /** Labels already stored (redeliveries) or older than the stored one: nothing changed. */
  unchanged: number;
}

/**
 * One label per (auth_id, source) of a batch, the one with the latest label_time (the first of
 * equals, as the table keeps the first of equals): one INSERT … ON CONFLICT DO UPDATE cannot touch
 * the same row twice.
 */
export function latestPerKey(labels: readonly LabelEvent[]): LabelEvent[] {
  const byKey = new Map<string, LabelEvent>();
  for (const l of labels) {
    const key = JSON.stringify([clean(l.auth_id), clean(l.source)]);
    const prev = byKey.get(key);
    if (!prev || l.label_time > prev.label_time) byKey.set(key, l);
  }
  return [...byKey.values()];
}

export class LabelAuditWriter {
  constructor(private readonly pool: pg.Pool) {}

  async write(batch: readonly LabelEvent[]): Promise<LabelWriteResult> {
    if (batch.length === 0) return { stored: 0, storedFraud: 0, unchanged: 0 };
    const rows = latestPerKey(batch);
    const res = await this.pool.query<{ fraud: boolean }>(UPSERT_SQL, [
      rows.map((l) => clean(l.auth_id)),
      rows.map((l) => clean(l.source)),
      rows.map((l) => clean(l.card_token)),
      rows.map((l) => clean(l.customer_id)),
      rows.map((l) => clean(l.terminal_id)),
      rows.map((l) => l.tx_time),
      rows.map((l) => l.label_time),
      rows.map((l) => l.fraud),
    ]);
    const stored = res.rows.length;
    const storedFraud = res.rows.filter((r) => r.fraud).length;
    return { stored, storedFraud, unchanged: batch.length - stored };
  }
}
