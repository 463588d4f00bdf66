/**
 * Decisions of the audit trail joined with the labels that arrived (label_audit, migration 016),
 * for `models compare`: the columns both models need, and whether any label known at `asOf`
 * (label_time <= asOf) says fraud. Read in pages in (event_time, auth_id) order, so a long window
 * never holds one huge result in the driver.
 */
import type { Outcome } from '../../events/types.js';
import type { Queryable } from '../../storage/pool.js';

export interface LabelledAuditRow {
  auth_id: string;
  /** epoch ms */
  event_time: number;
  card_token: string;
  score: number | null;
  outcome: Outcome;
  model_version: string;
  ruleset_version: string;
  /** The active rule hits; read only on rows with a challenger score (else empty). */
  active_hits: { rule_id: string; action: string }[];
  challenger_score: number | null;
  challenger_version: string | null;
  fraud_label: boolean;
}

const PAGE_SQL = `
SELECT d.auth_id, (extract(epoch FROM d.event_time) * 1000)::float8 AS event_ms, d.event_time::text AS event_key, d.card_token, d.score, d.outcome,
  d.model_version, d.ruleset_version,
  CASE WHEN d.challenger_score IS NULL THEN '[]'::jsonb
       ELSE jsonb_path_query_array(d.rule_hits, '$[*] ? (@.mode == "ACTIVE")') END AS active_hits,
  d.challenger_score, d.challenger_version,
  EXISTS (SELECT 1 FROM label_audit l WHERE l.auth_id = d.auth_id AND l.fraud AND l.label_time <= $3) AS fraud_label
FROM decision_audit d
WHERE d.event_time >= $1 AND d.event_time < $2
  AND ($4::timestamptz IS NULL OR (d.event_time, d.auth_id) > ($4::timestamptz, $5::text))
ORDER BY d.event_time, d.auth_id
LIMIT $6`;

interface PageRow extends Omit<LabelledAuditRow, 'event_time'> {
  event_ms: number;
  /** event_time as PostgreSQL's text (microseconds kept): the exact key of the next page. */
  event_key: string;
}

/** The decisions of [from, to) with their fraud label known at asOf, `pageSize` rows at a time. */
export async function* labelledDecisionPages(
  db: Queryable,
  w: { from: number; to: number; asOf: number },
  pageSize = 20_000,
): AsyncGenerator<LabelledAuditRow[]> {
  let after: { time: string; auth: string } | null = null;
  for (;;) {
    const res: { rows: PageRow[] } = await db.query<PageRow>(PAGE_SQL, [
      new Date(w.from),
      new Date(w.to),
      new Date(w.asOf),
      after?.time ?? null,
      after?.auth ?? null,
      pageSize,
    ]);
    if (!res.rows.length) return;
    const last = res.rows[res.rows.length - 1]!;
    const next = { time: last.event_key, auth: last.auth_id };
    yield res.rows.map(({ event_ms, event_key: _key, ...r }) => ({ ...r, event_time: Math.round(event_ms) }));
    if (res.rows.length < pageSize) return;
    after = next;
  }
}
