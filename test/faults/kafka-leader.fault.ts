/**
 * Issue 18, item 2: the leader of the input partitions is SIGKILLed under load on a three-broker
 * Kafka (replication factor 3, min.insync.replicas 2; `scripts/kafka-faults.sh` starts it with
 * `scripts/stack up --kafka-brokers 3 --only kafka` and points FRAUD_STACK_DIR at it). One
 * engine runs as a child process under a supervisor (an engine whose consumer keeps crashing
 * exits 70 and is started again). The killed broker is started again by `scripts/stack up`
 * while the load goes on. Checks: every authorization decided, duplicates byte-identical, no
 * feature counted twice, nothing degraded but by the budgets during the backlog (only Kafka
 * failed); one JSON line of figures.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { Decision } from '../../src/events/types.js';
import { ChildEngine, ensureBuilt, panRuns, ROOT } from '../helpers/child-engine.js';
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
  type FaultTopics,
} from '../helpers/fault-load.js';
import { registryEnv, stack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RATE = 250;
const CARDS = 120;
const LOAD_MS = 30_000;
const KILL_AFTER_MS = 8_000;
const RESTART_AFTER_MS = 8_000;
/** The node that leads every input partition (the topic's replicas are assigned so). */
const LEADER = 1;
const STATE = process.env.FRAUD_STACK_DIR ?? '';
const BROKERS = stack.kafkaBrokers.join(',');

let redisAdmin: Redis;
const engines: ChildEngine[] = [];
/** The supervisor starts an engine that exited again while this holds. */
let supervising = true;

beforeAll(() => {
  if (!STATE || stack.kafkaBrokers.length < 3)
    throw new Error('run through scripts/kafka-faults.sh: FRAUD_STACK_DIR must hold a three-broker stack');
  ensureBuilt();
  redisAdmin = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  supervising = false;
  await Promise.all(engines.map((e) => e.stop(5000)));
  redisAdmin?.disconnect();
});

/** Input partitions all led by LEADER, followers on the two others; the rest spread by Kafka. */
async function createTopics(kafka: Kafka, t: FaultTopics): Promise<void> {
  const others = [1, 2, 3].filter((n) => n !== LEADER);
  await createFaultTopics(kafka, t, 6, {
    replicated: true,
    authorizations: {
      numPartitions: undefined,
      replicationFactor: undefined,
      replicaAssignment: Array.from({ length: 6 }, (_, p) => ({
        partition: p,
        replicas: [LEADER, ...(p % 2 ? others : [...others].reverse())],
      })),
    },
  });
}

async function partitions(admin: Admin, topic: string) {
  const [m] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  return m!.partitions;
}

