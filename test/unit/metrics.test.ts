import { describe, expect, it } from 'vitest';
import { aucRoc, averagePrecision, cardPrecisionAtK, precisionRecall } from '../../src/evaluation/metrics.js';
import {
  evaluate,
  excludeKnownCompromised,
  firstFraudByCard,
  summaryText,
  type EvalRow,
} from '../../src/evaluation/report.js';
import { DAY_MS } from '../../src/events/time.js';

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
    expect(r.perDay).toEqual([
      { day: 'd1', precision: 0.5 },
      { day: 'd2', precision: 0.5 },
    ]);
    expect(r.mean).toBe(0.5);
  });

  it('precision and recall of flagged transactions', () => {
    expect(precisionRecall([true, true, false, false], [1, 0, 1, 0])).toEqual({
      precision: 0.5,
      recall: 0.5,
      flagged: 2,
    });
  });

  it('known compromised cards: a fraud known (tx + delay) before the day starts removes the card that day and after', () => {
    const D = DAY_MS;
    const t = (day: number, h = 12) => Date.UTC(2018, 7, day, h);
    const history = [
      { card: 'old', time: t(1), fraud: true }, // before since: ignored
      { card: 'a', time: t(2, 10), fraud: true }, // known at 9th 10:00 -> excluded from the 10th
      { card: 'a', time: t(3), fraud: true }, // a later fraud of a: the first one decides
      { card: 'b', time: t(3), fraud: false },
      { card: 'c', time: t(8, 23), fraud: true }, // known on the 15th 23:00 -> excluded from the 16th
      { card: 'd', time: t(9), fraud: null },
    ];
    const first = firstFraudByCard(history, t(2, 0));
    expect([...first.entries()]).toEqual([
      ['a', t(2, 10)],
      ['c', t(8, 23)],
    ]);
    expect(firstFraudByCard(history, null).get('old')).toBe(t(1));
    const row = (card: string, time: number, fraud = false): EvalRow => ({
      card,
      time,
      score: 0.5,
      fraud,
      outcome: 'APPROVE',
    });
    const rows = [
      row('a', t(9, 23), true),
      row('a', t(10, 0)),
      row('a', t(11), true),
      row('b', t(10)),
      row('c', t(15, 23)),
      row('c', t(16, 1), true),
      row('old', t(10)),
    ];
    const { rows: kept, summary } = excludeKnownCompromised(rows, first, { delayMs: 7 * D, since: t(2, 0) });
    expect(kept.map((r) => `${r.card}@${new Date(r.time).getUTCDate()}`)).toEqual(['a@9', 'b@10', 'c@15', 'old@10']);
    expect(summary).toMatchObject({
      since: '2018-08-02T00:00:00.000Z',
      label_delay_days: 7,
      cards: 2,
      transactions: 3,
      frauds: 2,
    });
    const report = evaluate(kept, { from: null, to: null }, summary);
    expect(report.excluded_known_compromised).toBe(summary);
    expect(summaryText(report)).toContain('known compromised cards excluded');
    expect(excludeKnownCompromised(rows, new Map(), { delayMs: 7 * D, since: null }).rows).toEqual(rows);
  });
});
