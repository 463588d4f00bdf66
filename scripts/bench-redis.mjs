#!/usr/bin/env node
/**
 * `npm run bench:redis`: Redis's own work and memory per event on the decision path, measured on
 * a fixed replayed workload through the engine's Redis code: per batch the memo recall, the
 * DecisionEngine on the RedisFeatureStore (the shipped model, the default rules), the encode and
 * the memo write, as the Kafka runner does them (src/pipelines/decision/kafka-runner.ts).
 *
 * The workload is the one `npm run bench` preloads (src/bench/kafka.ts): the simulator's events
 * (customers max(5000, n/2), 10,000 terminals, 2 days, seed 1), unique auth ids, event times 1 ms
 * apart from a fixed start.
 *
 * By default it starts its own redis-server (no persistence) on --port, so that INFO
 * commandstats, INFO cpu and used_memory count this workload alone; --redis URL uses another
 * instance (deltas then include whatever else runs there).
 *
 * Prints one JSON object (also written to --json FILE):
 *   calls_per_event          top-level commands sent (EVALSHA, GET, SET, …) per event
 *   script_calls_per_event   redis.call()s made inside scripts per event
 *   usec_per_event           Redis's time in commands per event (INFO commandstats, top-level only:
 *                            a script's time includes its redis.calls)
 *   cpu_usec_per_event       the redis-server process's CPU per event (INFO cpu, user + sys:
 *                            also networking and parsing)
 *   bytes_per_card           used_memory after minus before, over the distinct cards
 *   memory_usage             MEMORY USAGE summed by kind of key (features by entity, memo)
 *
 *   engine_cpu_usec_per_event  this process's CPU per event over the same loop (process.cpuUsage):
 *                            the engine's side of the work (features, model, rules, encode, ioredis)
 *
 *   node scripts/bench-redis.mjs [--events 60000] [--batch 100] [--port 6391] [--redis URL] [--json FILE]
 *                                [--dist DIR]   (the build to measure; default ./dist)
 *                                [--days D]     (instead: the simulator's times over D days, see below)
 *                                [--no-memo]    (the feature store alone)
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import { Redis } from 'ioredis';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    batch: { type: 'string' },
    port: { type: 'string' },
    redis: { type: 'string' },
    json: { type: 'string' },
    dist: { type: 'string' },
    days: { type: 'string' },
    'no-memo': { type: 'boolean' },
  },
});
// --no-memo: the feature store alone (no memo recall or write), to split Redis's work between them.
const withMemo = !values['no-memo'];
const historyDays = values.days ? Number(values.days) : 0;
// --dist: the engine code to measure (another build's dist/, for an A/B: scripts/bench-redis-ab.mjs).
const dist = values.dist ? resolve(values.dist) : resolve(import.meta.dirname, '../dist');
const load = (path) => import(pathToFileURL(resolve(dist, path)).href);
const { RedisFeatureStore } = await load('features/redis/store.js');
const { RedisDecisionMemo } = await load('features/redis/decision-memo.js');
const { payloadHash } = await load('features/decision-memo.js');
const { packDecision } = await load('features/decision-memo-codec.js');
const { DecisionEngine } = await load('pipelines/decision/engine.js');
const { loadEngineScorer } = await load('models/onnx-scorer.js');
const { StaticRulesetSource } = await load('rules/file-source.js');
const { loadConfig } = await load('config/config.js');
const { readSchema } = await load('events/codec.js');
const { simulate } = await load('simulator/index.js');
const total = Number(values.events ?? 60_000);
const batchSize = Number(values.batch ?? 100);
const port = Number(values.port ?? 6391);

// ---- Redis: our own instance unless told otherwise --------------------------------------------
let server = null;
let redisUrl = values.redis;
if (!redisUrl) {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  redisUrl = `redis://127.0.0.1:${port}`;
}
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
redis.on('error', () => undefined); // connection retries while our server starts
for (let i = 0; ; i++) {
  try {
    await redis.connect();
    break;
  } catch (err) {
    if (i > 50) throw err;
    redis.disconnect();
    await sleep(100);
  }
}

const cfg = loadConfig('config/default.yaml', {});
const prefix = `bench-redis-${Date.now().toString(36)}`;
const store = new RedisFeatureStore(redis, { prefix });
const memo = new RedisDecisionMemo(redis, { prefix, ttlMs: cfg.engine.decision_memo_ttl_ms });
const scorer = await loadEngineScorer(cfg.model.path);
const rules = StaticRulesetSource.fromFiles(cfg.rules.dir);
const engine = new DecisionEngine({ store, scorer, rules });
// The decision's wire format (magic byte, schema id 1, Avro body) as the engine writes it.
const decisionType = avro.Type.forSchema(JSON.parse(readSchema('decision')));
const authorizationType = avro.Type.forSchema(JSON.parse(readSchema('authorization')));
const header = Buffer.from([0, 0, 0, 0, 1]);
const encodeDecision = (d) => Buffer.concat([header, decisionType.toBuffer(d)]);

const T0 = Date.UTC(2026, 0, 5);
const events = [];
if (historyDays) {
  // --days D: the simulator's own event times over D days (5,000 customers), so that entities
  // carry the history of a running deployment (a customer ~2 events a day); --events caps them.
  const sim = simulate({ customers: 5000, terminals: 10000, days: historyDays, seed: 1 });
  for (let i = 0; i < Math.min(total, sim.count); i++) events.push({ ...sim.event(i), auth_id: `b-${i}` });
} else {
  const sim = simulate({ customers: Math.max(5000, Math.ceil(total / 2)), terminals: 10000, days: 2, seed: 1 });
  for (let i = 0; i < total; i++) {
    const e = sim.event(i % sim.count);
    events.push({ ...e, auth_id: `b-${i}`, event_time: T0 + i });
  }
}
const hashes = events.map((e) => payloadHash(Buffer.concat([header, authorizationType.toBuffer(e)])));

const info = async (section) =>
  Object.fromEntries(
    (await redis.info(section))
      .split('\r\n')
      .map((l) => l.split(':'))
      .filter((kv) => kv.length === 2),
  );
/** {command: {calls, usec}} from INFO commandstats. */
const commandstats = async () => {
  const out = {};
  for (const [k, v] of Object.entries(await info('commandstats'))) {
    const m = /calls=(\d+),usec=(\d+)/.exec(v);
    if (m) out[k.replace(/^cmdstat_/, '')] = { calls: Number(m[1]), usec: Number(m[2]) };
  }
  return out;
};
const cpuSecs = async () => {
  const c = await info('cpu');
  return Number(c.used_cpu_user) + Number(c.used_cpu_sys);
};
/**
 * Commands the store and the memo send themselves; every other command counted ran inside a
 * script. SET and GET are both: SET runs inside the feature store's compare-and-set script, and
 * the memo sends its SETs as commands (pipelined; before, inside an EVAL). INFO commandstats
 * merges them, so they are counted as scripts' work whenever a script ran: calls_per_event
 * leaves out the memo's SET (one per event), script_calls_per_event includes it.
 */
