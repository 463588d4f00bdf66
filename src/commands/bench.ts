/**
 * `fraud-engine bench` (npm run bench): end-to-end latency and throughput of the engine,
 * measured side by side with a kafkajs passthrough (consume then produce, no work) on the
 * same broker and the same 6-partition topic layout. The load generator and the engine are
 * separate processes; every phase is bounded in events and time; the bench deletes the
 * topics and Redis keys it created.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import type { Kafka, Message } from 'kafkajs';
import { BIN, ChildEngineProcess, ROOT } from '../cli/child-engine.js';
import { codecsFromConfig, connectRedis } from '../config/clients.js';
import { loadConfig, type EngineConfig } from '../config/config.js';
import type { AvroCodecs } from '../events/codec.js';
import { createKafka, IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { percentileNearestRank } from '../observability/percentiles.js';
import { simulate } from '../simulator/index.js';

const PARTITIONS = 6;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[bench] ${msg}`);

interface Topics { input: string; output: string; labels: string; dlq: string }

async function createTopics(kafka: Kafka, names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  await admin.disconnect();
}

async function deleteTopics(kafka: Kafka, names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: names }).catch(() => undefined);
  await admin.disconnect();
}

/** Fills `topic` with `n` encoded authorizations (event_time = now) as fast as the producer goes. */
async function preload(kafka: Kafka, codecs: AvroCodecs, topic: string, n: number, runId: string): Promise<void> {
  const sim = simulate({ customers: Math.max(5000, Math.ceil(n / 2)), terminals: 10000, days: 2, seed: 1 });
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await producer.connect();
  for (let i = 0; i < n; ) {
    const messages: Message[] = [];
    for (const end = Math.min(n, i + 2000); i < end; i++) {
      const e = sim.event(i % sim.count);
      const ev = { ...e, auth_id: `${runId}-${i}`, event_time: Date.now() };
      messages.push({ key: ev.card_token, value: await codecs.encodeAuthorization(ev) });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** (a) The ceiling: a kafkajs consume-then-produce loop with no work, committing per batch like the engine. */
async function passthrough(kafka: Kafka, input: string, output: string, n: number, timeoutMs: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${input}-passthrough`, maxWaitTimeInMs: 20 });
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  let seen = 0, first = 0, last = 0;
  await consumer.run({
    autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (!batch.messages.length) return;
      if (!first) first = performance.now();
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) }] });
      const lastOffset = batch.messages[batch.messages.length - 1]!.offset;
      resolveOffset(lastOffset);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() }]);
      seen += batch.messages.length;
      last = performance.now();
    },
  });
  const until = Date.now() + timeoutMs;
  while (seen < n && Date.now() < until) await sleep(50);
  await consumer.disconnect();
  await producer.disconnect();
  return seen / ((last - first) / 1000);
}

function startEngine(cfg: EngineConfig, topics: Topics, group: string, prefix: string, port: number, profileDir?: string): ChildEngineProcess {
  return ChildEngineProcess.start({
    // --profile: a V8 CPU profile of the engine per phase, written when it exits (SIGTERM)
    nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    httpPort: port,
    env: {
      ...process.env,
      FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input, FRAUD_KAFKA_TOPIC_DECISIONS: topics.output,
      FRAUD_KAFKA_TOPIC_LABELS: topics.labels, FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
      FRAUD_KAFKA_GROUP_ID: group, FRAUD_REDIS_KEY_PREFIX: prefix, FRAUD_ENGINE_HTTP_PORT: String(port),
      FRAUD_ENGINE_LOG_LEVEL: 'warn', FRAUD_KAFKA_BROKERS: cfg.kafka.brokers.join(','),
    },
  });
}

const STAGES = ['decode', 'features', 'model', 'rules', 'encode', 'produce'] as const;
interface Counters { stageSum: number[]; stageCount: number[]; batches: number; events: number; degraded: number; byReason: Record<string, number> }
const ZERO_COUNTERS: Counters = { stageSum: STAGES.map(() => 0), stageCount: STAGES.map(() => 0), batches: 0, events: 0, degraded: 0, byReason: {} };

/** The engine's cumulative counters, so that a phase is measured as a difference. */
async function engineCounters(port: number): Promise<Counters> {
  return {
    stageSum: await Promise.all(STAGES.map((s) => metric(port, `fraud_stage_latency_ms_sum{stage="${s}"}`))),
    stageCount: await Promise.all(STAGES.map((s) => metric(port, `fraud_stage_latency_ms_count{stage="${s}"}`))),
    batches: await metric(port, 'fraud_batch_size_count'),
    events: await metric(port, 'fraud_batch_size_sum'),
    degraded: await metric(port, 'fraud_degraded_total'),
    byReason: await labelled(port, 'fraud_degraded_total', 'reason'),
  };
}

/** A counter's value per value of one label. */
async function labelled(port: number, name: string, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const re = new RegExp(`^${name}\\{.*${label}="([^"]*)".*\\} (\\S+)$`);
    for (const line of text.split('\n')) {
      const m = re.exec(line);
      if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    }
  } catch {
    // engine gone: nothing to count
  }
  return out;
}

function deltaOf(after: Counters, before: Counters): {
  stages: Record<string, number>; batches: number; events: number; degraded: number; degradedByReason: Record<string, number>;
} {
  const degradedByReason: Record<string, number> = {};
  for (const [r, v] of Object.entries(after.byReason)) if (v - (before.byReason[r] ?? 0) > 0) degradedByReason[r] = v - (before.byReason[r] ?? 0);
  const stages: Record<string, number> = {};
  STAGES.forEach((s, i) => {
    stages[s] = round((after.stageSum[i]! - before.stageSum[i]!) / Math.max(1, after.stageCount[i]! - before.stageCount[i]!), 2);
  });
  return { stages, batches: after.batches - before.batches, events: after.events - before.events, degraded: after.degraded - before.degraded, degradedByReason };
}

async function metric(port: number, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
    return sum;
  } catch {
    return NaN;
  }
}

