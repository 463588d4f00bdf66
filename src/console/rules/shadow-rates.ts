/**
 * How often each shadow rule fires on live traffic: from the decision audit trail (decision_audit,
 * migration 010), whose rule_hits hold every hit as {rule_id, action, mode}, over the decisions of
 * a recent period (by event time, the table's partition key, so only the recent partitions are read).
 */
import type { Queryable } from '../../storage/pool.js';

export interface ShadowRate {
  rule_id: string;
  hits: number;
  decisions: number;
  /** hits / decisions; null without decisions. */
  rate: number | null;
}

/**
 * The shadow hits per rule since `since`, with `ruleIds` (the active version's shadow rules)
 * listed even when they did not fire.
 */
export async function shadowHitRates(db: Queryable, since: Date, ruleIds: readonly string[]): Promise<ShadowRate[]> {
  const { rows } = await db.query<{ rule_id: string | null; hits: string; decisions: string }>(
    `WITH recent AS (SELECT rule_hits FROM decision_audit WHERE event_time >= $1)
     SELECT NULL AS rule_id, 0::bigint AS hits, count(*) AS decisions FROM recent
     UNION ALL
     SELECT h->>'rule_id', count(*), 0 FROM recent, jsonb_array_elements(recent.rule_hits) h
      WHERE h->>'mode' = 'SHADOW' GROUP BY 1`,
    [since],
  );
  const decisions = Number(rows.find((r) => r.rule_id === null)?.decisions ?? 0);
  const hits = new Map(rows.filter((r) => r.rule_id !== null).map((r) => [r.rule_id!, Number(r.hits)]));
  const ids = [...new Set([...ruleIds, ...hits.keys()])];
  return ids
    .map((rule_id) => {
      const n = hits.get(rule_id) ?? 0;
      return { rule_id, hits: n, decisions, rate: decisions ? n / decisions : null };
    })
    .sort((a, b) => b.hits - a.hits || a.rule_id.localeCompare(b.rule_id));
}
