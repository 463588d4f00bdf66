#!/usr/bin/env node
/* global fetch, AbortSignal */
// The engine's latency at a fixed rate, A/B: for each build (a checkout with its dist/ built),
// interleaved (A B, B A, ...), fresh topics, `fraud-engine run` of that build on them, the load
// generator at --rate for --seconds, the decisions read back by a separate consumer (the bench's
// fixed-rate phase, src/bench/fixed-rate.ts of this checkout: p50/p99/p99.9 and the parts
// to_engine / engine / to_reader), the engine's CPU per event from /proc, and from its own
// /metrics what could make a tail: event-loop delay (p99, max), GC pauses by kind, batches, the
// stage means. Budgets as shipped (unlike bench-engine-ab.mjs): latency is what is measured.
// usage: node scripts/bench-engine-latency.mjs [--rate 1000] [--seconds 15] [--rounds 2] NAME=ROOT ...
//   (the stack's env: source .stack/stack.env; rules from config/rules, no PostgreSQL)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../dist/config/config.js';
import { codecsFromConfig, connectRedis } from '../dist/cli/clients.js';
import { createKafka } from '../dist/kafka/client.js';
import { createTopics, deleteTopics, sleep } from '../dist/bench/kafka.js';
import { fixedRate } from '../dist/bench/fixed-rate.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
    profile: { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const variants = positionals.map((p) => {
  const [name, root] = p.split('=');
  return { name, root: resolve(root) };
});
if (!variants.length || variants.some((v) => !v.name || !v.root)) {
  console.error('usage: node scripts/bench-engine-latency.mjs [--rate R] [--seconds S] [--rounds N] NAME=ROOT ...');
  process.exit(2);
}
const cfg = loadConfig();
const runId = `lat-${Date.now().toString(36)}`;
const kafka = createKafka(cfg.kafka, undefined, '-lat');
const redis = await connectRedis(cfg.redis, { options: {} });
const PORT = 9478;
// The broker's CPU too (the stack's pid file), when the stack is the local one.
const brokerPid = (() => {
  try {
    return Number(readFileSync(resolve(process.env.FRAUD_STACK_DIR ?? '.stack', 'run/kafka.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
})();

async function metrics() {
  const res = await fetch(`http://127.0.0.1:${PORT}/metrics`, { signal: AbortSignal.timeout(2000) });
  const out = new Map();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z0-9_]+)(\{[^}]*\})?\s+([0-9.e+-]+|NaN)$/.exec(line);
    if (m) out.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return out;
}
const sumOf = (m, prefix) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);

async function runOne(v, round) {
  const id = `${runId}-${v.name}-${round}`;
  const topics = { input: `${id}-in`, output: `${id}-out`, labels: `${id}-labels`, dlq: `${id}-dlq` };
  await createTopics(kafka, Object.values(topics));
  const codecs = await codecsFromConfig(cfg, {
    authorizations: topics.input,
    decisions: topics.output,
    labels: topics.labels,
  });
  const env = {
    ...process.env,
    FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input,
    FRAUD_KAFKA_TOPIC_DECISIONS: topics.output,
    FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
    FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
    FRAUD_KAFKA_GROUP_ID: id,
    FRAUD_REDIS_KEY_PREFIX: `fe-${id}`,
    FRAUD_ENGINE_HTTP_PORT: String(PORT),
    FRAUD_ENGINE_LOG_LEVEL: 'warn',
  };
  delete env.FRAUD_POSTGRES_URL;
  delete env.FRAUD_REDIS_CLUSTER_NODES;
  const nodeArgs = values.profile
    ? ['--cpu-prof', '--cpu-prof-dir', resolve(values.profile, `${v.name}-${round}`)]
    : [];
  const proc = spawn(process.execPath, [...nodeArgs, resolve(v.root, 'bin/fraud-engine.js'), 'run'], {
    cwd: v.root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    for (let i = 0; i < 120; i++) {
      const ok = await fetch(`http://127.0.0.1:${PORT}/readyz`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      await sleep(250);
    }
    const before = await metrics();
    const load0 = loadavg()[0];
    const r = await fixedRate(kafka, codecs, topics, rate, seconds, id, 'engine', {
      pids: { engine: proc.pid, broker: brokerPid },
      redis,
      inScripts: new Set(),
    });
    const after = await metrics();
    const d = (prefix) => sumOf(after, prefix) - sumOf(before, prefix);
    const gcKinds = {};
    for (const kind of ['minor', 'major', 'incremental'])
      gcKinds[kind] = {
        count: d(`fraud_process_nodejs_gc_duration_seconds_count{kind="${kind}"}`),
        ms: Math.round(d(`fraud_process_nodejs_gc_duration_seconds_sum{kind="${kind}"}`) * 1e4) / 10,
        over_10ms:
          d(`fraud_process_nodejs_gc_duration_seconds_count{kind="${kind}"}`) -
          d(`fraud_process_nodejs_gc_duration_seconds_bucket{le="0.01",kind="${kind}"}`),
      };
    const batches = d('fraud_batch_size_count');
    const stage = (s) =>
      Math.round(
        (d(`fraud_stage_latency_seconds_sum{stage="${s}"}`) /
          Math.max(1, d(`fraud_stage_latency_seconds_count{stage="${s}"}`))) *
          1e5,
      ) / 100;
    const out = {
      variant: v.name,
      round,
      sent: r.sent,
      decided: r.decided,
      p50_ms: r.p50_ms,
      p99_ms: r.p99_ms,
      p999_ms: r.p999_ms,
      max_ms: r.max_ms,
      parts_p50_p99_ms: r.parts_p50_p99_ms,
      degraded: r.degraded_decisions,
      cpu_us_per_event: r.cost.cpu_us_per_event,
      machine_busy_cores: r.cost.machine_busy_cores,
      eventloop_lag_ms: {
        p99: Math.round((after.get('fraud_process_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1e4) / 10,
        max: Math.round((after.get('fraud_process_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1e4) / 10,
      },
      gc: gcKinds,
      batches,
      mean_batch: Math.round((d('fraud_batch_size_sum') / Math.max(1, batches)) * 10) / 10,
      stage_mean_ms: Object.fromEntries(
        ['decode', 'features', 'model', 'rules', 'factors', 'encode', 'produce'].map((s) => [s, stage(s)]),
      ),
      loadavg_1m: [Math.round(load0 * 10) / 10, Math.round(loadavg()[0] * 10) / 10],
    };
    console.log(JSON.stringify(out));
    return out;
  } finally {
    proc.kill('SIGTERM');
    await exited;
    await deleteTopics(kafka, Object.values(topics)).catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `fe-${id}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  }
}

try {
  const results = [];
  for (let r = 0; r < rounds; r++)
    for (const v of r % 2 ? [...variants].reverse() : variants) results.push(await runOne(v, r));
  const summary = {};
  for (const v of variants) {
    const mine = results.filter((x) => x.variant === v.name);
    summary[v.name] = { p99_ms: mine.map((x) => x.p99_ms), p50_ms: mine.map((x) => x.p50_ms) };
  }
  console.log(JSON.stringify({ rate, seconds, rounds, summary }));
} finally {
  redis.disconnect();
}
process.exit(0);