function rssMb(engine: ChildEngineProcess): number {
  const kb = engine.rssKb();
  return kb === null ? NaN : round(kb / 1024);
}

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0', n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** (c) A fixed rate from a separate load-generator process; latency read back by a separate consumer. */
async function fixedRate(kafka: Kafka, codecs: AvroCodecs, topics: Topics, rate: number, seconds: number, runId: string) {
  const reader = kafka.consumer({ groupId: `${runId}-reader`, maxWaitTimeInMs: 10 });
  const latencies: number[] = [];
  // where an event's time goes: before the engine fetched it (load generator, broker, fetch),
  // in the engine up to the decision, and from there to the reader (encode, produce, broker, fetch)
  const upstream: number[] = [];
  const inEngine: number[] = [];
  const downstream: number[] = [];
  const received: { now: number; value: Buffer }[] = [];
  let joined = false;
  reader.on(reader.events.GROUP_JOIN, () => { joined = true; });
  await reader.connect();
  await reader.subscribe({ topic: topics.output, fromBeginning: false });
  await reader.run({
    // The time a decision is read is when its fetch response arrives, not after this reader
    // has decoded the ones before it: the gateway's consumer sees the whole batch then.
    // Decoding waits for the end of the phase, so this reader's own speed stays out of the figures.
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const message of batch.messages) if (message.value) received.push({ now, value: message.value });
    },
  });
  while (!joined) await sleep(50);
  await sleep(1000);
  const load = spawn(process.execPath, [BIN, 'simulate', '--to-kafka', '--rate', String(rate), '--duration', String(seconds), '--run-id', runId,
    '--seed', String(rate)], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input, FRAUD_KAFKA_TOPIC_LABELS: topics.labels },
  });
  let out = '';
  load.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  await new Promise((r) => load.once('exit', r));
  const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { sent: number; seconds: number };
  const until = Date.now() + 30_000;
  while (received.length < summary.sent && Date.now() < until) await sleep(100);
  await sleep(500); // stragglers: the count may include a late decision of the phase before
  await reader.disconnect();
  for (const { now, value } of received) {
    const d = await codecs.decodeDecision(value);
    if (!d.auth_id.startsWith(runId)) continue;
    latencies.push(now - d.event_time);
    upstream.push(d.decided_time - d.engine_latency_ms - d.event_time);
    inEngine.push(d.engine_latency_ms);
    downstream.push(now - d.decided_time);
  }
  const s = latencies.sort((a, b) => a - b);
  return {
    rate_eps: rate, achieved_eps: Math.round(summary.sent / summary.seconds), decided: s.length, sent: summary.sent,
    p50_ms: round(percentileNearestRank(s, 50)), p99_ms: round(percentileNearestRank(s, 99)), p999_ms: round(percentileNearestRank(s, 99.9)), max_ms: round(s[s.length - 1] ?? NaN),
    parts_p50_p99_ms: Object.fromEntries(
      Object.entries({ to_engine: upstream, engine: inEngine, to_reader: downstream }).map(([k, v]) => {
        const sorted = v.sort((a, b) => a - b);
        return [k, [round(percentileNearestRank(sorted, 50), 1), round(percentileNearestRank(sorted, 99), 1)]];
      }),
    ),
  };
}

