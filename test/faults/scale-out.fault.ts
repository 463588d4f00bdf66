/**
 * Issue 18, item 3: engines in one consumer group on the three-broker Kafka of
 * `scripts/kafka-faults.sh`. (a) Instances are added and removed under load: every event is
 * decided, duplicates byte-identical, and each assignment splits the six input partitions
 * evenly. (b) Decisions per second with 1, 2 and 3 instances draining the same backlog. Each
 * prints one JSON line of figures.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildEngine, ensureBuilt } from '../helpers/child-engine.js';
import {
  codecsFor,
  createFaultTopics,
  DecisionWatcher,
  delivery,
  faultTopics,
  featureCounts,
  LoadGenerator,
  quietKafka,
  summary,
} from '../helpers/fault-load.js';
import { registryEnv, stack } from '../helpers/stack.js';
import { readFileSync, readdirSync } from 'node:fs';
import { cpuSeconds } from '../../src/bench/proc-cpu.js';
import { resolve } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BROKERS = stack.kafkaBrokers.join(',');
const PARTITIONS = 6;

let redisAdmin: Redis;
const engines: ChildEngine[] = [];

beforeAll(() => {
  if (stack.kafkaBrokers.length < 3)
    throw new Error('run through scripts/kafka-faults.sh: FRAUD_STACK_DIR must hold a three-broker stack');
  ensureBuilt();
  redisAdmin = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.stop(5000)));
  redisAdmin?.disconnect();
});

async function setup(name: string) {
  const id = `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const topics = faultTopics(id);
  const kafka = quietKafka(BROKERS, id);
  await createFaultTopics(kafka, topics, PARTITIONS, { replicated: true });
  const codecs = await codecsFor({ url: stack.schemaRegistryUrl, ...stack.schemaRegistryAuth }, topics);
  const watcher = await new DecisionWatcher(kafka, codecs, topics.decisions).start();
  const env: Record<string, string> = {
    FRAUD_KAFKA_BROKERS: BROKERS,
    FRAUD_KAFKA_CLIENT_ID: id,
    FRAUD_KAFKA_GROUP_ID: `${id}-engine`,
    FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.authorizations,
    FRAUD_KAFKA_TOPIC_DECISIONS: topics.decisions,
    FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
    FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
    FRAUD_KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...registryEnv(),
    FRAUD_REDIS_URL: stack.redisUrl,
    FRAUD_REDIS_KEY_PREFIX: `${id}-fe`,
    FRAUD_POSTGRES_URL: '',
    FRAUD_ENGINE_REDIS_TIMEOUT_MS: '1000',
    FRAUD_ENGINE_MODEL_TIMEOUT_MS: '1000',
  };
  const spawnEngine = async (name: string) => {
    const e = await ChildEngine.spawn(name, env);
    engines.push(e);
    return e;
  };
  return { id, topics, kafka, codecs, watcher, spawnEngine };
}

/** The three brokers' pids, from the pid files of the stack that runs them. */
function brokerPids(): number[] {
  const run = resolve(process.env.FRAUD_STACK_DIR ?? '.stack', 'run');
  return readdirSync(run)
    .filter((f) => /^kafka-\d+\.pid$/.test(f))
    .map((f) => Number(readFileSync(resolve(run, f), 'utf8').trim()));
}
interface CpuSample {
  engines: number;
  brokers: number;
  redis: number;
  redisCalls: number;
}
/**
 * Redis's own figures from INFO: CPU seconds, and commands called (commandstats counts a
 * script's inner redis.call()s too). Not commandstats' usec: it is wall time, inflated when the
 * cores are busy, and counts a script's inner calls twice.
 */
