/**
 * Replay's speed-ups change no decision: the same simulated history (with delayed labels)
 * through the replay as it runs now (the in-memory store laid out for speed, the rules' plain
 * closures, the model over whole batches) and through the slow references (the definitions over
 * sorted entries, test/helpers/reference-memory-store.ts, driven as `run` drives a store: a batch
 * cut at every label; every rule by cel-js) gives byte-identical decisions (with the model's top
 * factors) and served vectors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureCsvRow } from '../../src/features/csv.js';
import { interleaveLabels } from '../../src/features/label-feed.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import type { FeatureStore } from '../../src/features/store.js';
import { loadEngineScorer, type OnnxScorer } from '../../src/models/onnx-scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { replayFeed } from '../../src/pipelines/replay/replay.js';
import type { CompiledRule, CompiledRuleset } from '../../src/rules/compile.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';
import { simulate } from '../../src/simulator/index.js';
import { ReferenceMemoryStore } from '../helpers/reference-memory-store.js';

let scorer: OnnxScorer;
beforeAll(async () => {
  scorer = await loadEngineScorer('models/model.onnx');
});
afterAll(async () => {
  await scorer.close();
});

/** The ruleset with every rule evaluated by cel-js (no plain closure). */
function celOnly(rs: CompiledRuleset): CompiledRuleset {
  const slow = (r: CompiledRule): CompiledRule => ({
    def: r.def,
    test: r.test,
    cost: r.cost,
    readsScore: r.readsScore,
  });
  return { ...rs, active: rs.active.map(slow), shadow: rs.shadow.map(slow) };
}

async function replayed(store: FeatureStore, rs: CompiledRuleset, records: Parameters<typeof interleaveLabels>[0]) {
  const engine = new DecisionEngine({ store, scorer, rules: { current: () => rs }, clock: (ev) => ev.event_time });
  const decisions: string[] = [];
  const vectors: string[] = [];
  for await (const r of replayFeed(engine, store, interleaveLabels(records, 7), 256)) {
    decisions.push(JSON.stringify({ ...r.decision, engine_latency_ms: undefined }));
    vectors.push(featureCsvRow(r.decision.auth_id, r.vector));
  }
  return { decisions, vectors };
}

describe('replay: decisions identical to the slow references', () => {
  it('simulated history with labels: same decisions (factors included) and served vectors', async () => {
    const records = [...simulate({ customers: 100, terminals: 150, days: 25, seed: 8 })];
    expect(records.length).toBeGreaterThan(3000);
    const rs = StaticRulesetSource.fromFiles('config/rules').current();
    expect(rs.active.some((r) => r.fast)).toBe(true);
    const fast = await replayed(new MemoryFeatureStore(), rs, records);
    const slow = await replayed(new ReferenceMemoryStore(), celOnly(rs), records);
    expect(fast.decisions.length).toBe(records.length);
    const firstDiff = fast.decisions.findIndex((d, i) => d !== slow.decisions[i]);
    expect(firstDiff === -1 ? null : [fast.decisions[firstDiff], slow.decisions[firstDiff]]).toBeNull();
    expect(fast.vectors).toEqual(slow.vectors);
    // The comparison covers rule hits and more than one outcome.
    const parsed = fast.decisions.map((d) => JSON.parse(d) as { outcome: string; rule_hits: unknown[] });
    expect(new Set(parsed.map((d) => d.outcome)).size).toBeGreaterThan(1);
    expect(parsed.filter((d) => d.rule_hits.length > 0).length).toBeGreaterThan(10);
  });
});
