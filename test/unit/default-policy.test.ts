/**
 * The shipped decline policy (config/rules/default.yaml, docs/model.md "Outcomes merchants
 * feel"): the score alone never declines; a high score declines a customer with history or a
 * large amount, and otherwise sends the payment to REVIEW.
 */
import { describe, expect, it } from 'vitest';
import { MINOR_PER_MAJOR } from '../../src/events/types.js';
import { applyPolicy } from '../../src/pipelines/decision/policy.js';
import { compileRuleset } from '../../src/rules/compile.js';
import { evaluateRules, ruleContext } from '../../src/rules/evaluate.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { authorization } from '../helpers/events.js';

const rs = compileRuleset(loadRulesetFiles('config/rules'));

/** The outcome and reasons of the shipped ruleset for a payment of `amount`, a customer with `history` payments in 30 days, a score. */
function decide(amount: number, history: number, score: number | null) {
  const ev = authorization({ amount_minor: Math.round(amount * MINOR_PER_MAJOR) });
  const names = ['customer_nb_tx_30d'];
  const hits = evaluateRules(rs, ruleContext(ev, names, [history], score, rs.lists));
  return applyPolicy(score, rs.thresholds, hits.active);
}

describe('the shipped decline policy: thresholds that depend on how much is known', () => {
  it('never declines on the score alone', () => {
    expect(rs.thresholds).toEqual({ review: 0.05, decline: 1 });
    expect(decide(50, 1, 0.99).outcome).toBe('REVIEW');
  });

  it('declines a high score of a customer with at least 12 payments in 30 days', () => {
    expect(decide(50, 12, 0.45)).toMatchObject({
      outcome: 'DECLINE',
      reasons: ['score>=0.05', 'rule:model_decline_known_customer'],
    });
    expect(decide(50, 11, 0.9).outcome).toBe('REVIEW'); // too little history
    expect(decide(50, 40, 0.44).outcome).toBe('REVIEW'); // score below 0.45
  });

  it('declines a score of 0.2 or more on an amount of 200 or more, whatever the history', () => {
    expect(decide(200, 1, 0.2)).toMatchObject({
      outcome: 'DECLINE',
      reasons: ['score>=0.05', 'rule:model_decline_large_amount'],
    });
    expect(decide(199.99, 1, 0.9).outcome).toBe('REVIEW');
    expect(decide(250, 1, 0.19).outcome).toBe('REVIEW');
  });

  it('approves low scores, and declines nothing when the model gave no score', () => {
    expect(decide(50, 30, 0.01).outcome).toBe('APPROVE');
    expect(decide(300, 30, null).outcome).toBe('APPROVE');
  });
});
