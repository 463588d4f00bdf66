/**
 * No decision lost or doubled under faults (issue 8). The engine runs as a child process
 * (`node bin/fraud-engine.js run`) against PRIVATE instances started here on free loopback
 * ports: a KRaft Kafka broker, a redis-server (AUTH, AOF) and a PostgreSQL cluster; only the
 * schema registry is shared (subjects are per topic, topics are unique). Each test puts a
 * bounded load on the engine, injects one fault, and ends with the same checks:
 *   - every input has exactly one distinct decision (a redelivery repeats it byte for byte);
 *   - no feature counted an event twice (Redis sets vs distinct auth ids, and the last
 *     decision's card_nb_tx_7d / customer_nb_tx_7d);
 *   - the engine's logs hold no card number and no password, whatever the events carried;
 * and prints one JSON line: events sent, decisions, duplicates, worst latency during the fault.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Kafka, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { Decision } from '../../src/events/types.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { PgRulesetStore } from '../../src/rules/pg-store.js';
import { migrate } from '../../src/storage/migrate.js';
import { ChildEngine, ensureBuilt, panRuns, TEST_PANS } from '../helpers/child-engine.js';
import { fourEyes } from '../helpers/four-eyes.js';
import {
  authorization,
  codecsFor,
  createFaultTopics,
  DecisionWatcher,
  delivery,
  faultTopics,
  featureCounts,
  LoadGenerator,
  quietKafka,
  summary,
  windowLatency,
  type FaultTopics,
} from '../helpers/fault-load.js';
import { PrivateKafka, PrivatePostgres, PrivateRedis } from '../helpers/private-services.js';
import { registryEnv, stack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RATE = 250;
const CARDS = 120;
const SESSION_TIMEOUT_MS = 5000;

let broker: PrivateKafka;
let redis: PrivateRedis;
let postgres: PrivatePostgres;
let redisAdmin: Redis;
const engines: ChildEngine[] = [];

beforeAll(async () => {
  ensureBuilt();
  // Each assigned as soon as it is up, so that afterAll stops it even if another failed.
  const started = await Promise.allSettled([
    PrivateKafka.start().then((k) => {
      broker = k;
    }),
    PrivateRedis.start().then((r) => {
      redis = r;
    }),
    PrivatePostgres.start().then((p) => {
      postgres = p;
    }),
  ]);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  redisAdmin = new Redis(redis.url, {
    password: redis.password,
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: () => 200,
  });
  redisAdmin.on('error', () => undefined);
  await redisAdmin.connect();
}, 180_000);

afterAll(async () => {
  await Promise.all(engines.map((e) => e.stop(5000)));
  redisAdmin?.disconnect();
  await Promise.all([broker?.destroy(), redis?.destroy(), postgres?.destroy()]);
}, 60_000);

interface Ctx {
  id: string;
  topics: FaultTopics;
  kafka: Kafka;
  codecs: AvroCodecs;
  watcher: DecisionWatcher;
  env: (extra?: Record<string, string>) => Record<string, string>;
}

async function setup(name: string): Promise<Ctx> {
  const id = `f${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const topics = faultTopics(id);
  const kafka = quietKafka(broker.brokers);
  await createFaultTopics(kafka, topics);
  const codecs = await codecsFor({ url: stack.schemaRegistryUrl, ...stack.schemaRegistryAuth }, topics);
  const watcher = await new DecisionWatcher(kafka, codecs, topics.decisions).start();
  const env = (extra: Record<string, string> = {}) => ({
    FRAUD_KAFKA_BROKERS: broker.brokers,
    FRAUD_KAFKA_CLIENT_ID: id,
    FRAUD_KAFKA_GROUP_ID: `${id}-engine`,
    FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.authorizations,
    FRAUD_KAFKA_TOPIC_DECISIONS: topics.decisions,
    FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
    FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
    FRAUD_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    ...registryEnv(),
    FRAUD_REDIS_URL: redis.url,
    FRAUD_REDIS_PASSWORD: redis.password,
    FRAUD_REDIS_KEY_PREFIX: `${id}-fe`,
    FRAUD_POSTGRES_URL: '',
    // The machine is shared with two JVMs and the test: budgets generous enough that decisions
    // are degraded by the injected fault only (the Redis test sets a tight one).
    FRAUD_ENGINE_REDIS_TIMEOUT_MS: '1000',
    FRAUD_ENGINE_MODEL_TIMEOUT_MS: '1000',
    // Likewise the rules' batch budget (20 ms by default): under a full test run it cut batches
    // short (rules_timeout) in tests a and d, which count only the injected fault's degradations.
    FRAUD_RULES_BATCH_BUDGET_MS: '1000',
    // The overload policy (45 ms of predicted Redis queue, whatever the budget) would shed on a
    // busy machine here too; the Redis test (c) turns it on with the shipped values.
    FRAUD_ENGINE_OVERLOAD_AWAIT_MS: '0',
    FRAUD_ENGINE_LOG_LEVEL: 'debug',
    ...extra,
  });
  return { id, topics, kafka, codecs, watcher, env };
}

async function spawnEngine(ctx: Ctx, name: string, extra: Record<string, string> = {}): Promise<ChildEngine> {
  const e = await ChildEngine.spawn(name, ctx.env(extra));
  engines.push(e);
  return e;
}

/**
 * Waits until nothing more can arrive, instead of sleeping for late redeliveries: the engines'
 * group has committed every authorization (decisions are produced before their offsets are
 * committed, so none is left to redeliver), and the watcher has read the decisions to their end.
 */
