#!/usr/bin/env node
/**
 * `npm run bench:replay`: events/s of the embedded pipeline (src/pipelines/replay/) with the
 * in-memory feature store, the shipped model and the default ruleset, on a simulated history
 * (default: the simulator's defaults, 183 days, ~1.77 M transactions) or a history file.
 *
 * Modes, each run `--rounds` times (median reported):
 *  - `replay`: what `fraud-engine replay --input FILE` does after reading the file (report over
 *    every decision, the model's drift counts), no per-decision output;
 *  - `replay_outputs` (`--outputs`): the same, each decision also formatted as `--output` and
 *    `--features-out` would write it (JSON line and CSV row, discarded);
 *  - `backtest`: `rules backtest` / the console's backtest with the default ruleset on both sides.
 * Each line gives wall-clock and CPU time (this process's user + system): on a shared machine the
 * CPU rate (`cpu_eps`) is the steadier figure. `model_s`: time inside the scorer; `features_s`:
 * the in-memory store alone over the same feed (measured once, separately).
 *
 * `--dist DIR` runs another build (e.g. a checkout of main, built) for before/after in the same
 * conditions.
 *   node scripts/bench-replay.mjs [--input FILE | --days 183] [--rounds 3] [--batch 500]
 *     [--modes replay,backtest] [--outputs] [--dist DIR] [--no-store-alone]
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { URL, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    days: { type: 'string' },
    rounds: { type: 'string' },
    batch: { type: 'string' },
    modes: { type: 'string' },
    outputs: { type: 'boolean' },
    dist: { type: 'string' },
    model: { type: 'string' },
    // Skip the store-alone measurement (e.g. under --cpu-prof, so the profile is the modes' only).
    'no-store-alone': { type: 'boolean' },
  },
});
const distDir = values.dist ? pathToFileURL(resolve(values.dist, 'dist') + '/') : new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, distDir).href);
const { readHistoryFile } = await load('events/history/index.js');
const { loadEngineScorer } = await load('models/onnx-scorer.js');
const { StaticRulesetSource } = await load('rules/file-source.js');
const { replayEvaluated, decisionOutputs } = await load('pipelines/replay/evaluated.js');
const { backtestRulesets } = await load('pipelines/replay/backtest.js');
const { DriftCounts, referenceForModel } = await load('models/drift/index.js');
const { MemoryFeatureStore } = await load('features/memory-store.js');
const { interleaveLabels, driveFeatureStore } = await load('features/label-feed.js');
const { simulate } = await load('simulator/index.js');

const rounds = Number(values.rounds ?? 3);
const batchSize = Number(values.batch ?? 500);
const modes = (values.modes ?? 'replay,backtest').split(',');
if (values.outputs && !modes.includes('replay_outputs')) modes.push('replay_outputs');
const repo = new URL('..', import.meta.url).pathname;
const modelPath = values.model ?? resolve(repo, 'models/model.onnx');
const out = (o) => console.log(JSON.stringify(o));

let records;
let source;
const tRead = performance.now();
if (values.input) {
  records = await readHistoryFile(values.input);
  source = values.input;
} else {
  const days = Number(values.days ?? 183);
  const sim = simulate({ days });
  records = [...sim];
  source = `simulate --days ${days} (seed 0, defaults)`;
}
out({
  bench: 'replay',
  dist: values.dist ?? '.',
  source,
  events: records.length,
  load_s: round((performance.now() - tRead) / 1000, 1),
  node: process.version,
  cpus: cpus().length,
  loadavg_1m: round(loadavg()[0], 2),
  date: new Date().toISOString(),
});

const scorer = await loadEngineScorer(modelPath);
const rules = StaticRulesetSource.fromFiles(resolve(repo, 'config/rules'));
const reference = await referenceForModel(scorer.modelPath, {
  version: scorer.version,
  features: scorer.metadata.features,
});

/** The scorer, its time counted. */
function timedScorer(inner) {
  const t = { ms: 0 };
  return {
    t,
    scorer: {
      get version() {
        return inner.version;
      },
      get explainer() {
        return inner.explainer;
      },
      get modelPath() {
        return inner.modelPath;
      },
      async score(rows, n) {
        const t0 = performance.now();
        try {
          return await inner.score(rows, n);
        } finally {
          t.ms += performance.now() - t0;
        }
      },
    },
  };
}

const nullSink = {
  bytes: 0,
  async write(s) {
    this.bytes += s.length;
  },
};

async function runMode(mode) {
  const { t, scorer: timed } = timedScorer(scorer);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let decided;
  if (mode === 'backtest') {
    const rs = rules.current();
    const r = await backtestRulesets({
      input: source,
      records,
      baseline: rs,
      baselineSource: 'config/rules',
      proposed: rs,
      proposedSource: 'config/rules',
      scorer: timed,
      batchSize,
      measureCosts: false,
    });
    decided = r.transactions;
  } else {
    const sinks = mode === 'replay_outputs' ? [nullSink, nullSink] : [null, null];
    const r = await replayEvaluated({
      records,
      scorer: timed,
      rules,
      labelDelayDays: 7,
      batchSize,
      window: { from: null, to: null },
      knownCompromised: null,
      onDecision: await decisionOutputs(...sinks),
      drift: reference && new DriftCounts(reference),
    });
    decided = r.decided;
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1e6;
  return {
    mode,
    events: decided,
    wall_s: round(wall, 2),
    cpu_s: round(cpu, 2),
    eps: Math.round(decided / wall),
    cpu_eps: Math.round(decided / cpu),
    model_s: round(t.ms / 1000, 2),
  };
}

// The in-memory store alone over the same feed (the features' share of a replay).
if (!values['no-store-alone']) {
  const store = new MemoryFeatureStore();
  const feed = interleaveLabels(records, 7);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for await (const _ of driveFeatureStore(store, feed, { batchSize })) n++;
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  out({ mode: 'features_only', events: n, wall_s: round(wall, 2), cpu_s: round((c.user + c.system) / 1e6, 2) });
}

const results = new Map(modes.map((m) => [m, []]));
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    const res = await runMode(mode);
    results.get(mode).push(res);
    out({ round: r + 1, ...res });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [mode, rs] of results) {
  out({
    summary: mode,
    rounds: rs.length,
    median_eps: median(rs.map((x) => x.eps)),
    median_cpu_eps: median(rs.map((x) => x.cpu_eps)),
    median_wall_s: median(rs.map((x) => x.wall_s)),
    median_model_s: median(rs.map((x) => x.model_s)),
    loadavg_1m: round(loadavg()[0], 2),
  });
}
await scorer.close();

function round(x, d) {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
