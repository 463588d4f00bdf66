/**
 * The rules' plain closures (src/rules/fast-eval.ts) give what cel-js gives: hit, no hit or
 * run-time error, for the default ruleset and for expressions covering every construct of the
 * subset, on random contexts with missing features, a missing score and listed values.
 */
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { compileRuleset } from '../../src/rules/compile.js';
import { evaluateRules, outcomeOf, ruleContext } from '../../src/rules/evaluate.js';
import { RULE_ERROR } from '../../src/rules/fast-eval.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';
import type { RuleDef, RulesetDef } from '../../src/rules/types.js';
import type { Channel } from '../../src/events/types.js';
import { authorization } from '../helpers/events.js';

const EXTRA: Record<string, string> = {
  or_score: 'f.customer_nb_tx_30d >= 12.0 || score >= 0.45',
  not_feature: '!(f.card_nb_tx_1d > 3.0)',
  not_has: 'score < 0.3 && !has(f.customer_secs_since_prev_tx)',
  list_literal: 'tx.channel in ["ECOM", "MOTO"] && tx.amount <= 120.5',
  ints: 'tx.hour >= 22 || tx.hour <= 5 || tx.weekday == 7',
  int_amount: 'tx.amount_minor > 10000 && tx.amount_minor != 25050',
  empty_string: 'tx.merchant_id == "" || tx.device_id != ""',
  negative: '-1.0 < f.customer_amount_over_avg_30d && f.customer_amount_over_avg_30d < 2.5',
  bools: '(f.terminal_risk_1d == 0.0) != (score > 0.5)',
  lists: 'tx.customer_id in lists.block_customer || tx.email_hash in lists.block_email',
  literals: 'true && (false || f.terminal_nb_tx_1h >= 2.0)',
  error_both_sides: 'f.customer_amount_over_avg_30d > 1.0 && score > 0.2 || f.customer_device_seen_before == 0.0',
  // every operator of the fused shapes (a feature, the score, tx.amount against a number)
  feature_ops: 'f.customer_nb_tx_1d <= 2.0 && f.customer_device_seen_before != 1.0',
  score_ops: 'score <= 0.1 || score == 0.25 || (score != 0.3 && score < 0.6 && score >= 0.59)',
  amount_ops: 'tx.amount < 20.0 || tx.amount == 50.0 || (tx.amount != 10.0 && tx.amount <= 30.0 && tx.amount > 29.0)',
};

/** Outside the subset: cel-js stays the evaluation. */
const OUTSIDE: Record<string, string> = {
  arithmetic: 'tx.amount * 2.0 > 100.0',
  ternary: '(score > 0.5 ? f.card_nb_tx_1d : 0.0) > 2.0',
  string_order: 'tx.country < "M"',
  function_call: 'tx.ip.startsWith("10.")',
};

function ruleset(): RulesetDef {
  const base = StaticRulesetSource.fromFiles('config/rules').current().def;
  const rule = (id: string, expression: string): RuleDef => ({
    id,
    description: id,
    expression,
    action: 'REVIEW',
    priority: 10,
    mode: 'active',
    owner: 'test',
  });
  return {
    ...base,
    rules: [...base.rules, ...Object.entries({ ...EXTRA, ...OUTSIDE }).map(([id, e]) => rule(id, e))],
    lists: {
      block_customer: ['c2'],
      block_email: ['e1'],
      block_card: ['k3'],
      block_terminal: ['t2'],
      block_ip: ['1.1.1.1'],
    },
  };
}

describe('rules: plain closures = cel-js', () => {
  const rs = compileRuleset(ruleset());
  const all = [...rs.active, ...rs.shadow];

  it('the default rules and the subset expressions have closures; the others keep cel-js', () => {
    const fast = new Set(all.filter((r) => r.fast).map((r) => r.def.id));
    for (const r of StaticRulesetSource.fromFiles('config/rules').current().def.rules) expect(fast).toContain(r.id);
    for (const id of Object.keys(EXTRA)) expect(fast).toContain(id);
    for (const id of Object.keys(OUTSIDE)) expect(fast).not.toContain(id);
  });

  it('same hit, no hit or error on random contexts', () => {
    let seed = 99;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const channels: Channel[] = ['POS', 'ECOM', 'ATM', 'MOTO'];
    const seen = new Map<string, Set<string>>();
    let compared = 0;
    for (let i = 0; i < 4000; i++) {
      const ev = authorization({
        customer_id: pick(['c1', 'c2']),
        card_token: pick(['k1', 'k3']),
        terminal_id: pick(['t1', 't2']),
        merchant_id: pick(['m1', null, '']),
        device_id: pick(['d1', null, '']),
        ip: pick(['1.1.1.1', '10.0.0.1', null]),
        email_hash: pick(['e1', null]),
        country: pick(['FR', 'US', null]),
        channel: pick(channels),
        amount_minor: pick([0, 25_050, 10_000, 12_050, 20_000, 500_000, 99, Math.floor(rnd() * 1_000_000)]),
        event_time: Date.UTC(2026, 0, 1) + Math.floor(rnd() * 14 * 86_400_000),
      });
      const vector = FEATURE_NAMES.map((_, j) => {
        const r = rnd();
        if (r < 0.1) return null;
        if (r < 0.13) return pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
        if (r < 0.3) return pick([0, 1, 2, 3, 4, 12, 0.5, -0]);
        return j < 3 ? Math.floor(rnd() * 20) : rnd() * 20 - 2;
      });
      const score = pick([null, Number.NaN, 0, 0.05, 0.2, 0.45, 0.5, 0.9, rnd()]);
      const ctx = ruleContext(ev, FEATURE_NAMES, vector, score, rs.lists);
      for (const rule of all) {
        if (!rule.fast) continue;
        let cel: boolean | typeof RULE_ERROR;
        try {
          cel = rule.test(ctx) === true;
        } catch {
          cel = RULE_ERROR;
        }
        const fast = outcomeOf(rule, ctx);
        if (fast !== cel)
          throw new Error(
            `${rule.def.id}: closure ${String(fast)} vs cel-js ${String(cel)} on ${JSON.stringify({ ev, vector, score })}`,
          );
        const s = seen.get(rule.def.id) ?? new Set<string>();
        s.add(String(cel));
        seen.set(rule.def.id, s);
        compared++;
      }
      // The evaluation the engine runs agrees with cel-js too (same hits and errors, in order).
      const hits = evaluateRules(rs, ctx);
      expect(hits.errors.every((id) => all.some((r) => r.def.id === id))).toBe(true);
    }
    expect(compared).toBeGreaterThan(50_000);
    // Every expression of the subset was seen both hitting and not; those reading a feature or the score erring too.
    for (const id of Object.keys(EXTRA)) expect(seen.get(id)?.size, id).toBeGreaterThanOrEqual(2);
    expect(seen.get('or_score')).toEqual(new Set(['true', 'false', String(RULE_ERROR)]));
    expect(seen.get('error_both_sides')).toEqual(new Set(['true', 'false', String(RULE_ERROR)]));
  });
});
