/**
 * The bench (`fraud-engine bench`, npm run bench): end-to-end latency and throughput of the
 * engine, measured side by side with a kafkajs passthrough (consume then produce, no work) on the
 * same broker and the same 6-partition topic layout. The load generator and the engine are
 * separate processes; every phase is bounded in events and time; the bench deletes the topics and
 * Redis keys it created. See docs/performance.md.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Cluster, type Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { ChildEngineProcess, ROOT } from '../cli/child-engine.js';
import { codecsFromConfig, connectRedis } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import type { AvroCodecs } from '../events/codec.js';
import { createKafka } from '../kafka/client.js';
import { deltaOf, engineCounters, metricOf, round, ZERO_COUNTERS } from './engine-counters.js';
import { fixedRate, type BenchTopics } from './fixed-rate.js';
import { createTopics, deleteTopics, PARTITIONS, passthrough, preload, sleep } from './kafka.js';

export interface BenchOptions {
  /** 60,000 events and 20 s per rate instead of 200,000 and 60 s. */
  quick: boolean;
  /** A V8 CPU profile of the engine per phase, written when it exits, into this directory. */
  profileDir?: string;
  log: (msg: string) => void;
}

const HTTP_PORT = 9470;

interface Run {
  cfg: EngineConfig;
  kafka: Kafka;
  codecs: AvroCodecs;
  redis: Redis;
  runId: string;
  prefix: string;
  o: BenchOptions;
  engine: ChildEngineProcess | null;
}

function startEngine(run: Run, topics: BenchTopics, group: string, phase: string): ChildEngineProcess {
  run.engine = ChildEngineProcess.start({
    nodeArgs: run.o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(run.o.profileDir, phase)] : [],
    httpPort: HTTP_PORT,
    env: {
      ...process.env,
      FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input,
      FRAUD_KAFKA_TOPIC_DECISIONS: topics.output,
      FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
      FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
      FRAUD_KAFKA_GROUP_ID: group,
      FRAUD_REDIS_KEY_PREFIX: run.prefix,
      FRAUD_ENGINE_HTTP_PORT: String(HTTP_PORT),
      FRAUD_ENGINE_LOG_LEVEL: 'warn',
      FRAUD_KAFKA_BROKERS: run.cfg.kafka.brokers.join(','),
    },
  });
  return run.engine;
}

async function stopEngine(run: Run): Promise<void> {
  await run.engine?.stop();
  run.engine = null;
}

const rssMb = (engine: ChildEngineProcess): number => {
  const kb = engine.rssKb();
  return kb === null ? NaN : round(kb / 1024);
};

async function scanKeys(
  redis: Redis,
  pattern: string,
  each: (keys: string[]) => Promise<unknown> = async () => undefined,
): Promise<number> {
  let cursor = '0',
    n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
    if (keys.length) await each(keys);
  } while (cursor !== '0');
  return n;
}

const redisUsedMemory = async (redis: Redis): Promise<number> =>
  Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

/** (b) The engine at saturation on a preloaded topic: decisions per second, peak RSS, stages, Redis bytes per card. */
async function saturation(run: Run, sat: BenchTopics, n: number) {
  const memBefore = await redisUsedMemory(run.redis);
  const engine = startEngine(run, sat, `${run.runId}-engine`, 'saturation');
  await engine.waitReady({ intervalMs: 200 });
  let first = 0,
    last = 0,
    done = 0,
    peakRss = 0;
  const until = Date.now() + 600_000;
  while (done < n && Date.now() < until) {
    done = await metricOf(engine, 'fraud_decisions_total');
    const now = performance.now();
    if (done > 0 && !first) first = now;
    if (done > 0) last = now;
    peakRss = Math.max(peakRss, rssMb(engine));
    await sleep(100);
  }
  const eps = done / ((last - first) / 1000);
  const { stages, batches, degraded, degradedByReason } = deltaOf(await engineCounters(engine), ZERO_COUNTERS);
  const fullEps = (done - degraded) / ((last - first) / 1000);
  const memAfter = await redisUsedMemory(run.redis);
  const cards = await scanKeys(run.redis, `${run.prefix}:{k:*}:tx`);
  run.o.log(
    `   ${Math.round(eps)} decisions/s (${Math.round(fullEps)}/s with full features), peak RSS ${peakRss} MB, ${batches} batches, ${degraded} degraded ${JSON.stringify(degradedByReason)}, mean stage ms ${JSON.stringify(stages)}`,
  );
  await stopEngine(run);
  return {
    eps,
    fullEps,
    peakRss,
    stages,
    batches,
    degraded,
    degradedByReason,
    redisBytesPerCard: (memAfter - memBefore) / Math.max(1, cards),
  };
}

