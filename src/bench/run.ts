/**
 * The bench (`fraud-engine bench`, npm run bench): end-to-end latency and throughput of the
 * engine, measured side by side with a kafkajs passthrough (consume then produce, no work) on the
 * same broker and the same 6-partition topic layout, at saturation and at each fixed rate (the
 * floor), and what each phase costs every process in CPU per event (./phase-cpu.ts). The load
 * generator, the engine and the fixed-rate passthrough are separate processes; every phase is
 * bounded in events and time; the bench deletes the topics and Redis keys it created. See
 * docs/performance.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Cluster, type Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { ChildEngineProcess, ROOT } from '../cli/child-engine.js';
import { codecsFromConfig, connectRedis } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import type { AvroCodecs } from '../events/codec.js';
import { SCRIPTS } from '../features/redis/scripts.js';
import { KEY_SUFFIX } from '../features/redis/store.js';
import { createKafka } from '../kafka/client.js';
import { deltaOf, engineCounters, metricOf, round, ZERO_COUNTERS } from './engine-counters.js';
import { fixedRate, type BenchTopics, type PhaseMeasure } from './fixed-rate.js';
import { saturationCurve } from './curve.js';
import { createTopics, deleteTopics, PARTITIONS, preload, sleep, startPassthrough } from './kafka.js';
import { startPassthroughProcess } from './passthrough-process.js';
import { beginPhase, endPhase, type NamedPids, type PhaseStart } from './phase-cpu.js';
import { commOf } from './proc-cpu.js';
import { commandsOfScripts, memoryByKind } from './redis-work.js';

export interface BenchOptions {
  /** 60,000 events and 20 s per rate instead of 200,000 and 60 s. */
  quick: boolean;
  /** A V8 CPU profile of the engine per phase, written when it exits, into this directory. */
  profileDir?: string;
  /**
   * The saturation curve (./curve.ts): the engine at 1k to 20k events/s offered, 20 s each (10 s
   * quick). Full runs include it; quick runs when asked.
   */
  curve: boolean;
  /** The curve alone (phases a to c skipped): a short check, not a result for docs/bench/. */
  curveOnly?: boolean;
  /** The curve's offered rates (default ./curve.ts CURVE_RATES). */
  curveRates?: readonly number[];
  /** A note on the run kept in its JSON (e.g. "quick, shared machine"). */
  label?: string;
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
  /** The stack's processes on this machine: Redis and the broker (undefined: not found here). */
  stackPids: NamedPids;
  /** The commands the feature store's scripts run (counted apart in commandstats). */
  inScripts: ReadonlySet<string>;
}

/**
 * Redis's pid from INFO server, the broker's from the stack's pid file; each only if /proc shows
 * that process here (a remote Redis's process_id would name some other local process).
 */
