/**
 * The compact context an analyst's explanation is written from: the authorization as the
 * decision saw it, the features that stand out against the card's / customer's / terminal's
 * usual behaviour (simple rules on the stored feature snapshot), the rule hits, the score and
 * the model's own top factors (their exact contributions, when the decision carries them).
 *
 * Deliberately absent: the card token and any card number, the customer id, and free text from
 * the gateway (description). Every string that remains is scrubbed of PAN-shaped digits.
 */
import { scrubDeep } from './redact.js';

/** The stored decision, as the audit trail returns it (structurally an AuditRecord). */
export interface ExplainInput {
  auth_id: string;
  outcome: string;
  score: number | null;
  reasons: readonly string[];
  rule_hits: readonly { rule_id: string; action: string; mode: string }[];
  tags: readonly string[];
  degraded: readonly string[];
  features: Readonly<Record<string, number | null>>;
  model_version: string;
  ruleset_version: string;
  /** ISO 8601 or epoch ms. */
  event_time: string | number;
  /** The model's top factors (REVIEW and DECLINE decisions of a model with a trees file). */
  factors?: readonly { feature: string; value: number | null; contribution: number }[] | null;
}

/** What the ruleset says about a rule (from config/rules or the PostgreSQL version). */
export interface RuleInfo {
  description: string;
  expression?: string;
}

export interface Standout {
  feature: string;
  value: number;
  /** What is unusual about it, in words, with the usual level when known. */
  note: string;
  /** Higher = more telling; the list is sorted by it. */
  weight: number;
}

export interface ExplainContext {
  authorization: {
    auth_id: string;
    event_time: string;
    amount: number | null;
    channel: 'e-commerce' | 'not e-commerce' | 'unknown';
    night_time_utc: boolean | null;
    weekend_utc: boolean | null;
  };
  decision: {
    outcome: string;
    score: number | null;
    thresholds: { review: number; decline: number } | null;
    reasons: string[];
    tags: string[];
    degraded: string[];
    model_version: string;
    ruleset_version: string;
  };
  rules_hit: { id: string; mode: string; action: string; description: string | null; expression: string | null }[];
  stand_out: { feature: string; value: number; note: string }[];
  /**
   * What moved the model's score most, from the model itself: each feature's contribution to its
   * log-odds (TreeSHAP), largest first; empty when the decision carries none.
   */
  model_factors: {
    feature: string;
    value: number | null;
    contribution: number;
    effect: 'raises risk' | 'lowers risk';
  }[];
  usual_behaviour: Record<string, number>;
}

