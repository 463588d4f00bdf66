/**
 * Review cases for tests: decisions as the engine makes them (every column real, with the
 * authorization's context), stored through the audit sink's own writer, not by hand SQL.
 */
import type pg from 'pg';
import type { Decision } from '../../src/events/types.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { AuditWriter } from '../../src/sinks/audit/writer.js';

export function caseFeatures(over: Partial<Record<string, number | null>> = {}): Record<string, number | null> {
  const f: Record<string, number | null> = Object.fromEntries(FEATURE_NAMES.map((n) => [n, 1]));
  return Object.assign(f, { tx_amount: 40, customer_nb_tx_1d: 2, terminal_nb_tx_1h: 3 }, over);
}

/** A decision (REVIEW unless overridden) of `card` for customer `cust` at terminal `term`, `agoMs` before now. */
export function decisionOf(
  run: string,
  i: number,
  o: {
    card: string;
    cust?: string;
    term?: string;
    agoMs: number;
    outcome?: Decision['outcome'];
    rule?: string;
    score?: number;
    features?: Record<string, number | null>;
    factors?: Decision['factors'];
    challenger?: { score: number | null; version: string };
  },
): Decision {
  const t = Date.now() - o.agoMs;
  const rule = o.rule ?? 'high_amount_new_terminal';
  return {
    auth_id: `${run}-${i}`,
    card_token: o.card,
    outcome: o.outcome ?? 'REVIEW',
    score: o.score ?? 0.61,
    reasons: o.outcome === 'APPROVE' ? [] : [`rule:${rule}`],
    rule_hits:
      o.outcome === 'APPROVE'
        ? []
        : [
            { rule_id: rule, action: o.outcome === 'DECLINE' ? 'DECLINE' : 'REVIEW', mode: 'ACTIVE' },
            { rule_id: 'night_burst', action: 'DECLINE', mode: 'SHADOW' },
          ],
    tags: [],
    model_version: 'test-model',
    ruleset_version: 'test-rules',
    degraded: [],
    features: o.features ?? caseFeatures(),
    ...(o.factors !== undefined ? { factors: o.factors } : {}),
    ...(o.challenger ? { challenger_score: o.challenger.score, challenger_version: o.challenger.version } : {}),
    event_time: t,
    decided_time: t + 5,
    engine_latency_ms: 5,
    context: {
      customer_id: o.cust ?? `${run}-cust`,
      terminal_id: o.term ?? `${run}-term`,
      merchant_id: 'm-1',
      mcc: '5411',
      amount_minor: 12_345,
      currency: 'EUR',
      channel: 'ECOM',
      country: 'FR',
      device_id: null,
    },
  };
}

/** Stores decisions through the audit writer (the sink's batch insert). */
export async function seedDecisions(pool: pg.Pool, decisions: Decision[]): Promise<void> {
  await new AuditWriter(pool).write(decisions.map((decision) => ({ decision })));
}
