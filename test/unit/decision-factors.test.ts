/**
 * The decision engine attaches the model's top factors to REVIEW and DECLINE decisions only,
 * from the explainer of the scorer in use, with the values the decision was made on; none
 * when the model failed or has no trees file.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { Explainer } from '../../src/models/explain/explainer.js';
import type { TreesDocument } from '../../src/models/explain/trees-file.js';
import type { Scorer } from '../../src/models/scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';

const ev = (i: number, amountMinor: number): AuthorizationEvent => ({
  auth_id: `f-${i}`,
  event_time: Date.UTC(2026, 11, 1, 12) + i,
  card_token: `tok_f${i}`,
  customer_id: `c-f${i}`,
  terminal_id: 't-f',
  merchant_id: null,
  mcc: null,
  amount_minor: amountMinor,
  currency: 'EUR',
  channel: 'POS',
  device_id: null,
  ip: null,
  email_hash: null,
  country: null,
  description: null,
});

// One tree on the engine's features: an amount over 500 scores sigmoid(3) ≈ 0.95 (DECLINE),
// else sigmoid(-5) ≈ 0.007 (APPROVE); 10 of 100 training rows were over 500.
const AMOUNT = FEATURE_NAMES.indexOf('tx_amount');
const doc: TreesDocument = {
  format: 'fraud-engine-trees',
  format_version: 1,
  model_version: 'factors-test',
  features: [...FEATURE_NAMES],
  parts: [
    {
      kind: 'lightgbm',
      weight: 1,
      sigmoid: 1,
      trees: [
        {
          num_leaves: 2,
          split_feature: [AMOUNT],
          threshold: [500],
          missing: ['nan'],
          default_left: [true],
          left_child: [-1],
          right_child: [-2],
          internal_count: [100],
          leaf_value: [-5, 3],
          leaf_count: [90, 10],
        },
      ],
    },
  ],
};

function scorerOf(explainer: Explainer | null, fail = false): Scorer {
  const ex = new Explainer(doc);
  return {
    version: 'factors-test',
    explainer,
    score: async (rows, n) => {
      if (fail) throw new Error('onnx blew up');
      return Float32Array.from({ length: n }, (_, i) => ex.score(rows, i));
    },
  };
}

const engineOf = (scorer: Scorer) =>
  new DecisionEngine({ store: new MemoryFeatureStore(), scorer, rules: StaticRulesetSource.fromFiles('config/rules') });

describe('decision factors', () => {
  it('a DECLINE carries its factors (exact: base + contribution = raw score), an APPROVE none', async () => {
    const { decisions } = await engineOf(scorerOf(new Explainer(doc))).decideBatch([ev(1, 100_000), ev(2, 2_000)]);
    const [declined, approved] = decisions;
    expect(declined!.outcome).toBe('DECLINE');
    // Base value: 0.9·(−5) + 0.1·3 = −4.2; the row's raw score 3, all of it from the amount.
    expect(declined!.factors).toEqual([{ feature: 'tx_amount', value: 1000, contribution: 7.2 }]);
    expect(declined!.features.tx_amount).toBe(1000);
    expect(approved!.outcome).toBe('APPROVE');
    expect(approved!.factors).toBeNull();
  });

  it('none when the model failed or has no trees file', async () => {
    const failed = await engineOf(scorerOf(new Explainer(doc), true)).decideBatch([ev(3, 100_000)]);
    expect(failed.decisions[0]!.degraded).toEqual(['model_error']);
    expect(failed.decisions[0]!.factors).toBeNull();
    const noTrees = await engineOf(scorerOf(null)).decideBatch([ev(4, 100_000)]);
    expect(noTrees.decisions[0]!.outcome).toBe('DECLINE');
    expect(noTrees.decisions[0]!.factors).toBeNull();
  });
});
