/** The label writer's batch rule: one label per (auth id, source), the latest, the first of equals. */
import { describe, expect, it } from 'vitest';
import type { LabelEvent } from '../../src/events/types.js';
import { latestPerKey } from '../../src/sinks/audit/label-writer.js';

const label = (auth: string, source: string, labelTime: number, fraud: boolean): LabelEvent => ({
  auth_id: auth,
  card_token: 'tok',
  customer_id: 'cust',
  terminal_id: 'term',
  tx_time: 1_000,
  label_time: labelTime,
  fraud,
  source,
});

describe('label_audit batches', () => {
  it('keeps one label per auth id and source: the latest, else the first of equals', () => {
    const batch = [
      label('a', 'chargeback', 5_000, true),
      label('a', 'analyst', 3_000, false),
      label('a', 'chargeback', 4_000, false), // older: dropped
      label('b', 'analyst', 2_000, false),
      label('b', 'analyst', 6_000, true), // a corrected verdict: kept
      label('c', 'chargeback', 7_000, true),
      label('c', 'chargeback', 7_000, false), // equal time: the first stays, as in the table
    ];
    expect(latestPerKey(batch).map((l) => [l.auth_id, l.source, l.label_time, l.fraud])).toEqual([
      ['a', 'chargeback', 5_000, true],
      ['a', 'analyst', 3_000, false],
      ['b', 'analyst', 6_000, true],
      ['c', 'chargeback', 7_000, true],
    ]);
  });

  it('does not merge keys that only look alike once joined', () => {
    const out = latestPerKey([label('a:b', 'c', 1_000, true), label('a', 'b:c', 1_000, false)]);
    expect(out).toHaveLength(2);
  });
});