async function settled(ctx: Ctx, timeoutMs = 60_000): Promise<void> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const until = Date.now() + timeoutMs;
    const ends = async (topic: string) =>
      new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const sent = await ends(ctx.topics.authorizations);
    const groupId = ctx.env().FRAUD_KAFKA_GROUP_ID!;
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [ctx.topics.authorizations] });
      const at = new Map(committed!.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
      if ([...sent].every(([p, end]) => (at.get(p) ?? 0) >= end)) break;
      if (Date.now() > until) throw new Error(`group ${groupId} has not committed every authorization`);
      await sleep(100);
    }
    await ctx.watcher.readTo(await ends(ctx.topics.decisions), Math.max(0, until - Date.now()));
  } finally {
    await admin.disconnect();
  }
}

/** The checks every fault test ends with; returns the figures for its summary line. */
async function finish(ctx: Ctx, load: LoadGenerator, spawned: ChildEngine[], timeoutMs = 90_000) {
  await load.finished();
  await ctx.watcher.waitAll(
    load.sent.map((e) => e.auth_id),
    timeoutMs,
  );
  await settled(ctx);
  await ctx.watcher.stop();
  const d = delivery(load.sent, ctx.watcher.seen, ctx.watcher.firstAt);
  expect(d.missing).toBe(0);
  expect(d.decisions).toBe(d.events_sent);
  expect(d.distinct_duplicates, `auth ids with two different decisions: ${d.distinctIds.slice(0, 5).join(', ')}`).toBe(
    0,
  );
  // Nothing of a card number in what the engines wrote or emitted, no password either.
  for (const e of spawned) {
    const logs = e.logs();
    expect(panRuns(logs), `card numbers in the logs of ${e.name}`).toEqual([]);
    expect(logs.includes(redis.password), `redis password in the logs of ${e.name}`).toBe(false);
    expect(logs.includes(postgres.password), `postgres password in the logs of ${e.name}`).toBe(false);
  }
  for (const s of ctx.watcher.seen) expect(panRuns(s.raw.toString('latin1'))).toEqual([]);
  const degraded: Record<string, number> = {};
  const firstDecision = new Map<string, Decision>();
  for (const s of ctx.watcher.seen)
    if (!firstDecision.has(s.decision.auth_id)) firstDecision.set(s.decision.auth_id, s.decision);
  for (const dec of firstDecision.values()) for (const r of dec.degraded) degraded[r] = (degraded[r] ?? 0) + 1;
  return { d, degraded, firstDecision };
}

const pick = ({
  events_sent,
  decisions,
  decision_messages,
  duplicates,
  distinct_duplicates,
  worst_latency_ms,
  p99_latency_ms,
}: ReturnType<typeof delivery>) => ({
  events_sent,
  decisions,
  decision_messages,
  duplicates,
  distinct_duplicates,
  worst_latency_ms,
  p99_latency_ms,
});

