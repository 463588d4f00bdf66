import { describe, expect, it } from 'vitest';
import { aucRoc, averagePrecision, cardPrecisionAtK, precisionRecall } from '../../src/evaluation/metrics.js';

describe('evaluation metrics (hand-computed)', () => {
  it('AUC ROC counts correctly ordered pairs, ties as half', () => {
    // positives 0.8, 0.4; negatives 0.5, 0.1: pairs (0.8>0.5, 0.8>0.1, 0.4<0.5, 0.4>0.1) = 3/4
    expect(aucRoc([0.8, 0.5, 0.4, 0.1], [1, 0, 1, 0])).toBeCloseTo(0.75, 12);
    // a tie between a positive and a negative counts 1/2: (1 + 0.5) / 2
    expect(aucRoc([0.9, 0.5, 0.5], [1, 1, 0])).toBeCloseTo(0.75, 12);
    expect(aucRoc([0.1, 0.2], [0, 0])).toBeNaN();
  });

  it('average precision matches the step-wise definition', () => {
    // ranked: 0.9(+) 0.8(-) 0.7(+) 0.1(-): P@1=1 R=.5, P@3=2/3 R=1 -> AP = .5*1 + .5*2/3
    expect(averagePrecision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0])).toBeCloseTo(0.5 + 1 / 3, 12);
    // tied scores form one threshold: both at 0.5 (one +, one -): P=1/2 R=1
    expect(averagePrecision([0.5, 0.5], [1, 0])).toBeCloseTo(0.5, 12);
  });

  it('card precision@k takes the max per card per day and removes cards detected earlier', () => {
    const txs = [
      { day: 'd1', card: 'a', score: 0.9, fraud: true },
      { day: 'd1', card: 'a', score: 0.1, fraud: false },
      { day: 'd1', card: 'b', score: 0.8, fraud: false },
      { day: 'd1', card: 'c', score: 0.2, fraud: true },
      { day: 'd2', card: 'a', score: 0.99, fraud: true }, // detected on d1: removed
      { day: 'd2', card: 'c', score: 0.7, fraud: true },
      { day: 'd2', card: 'd', score: 0.6, fraud: false },
    ];
    const r = cardPrecisionAtK(txs, 2);
    expect(r.perDay).toEqual([{ day: 'd1', precision: 0.5 }, { day: 'd2', precision: 0.5 }]);
    expect(r.mean).toBe(0.5);
  });

  it('precision and recall of flagged transactions', () => {
    expect(precisionRecall([true, true, false, false], [1, 0, 1, 0])).toEqual({ precision: 0.5, recall: 0.5, flagged: 2 });
  });
});