/** (c) Fixed rates from a separate load generator, latency read back by a separate consumer. */
async function fixedRates(run: Run, rt: BenchTopics, seconds: number) {
  const engine = startEngine(run, rt, `${run.runId}-rengine`, 'fixed-rate');
  await engine.waitReady({ intervalMs: 200 });
  const rows = [];
  for (const rate of [1000, 5000]) {
    const before = await engineCounters(engine);
    const r = await fixedRate(run.kafka, run.codecs, rt, rate, seconds, `${run.runId}-r${rate}`);
    const d = deltaOf(await engineCounters(engine), before);
    const row = {
      ...r,
      degraded_decisions: d.degraded,
      degraded_by_reason: d.degradedByReason,
      mean_batch_size: round(d.events / Math.max(1, d.batches), 1),
      mean_stage_ms_per_batch: d.stages,
    };
    run.o.log(
      `   ${rate}/s: achieved ${r.achieved_eps}/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, ${d.degraded} degraded ${JSON.stringify(d.degradedByReason)}, ` +
        `parts (p50, p99) ${JSON.stringify(r.parts_p50_p99_ms)}, batch ${row.mean_batch_size}, mean stage ms ${JSON.stringify(d.stages)}`,
    );
    rows.push(row);
  }
  const rss = rssMb(engine);
  await stopEngine(run);
  return { rows, rss };
}

/** Runs the three phases and returns the bench's result (the JSON of docs/performance.md). */
export async function runBench(cfg: EngineConfig, o: BenchOptions) {
  const n = o.quick ? 60_000 : 200_000;
  const rateSeconds = o.quick ? 20 : 60;
  const runId = `bench-${Date.now().toString(36)}`;
  const kafka = createKafka(cfg.kafka, undefined, '-bench');
  const sat: BenchTopics = {
    input: `${runId}-in`,
    output: `${runId}-out`,
    labels: `${runId}-labels`,
    dlq: `${runId}-dlq`,
  };
  const rt: BenchTopics = {
    input: `${runId}-rin`,
    output: `${runId}-rout`,
    labels: `${runId}-rlabels`,
    dlq: `${runId}-rdlq`,
  };
  const passOut = `${runId}-pass`;
  const all = [...Object.values(sat), ...Object.values(rt), passOut];
  const client = await connectRedis(cfg.redis, { options: {} });
  // Memory per card is read from one node's INFO: the bench measures a single node.
  if (client instanceof Cluster) {
    client.disconnect();
    throw new Error('bench: measures a single Redis node; unset redis.cluster_nodes');
  }
  const redis = client;
  const run: Run = {
    cfg,
    kafka,
    redis,
    runId,
    prefix: `fe-${runId}`,
    o,
    engine: null,
    codecs: null as unknown as AvroCodecs,
  };
  try {
    await createTopics(kafka, all);
    run.codecs = await codecsFromConfig(cfg, { authorizations: sat.input, decisions: sat.output, labels: sat.labels });
    await codecsFromConfig(cfg, { authorizations: rt.input, decisions: rt.output, labels: rt.labels });

    o.log(`preloading ${n} authorizations into ${sat.input} (${PARTITIONS} partitions)`);
    await preload(kafka, run.codecs, sat.input, n, runId);
    o.log('a. passthrough: kafkajs consume-then-produce, no work');
    const passEps = await passthrough(kafka, sat.input, passOut, n, 300_000);
    o.log(`   ${Math.round(passEps)} events/s`);
    o.log('b. engine at saturation on the same preloaded topic');
    const s = await saturation(run, sat, n);
    o.log(`c. fixed rates, ${rateSeconds} s each`);
    const fixed = await fixedRates(run, rt, rateSeconds);

    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      version: string;
      dependencies: Record<string, string>;
    };
    const stack = readFileSync(resolve(ROOT, 'scripts/stack'), 'utf8');
    return {
      passthrough: { throughput_eps: Math.round(passEps) },
      engine: {
        throughput_eps: Math.round(s.eps),
        full_feature_eps: Math.round(s.fullEps),
        rss_mb: Math.max(s.peakRss, fixed.rss),
        mean_stage_ms_per_batch: s.stages,
        mean_batch_size: round(n / s.batches),
        degraded_decisions: s.degraded,
        degraded_by_reason: s.degradedByReason,
      },
      ratio: round(s.eps / passEps, 3),
      fixed_rate: fixed.rows,
      redis_bytes_per_card: Math.round(s.redisBytesPerCard),
      redis_bytes_per_1000_cards: Math.round(s.redisBytesPerCard * 1000),
      events: { saturation: n, fixed_rate_seconds: rateSeconds, partitions: PARTITIONS, quick: o.quick },
      machine: {
        cpus: cpus().length,
        cpu_model: cpus()[0]?.model ?? 'unknown',
        memory_gb: round(totalmem() / 2 ** 30),
        node: process.version,
      },
      versions: {
        engine: pkg.version,
        kafka: /KAFKA_VERSION:-([^}]+)/.exec(stack)?.[1],
        kafkajs: pkg.dependencies.kafkajs,
        'onnxruntime-node': pkg.dependencies['onnxruntime-node'],
        model: (JSON.parse(readFileSync(resolve(ROOT, 'models/model.json'), 'utf8')) as { model_version: string })
          .model_version,
      },
    };
  } finally {
    await stopEngine(run);
    await deleteTopics(kafka, all);
    // Leave Redis as it was found: the bench's own key prefix only.
    await scanKeys(redis, `${run.prefix}:*`, (keys) => redis.del(...keys));
    redis.disconnect();
  }
}
