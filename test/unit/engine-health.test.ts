/** What /readyz says of the model and the rules: from the engine's own state, not constants. */
import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import type { Scorer } from '../../src/models/scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';

const ev = (i: number): AuthorizationEvent => ({
  auth_id: `h-${i}`,
  event_time: Date.UTC(2026, 11, 1) + i,
  card_token: 'tok_h',
  customer_id: 'c-h',
  terminal_id: 't-h',
  merchant_id: null,
  mcc: null,
  amount_minor: 100,
  currency: 'EUR',
  channel: 'POS',
  device_id: null,
  ip: null,
  email_hash: null,
  country: null,
  description: null,
});

describe('engine health (/readyz model and rules)', () => {
  it('the model is unready after 3 failed runs in a row and ready again once it answers; timeouts do not count', async () => {
    let mode: 'ok' | 'fail' = 'ok';
    const scorer: Scorer = {
      version: 'test',
      score: async (_rows, n) => {
        if (mode === 'fail') throw new Error('onnx blew up');
        return new Float32Array(n).fill(0.01);
      },
    };
    const engine = new DecisionEngine({
      store: new MemoryFeatureStore(),
      scorer,
      rules: StaticRulesetSource.fromFiles('config/rules'),
    });
    expect(engine.health()).toEqual({ model: true, rules: true });
    mode = 'fail';
    for (let i = 0; i < 2; i++)
      expect((await engine.decideBatch([ev(i)])).decisions[0]!.degraded).toEqual(['model_error']);
    expect(engine.health().model).toBe(true);
    await engine.decideBatch([ev(2)]);
    expect(engine.health().model).toBe(false);
    mode = 'ok';
    expect((await engine.decideBatch([ev(3)])).decisions[0]!.degraded).toEqual([]);
    expect(engine.health().model).toBe(true);
    // No model at all: unready.
    expect(
      new DecisionEngine({
        store: new MemoryFeatureStore(),
        scorer: null,
        rules: StaticRulesetSource.fromFiles('config/rules'),
      }).health().model,
    ).toBe(false);
  });

  it('the rules are unready when no ruleset can be had', () => {
    const engine = new DecisionEngine({
      store: new MemoryFeatureStore(),
      scorer: null,
      rules: {
        current: () => {
          throw new Error('no ruleset');
        },
      },
    });
    expect(engine.health().rules).toBe(false);
  });
});