/** Polls until `ok` holds for every partition of `topic`; the time it took. */
async function until(
  admin: Admin,
  topic: string,
  ok: (p: { leader: number; isr: number[] }) => boolean,
  timeoutMs: number,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      if ((await partitions(admin, topic)).every(ok)) return Date.now() - start;
    } catch {
      // metadata from a broker that just died: ask again
    }
    if (Date.now() - start > timeoutMs) throw new Error(`${topic}: condition not met in ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** `scripts/stack up` on the fault stack: starts again what is not running (the killed node). */
function stackUp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [join(ROOT, 'scripts/stack'), 'up', '--only', 'kafka'], {
      env: { ...process.env, FRAUD_STACK_DIR: STATE },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(0) : reject(new Error(`scripts/stack up failed:\n${err}`))));
  });
}

/** Committed offsets of the group reach the end of the input, and the watcher read every decision. */
async function settled(admin: Admin, t: FaultTopics, groupId: string, watcher: DecisionWatcher): Promise<void> {
  const deadline = Date.now() + 90_000;
  const ends = async (topic: string) =>
    new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  const sent = await ends(t.authorizations);
  for (;;) {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [t.authorizations] });
    const at = new Map(committed!.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
    if ([...sent].every(([p, end]) => (at.get(p) ?? 0) >= end)) break;
    if (Date.now() > deadline) throw new Error(`group ${groupId} has not committed every authorization`);
    await sleep(100);
  }
  await watcher.readTo(await ends(t.decisions), Math.max(0, deadline - Date.now()));
}

/** How many of `times` fall in each second of [from, to). */
function perSecond(times: number[], from: number, to: number): number[] {
  const out = Array<number>(Math.max(0, Math.ceil((to - from) / 1000))).fill(0);
  for (const t of times) if (t >= from && t < to) out[Math.floor((t - from) / 1000)]!++;
  return out;
}

describe('multi-broker Kafka faults', () => {
  it('the leader of every input partition is SIGKILLed under load, then started again: nothing lost or conflicting', async () => {
    const id = `kl-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
    const topics = faultTopics(id);
    const kafka = quietKafka(BROKERS, id);
    await createTopics(kafka, topics);
    const admin = kafka.admin();
    await admin.connect();
    expect((await partitions(admin, topics.authorizations)).map((p) => p.leader)).toEqual(Array(6).fill(LEADER));
    const codecs: AvroCodecs = await codecsFor({ url: stack.schemaRegistryUrl, ...stack.schemaRegistryAuth }, topics);
    const watcher = await new DecisionWatcher(kafka, codecs, topics.decisions).start();
    const groupId = `${id}-engine`;
    const env = {
      FRAUD_KAFKA_BROKERS: BROKERS,
      FRAUD_KAFKA_CLIENT_ID: id,
      FRAUD_KAFKA_GROUP_ID: groupId,
      FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.authorizations,
      FRAUD_KAFKA_TOPIC_DECISIONS: topics.decisions,
      FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
      FRAUD_KAFKA_TOPIC_DLQ: topics.dlq,
      FRAUD_KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...registryEnv(),
      FRAUD_REDIS_URL: stack.redisUrl,
      FRAUD_REDIS_KEY_PREFIX: `${id}-fe`,
      FRAUD_POSTGRES_URL: '',
      // Three JVMs, the test and other work share two cores: budgets that only a real Redis
      // or model failure exceeds, so that a degraded decision would mean the fault leaked.
      FRAUD_ENGINE_REDIS_TIMEOUT_MS: '1000',
      FRAUD_ENGINE_MODEL_TIMEOUT_MS: '1000',
      FRAUD_ENGINE_LOG_LEVEL: 'debug',
      // The overload policy off too: it sizes awaited features to 45 ms of predicted Redis queue
      // whatever the budget, and would shed (features_shed) on this busy machine.
      FRAUD_ENGINE_OVERLOAD_AWAIT_MS: '0',
    };
    // The supervisor: an engine that exits is started again.
    let current = await ChildEngine.spawn('k1', env);
    engines.push(current);
    let restarts = 0;
    const supervisor = (async () => {
      while (supervising) {
        await current.exited;
        if (!supervising) return;
        restarts++;
        current = await ChildEngine.spawn(`k${restarts + 1}`, env);
        engines.push(current);
      }
    })();
    await current.waitReady();

    const load = new LoadGenerator(kafka, codecs, topics.authorizations, {
      ns: id,
      rate: RATE,
      durationMs: LOAD_MS,
      cards: CARDS,
    });
    await load.start();
    await sleep(KILL_AFTER_MS);
    const pid = Number(readFileSync(join(STATE, `run/kafka-${LEADER}.pid`), 'utf8'));
    const killAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const leadersMovedMs = await until(
      admin,
      topics.authorizations,
      (p) => p.leader >= 0 && p.leader !== LEADER,
      60_000,
    );
    const isrShrunk = (await partitions(admin, topics.authorizations)).every((p) => !p.isr.includes(LEADER));
    await sleep(Math.max(0, killAt + RESTART_AFTER_MS - Date.now()));
    const restartAt = Date.now();
    await stackUp();
    const nodeUpMs = Date.now() - restartAt;
    const isrRestoredMs = nodeUpMs + (await until(admin, topics.authorizations, (p) => p.isr.length === 3, 120_000));

    await load.finished();
    await watcher.waitAll(
      load.sent.map((e) => e.auth_id),
      120_000,
    );
    await settled(admin, topics, groupId, watcher);
    await watcher.stop();
    supervising = false;

    const d = delivery(load.sent, watcher.seen, watcher.firstAt);
    const first = new Map<string, Decision>();
    for (const s of watcher.seen) if (!first.has(s.decision.auth_id)) first.set(s.decision.auth_id, s.decision);
    const degraded: Record<string, number> = {};
    for (const dec of first.values()) for (const r of dec.degraded) degraded[r] = (degraded[r] ?? 0) + 1;
    // Recovery: the first decision of an event sent after the kill, and the moment the backlog
    // was gone (the last event sent after the kill that waited more than a second got its decision).
    const afterKill = load.sent.filter((e) => e.event_time >= killAt);
    const firstAfterKill = Math.min(...afterKill.map((e) => watcher.firstAt.get(e.auth_id)!));
    const slow = afterKill.filter((e) => watcher.firstAt.get(e.auth_id)! - e.event_time > 1000);
    const recoveredAt = slow.length ? Math.max(...slow.map((e) => watcher.firstAt.get(e.auth_id)!)) : firstAfterKill;
    const before = windowLatency(load.sent, watcher.firstAt, 0, killAt);
    const during = windowLatency(load.sent, watcher.firstAt, killAt - 1000, recoveredAt);
    const features = await featureCounts(redisAdmin, `${id}-fe`, load.sent, watcher.seen);
    summary('kafka_input_leader_sigkill', {
      brokers: 3,
      replication_factor: 3,
      min_insync_replicas: 2,
      events_sent: d.events_sent,
      decisions: d.decisions,
      decision_messages: d.decision_messages,
      duplicates: d.duplicates,
      distinct_duplicates: d.distinct_duplicates,
      missing: d.missing,
      degraded,
      worst_latency_ms: d.worst_latency_ms,
      p99_latency_ms: d.p99_latency_ms,
      p50_latency_before_fault_ms: before.p50_ms,
      worst_latency_during_fault_ms: during.worst_ms,
      leaders_moved_after_ms: leadersMovedMs,
      first_decision_after_kill_ms: firstAfterKill - killAt,
      time_to_recover_ms: recoveredAt - killAt,
      killed_broker_back_after_ms: restartAt - killAt + nodeUpMs,
      isr_restored_after_restart_ms: isrRestoredMs,
      engine_restarts: restarts,
      // Decisions (first of each auth id) per second from the kill on: where the pause was.
      decided_per_s_after_kill: perSecond([...watcher.firstAt.values()], killAt, recoveredAt + 3000),
      max_gateway_send_ms: load.maxSendMs,
      features,
    });

    expect(isrShrunk, 'the killed broker left the ISR of every input partition').toBe(true);
    expect(d.missing).toBe(0);
    expect(d.decisions).toBe(d.events_sent);
    expect(
      d.distinct_duplicates,
      `auth ids with two different decisions: ${d.distinctIds.slice(0, 5).join(', ')}`,
    ).toBe(0);
    expect(features).toMatchObject({ over_counted: 0, lost: 0, last_decision_mismatch: 0, not_recorded: 0 });
    // Only Kafka failed: nothing is degraded for want of Redis or the model. The backlog of the
    // pause is decided in large batches on two shared cores, where the budgets (rules, features,
    // model) may run out: those decisions are degraded by design, and counted above.
    const budgets = ['rules_timeout', 'features_timeout', 'model_timeout'];
    expect(Object.keys(degraded).filter((r) => !budgets.includes(r))).toEqual([]);
    for (const e of engines) expect(panRuns(e.logs()), `card numbers in the logs of ${e.name}`).toEqual([]);
    await admin.disconnect();
    expect(await current.stop()).toEqual({ code: 0, signal: null });
    await supervisor;
  });
});
