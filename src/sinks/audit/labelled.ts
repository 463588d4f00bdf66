/**
 * Decisions of the audit trail joined with the labels that arrived (label_audit, migration 016),
 * for `models compare`: the columns both models need, and whether any label known at `asOf`
 * (label_time <= asOf) says fraud. Read in pages in (event_time, auth_id) order, so a long window
 * never holds one huge result in the driver.
 */
import type { AuthorizationEvent, Channel, Outcome } from '../../events/types.js';
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
  /**
   * What the rules read, on rows with a challenger score: the authorization as the audit trail
   * keeps it (no IP, e-mail hash or description) and the served features, so that the rules that
   * read the score can be evaluated again on the challenger's.
   */
  input?: { event: AuthorizationEvent; features: Record<string, number | null> };
}

const PAGE_SQL = `
SELECT d.auth_id, (extract(epoch FROM d.event_time) * 1000)::float8 AS event_ms, d.event_time::text AS event_key, d.card_token, d.score, d.outcome,
  d.model_version, d.ruleset_version,
  CASE WHEN d.challenger_score IS NULL THEN '[]'::jsonb
       ELSE jsonb_path_query_array(d.rule_hits, '$[*] ? (@.mode == "ACTIVE")') END AS active_hits,
  d.challenger_score, d.challenger_version,
  CASE WHEN d.challenger_score IS NULL THEN NULL ELSE d.features END AS features,
  d.customer_id, d.terminal_id, d.merchant_id, d.mcc, d.amount_minor::float8 AS amount_minor, d.currency, d.channel,
  d.country, d.device_id,
  EXISTS (SELECT 1 FROM label_audit l WHERE l.auth_id = d.auth_id AND l.fraud AND l.label_time <= $3) AS fraud_label
FROM decision_audit d
WHERE d.event_time >= $1 AND d.event_time < $2
  AND ($4::timestamptz IS NULL OR (d.event_time, d.auth_id) > ($4::timestamptz, $5::text))
ORDER BY d.event_time, d.auth_id
LIMIT $6`;

interface PageRow extends Omit<LabelledAuditRow, 'event_time' | 'input'> {
  event_ms: number;
  features: Record<string, number | null> | null;
  customer_id: string | null;
  terminal_id: string | null;
  merchant_id: string | null;
  mcc: string | null;
  amount_minor: number | null;
  currency: string | null;
  channel: string | null;
  country: string | null;
  device_id: string | null;
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
    yield res.rows.map(toRow);
    if (res.rows.length < pageSize) return;
    after = next;
  }
}

function toRow(p: PageRow): LabelledAuditRow {
  const event_time = Math.round(p.event_ms);
  const row: LabelledAuditRow = {
    auth_id: p.auth_id,
    event_time,
    card_token: p.card_token,
    score: p.score,
    outcome: p.outcome,
    model_version: p.model_version,
    ruleset_version: p.ruleset_version,
    active_hits: p.active_hits,
    challenger_score: p.challenger_score,
    challenger_version: p.challenger_version,
    fraud_label: p.fraud_label,
  };
  // Rows written before migration 011 have no context: their rules cannot be run again.
  if (p.features && p.amount_minor !== null && p.channel !== null)
    row.input = {
      features: p.features,
      event: {
        auth_id: p.auth_id,
        event_time,
        card_token: p.card_token,
        customer_id: p.customer_id ?? '',
        terminal_id: p.terminal_id ?? '',
        merchant_id: p.merchant_id,
        mcc: p.mcc,
        amount_minor: p.amount_minor,
        currency: p.currency ?? '',
        channel: p.channel as Channel,
        device_id: p.device_id,
        ip: null,
        email_hash: null,
        country: p.country,
        description: null,
      },
    };
  return row;
}