const num = (f: Readonly<Record<string, number | null>>, k: string): number | null => {
  const v = f[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

/** The features that stand out, most telling first. Thresholds are deliberately simple. */
export function standouts(f: Readonly<Record<string, number | null>>): Standout[] {
  const out: Standout[] = [];
  const amount = num(f, 'tx_amount');
  const ratio = num(f, 'customer_amount_over_avg_30d');
  const nb30 = num(f, 'customer_nb_tx_30d');
  if (ratio !== null && ratio >= 2 && amount !== null) {
    out.push({
      feature: 'customer_amount_over_avg_30d',
      value: r2(ratio),
      weight: 5 + Math.min(ratio, 20) / 4,
      note: `amount ${r2(amount)} is ${r2(ratio)}x the customer's average of ${r2(amount / ratio)} over the previous 30 days`,
    });
  } else if (ratio === null && nb30 !== null && nb30 <= 1) {
    out.push({
      feature: 'customer_nb_tx_30d',
      value: nb30,
      weight: 3,
      note: 'no earlier transaction of the customer in 30 days: no spending baseline',
    });
  }
  const nb1 = num(f, 'customer_nb_tx_1d');
  if (nb1 !== null && nb30 !== null) {
    const daily = nb30 / 30;
    if (nb1 >= 4 && nb1 >= 3 * daily) {
      out.push({
        feature: 'customer_nb_tx_1d',
        value: nb1,
        weight: 4 + Math.min(nb1 / Math.max(daily, 0.1), 10) / 5,
        note: `${nb1} customer transactions in the last 24 h against about ${r2(daily)} a day over 30 days`,
      });
    }
  }
  const card1 = num(f, 'card_nb_tx_1d');
  const card7 = num(f, 'card_nb_tx_7d');
  if (card1 !== null && card1 >= 5 && (card7 === null || card1 >= 2 * (card7 / 7))) {
    out.push({
      feature: 'card_nb_tx_1d',
      value: card1,
      weight: 4,
      note: `${card1} card transactions in the last 24 h${card7 !== null ? ` (${card7} in 7 days)` : ''}`,
    });
  }
  const secs = num(f, 'customer_secs_since_prev_tx');
  if (secs !== null && secs < 120) {
    out.push({
      feature: 'customer_secs_since_prev_tx',
      value: r2(secs),
      weight: 3,
      note: `previous transaction of the customer only ${Math.round(secs)} s earlier`,
    });
  }
  if (num(f, 'customer_terminal_seen_before') === 0 && nb30 !== null && nb30 > 1) {
    out.push({
      feature: 'customer_terminal_seen_before',
      value: 0,
      weight: 2,
      note: 'first use of this terminal by the customer in 30 days',
    });
  }
  if (num(f, 'customer_device_seen_before') === 0) {
    out.push({
      feature: 'customer_device_seen_before',
      value: 0,
      weight: 3,
      note: 'device not seen for this customer in 30 days',
    });
  }
  const terms = num(f, 'customer_nb_terminals_1d');
  if (terms !== null && terms >= 4)
    out.push({
      feature: 'customer_nb_terminals_1d',
      value: terms,
      weight: 2.5,
      note: `${terms} different terminals used by the customer in 24 h`,
    });
  const merchants = num(f, 'customer_nb_merchants_1d');
  if (merchants !== null && merchants >= 4)
    out.push({
      feature: 'customer_nb_merchants_1d',
      value: merchants,
      weight: 2,
      note: `${merchants} different merchants paid by the customer in 24 h`,
    });
  for (const n of [7, 30, 1] as const) {
    const risk = num(f, `terminal_risk_${n}d`);
    const cnt = num(f, `terminal_nb_tx_${n}d`);
    if (risk !== null && risk > 0) {
      out.push({
        feature: `terminal_risk_${n}d`,
        value: r2(risk),
        weight: 6 + risk * 4,
        note: `${Math.round(risk * 100)}% of the terminal's ${cnt ?? '?'} transactions in the ${n} day(s) ending 7 days ago (the chargeback delay) are confirmed fraud`,
      });
      break; // one terminal-risk line is enough
    }
  }
  const burst = num(f, 'terminal_nb_tx_1h');
  if (burst !== null && burst >= 30)
    out.push({
      feature: 'terminal_nb_tx_1h',
      value: burst,
      weight: 2,
      note: `${burst} transactions at the terminal in the last hour`,
    });
  return out.sort((a, b) => b.weight - a.weight);
}

function iso(t: string | number): string {
  return typeof t === 'number' ? new Date(t).toISOString() : new Date(t).toISOString();
}

export function buildExplainContext(
  d: ExplainInput,
  opts: {
    rules?: ReadonlyMap<string, RuleInfo>;
    thresholds?: { review: number; decline: number } | null;
    maxStandouts?: number;
  } = {},
): ExplainContext {
  const f = d.features;
  const ecom = num(f, 'tx_is_ecom');
  const night = num(f, 'tx_during_night');
  const weekend = num(f, 'tx_during_weekend');
  const usual: Record<string, number> = {};
  for (const k of [
    'customer_avg_amount_30d',
    'customer_nb_tx_30d',
    'customer_avg_amount_7d',
    'card_nb_tx_7d',
    'terminal_nb_tx_30d',
  ]) {
    const v = num(f, k);
    if (v !== null) usual[k] = r2(v);
  }
  const ctx: ExplainContext = {
    authorization: {
      auth_id: d.auth_id,
      event_time: iso(d.event_time),
      amount: num(f, 'tx_amount'),
      channel: ecom === null ? 'unknown' : ecom === 1 ? 'e-commerce' : 'not e-commerce',
      night_time_utc: night === null ? null : night === 1,
      weekend_utc: weekend === null ? null : weekend === 1,
    },
    decision: {
      outcome: d.outcome,
      score: d.score,
      thresholds: opts.thresholds ?? null,
      reasons: [...d.reasons],
      tags: [...d.tags],
      degraded: [...d.degraded],
      model_version: d.model_version,
      ruleset_version: d.ruleset_version,
    },
    rules_hit: d.rule_hits.map((h) => {
      const info = opts.rules?.get(h.rule_id);
      return {
        id: h.rule_id,
        mode: h.mode,
        action: h.action,
        description: info?.description ?? null,
        expression: info?.expression ?? null,
      };
    }),
    stand_out: standouts(f)
      .slice(0, opts.maxStandouts ?? 6)
      .map(({ feature, value, note }) => ({ feature, value, note })),
    model_factors: (d.factors ?? []).map((x) => ({
      feature: x.feature,
      value: x.value,
      contribution: Math.round(x.contribution * 1000) / 1000,
      effect: x.contribution > 0 ? ('raises risk' as const) : ('lowers risk' as const),
    })),
    usual_behaviour: usual,
  };
  return scrubDeep(ctx);
}
