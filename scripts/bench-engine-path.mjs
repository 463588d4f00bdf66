#!/usr/bin/env node
// The engine's decision path in one process, A/B between builds (issue 17): DecisionEngine on
// the in-memory feature store, the real ONNX model with its factors, the shipped rules, then
// each decision encoded by the codecs (registered in the stack's schema registry), in batches of
// 250, as `run` does between the fetch and the produce (no Kafka, no Redis: what the engine's
// own code costs). Each build is loaded from its dist/ (built checkouts); the rounds interleave
// the builds; CPU time from process.cpuUsage per event, a fresh store per round.
// usage: node scripts/bench-engine-path.mjs [--events 20000] [--rounds 4] NAME=CHECKOUT ...
//   (the stack's env: source .stack/stack.env, for the schema registry)
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { events: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '4' } },
});
const N = Number(values.events);
const ROUNDS = Number(values.rounds);
const BATCH = 250;

async function load(name, root) {
  const dist = (p) => import(resolve(root, 'dist', p));
  const [{ loadConfig }, { codecsFromConfig }, { simulate }, { MemoryFeatureStore }, { DecisionEngine }] =
    await Promise.all([
      dist('config/config.js'),
      dist('cli/clients.js'),
      dist('simulator/index.js'),
      dist('features/memory-store.js'),
      dist('pipelines/decision/engine.js'),
    ]);
  const [{ loadEngineScorer }, { compileRuleset }, { loadRulesetFiles }] = await Promise.all([
    dist('models/onnx-scorer.js'),
    dist('rules/compile.js'),
    dist('rules/load.js'),
  ]);
  const cfg = loadConfig(resolve(root, 'config/default.yaml'));
  const id = `path-${Date.now().toString(36)}-${name}`;
  const codecs = await codecsFromConfig(cfg, { authorizations: `${id}-in`, decisions: `${id}-out`, labels: `${id}-l` });
  const scorer = await loadEngineScorer(resolve(root, cfg.model.path));
  const rs = compileRuleset(loadRulesetFiles(resolve(root, cfg.rules.dir)));
  const sim = simulate({ customers: 5000, terminals: 10000, days: 2, seed: 1 });
  const now = Date.now();
  const events = Array.from({ length: N }, (_, i) => ({
    ...sim.event(i % sim.count),
    auth_id: `${id}-${i}`,
    event_time: now - (N - i),
  }));
  return {
    name,
    async round() {
      const engine = new DecisionEngine({ store: new MemoryFeatureStore(), scorer, rules: { current: () => rs } });
      let bytes = 0;
      const t = process.cpuUsage();
      for (let i = 0; i < events.length; i += BATCH) {
        const { decisions } = await engine.decideBatch(events.slice(i, i + BATCH));
        for (const d of decisions) bytes += codecs.encodeDecision(d).length;
      }
      const u = process.cpuUsage(t);
      return { us: Math.round(((u.user + u.system) / events.length) * 100) / 100, bytes: Math.round(bytes / N) };
    },
  };
}

const builds = [];
for (const p of positionals) {
  const [name, root] = p.split('=');
  builds.push(await load(name, resolve(root)));
}
if (!builds.length) {
  console.error('usage: node scripts/bench-engine-path.mjs [--events N] [--rounds R] NAME=CHECKOUT ...');
  process.exit(2);
}
for (const b of builds) await b.round(); // warm-up: JIT, onnxruntime's first runs
const out = Object.fromEntries(builds.map((b) => [b.name, { cpu_us_per_event: [], bytes_per_decision: 0 }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const b of r % 2 ? [...builds].reverse() : builds) {
    const { us, bytes } = await b.round();
    out[b.name].cpu_us_per_event.push(us);
    out[b.name].bytes_per_decision = bytes;
  }
}
for (const v of Object.values(out))
  v.mean = Math.round((v.cpu_us_per_event.reduce((a, b) => a + b, 0) / v.cpu_us_per_event.length) * 100) / 100;
console.log(
  JSON.stringify({ events: N, rounds: ROUNDS, loadavg: loadavg().map((x) => Math.round(x * 10) / 10), ...out }),
);
process.exit(0);
