import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/events/types.js';
import { merchantOutcomes, outcomesText, roundOutcomes } from '../../src/evaluation/outcomes.js';
import { evaluate, summaryText, type EvalRow } from '../../src/evaluation/report.js';

/** `n` rows of one label and outcome. */
const many = (n: number, fraud: boolean, outcome: Outcome) => Array.from({ length: n }, () => ({ fraud, outcome }));

describe('merchant outcomes (hand-computed)', () => {
  it('false-decline rate is declined legitimate over all legitimate; frauds split by outcome', () => {
    // 2,000 legitimate: 1,990 approved, 7 reviewed, 3 declined; 10 frauds: 6 declined, 3 reviewed, 1 approved.
    const rows = [
      ...many(1990, false, 'APPROVE'),
      ...many(7, false, 'REVIEW'),
      ...many(3, false, 'DECLINE'),
      ...many(6, true, 'DECLINE'),
      ...many(3, true, 'REVIEW'),
      ...many(1, true, 'APPROVE'),
    ];
    const o = merchantOutcomes(rows);
    expect(o).toEqual({
      legitimate: 2000,
      frauds: 10,
      false_declines: 3,
      false_decline_rate: 3 / 2000, // 0.15 %
      decline_rate: 9 / 2010,
      review_rate: 10 / 2010,
      legitimate_review_rate: 7 / 2000,
      frauds_declined: 0.6,
      frauds_reviewed: 0.3,
      frauds_approved: 0.1,
    });
    expect(outcomesText(o)).toContain('false-decline rate 0.150% (3 of 2000 legitimate)');
    expect(outcomesText(o)).toContain('review rate 0.50%');
    expect(outcomesText(o)).toContain('frauds declined 60.0%, reviewed 30.0%, approved 10.0%');
  });

  it('no legitimate or no fraud payments: the undefined shares are NaN, null once rounded', () => {
    const onlyFrauds = merchantOutcomes(many(4, true, 'DECLINE'));
    expect(onlyFrauds.false_decline_rate).toBeNaN();
    expect(onlyFrauds.frauds_declined).toBe(1);
    expect(roundOutcomes(onlyFrauds).false_decline_rate).toBeNull();
    const onlyLegit = merchantOutcomes(many(3, false, 'REVIEW'));
    expect(onlyLegit.frauds_declined).toBeNaN();
    expect(onlyLegit.legitimate_review_rate).toBe(1);
    expect(outcomesText(roundOutcomes(onlyLegit))).toContain('frauds declined n/a');
  });

  it('rounds rates to 1e-6, so a false-decline rate keeps its hundredths of a percent', () => {
    const o = roundOutcomes(merchantOutcomes([...many(2999, false, 'APPROVE'), ...many(1, false, 'DECLINE')]));
    expect(o.false_decline_rate).toBe(0.000333); // 1 / 3000
    expect(o.false_declines).toBe(1);
  });

  it('the evaluation report carries them, consistent with DECLINE precision and recall', () => {
    // 4 legitimate (1 declined, 1 reviewed), 2 frauds (1 declined, 1 approved).
    const row = (fraud: boolean, outcome: Outcome, score: number): EvalRow => ({
      time: Date.UTC(2018, 7, 8, 12),
      card: `c${score}`,
      score,
      fraud,
      outcome,
    });
    const r = evaluate(
      [
        row(false, 'DECLINE', 0.9),
        row(false, 'REVIEW', 0.1),
        row(false, 'APPROVE', 0.01),
        row(false, 'APPROVE', 0.02),
        row(true, 'DECLINE', 0.8),
        row(true, 'APPROVE', 0.03),
      ],
      { from: null, to: null },
    );
    expect(r.merchant.false_decline_rate).toBe(0.25);
    expect(r.merchant.review_rate).toBe(0.166667);
    expect(r.merchant.frauds_declined).toBe(r.decline.recall);
    expect(r.decline.precision).toBe(0.5);
    expect(summaryText(r)).toContain('false-decline rate 25.000% (1 of 4 legitimate)');
  });
});