export default async function bench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, json: { type: 'string' }, config: { type: 'string' }, profile: { type: 'string' } },
  });
  const profileDir = values.profile ? resolve(values.profile) : undefined;
  const quick = values.quick === true;
  const n = quick ? 60_000 : 200_000;
  const rateSeconds = quick ? 20 : 60;
  const cfg = loadConfig(values.config ?? resolve(ROOT, 'config/default.yaml'));
  const runId = `bench-${Date.now().toString(36)}`;
  const kafka = createKafka(cfg.kafka, undefined, '-bench');
  const sat: Topics = { input: `${runId}-in`, output: `${runId}-out`, labels: `${runId}-labels`, dlq: `${runId}-dlq` };
  const rt: Topics = { input: `${runId}-rin`, output: `${runId}-rout`, labels: `${runId}-rlabels`, dlq: `${runId}-rdlq` };
  const passOut = `${runId}-pass`;
  const all = [...Object.values(sat), ...Object.values(rt), passOut];
  const redis = await connectRedis(cfg.redis, { options: {} });
  const prefix = `fe-${runId}`;
  const port = 9470;
  let engine: ChildEngineProcess | null = null;
  try {
    await createTopics(kafka, all);
    const codecs = await codecsFromConfig(cfg, { authorizations: sat.input, decisions: sat.output, labels: sat.labels });
    await codecsFromConfig(cfg, { authorizations: rt.input, decisions: rt.output, labels: rt.labels });

    log(`preloading ${n} authorizations into ${sat.input} (${PARTITIONS} partitions)`);
    await preload(kafka, codecs, sat.input, n, runId);

    log('a. passthrough: kafkajs consume-then-produce, no work');
    const passEps = await passthrough(kafka, sat.input, passOut, n, 300_000);
    log(`   ${Math.round(passEps)} events/s`);

    log('b. engine at saturation on the same preloaded topic');
    const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    engine = startEngine(cfg, sat, `${runId}-engine`, prefix, port, profileDir && resolve(profileDir, 'saturation'));
    await engine.waitReady({ intervalMs: 200 });
    let first = 0, last = 0, done = 0, peakRss = 0;
    const until = Date.now() + 600_000;
    while (done < n && Date.now() < until) {
      done = await metric(port, 'fraud_decisions_total');
      const now = performance.now();
      if (done > 0 && !first) first = now;
      if (done > 0) last = now;
      peakRss = Math.max(peakRss, rssMb(engine));
      await sleep(100);
    }
    const engineEps = done / ((last - first) / 1000);
    const { stages, batches, degraded, degradedByReason } = deltaOf(await engineCounters(port), ZERO_COUNTERS);
    const fullEps = (done - degraded) / ((last - first) / 1000);
    const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    const cards = await countKeys(redis, `${prefix}:{k:*}:tx`);
    log(`   ${Math.round(engineEps)} decisions/s (${Math.round(fullEps)}/s with full features), peak RSS ${peakRss} MB, ${batches} batches, ${degraded} degraded ${JSON.stringify(degradedByReason)}, mean stage ms ${JSON.stringify(stages)}`);
    await engine.stop();
    engine = null;

    log(`c. fixed rates, ${rateSeconds} s each`);
    engine = startEngine(cfg, rt, `${runId}-rengine`, prefix, port, profileDir && resolve(profileDir, 'fixed-rate'));
    await engine.waitReady({ intervalMs: 200 });
    const fixed = [];
    for (const rate of [1000, 5000]) {
      const before = await engineCounters(port);
      const r = await fixedRate(kafka, codecs, rt, rate, rateSeconds, `${runId}-r${rate}`);
      const d = deltaOf(await engineCounters(port), before);
      const row = { ...r, degraded_decisions: d.degraded, degraded_by_reason: d.degradedByReason, mean_batch_size: round(d.events / Math.max(1, d.batches), 1), mean_stage_ms_per_batch: d.stages };
      log(`   ${rate}/s: achieved ${r.achieved_eps}/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, ${d.degraded} degraded ${JSON.stringify(d.degradedByReason)}, ` +
        `parts (p50, p99) ${JSON.stringify(r.parts_p50_p99_ms)}, ` +
        `batch ${row.mean_batch_size}, mean stage ms ${JSON.stringify(d.stages)}`);
      fixed.push(row);
    }
    const rss = rssMb(engine);
    await engine.stop();
    engine = null;

    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    const stack = readFileSync(resolve(ROOT, 'scripts/stack'), 'utf8');
    const result = {
      passthrough: { throughput_eps: Math.round(passEps) },
      engine: {
        throughput_eps: Math.round(engineEps), full_feature_eps: Math.round(fullEps), rss_mb: Math.max(peakRss, rss),
        mean_stage_ms_per_batch: stages, mean_batch_size: round(n / batches), degraded_decisions: degraded, degraded_by_reason: degradedByReason,
      },
      ratio: round(engineEps / passEps, 3),
      fixed_rate: fixed,
      redis_bytes_per_card: Math.round((memAfter - memBefore) / Math.max(1, cards)),
      redis_bytes_per_1000_cards: Math.round(((memAfter - memBefore) / Math.max(1, cards)) * 1000),
      events: { saturation: n, fixed_rate_seconds: rateSeconds, partitions: PARTITIONS, quick },
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', memory_gb: round(totalmem() / 2 ** 30), node: process.version },
      versions: {
        engine: pkg.version, kafka: /KAFKA_VERSION:-([^}]+)/.exec(stack)?.[1], kafkajs: pkg.dependencies.kafkajs,
        'onnxruntime-node': pkg.dependencies['onnxruntime-node'],
        model: (JSON.parse(readFileSync(resolve(ROOT, 'models/model.json'), 'utf8')) as { model_version: string }).model_version,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
    return 0;
  } finally {
    if (engine) await engine.stop();
    await deleteTopics(kafka, all);
    // Leave Redis as it was found: the bench's own key prefix only.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
}