describe('faults: no decision lost or doubled', () => {
  it('a. the engine is SIGKILLed mid-stream under load and restarted', async () => {
    const ctx = await setup('kill');
    const e1 = await spawnEngine(ctx, 'a1');
    await e1.waitReady();
    const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
      ns: ctx.id,
      rate: RATE,
      durationMs: 14_000,
      cards: CARDS,
    });
    await load.start();
    await sleep(5000);
    const killAt = Date.now();
    e1.kill('SIGKILL');
    expect((await e1.exited).signal).toBe('SIGKILL');
    await sleep(1000);
    const e2 = await spawnEngine(ctx, 'a2');
    await e2.waitReady();
    const readyAt = Date.now();
    const { d, degraded } = await finish(ctx, load, [e1, e2]);
    const redelivered = await e2.metric('fraud_redelivered_total');
    const features = await featureCounts(redisAdmin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
    const during = windowLatency(load.sent, ctx.watcher.firstAt, killAt - 2000, readyAt + 2000);
    summary('engine_sigkill_restart', {
      ...pick(d),
      redelivered_answered_from_memo: redelivered,
      fault_window_ms: readyAt - killAt,
      worst_latency_during_fault_ms: during.worst_ms,
      p99_latency_during_fault_ms: during.p99_ms,
      degraded,
      features,
      max_rss_mb: Math.max(e1.maxRssMb, e2.maxRssMb),
    });
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0, not_recorded: 0 });
    expect(degraded).toEqual({});
    expect(await e2.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('b. two engines in one group, one SIGKILLed: the other takes its partitions over', async () => {
    const ctx = await setup('group');
    const [e1, e2] = await Promise.all([spawnEngine(ctx, 'b1'), spawnEngine(ctx, 'b2')]);
    await Promise.all([e1.waitReady(), e2.waitReady()]);
    // Both hold partitions before the fault.
    // The decision consumer's joins (the label consumer logs its own, `consumer: labels`).
    const partitionsOf = (e: ChildEngine) =>
      e
        .logs()
        .split('\n')
        .filter((l) => l.includes('joined consumer group'))
        .map((l) => JSON.parse(l) as { time: number; consumer: string; partitions: number[] })
        .filter((j) => j.consumer === 'authorizations');
    const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
      ns: ctx.id,
      rate: RATE,
      durationMs: 14_000,
      cards: CARDS,
    });
    await load.start();
    await sleep(5000);
    const before = partitionsOf(e2).at(-1)?.partitions.length ?? 0;
    const killAt = Date.now();
    e1.kill('SIGKILL');
    const { d, degraded } = await finish(ctx, load, [e1, e2]);
    const takeover = partitionsOf(e2).find((j) => j.time >= killAt && j.partitions.length === 6);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(6);
    expect(takeover, 'the survivor was assigned every partition').toBeDefined();
    const features = await featureCounts(redisAdmin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
    const during = windowLatency(load.sent, ctx.watcher.firstAt, killAt - 2000, takeover!.time + 2000);
    summary('group_member_sigkill', {
      ...pick(d),
      partitions_before: before,
      takeover_after_ms: takeover!.time - killAt,
      worst_latency_during_fault_ms: during.worst_ms,
      p99_latency_during_fault_ms: during.p99_ms,
      redelivered_answered_from_memo: await e2.metric('fraud_redelivered_total'),
      degraded,
      features,
    });
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0, not_recorded: 0 });
    expect(degraded).toEqual({});
    expect(await e2.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('c. Redis slow, then hung, then down for 10 s: decisions keep coming, degraded with the reason, and recover without a backlog', async () => {
    const ctx = await setup('redis');
    const budget = 100;
    const e1 = await spawnEngine(ctx, 'c1', {
      FRAUD_ENGINE_REDIS_TIMEOUT_MS: String(budget),
      FRAUD_ENGINE_OVERLOAD_AWAIT_MS: '45',
      FRAUD_ENGINE_OVERLOAD_RECORD_MS: '120',
    });
    await e1.waitReady();
    const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
      ns: ctx.id,
      rate: RATE,
      durationMs: 31_000,
      cards: CARDS,
    });
    await load.start();
    const rss = (phase: string) => ({ phase, rss_mb: Math.round((e1.rssKb() ?? 0) / 1024) });
    const samples: { phase: string; rss_mb: number }[] = [];
    const sampler = (phase: string) => setInterval(() => samples.push(rss(phase)), 250);
    let s = sampler('baseline');
    await sleep(3000);
    // Slow: paused 200 ms out of every 250 ms (CLIENT PAUSE), 5 s.
    clearInterval(s);
    s = sampler('slow');
    const slow = { from: Date.now(), to: 0 };
    while (Date.now() - slow.from < 5000) {
      await redisAdmin.call('CLIENT', 'PAUSE', '200', 'ALL').catch(() => undefined);
      await sleep(250);
    }
    slow.to = Date.now();
    clearInterval(s);
    s = sampler('normal');
    await sleep(2000);
    // Hung: SIGSTOP for 5 s (connections stay open, nothing answers).
    clearInterval(s);
    s = sampler('hung');
    const hung = { from: Date.now(), to: 0 };
    redis.hang();
    await sleep(5000);
    redis.resume();
    hung.to = Date.now();
    clearInterval(s);
    s = sampler('normal');
    await sleep(2000);
    // Down: the process is gone for 10 s (connection refused), then back with its data (AOF).
    clearInterval(s);
    s = sampler('down');
    const down = { from: Date.now(), to: 0 };
    await redis.stop();
    await sleep(10_000);
    await redis.start();
    down.to = Date.now();
    clearInterval(s);
    s = sampler('recovered');
    const { d, degraded, firstDecision } = await finish(ctx, load, [e1]);
    clearInterval(s);
    const phase = (w: { from: number; to: number }, after = 0) => {
      const evs = load.sent.filter((e) => e.event_time >= w.from && e.event_time < w.to + after);
      const reasons: Record<string, number> = {};
      for (const e of evs)
        for (const r of firstDecision.get(e.auth_id)?.degraded ?? []) reasons[r] = (reasons[r] ?? 0) + 1;
      const rssIn = samples
        .filter((x) => x.phase === (w === slow ? 'slow' : w === hung ? 'hung' : 'down'))
        .map((x) => x.rss_mb);
      return {
        ...windowLatency(load.sent, ctx.watcher.firstAt, w.from, w.to + after),
        degraded: reasons,
        max_rss_mb: Math.max(0, ...rssIn),
      };
    };
    const recovered = { from: down.to + 2000, to: Date.now() };
    const after = windowLatency(load.sent, ctx.watcher.firstAt, recovered.from, recovered.to);
    const afterDegraded = load.sent.filter(
      (e) => e.event_time >= recovered.from && (firstDecision.get(e.auth_id)?.degraded.length ?? 0) > 0,
    ).length;
    const features = await featureCounts(redisAdmin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
    const baselineRss = Math.max(0, ...samples.filter((x) => x.phase === 'baseline').map((x) => x.rss_mb));
    const phases = { slow: phase(slow), hung: phase(hung), down: phase(down) };
    summary('redis_slow_hung_down', {
      ...pick(d),
      budget_ms: budget,
      degraded,
      phases,
      after_recovery: { ...after, degraded: afterDegraded },
      worst_latency_during_fault_ms: Math.max(phases.slow.worst_ms, phases.hung.worst_ms, phases.down.worst_ms),
      baseline_rss_mb: baselineRss,
      max_rss_mb: e1.maxRssMb,
      features,
    });
    // Decisions never wait for Redis: bounded latency in every phase, the reason on each.
    for (const p of Object.values(phases)) {
      expect(p.events).toBeGreaterThan(0);
      expect(p.worst_ms).toBeLessThan(3000);
    }
    // Hung: the first batches wait out the budget (features_timeout), then the circuit opens.
    expect(phases.hung.degraded.features_timeout ?? 0).toBeGreaterThan(0);
    expect(phases.hung.degraded.features_unavailable ?? 0).toBeGreaterThan(phases.hung.events * 0.5);
    expect(phases.down.degraded.features_unavailable ?? 0).toBeGreaterThan(phases.down.events * 0.8);
    // Back to normal, no backlog: fresh events are decided at once and with their features.
    expect(after.events).toBeGreaterThan(0);
    expect(after.p99_ms).toBeLessThan(1000);
    expect(afterDegraded).toBeLessThan(after.events * 0.05);
    // Events decided without Redis are not in the sets; none is in them twice, none decided with features is missing.
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0 });
    // Memory stays flat: Redis commands in flight are bounded (redis.max_pending_batches).
    expect(e1.maxRssMb - baselineRss).toBeLessThan(150);
    expect(await e1.stop()).toEqual({ code: 0, signal: null });
  }, 150_000);

  it('d. the Kafka broker is restarted under load: the engine reconnects and resumes', async () => {
    const ctx = await setup('broker');
    const spawned: ChildEngine[] = [];
    // The supervisor: an engine that exits is started again (the engine exits 70 when its consumer keeps crashing).
    let current = await spawnEngine(ctx, 'd1');
    spawned.push(current);
    let restarts = 0;
    let supervising = true;
    const supervise = async (): Promise<void> => {
      while (supervising) {
        const exit = await current.exited;
        if (!supervising) return;
        restarts++;
        current = await spawnEngine(ctx, `d${restarts + 1}`);
        spawned.push(current);
        void exit;
      }
    };
    await current.waitReady();
    const supervisor = supervise();
    const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
      ns: ctx.id,
      rate: RATE,
      durationMs: 20_000,
      cards: CARDS,
    });
    await load.start();
    await sleep(5000);
    const stopAt = Date.now();
    await broker.restart();
    const upAt = Date.now();
    const { d, degraded } = await finish(ctx, load, spawned, 120_000);
    supervising = false;
    const resumed = Math.min(...ctx.watcher.seen.filter((s) => s.at >= upAt).map((s) => s.at));
    const features = await featureCounts(redisAdmin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
    const during = windowLatency(load.sent, ctx.watcher.firstAt, stopAt - 2000, upAt + 5000);
    const after = windowLatency(load.sent, ctx.watcher.firstAt, upAt + 5000, Date.now());
    summary('kafka_broker_restart', {
      ...pick(d),
      broker_down_ms: upAt - stopAt,
      first_decision_after_broker_up_ms: resumed - upAt,
      engine_restarts: restarts,
      worst_latency_during_fault_ms: during.worst_ms,
      p99_latency_during_fault_ms: during.p99_ms,
      after_recovery_p99_ms: after.p99_ms,
      max_producer_send_ms: load.maxSendMs,
      degraded,
      features,
      max_rss_mb: Math.max(...spawned.map((e) => e.maxRssMb)),
    });
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0, not_recorded: 0 });
    expect(degraded).toEqual({});
    expect(await current.stop()).toEqual({ code: 0, signal: null });
    await supervisor;
  }, 180_000);

  it('e. PostgreSQL down: the last good ruleset stays in force; PANs in free text and ids never reach logs or outputs', async () => {
    const ctx = await setup('pg');
    const pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    pool.on('error', () => undefined);
    const store = new PgRulesetStore(pool);
    await migrate(pool);
    const eyes = await fourEyes(pool, store, 'faults');
    const v1 = `${ctx.id}-v1`;
    await eyes.publishActive({ ...loadRulesetFiles('config/rules'), version: v1 }, { comment: 'fault test' });
    const e1 = await spawnEngine(ctx, 'e1', { FRAUD_POSTGRES_URL: postgres.url, FRAUD_RULES_POLL_INTERVAL_MS: '500' });
    await e1.waitReady();
    const dlq: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[] = [];
    const dlqConsumer = ctx.kafka.consumer({ groupId: `dlq-${ctx.id}`, maxWaitTimeInMs: 50 });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: ctx.topics.dlq, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        dlq.push({ key: message.key, value: message.value, headers });
      },
    });
    // Every 25th message also carries a card number where an identifier belongs (dead-lettered, withheld).
    const badIds: string[] = [];
    const extra = (i: number): Message | null => {
      if (i % 25 !== 0) return null;
      const pan = TEST_PANS[(i / 25) % TEST_PANS.length]!;
      const ev = authorization(`${ctx.id}x`, i, CARDS, Date.now());
      const k = (i / 25) % 3;
      const bad =
        k === 0
          ? { ...ev, card_token: pan }
          : k === 1
            ? { ...ev, auth_id: `auth-${pan}` }
            : { ...ev, customer_id: `cust ${pan}` };
      badIds.push(bad.auth_id);
      return {
        key: k === 0 ? pan : ev.card_token,
        value: ctx.codecs.encodeAuthorization(bad) as Buffer,
        headers: { 'x-note': k === 2 ? `card ${pan}` : 'n/a' },
      };
    };
    const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
      ns: ctx.id,
      rate: RATE,
      durationMs: 18_000,
      cards: CARDS,
      extra,
    });
    await load.start();
    await sleep(4000);
    const down = { from: Date.now(), to: 0 };
    await postgres.stop('immediate');
    await sleep(8000);
    await postgres.start();
    down.to = Date.now();
    // A version activated once the database is back reaches the engine by itself.
    const v2 = `${ctx.id}-v2`;
    await eyes.publishActive({ ...loadRulesetFiles('config/rules'), version: v2 }, { comment: 'fault test' });
    const activatedAt = Date.now();
    const { d, degraded, firstDecision } = await finish(ctx, load, [e1]);
    await pool.end();
    const during = load.sent.filter((e) => e.event_time >= down.from && e.event_time < down.to);
    const versionsDuring = new Set(during.map((e) => firstDecision.get(e.auth_id)?.ruleset_version));
    const v2First = Math.min(...ctx.watcher.seen.filter((s) => s.decision.ruleset_version === v2).map((s) => s.at));
    const lat = windowLatency(load.sent, ctx.watcher.firstAt, down.from, down.to);
    const until = Date.now() + 20_000;
    while (dlq.length < badIds.length && Date.now() < until) await sleep(100);
    await dlqConsumer.disconnect();
    const features = await featureCounts(redisAdmin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
    summary('postgres_down', {
      ...pick(d),
      pg_down_ms: down.to - down.from,
      events_during_outage: during.length,
      ruleset_versions_during_outage: [...versionsDuring],
      new_version_in_force_after_ms: v2First - activatedAt,
      worst_latency_during_fault_ms: lat.worst_ms,
      p99_latency_during_fault_ms: lat.p99_ms,
      reloads_failed: await e1.metric('fraud_ruleset_reloads_total', /result="error"/),
      pan_id_events: badIds.length,
      dlq: dlq.length,
      degraded,
      features,
    });
    expect(during.length).toBeGreaterThan(0);
    expect([...versionsDuring]).toEqual([v1]);
    expect(degraded).toEqual({});
    expect(v2First - activatedAt).toBeLessThan(10_000);
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0, not_recorded: 0 });
    // Card numbers in identifiers: dead-lettered with the reason, nothing of the PAN kept.
    expect(dlq).toHaveLength(badIds.length);
    for (const m of dlq) {
      expect(m.headers['dlq.reason']).toMatch(/^pan_in_(card_token|identifier:(auth_id|customer_id))$/);
      expect(m.headers['dlq.payload']).toBe('withheld:pan_like_content');
      expect(m.value).toBeNull();
      expect(m.key).toBeNull();
      expect(panRuns(JSON.stringify(m.headers))).toEqual([]);
    }
    expect(await e1.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('f. Redis over TLS with AUTH: an untrusted certificate or a wrong password stops start-up naming Redis; trusted, it decides with features', async () => {
    const ctx = await setup('tls');
    const tls = await PrivateRedis.start({ tls: true });
    try {
      const base = { FRAUD_REDIS_URL: tls.url, FRAUD_REDIS_PASSWORD: tls.password };
      for (const [name, extra, why] of [
        ['f-untrusted', {}, /cannot connect to Redis \(redis\.url\): self-signed certificate/],
        [
          'f-wrongpw',
          { NODE_EXTRA_CA_CERTS: tls.caFile, FRAUD_REDIS_PASSWORD: 'not-the-password' },
          /cannot connect to Redis \(redis\.url\): WRONGPASS/,
        ],
      ] as const) {
        const e = await spawnEngine(ctx, name, { ...base, ...extra });
        const exit = await Promise.race([e.exited, sleep(30_000).then(() => null)]);
        expect(exit, `${name} exits`).toEqual({ code: 1, signal: null });
        expect(e.logs()).toMatch(why);
        expect(e.logs().includes(tls.password)).toBe(false);
      }
      const e1 = await spawnEngine(ctx, 'f1', { ...base, NODE_EXTRA_CA_CERTS: tls.caFile });
      await e1.waitReady();
      const load = new LoadGenerator(ctx.kafka, ctx.codecs, ctx.topics.authorizations, {
        ns: ctx.id,
        rate: RATE,
        durationMs: 4000,
        cards: CARDS,
      });
      await load.start();
      const { d, degraded } = await finish(ctx, load, [e1]);
      const admin = new Redis(tls.url, {
        password: tls.password,
        tls: { ca: readFileSync(tls.caFile) },
        lazyConnect: true,
      });
      await admin.connect();
      const features = await featureCounts(admin, `${ctx.id}-fe`, load.sent, ctx.watcher.seen);
      admin.disconnect();
      summary('redis_tls_auth', { ...pick(d), degraded, features });
      expect(degraded).toEqual({});
      expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0, not_recorded: 0 });
      expect(e1.logs().includes(tls.password)).toBe(false);
      expect(await e1.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await tls.destroy();
    }
  }, 90_000);
});
