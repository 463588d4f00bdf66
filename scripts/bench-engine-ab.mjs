#!/usr/bin/env node
/* global fetch, AbortSignal */
// The engine's CPU per event, A/B: one preloaded topic, then `fraud-engine run` of each build
// (a checkout with its dist/ built) over it in turn, interleaved (A B A B ...), each with its own
// consumer group and Redis key prefix (so each decides every event afresh: same features, no memo
// hits). The cost is the engine process's utime+stime from /proc from its first decision to the
// n-th, over those events; the machine's load average is recorded beside each run, since the
// machine is shared.
// usage: node scripts/bench-engine-ab.mjs [--n 40000] [--rounds 2] [--profile DIR] NAME=ROOT[@NODE_FLAG,...] ...
//   (the stack's env: source .stack/stack.env; rules come from config/rules, no PostgreSQL)
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../dist/config/config.js';
import { codecsFromConfig, connectRedis } from '../dist/cli/clients.js';
import { createKafka } from '../dist/kafka/client.js';
import { createTopics, deleteTopics, preload, sleep } from '../dist/bench/kafka.js';
import { cpuSeconds } from '../dist/bench/proc-cpu.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    n: { type: 'string', default: '40000' },
    rounds: { type: 'string', default: '2' },
    profile: { type: 'string' },
  },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const variants = positionals.map((p) => {
  // NAME=ROOT or NAME=ROOT@FLAG,FLAG (node flags of that variant, e.g. --max-semi-space-size=64)
  const name = p.slice(0, p.indexOf('='));
  const [root, flags] = p.slice(p.indexOf('=') + 1).split('@');
  return { name, root: resolve(root), flags: flags ? flags.split(',') : [] };
});
if (!variants.length || variants.some((v) => !v.name || !v.root)) {
  console.error('usage: node scripts/bench-engine-ab.mjs [--n N] [--rounds R] [--profile DIR] NAME=ROOT ...');
  process.exit(2);
}

const cfg = loadConfig();
const runId = `ab-${Date.now().toString(36)}`;
const topics = { input: `${runId}-in`, output: `${runId}-out`, labels: `${runId}-labels`, dlq: `${runId}-dlq` };
const kafka = createKafka(cfg.kafka, undefined, '-ab');
const redis = await connectRedis(cfg.redis, { options: {} });
const PORT = 9479;

async function decided(name = 'fraud_decisions_total') {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/metrics`, { signal: AbortSignal.timeout(2000) });
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.e+-]+)$/.exec(line);
      if (m?.[1] !== name) continue;
      sum += Number(m[3]);
    }
    return sum;
  } catch {
    return NaN;
  }
}

async function runOne(v, round) {
  const prefix = `fe-${runId}-${v.name}-${round}`;
  const env = {
    ...process.env,
    FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input,
    FRAUD_KAFKA_TOPIC_DECISIONS: topics.output,
    FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
    FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
    FRAUD_KAFKA_GROUP_ID: `${runId}-${v.name}-${round}`,
    FRAUD_REDIS_KEY_PREFIX: prefix,
    FRAUD_ENGINE_HTTP_PORT: String(PORT),
    FRAUD_ENGINE_LOG_LEVEL: 'warn',
    // Budgets wide open: each event is decided in full whatever the machine's load (a degraded
    // decision costs less, and how many degrade depends on the load of the moment).
    FRAUD_ENGINE_REDIS_TIMEOUT_MS: '5000',
    FRAUD_ENGINE_MODEL_TIMEOUT_MS: '5000',
    FRAUD_RULES_BATCH_BUDGET_MS: '0',
  };
  delete env.FRAUD_POSTGRES_URL;
  delete env.FRAUD_REDIS_CLUSTER_NODES;
  const nodeArgs = values.profile
    ? ['--cpu-prof', '--cpu-prof-dir', resolve(values.profile, `${v.name}-${round}`)]
    : [];
  const proc = spawn(process.execPath, [...v.flags, ...nodeArgs, resolve(v.root, 'bin/fraud-engine.js'), 'run'], {
    cwd: v.root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const exited = new Promise((r) => proc.once('exit', r));
  let from = 0,
    cpu0 = 0,
    t0 = 0,
    done = 0,
    load0 = 0;
  const until = Date.now() + 300_000;
  while (done < n && Date.now() < until && proc.exitCode === null) {
    const c = await decided();
    if (!Number.isNaN(c)) done = c;
    if (done > 0 && !t0) {
      cpu0 = cpuSeconds(proc.pid);
      t0 = performance.now();
      from = done;
      load0 = loadavg()[0];
    }
    await sleep(250);
  }
  const cpu = cpuSeconds(proc.pid) - cpu0;
  const wall = (performance.now() - t0) / 1000;
  const load1 = loadavg()[0];
  const degraded = await decided('fraud_degraded_total');
  // GC pause time over the whole run (start-up included), per decision
  const gcSeconds = await decided('fraud_process_nodejs_gc_duration_seconds_sum');
  proc.kill('SIGTERM');
  await exited;
  // the features and memo keys of this run
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  const events = done - from;
  return {
    variant: v.name,
    round,
    events,
    engine_cpu_s: Math.round(cpu * 100) / 100,
    cpu_us_per_event: Math.round((cpu / events) * 1e7) / 10,
    wall_s: Math.round(wall * 10) / 10,
    eps: Math.round(events / wall),
    degraded,
    loadavg_1m: [Math.round(load0 * 100) / 100, Math.round(load1 * 100) / 100],
    gc_us_per_event_whole_run: Math.round((gcSeconds * 1e7) / Math.max(1, done)) / 10,
  };
}

try {
  await createTopics(kafka, Object.values(topics));
  const codecs = await codecsFromConfig(cfg, {
    authorizations: topics.input,
    decisions: topics.output,
    labels: topics.labels,
  });
  await preload(kafka, codecs, topics.input, n, runId);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    // alternate which build goes first in each round
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      const res = await runOne(v, r);
      results.push(res);
      console.log(JSON.stringify(res));
    }
  }
  const summary = {};
  for (const v of variants) {
    const mine = results.filter((x) => x.variant === v.name);
    const us = mine.map((x) => x.cpu_us_per_event);
    summary[v.name] = { cpu_us_per_event: us, mean: Math.round((us.reduce((a, b) => a + b, 0) / us.length) * 10) / 10 };
  }
  console.log(JSON.stringify({ n, rounds, summary }));
} finally {
  await deleteTopics(kafka, Object.values(topics));
  redis.disconnect();
}
