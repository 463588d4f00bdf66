#!/usr/bin/env node
/**
 * `npm run bench:factors`: the cost of a decision's top factors (TreeSHAP over the model's trees
 * plus the linear part, src/models/explain/), per event, at the engine's batch size (250), over
 * simulated events with the real feature vectors the in-memory store serves.
 *
 * Measures, per event of a batch: the factors of every event (Explainer.topFactors, what the
 * engine would do for all decisions), and the factors of the events the engine explains (score
 * >= the ruleset's review threshold: REVIEW and DECLINE), averaged over all events of the batch;
 * beside them, the batched ONNX run of the same batch, for scale.
 *
 * Imports the compiled engine from dist/ (`npm run bench:factors` builds first).
 *   node scripts/bench-factors.mjs [--model models/model.onnx] [--events 20000] [--batch 250] [--rounds 5] [--json]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FEATURE_NAMES } from '../dist/features/names.js';
import { MemoryFeatureStore } from '../dist/features/memory-store.js';
import { interleaveLabels, enrichFeed } from '../dist/features/label-feed.js';
import { simulate } from '../dist/simulator/index.js';
import { loadEngineScorer } from '../dist/models/onnx-scorer.js';
import { loadExplainer } from '../dist/models/explain/explainer.js';
import { toFloat32Rows } from '../dist/models/scorer.js';
import { loadRulesetFiles } from '../dist/rules/load.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/model.onnx' },
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '250' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const N_EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const NF = FEATURE_NAMES.length;

const scorer = await loadEngineScorer(values.model);
const explainer = await loadExplainer(values.model, scorer.metadata);
if (!explainer) {
  console.error(`bench-factors: no trees file beside ${values.model}`);
  process.exit(1);
}
const review = (await loadRulesetFiles('config/rules')).thresholds?.review ?? scorer.thresholds.review;

// ~ N transactions after a warm-up week (windows and terminal risks populated, as in production).
const days = Math.max(8, Math.ceil(N_EVENTS / 2900) + 7);
const sim = simulate({ customers: 1000, terminals: 2000, days, seed: 3 });
const enriched = await enrichFeed(new MemoryFeatureStore(), interleaveLabels([...sim.transactions()], 7));
const vectors = enriched.slice(Math.max(0, enriched.length - N_EVENTS)).map((e) => e.vector);
const batches = [];
for (let i = 0; i + BATCH <= vectors.length; i += BATCH) {
  const vs = vectors.slice(i, i + BATCH);
  const rows = toFloat32Rows(vs, NF);
  batches.push({ vs, rows, scores: await scorer.score(rows, vs.length) });
}
const nEvents = batches.length * BATCH;
const explained = batches.reduce((s, b) => s + b.scores.filter((x) => x >= review).length, 0);

async function measure(label, perBatch) {
  for (const b of batches.slice(0, 10)) await perBatch(b); // the JIT settles on the real shapes
  const us = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    for (const b of batches) await perBatch(b);
    us.push(((performance.now() - t0) * 1000) / nEvents);
  }
  us.sort((a, b) => a - b);
  return {
    label,
    median_us_per_event: +us[Math.floor(us.length / 2)].toFixed(2),
    min: +us[0].toFixed(2),
    max: +us.at(-1).toFixed(2),
  };
}

let sink = 0;
// The machine's speed at the time (the dev machine's two cores are shared): a plain loop of
// multiply-adds over a Float64Array, in ns per element, to read the other figures against.
function calibrate() {
  const a = new Float64Array(100_000).map((_, i) => i % 7);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let k = 0; k < 20; k++) for (let i = 0; i < a.length; i++) sink += a[i] * 1.0001;
    best = Math.min(best, ((performance.now() - t0) * 1e6) / (20 * a.length));
  }
  return +best.toFixed(2);
}
const loopNs = calibrate();
const results = [
  await measure('factors, every event', (b) => {
    for (let i = 0; i < BATCH; i++) sink += explainer.topFactors(b.rows, i, 5, b.vs[i]).length;
  }),
  await measure(`factors, REVIEW and DECLINE only (score >= ${review})`, (b) => {
    for (let i = 0; i < BATCH; i++)
      if (b.scores[i] >= review) sink += explainer.topFactors(b.rows, i, 5, b.vs[i]).length;
  }),
  await measure('model: the batched ONNX run', async (b) => {
    sink += (await scorer.score(b.rows, BATCH)).length;
  }),
];
await scorer.close();

const summary = {
  model: scorer.version,
  events: nEvents,
  batch: BATCH,
  explained_share: +(explained / nEvents).toFixed(4),
  calibration_ns_per_loop_step: loopNs,
  base_value: explainer.baseValue,
  results,
  sink,
};
if (values.json) console.log(JSON.stringify(summary, null, 2));
else {
  console.log(
    `model ${summary.model}, ${nEvents} events in batches of ${BATCH}; ${(100 * summary.explained_share).toFixed(2)}% at or above the review threshold`,
  );
  for (const r of results)
    console.log(
      `  ${r.label.padEnd(52)} ${String(r.median_us_per_event).padStart(8)} µs/event (min ${r.min}, max ${r.max})`,
    );
  console.log(`  machine: ${loopNs} ns a step of a plain multiply-add loop (about 1 on an idle core)`);
}
