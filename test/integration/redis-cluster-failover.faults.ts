/**
 * Redis Cluster failover under load (issue 18, opt-in: `npm run test:cluster-faults`, about a
 * minute). The engine (`node bin/fraud-engine.js run`, a child process) decides against the
 * Redis Cluster of `scripts/stack cluster up` (3 masters, 3 replicas, 2 s node timeout) and the
 * stack's Kafka (topics unique to the run). Under a steady load, one master is SIGKILLed; its
 * replica takes its slots over. Checked:
 *   - decisions keep flowing: every event is decided, those of the moving slots degraded with
 *     the reason, and fresh events are decided with their features once the slots have moved;
 *   - nothing lost or counted twice: one distinct decision per event (a redelivery repeats it
 *     byte for byte), and the Redis sets hold each event at most once and every event decided
 *     with its features (Redis replicates asynchronously: a write acknowledged by the master in
 *     its last instant could be lost with it; the test would show it as `lost`).
 * Prints one JSON line: events, decisions, degraded by reason, worst latency, time to recover.
 * The killed node is started again (it rejoins as a replica) by `scripts/stack cluster up`.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import type { Decision } from '../../src/events/types.js';
import { RedisFeatureStore } from '../../src/features/redis/store.js';
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
  windowLatency,
} from '../helpers/fault-load.js';
import { connectTarget, redisClusterNodes, redisEnvOf } from '../helpers/redis-cluster.js';
import { registryEnv, stack } from '../helpers/stack.js';

const ROOT = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RATE = 200;
const CARDS = 120;
const BUDGET_MS = 200;

let admin: Cluster;
const engines: ChildEngine[] = [];
const prefixes: string[] = [];

function cli(node: string, ...args: string[]): string {
  const i = node.lastIndexOf(':');
  return spawnSync('redis-cli', ['-h', node.slice(0, i), '-p', node.slice(i + 1), ...args], {
    encoding: 'utf8',
  }).stdout.replace(/\r/g, '');
}
const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1];

beforeAll(async () => {
  ensureBuilt();
  redisClusterNodes();
  admin = (await connectTarget('Redis Cluster')) as Cluster;
}, 120_000);

afterAll(async () => {
  await Promise.all(engines.map((e) => e.stop(5000)));
  // The run's keys (features and memo) go; the cluster is shared with other tests.
  for (const prefix of prefixes) await new RedisFeatureStore(admin, { prefix }).deleteAll().catch(() => undefined);
  admin?.disconnect();
  // The killed node back (it rejoins as a replica of its old replica).
  spawnSync(resolve(ROOT, 'scripts/stack'), ['cluster', 'up'], { env: process.env, stdio: 'ignore' });
}, 60_000);

describe('Redis Cluster failover', () => {
  it('a master SIGKILLed under load: its replica takes over, decisions keep flowing, nothing lost or counted twice', async () => {
    const id = `frc-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
    const topics = faultTopics(id);
    const kafka = quietKafka(stack.kafkaBrokers.join(','));
    await createFaultTopics(kafka, topics);
    const codecs = await codecsFor({ url: stack.schemaRegistryUrl, ...stack.schemaRegistryAuth }, topics);
    const watcher = await new DecisionWatcher(kafka, codecs, topics.decisions).start();
    const prefix = `${id}-fe`;
    prefixes.push(prefix);
    const engine = await ChildEngine.spawn('rc1', {
      FRAUD_KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      FRAUD_KAFKA_CLIENT_ID: id,
      FRAUD_KAFKA_GROUP_ID: `${id}-engine`,
      FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.authorizations,
      FRAUD_KAFKA_TOPIC_DECISIONS: topics.decisions,
      FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
      FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
      FRAUD_KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...registryEnv(),
      ...redisEnvOf('Redis Cluster'),
      FRAUD_REDIS_KEY_PREFIX: prefix,
      FRAUD_POSTGRES_URL: '',
      FRAUD_ENGINE_REDIS_TIMEOUT_MS: String(BUDGET_MS),
      FRAUD_ENGINE_MODEL_TIMEOUT_MS: '1000',
      // The rules' batch budget off: on this shared 2-core machine it would degrade batches
      // (rules_timeout) for CPU reasons that have nothing to do with Redis.
      FRAUD_RULES_BATCH_BUDGET_MS: '0',
      // The overload policy off too: it sizes awaited features to 45 ms of predicted Redis queue
      // whatever the budget, and would shed (features_shed) on this busy machine.
      FRAUD_ENGINE_OVERLOAD_AWAIT_MS: '0',
    });
    engines.push(engine);
    await engine.waitReady(60_000, { assigned: true });

    const load = new LoadGenerator(kafka, codecs, topics.authorizations, {
      ns: id,
      rate: RATE,
      durationMs: 24_000,
      cards: CARDS,
    });
    await load.start();
    await sleep(6000);

    // The master of the slot of the first card's keys (any master would do: a third of the slots each).
    const nodes = redisClusterNodes();
    const masters = nodes.filter((n) => /^role:master$/m.test(cli(n, 'info', 'replication')));
    expect(masters.length).toBe(3);
    const victim = masters[0]!;
    const victimId = cli(victim, 'cluster', 'myid').trim();
    const replica = nodes.find((n) => field(cli(n, 'info', 'replication'), 'master_port') === victim.split(':')[1]);
    expect(replica, `a replica of ${victim}`).toBeDefined();
    const pid = Number(field(cli(victim, 'info', 'server'), 'process_id'));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    // The replica is promoted: master of the victim's slots, the cluster healthy again.
    let promotedAt = 0;
    while (Date.now() - killedAt < 30_000) {
      const role = cli(replica!, 'info', 'replication');
      if (/^role:master$/m.test(role) && field(cli(replica!, 'cluster', 'info'), 'cluster_state') === 'ok') {
        promotedAt = Date.now();
        break;
      }
      await sleep(50);
    }
    expect(promotedAt, `replica ${replica} of ${victim} (${victimId}) promoted`).toBeGreaterThan(0);

    await load.finished();
    await watcher.waitAll(
      load.sent.map((e) => e.auth_id),
      90_000,
    );
    await sleep(1000);
    await watcher.stop();
    const d = delivery(load.sent, watcher.seen, watcher.firstAt);
    const firstDecision = new Map<string, Decision>();
    for (const s of watcher.seen)
      if (!firstDecision.has(s.decision.auth_id)) firstDecision.set(s.decision.auth_id, s.decision);
    const degraded: Record<string, number> = {};
    let lastDegradedAt = 0;
    let degradedBeforeKill = 0;
    for (const e of load.sent) {
      const reasons = firstDecision.get(e.auth_id)?.degraded ?? [];
      for (const r of reasons) degraded[r] = (degraded[r] ?? 0) + 1;
      if (reasons.length === 0) continue;
      if (e.event_time < killedAt) degradedBeforeKill++;
      else lastDegradedAt = Math.max(lastDegradedAt, e.event_time);
    }
    // Recovered: from the last event decided degraded on, every event has its features.
    const recoveredAt = Math.max(lastDegradedAt, killedAt);
    const during = windowLatency(load.sent, watcher.firstAt, killedAt, recoveredAt + 1);
    const after = windowLatency(load.sent, watcher.firstAt, recoveredAt + 1, Date.now());
    const features = await featureCounts(admin, prefix, load.sent, watcher.seen);
    summary('redis_cluster_master_killed', {
      events_sent: d.events_sent,
      decisions: d.decisions,
      decision_messages: d.decision_messages,
      duplicates: d.duplicates,
      distinct_duplicates: d.distinct_duplicates,
      degraded,
      degraded_before_kill: degradedBeforeKill,
      killed: victim,
      promoted: replica,
      failover_ms: promotedAt - killedAt,
      time_to_recover_ms: recoveredAt - killedAt,
      worst_latency_ms: d.worst_latency_ms,
      p99_latency_ms: d.p99_latency_ms,
      during_failover: during,
      after_recovery: after,
      features,
    });

    // Every event decided once (a redelivery byte-identical), nothing lost.
    expect(d.missing).toBe(0);
    expect(d.decisions).toBe(d.events_sent);
    expect(d.distinct_duplicates).toBe(0);
    // Degraded while the slots moved, with the feature stage's reasons, and only then.
    expect(degradedBeforeKill).toBe(0);
    expect(Object.values(degraded).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(Object.keys(degraded).every((r) => r.startsWith('features_'))).toBe(true);
    // Recovered while the load still ran: fresh events decided with their features.
    expect(after.events).toBeGreaterThan(RATE);
    // No event counted twice; every event decided with features is in the sets.
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0 });
    expect(await engine.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);
});