const TOP_LEVEL = new Set(['evalsha', 'eval', 'get', 'mget', 'set']);

let recalled = 0;
try {
  await store.loadScripts();
  const memBefore = Number((await info('memory')).used_memory);
  const statsBefore = await commandstats();
  const cpuBefore = await cpuSecs();
  const ownBefore = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += batchSize) {
    const batch = events.slice(i, i + batchSize);
    const before = withMemo ? await memo.recall(batch.map((e) => e.auth_id)) : [];
    recalled += before.filter(Boolean).length;
    const { decisions } = await engine.decideBatch(batch, performance.now());
    if (withMemo) {
      await memo.remember(
        decisions.map((d, k) => {
          const wire = encodeDecision(d);
          return { authId: d.auth_id, hash: hashes[i + k], value: packDecision(d, batch[k], wire) };
        }),
      );
    }
  }
  const wallSecs = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(ownBefore);
  const cpuAfter = await cpuSecs();
  const statsAfter = await commandstats();
  const memAfter = Number((await info('memory')).used_memory);

  let calls = 0;
  let scriptCalls = 0;
  let usec = 0;
  const byCommand = {};
  for (const [cmd, s] of Object.entries(statsAfter)) {
    const b = statsBefore[cmd] ?? { calls: 0, usec: 0 };
    const d = { calls: s.calls - b.calls, usec: s.usec - b.usec };
    if (d.calls === 0 || cmd === 'info') continue;
    byCommand[cmd] = d;
    if (TOP_LEVEL.has(cmd) && !((cmd === 'set' || cmd === 'get') && (statsAfter.eval || statsAfter.evalsha))) {
      calls += d.calls;
      usec += d.usec;
    } else scriptCalls += d.calls;
  }
  const cards = new Set(events.map((e) => e.card_token)).size;
  const features = await store.memoryUsage();
  const n = events.length;
  const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  const result = {
    date: new Date().toISOString(),
    load_average_1m: round(loadavg()[0], 2),
    redis: server ? `own redis-server ${(await info('server')).redis_version}` : redisUrl,
    dist,
    events: n,
    history_days: historyDays || null,
    memo: withMemo,
    batch: batchSize,
    cards,
    memo_recalled: recalled,
    wall_s: round(wallSecs, 2),
    calls_per_event: round(calls / n, 3),
    script_calls_per_event: round(scriptCalls / n, 2),
    usec_per_event: round(usec / n),
    cpu_usec_per_event: round(((cpuAfter - cpuBefore) * 1e6) / n),
    engine_cpu_usec_per_event: round((own.user + own.system) / n),
    bytes_per_card: Math.round((memAfter - memBefore) / cards),
    memory_usage: {
      features_bytes_per_card: Math.round(features.bytes / cards),
      memo_bytes_per_card: Math.round(features.memo.bytes / cards),
      memo_bytes_per_entry: Math.round(features.memo.bytes / Math.max(1, features.memo.keys)),
      by_entity: features.byEntity,
      memo: features.memo,
    },
    by_command: byCommand,
  };
  const text = JSON.stringify(result, null, 2);
  console.log(text);
  if (values.json) writeFileSync(values.json, `${text}\n`);
} finally {
  await store.deleteAll().catch(() => undefined);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  await scorer.close?.();
  server?.kill('SIGTERM');
}