async function redisInfo(): Promise<Pick<CpuSample, 'redis' | 'redisCalls'>> {
  const info = await redisAdmin.info('all');
  const num = (re: RegExp) => [...info.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  return {
    redis: num(/^used_cpu_(?:user|sys):([\d.]+)/gm),
    redisCalls: num(/^cmdstat_[^:]+:calls=(\d+)/gm),
  };
}
async function cpuNow(es: ChildEngine[]): Promise<CpuSample> {
  // From /proc, not /metrics: an engine draining a backlog on a busy machine can be slow to answer.
  return {
    engines: es.reduce((s, e) => s + (cpuSeconds(e.pid!) ?? NaN), 0),
    brokers: brokerPids().reduce((s, pid) => s + (cpuSeconds(pid) ?? NaN), 0),
    ...(await redisInfo()),
  };
}
/**
 * CPU per decision over the drain: unlike decisions per second, it hardly depends on what else
 * the two cores run, so it is the figure to size with. Redis is the shared stack's (other
 * clients add to it), the brokers are the test's own.
 */
const perDecision = (a: CpuSample, b: CpuSample, n: number) => ({
  engine_cpu_us_per_decision: Math.round(((b.engines - a.engines) * 1e6) / n),
  broker_cpu_us_per_decision: Math.round(((b.brokers - a.brokers) * 1e6) / n),
  redis_cpu_us_per_decision: Math.round(((b.redis - a.redis) * 1e6) / n),
  redis_calls_per_decision: Math.round(((b.redisCalls - a.redisCalls) / n) * 10) / 10,
});

interface Join {
  time: number;
  consumer: string;
  partitions: number[];
}
/** The decision consumer's assignments, from the engine's log. */
const joins = (e: ChildEngine): Join[] =>
  e
    .logs()
    .split('\n')
    .filter((l) => l.includes('joined consumer group'))
    .map((l) => JSON.parse(l) as Join)
    .filter((j) => j.consumer === 'authorizations');
/** The partitions each engine held at `at` (its last assignment before it). */
const heldAt = (es: ChildEngine[], at: number) =>
  es.map(
    (e) =>
      joins(e)
        .filter((j) => j.time <= at)
        .at(-1)?.partitions ?? [],
  );

describe('scale-out: engines in one group', () => {
  it('a. instances added and removed under load: every event decided once, partitions balanced', async () => {
    const ctx = await setup('so');
    const e1 = await ctx.spawnEngine('s1');
    await e1.waitReady();
    const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
      ns: ctx.id,
      rate: 200,
      durationMs: 36_000,
      cards: 120,
    });
    await load.start();
    await sleep(6000);
    const e2 = await ctx.spawnEngine('s2');
    await sleep(6000);
    const e3 = await ctx.spawnEngine('s3');
    // Until the group has settled on three members (10 s on a quiet machine; on a busy one the
    // rebalance takes longer, and stopping the first before it ends tests nothing).
    for (let waited = 0; waited < 60_000; waited += 500) {
      await sleep(500);
      if (waited >= 10_000 && heldAt([e1, e2, e3], Date.now()).every((p) => p.length === 2)) break;
    }
    const threeAt = Date.now();
    const stopped = await e1.stop();
    const twoAt = Date.now();
    await load.finished();
    await ctx.watcher.waitAll(
      load.sent.map((e) => e.auth_id),
      120_000,
    );
    await sleep(3000); // late redeliveries, if any, reach the watcher
    await ctx.watcher.stop();
    await sleep(500);
    const d = delivery(load.sent, ctx.watcher.seen, ctx.watcher.firstAt);
    const three = heldAt([e1, e2, e3], threeAt);
    const two = heldAt([e2, e3], Date.now());
    const features = await featureCounts(redisAdmin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
    summary('scale_out_add_remove', {
      events_sent: d.events_sent,
      decisions: d.decisions,
      duplicates: d.duplicates,
      distinct_duplicates: d.distinct_duplicates,
      missing: d.missing,
      worst_latency_ms: d.worst_latency_ms,
      p99_latency_ms: d.p99_latency_ms,
      partitions_with_3: three.map((p) => p.length),
      partitions_with_2: two.map((p) => p.length),
      rebalances_seen_by_s2: joins(e2).length,
      redelivered_answered_from_memo:
        (await e2.metric('fraud_redelivered_total')) + (await e3.metric('fraud_redelivered_total')),
      scale_down_ms: twoAt - threeAt,
      features,
    });
    expect(stopped).toEqual({ code: 0, signal: null });
    expect(d.missing).toBe(0);
    expect(d.decisions).toBe(d.events_sent);
    expect(d.distinct_duplicates).toBe(0);
    expect(three.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(new Set(three.flat()).size).toBe(PARTITIONS);
    expect(two.map((p) => p.length)).toEqual([3, 3]);
    expect(new Set(two.flat()).size).toBe(PARTITIONS);
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0 });
    await Promise.all([e2.stop(), e3.stop()]);
  });

  it('b. decisions per second with 1, 2 and 3 instances draining the same backlog', async () => {
    const EVENTS = 15_000;
    const rows: Record<string, number>[] = [];
    for (const n of [1, 2, 3]) {
      const ctx = await setup(`tp${n}`);
      // The backlog first, so that the producer does not share the cores with the engines.
      const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
        ns: ctx.id,
        rate: 10_000,
        durationMs: (EVENTS / 10_000) * 1000,
        cards: 2000,
      });
      await load.start();
      await load.finished();
      const es = await Promise.all(Array.from({ length: n }, (_, i) => ctx.spawnEngine(`tp${n}-${i + 1}`)));
      await Promise.all(es.map((e) => e.waitReady(120_000)));
      const cpu0 = await cpuNow(es);
      const cpuFrom = Date.now();
      await ctx.watcher.waitAll(
        load.sent.map((e) => e.auth_id),
        300_000,
      );
      const cpu1 = await cpuNow(es);
      await ctx.watcher.stop();
      // From the moment every instance holds partitions: the rate of the balanced group.
      const readyAt = Math.max(...es.map((e) => joins(e).at(-1)?.time ?? 0));
      const times = [...ctx.watcher.firstAt.values()].filter((t) => t >= readyAt).sort((a, b) => a - b);
      const drain = times.at(-1)! - readyAt;
      rows.push({
        instances: n,
        events: times.length,
        decisions_per_s: Math.round((times.length * 1000) / Math.max(1, drain)),
        drain_ms: drain,
        // Per decision made between the two CPU samples (some were made before the first).
        ...perDecision(cpu0, cpu1, [...ctx.watcher.firstAt.values()].filter((t) => t >= cpuFrom).length),
      });
      expect(delivery(load.sent, ctx.watcher.seen, ctx.watcher.firstAt).missing).toBe(0);
      await Promise.all(es.map((e) => e.stop()));
    }
    summary('scale_out_throughput', { rows });
    expect(rows.map((r) => r.instances)).toEqual([1, 2, 3]);
  }, 900_000);
});