async function findStackPids(redis: Redis): Promise<NamedPids> {
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const stackDir = process.env.FRAUD_STACK_DIR ?? resolve(ROOT, '.stack');
  let brokerPid: number | undefined;
  try {
    brokerPid = Number(readFileSync(resolve(stackDir, 'run/kafka.pid'), 'utf8').trim());
  } catch {
    brokerPid = undefined;
  }
  return {
    redis: redisPid && commOf(redisPid)?.startsWith('redis') ? redisPid : undefined,
    broker: brokerPid && commOf(brokerPid) === 'java' ? brokerPid : undefined,
  };
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

/**
 * (a) The ceiling: the passthrough in this process over the preloaded topic; events/s and its cost
 * from its first batch to the n-th event (the bench process is the passthrough here).
 */
async function passthroughSaturation(run: Run, input: string, output: string, n: number) {
  const p = await startPassthrough(run.kafka, { input, output, groupId: `${input}-passthrough` });
  let phase: PhaseStart | null = null,
    from = 0;
  const until = Date.now() + 300_000;
  while (p.progress().seen < n && Date.now() < until) {
    if (!phase && p.progress().seen > 0) {
      phase = await beginPhase({ passthrough: process.pid, ...run.stackPids }, run.redis);
      from = p.progress().seen;
    }
    await sleep(50);
  }
  const { seen, first, last } = p.progress();
  const cost = phase ? await endPhase(phase, run.redis, seen - from, { inScripts: run.inScripts }) : null;
  await p.stop();
  return { eps: seen / ((last - first) / 1000), cost };
}

/** (b) The engine at saturation on a preloaded topic: decisions per second, peak RSS, stages, Redis bytes per card. */
async function saturation(run: Run, sat: BenchTopics, n: number) {
  const memBefore = await redisUsedMemory(run.redis);
  const engine = startEngine(run, sat, `${run.runId}-engine`, 'saturation');
  await engine.waitReady({ intervalMs: 200 });
  let first = 0,
    last = 0,
    done = 0,
    peakRss = 0,
    from = 0;
  // The cost is taken from the first decision seen on: the engine's start-up stays out.
  let phase: PhaseStart | null = null;
  const until = Date.now() + 600_000;
  while (done < n && Date.now() < until && engine.alive) {
    // NaN: /metrics did not answer in time (a starved machine); the count stands until it does
    const count = await metricOf(engine, 'fraud_decisions_total');
    if (Number.isNaN(count)) {
      await sleep(100);
      continue;
    }
    done = count;
    const now = performance.now();
    if (done > 0 && !first) first = now;
    if (done > 0) last = now;
    if (done > 0 && !phase) {
      phase = await beginPhase({ engine: engine.pid, ...run.stackPids, bench: process.pid }, run.redis);
      from = done;
    }
    peakRss = Math.max(peakRss, rssMb(engine));
    await sleep(100);
  }
  const cost = phase ? await endPhase(phase, run.redis, done - from, { inScripts: run.inScripts }) : null;
  const eps = done / ((last - first) / 1000);
  const { stages, batches, degradedByReason } = deltaOf(await settledCounters(engine), ZERO_COUNTERS);
  // fraud_degraded_total counts a decision once per reason; the three features_ reasons exclude each other
  const withoutFeatures =
    (degradedByReason.features_timeout ?? 0) +
    (degradedByReason.features_unavailable ?? 0) +
    (degradedByReason.features_shed ?? 0);
  const fullEps = (done - withoutFeatures) / ((last - first) / 1000);
  const memAfter = await redisUsedMemory(run.redis);
  const cards = await scanKeys(run.redis, `${run.prefix}:{k:*}${KEY_SUFFIX}`);
  const byKind = await memoryByKind(run.redis, run.prefix);
  run.o.log(
    `   ${Math.round(eps)} decisions/s (${Math.round(fullEps)}/s with full features), peak RSS ${peakRss} MB, ${batches} batches, ${withoutFeatures} without features, degraded by reason ${JSON.stringify(degradedByReason)}, mean stage ms ${JSON.stringify(stages)}`,
  );
  if (cost)
    run.o.log(`   CPU µs per event ${JSON.stringify(cost.cpu_us_per_event)}, Redis ${JSON.stringify(redisLine(cost))}`);
  await stopEngine(run);
  return {
    eps,
    fullEps,
    peakRss,
    stages,
    batches,
    withoutFeatures,
    degradedByReason,
    cost,
    cards,
    redisBytesPerCard: (memAfter - memBefore) / Math.max(1, cards),
    byKind,
  };
}

/** The engine's counters, asked again (at most 5 times) while /metrics does not answer in time. */
async function settledCounters(engine: ChildEngineProcess) {
  let c = await engineCounters(engine);
  for (let i = 0; i < 4 && Number.isNaN(c.batches + c.events); i++) c = await engineCounters(engine);
  return c;
}

const redisLine = (cost: {
  redis: { command_usec_per_event: number; calls_per_event: number; script_calls_per_event: number };
}) => ({
  usec: cost.redis.command_usec_per_event,
  calls: cost.redis.calls_per_event,
  in_scripts: cost.redis.script_calls_per_event,
});

/**
 * (c) Fixed rates from a separate load generator, read back by a separate consumer: at each rate
 * first the passthrough as a process of its own (the floor: what any kafkajs pipeline pays here),
 * then the engine, both on topics of the same layout and both running throughout.
 */
async function fixedRates(run: Run, rt: BenchTopics, pt: BenchTopics, ptCodecs: AvroCodecs, seconds: number) {
  const engine = startEngine(run, rt, `${run.runId}-rengine`, 'fixed-rate');
  const pass = startPassthroughProcess(
    { input: pt.input, output: pt.output, groupId: `${run.runId}-rpass` },
    { ...process.env, FRAUD_KAFKA_BROKERS: run.cfg.kafka.brokers.join(',') },
  );
  try {
    await Promise.all([engine.waitReady({ intervalMs: 200 }), pass.ready]);
    const rows = [];
    for (const rate of [1000, 5000]) {
      const measure = (pipeline: NamedPids): PhaseMeasure => ({
        pids: { ...pipeline, ...run.stackPids, bench: process.pid },
        redis: run.redis,
        inScripts: run.inScripts,
      });
      const floor = await fixedRate(
        run.kafka,
        ptCodecs,
        pt,
        rate,
        seconds,
        `${run.runId}-p${rate}`,
        'passthrough',
        measure({ passthrough: pass.process.pid }),
      );
      run.o.log(
        `   ${rate}/s passthrough: achieved ${floor.achieved_eps}/s, p50 ${floor.p50_ms} ms, p99 ${floor.p99_ms} ms, p99.9 ${floor.p999_ms} ms, ` +
          `parts (p50, p99) ${JSON.stringify(floor.parts_p50_p99_ms)}, CPU µs per event ${JSON.stringify(floor.cost.cpu_us_per_event)}`,
      );
      const before = await settledCounters(engine);
      const r = await fixedRate(
        run.kafka,
        run.codecs,
        rt,
        rate,
        seconds,
        `${run.runId}-r${rate}`,
        'engine',
        measure({ engine: engine.pid }),
      );
      const d = deltaOf(await settledCounters(engine), before);
      const row = {
        ...r,
        p99_over_passthrough_ms: round(r.p99_ms - floor.p99_ms),
        degraded_by_reason: d.degradedByReason,
        mean_batch_size: round(d.events / Math.max(1, d.batches), 1),
        mean_stage_ms_per_batch: d.stages,
        passthrough: floor,
      };
      run.o.log(
        `   ${rate}/s engine: achieved ${r.achieved_eps}/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms (${row.p99_over_passthrough_ms} over the passthrough), p99.9 ${r.p999_ms} ms, ${r.degraded_decisions} degraded (${r.decided_without_features} without features) ${JSON.stringify(d.degradedByReason)}, ` +
          `parts (p50, p99) ${JSON.stringify(r.parts_p50_p99_ms)}, batch ${row.mean_batch_size}, mean stage ms ${JSON.stringify(d.stages)}`,
      );
      run.o.log(
        `   ${rate}/s engine: CPU µs per event ${JSON.stringify(r.cost.cpu_us_per_event)}, Redis ${JSON.stringify(redisLine(r.cost))}`,
      );
      rows.push(row);
    }
    const rss = rssMb(engine);
    return { rows, rss };
  } finally {
    await pass.stop().catch(() => undefined);
    await stopEngine(run);
  }
}

/** (d) The saturation curve: one engine, fed at each offered rate in turn (./curve.ts). */
async function curve(run: Run, ct: BenchTopics, seconds: number) {
  const engine = startEngine(run, ct, `${run.runId}-cengine`, 'curve');
  try {
    await engine.waitReady({ intervalMs: 200 });
    return await saturationCurve(
      {
        kafka: run.kafka,
        codecs: run.codecs,
        topics: ct,
        engine,
        measure: {
          pids: { engine: engine.pid, ...run.stackPids, bench: process.pid },
          redis: run.redis,
          inScripts: run.inScripts,
        },
        runId: run.runId,
        log: run.o.log,
      },
      seconds,
      run.o.curveRates,
    );
  } finally {
    await stopEngine(run);
  }
}

/** Runs the phases and returns the bench's result (the JSON of docs/performance.md). */
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
  // the fixed-rate floor: the passthrough process's topics, laid out like the engine's
  const pt: BenchTopics = {
    input: `${runId}-pin`,
    output: `${runId}-pout`,
    labels: `${runId}-plabels`,
    dlq: `${runId}-pdlq`,
  };
  const ct: BenchTopics = {
    input: `${runId}-cin`,
    output: `${runId}-cout`,
    labels: `${runId}-clabels`,
    dlq: `${runId}-cdlq`,
  };
  const curveSeconds = o.quick ? 10 : 20;
  const passOut = `${runId}-pass`;
  const all = [
    ...Object.values(sat),
    ...Object.values(rt),
    ...Object.values(pt),
    ...(o.curve ? Object.values(ct) : []),
    passOut,
  ];
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
    stackPids: await findStackPids(redis),
    // The memo's SETs are commands of their own (one pipelined write per batch), but SET also
    // runs inside the feature store's script: commandstats cannot tell them apart, and counts
    // both as the script's work.
    inScripts: commandsOfScripts(Object.values(SCRIPTS).map((x) => x.lua)),
  };
  const started = new Date();
  try {
    await createTopics(kafka, all);
    run.codecs = await codecsFromConfig(cfg, { authorizations: sat.input, decisions: sat.output, labels: sat.labels });
    await codecsFromConfig(cfg, { authorizations: rt.input, decisions: rt.output, labels: rt.labels });
    if (o.curve) await codecsFromConfig(cfg, { authorizations: ct.input, decisions: ct.output, labels: ct.labels });
    // the passthrough's output holds authorizations: decoded with its input's subject
    const ptCodecs = await codecsFromConfig(cfg, { authorizations: pt.input, decisions: pt.output, labels: pt.labels });
    for (const [name, pid] of Object.entries(run.stackPids))
      if (pid === undefined) o.log(`${name}: no local process found, its CPU is not measured`);
    if (o.curveOnly) {
      o.log(`d. saturation curve only, ${curveSeconds} s per rate`);
      return {
        run: { date: started.toISOString(), kind: 'curve', ...(o.label ? { label: o.label } : {}) },
        saturation_curve: await curve(run, ct, curveSeconds),
      };
    }

    o.log(`preloading ${n} authorizations into ${sat.input} (${PARTITIONS} partitions)`);
    await preload(kafka, run.codecs, sat.input, n, runId);
    o.log('a. passthrough: kafkajs consume-then-produce, no work');
    const pass = await passthroughSaturation(run, sat.input, passOut, n);
    const passEps = pass.eps;
    o.log(`   ${Math.round(passEps)} events/s, CPU µs per event ${JSON.stringify(pass.cost?.cpu_us_per_event)}`);
    o.log('b. engine at saturation on the same preloaded topic');
    const s = await saturation(run, sat, n);
    o.log(`c. fixed rates, ${rateSeconds} s each`);
    const fixed = await fixedRates(run, rt, pt, ptCodecs, rateSeconds);
    let satCurve: Awaited<ReturnType<typeof curve>> | undefined;
    if (o.curve) {
      o.log(`d. saturation curve, ${curveSeconds} s per offered rate`);
      satCurve = await curve(run, ct, curveSeconds);
    }

    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      version: string;
      dependencies: Record<string, string>;
    };
    const stack = readFileSync(resolve(ROOT, 'scripts/stack'), 'utf8');
    return {
      run: {
        date: started.toISOString(),
        kind: o.quick ? 'quick' : 'full',
        ...(o.label ? { label: o.label } : {}),
        // what each process name of the `cost` objects is
        processes: {
          engine: 'fraud-engine run, a child process',
          passthrough:
            'at saturation: this bench process (kafkajs in-process); at fixed rates: `fraud-engine bench passthrough`, a child process',
          redis: `redis-server (pid from INFO server)${run.stackPids.redis ? '' : ': not found on this machine'}`,
          broker: `the Kafka broker (the stack's run/kafka.pid)${run.stackPids.broker ? '' : ': not found on this machine'}`,
          load_generator:
            'fraud-engine simulate --to-kafka, a child process; its own /proc figure over its sending window',
          bench:
            'this bench process: at fixed rates the reader (one node process with the orchestration and the /metrics polls), at saturation the /metrics polls',
        },
        cost_window:
          'saturation: from the first output seen to the last event; fixed rates: from the load generator start to the last output read (the load generator: its sending window)',
      },
      passthrough: { throughput_eps: Math.round(passEps), cost: pass.cost },
      engine: {
        throughput_eps: Math.round(s.eps),
        full_feature_eps: Math.round(s.fullEps),
        rss_mb: Math.max(s.peakRss, fixed.rss),
        mean_stage_ms_per_batch: s.stages,
        mean_batch_size: round(n / s.batches),
        decided_without_features: s.withoutFeatures,
        // a decision counts once under each of its reasons
        degraded_by_reason: s.degradedByReason,
        cost: s.cost,
      },
      ratio: round(s.eps / passEps, 3),
      fixed_rate: fixed.rows,
      ...(satCurve ? { saturation_curve: satCurve } : {}),
      redis_bytes_per_card: Math.round(s.redisBytesPerCard),
      redis_bytes_per_1000_cards: Math.round(s.redisBytesPerCard * 1000),
      // after saturation, the bench's prefix only (MEMORY USAGE, sampled per kind): robust to others sharing Redis
      redis_memory_by_kind: s.byKind,
      redis_key_bytes_per_card: Math.round(
        Object.values(s.byKind).reduce((sum, k) => sum + k.bytes, 0) / Math.max(1, s.cards),
      ),
      events: {
        saturation: n,
        fixed_rate_seconds: rateSeconds,
        ...(satCurve ? { curve_seconds: curveSeconds } : {}),
        partitions: PARTITIONS,
        quick: o.quick,
      },
      machine: {
        cpus: cpus().length,
        cpu_model: cpus()[0]?.model ?? 'unknown',
        memory_gb: round(totalmem() / 2 ** 30),
        node: process.version,
      },
      versions: {
        redis: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
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

/**
 * Writes a result to `dir`/<date>-<quick|full>.json (-2, -3… when the day has one already);
 * returns the path. npm run bench:tables renders docs/performance.md's tables from these files.
 */
export function saveResult(result: { run: { date: string; kind: string } }, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const base = `${result.run.date.slice(0, 10)}-${result.run.kind}`;
  let path = resolve(dir, `${base}.json`);
  for (let i = 2; existsSync(path); i++) path = resolve(dir, `${base}-${i}.json`);
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
  return path;
}
