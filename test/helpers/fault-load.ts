/**
 * Load and bookkeeping for fault tests: a fixed-rate authorization producer (the gateway), a
 * reader of `decisions` that notes when each decision arrived, and the checks every fault
 * test ends with: each input has exactly one distinct decision (a redelivery may repeat it,
 * byte for byte), and no feature counted an event twice.
 */
import { Kafka, logLevel, type Consumer, type ITopicConfig, type Message, type Producer } from 'kafkajs';
import type { Cluster, Redis } from 'ioredis';
import { codecsFromConfig } from '../../src/cli/clients.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { RedisFeatureStore } from '../../src/features/redis/store.js';
import { IDEMPOTENT_PRODUCER } from '../../src/kafka/client.js';
import { sendBatchComplete } from '../../src/kafka/complete-send.js';
import { quantileUpper } from '../../src/observability/percentiles.js';
import { TEST_PANS } from './child-engine.js';

export interface FaultTopics {
  authorizations: string;
  decisions: string;
  labels: string;
  dlq: string;
}

export function faultTopics(id: string): FaultTopics {
  return { authorizations: `${id}-auth`, decisions: `${id}-decisions`, labels: `${id}-labels`, dlq: `${id}-dlq` };
}

/** `brokers`: one address or a comma-separated list. */
export function quietKafka(brokers: string, clientId = 'fault-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 50, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}

/**
 * The four topics of a fault test. `replicated`: replication factor 3 and min.insync.replicas 2
 * (the three-broker stack); `authorizations` overrides the input topic's spec (e.g. a replica
 * assignment). Waits until every partition has a leader by polling metadata: kafkajs's own
 * `waitForLeaders` gives up on UNKNOWN_TOPIC_OR_PARTITION, which a busy three-broker cluster
 * answers for a moment after creating a topic.
 */
export async function createFaultTopics(
  kafka: Kafka,
  t: FaultTopics,
  partitions = 6,
  o: { replicated?: boolean; authorizations?: Partial<ITopicConfig> } = {},
): Promise<void> {
  const replicated = o.replicated
    ? { replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }
    : {};
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [
        { topic: t.authorizations, numPartitions: partitions, ...replicated, ...o.authorizations },
        { topic: t.decisions, numPartitions: 3, ...replicated },
        { topic: t.labels, numPartitions: 1, ...replicated },
        { topic: t.dlq, numPartitions: 1, ...replicated },
      ],
    });
    const names = [t.authorizations, t.decisions, t.labels, t.dlq];
    for (let attempt = 0; ; attempt++) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        if (topics.every((x) => x.partitions.length > 0 && x.partitions.every((p) => p.leader >= 0))) return;
      } catch (err) {
        if (attempt >= 60) throw err;
      }
      if (attempt >= 60) throw new Error(`fault topics of ${t.authorizations}: no leaders after 30 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await admin.disconnect();
  }
}

export function codecsFor(
  registry: { url: string; username: string; password: string },
  t: FaultTopics,
): Promise<AvroCodecs> {
  return codecsFromConfig({ schema_registry: registry }, t);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The i-th authorization of a run: `cards` cards (one customer each), 40 terminals; some free text holds a card number. */
export function authorization(ns: string, i: number, cards: number, now: number): AuthorizationEvent {
  const card = i % cards;
  const pan = TEST_PANS[i % TEST_PANS.length]!;
  return {
    auth_id: `${ns}-a${i}`,
    event_time: now,
    card_token: `tok_${ns}_${card}`,
    customer_id: `${ns}-c${card}`,
    terminal_id: `${ns}-t${i % 40}`,
    merchant_id: `${ns}-m${i % 25}`,
    mcc: '5411',
    amount_minor: 500 + ((i * 7919) % 20_000),
    currency: 'EUR',
    channel: i % 3 === 0 ? 'ECOM' : 'POS',
    device_id: i % 3 === 0 ? `${ns}-d${card}` : null,
    ip: null,
    email_hash: null,
    country: 'FR',
    // Free text is where a gateway leaks card numbers: the engine must neither log nor emit them.
    description:
      i % 10 === 0
        ? `refund for card ${pan} (cardholder called)`
        : i % 10 === 5
          ? `PAN:${pan.slice(0, 4)} ${pan.slice(4, 8)} ${pan.slice(8, 12)} ${pan.slice(12)}`
          : null,
  };
}

/** The gateway: authorizations at a fixed rate, event_time = the time each is handed to the producer. */
export class LoadGenerator {
  readonly sent: AuthorizationEvent[] = [];
  readonly sentAt = new Map<string, number>();
  private stopped = false;
  private producer: Producer;
  private done: Promise<void> | null = null;
  maxSendMs = 0;

  constructor(
    kafka: Kafka,
    private readonly codecs: AvroCodecs,
    private readonly topic: string,
    private readonly o: {
      ns: string;
      rate: number;
      durationMs: number;
      cards: number;
      extra?: (i: number) => Message | null;
    },
  ) {
    this.producer = kafka.producer(IDEMPOTENT_PRODUCER);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const started = Date.now();
    const total = Math.round((this.o.rate * this.o.durationMs) / 1000);
    let i = 0;
    while (!this.stopped && i < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * this.o.rate) + 1);
      const messages: Message[] = [];
      const now = Date.now();
      for (; i < due; i++) {
        const extra = this.o.extra?.(i);
        if (extra) messages.push(extra);
        const ev = authorization(this.o.ns, i, this.o.cards, now);
        this.sent.push(ev);
        this.sentAt.set(ev.auth_id, now);
        messages.push({ key: ev.card_token, value: await this.codecs.encodeAuthorization(ev) });
      }
      if (messages.length) {
        const t = Date.now();
        // A failed send is sent again: the input may then hold an event twice, as a gateway's
        // own retry would; the engine must still give it one decision.
        for (;;) {
          try {
            await sendBatchComplete(this.producer, { acks: -1, topicMessages: [{ topic: this.topic, messages }] });
            break;
          } catch {
            await sleep(200);
          }
        }
        this.maxSendMs = Math.max(this.maxSendMs, Date.now() - t);
      }
      await sleep(20);
    }
  }

  /** Resolves when every event of the run is acknowledged by the broker. */
  async finished(): Promise<void> {
    await this.done;
    await this.producer.disconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.finished();
  }
}

export interface Seen {
  raw: Buffer;
  decision: Decision;
  at: number;
}

/** Reads `decisions` from the beginning, like the gateway, noting when each one arrived. */
export class DecisionWatcher {
  readonly seen: Seen[] = [];
  readonly firstAt = new Map<string, number>();
  /** The next offset to read, per partition of the decisions topic. */
  private readonly next = new Map<number, number>();
  private consumer: Consumer;
  constructor(
    kafka: Kafka,
    private readonly codecs: AvroCodecs,
    private readonly topic: string,
  ) {
    this.consumer = kafka.consumer({
      groupId: `watch-${topic}-${Math.random().toString(36).slice(2)}`,
      maxWaitTimeInMs: 20,
      sessionTimeout: 30_000,
    });
  }
  async start(): Promise<this> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachBatch: async ({ batch }) => {
        const at = Date.now();
        for (const m of batch.messages) {
          if (!m.value) continue;
          const decision = await this.codecs.decodeDecision(m.value);
          this.seen.push({ raw: m.value, decision, at });
          if (!this.firstAt.has(decision.auth_id)) this.firstAt.set(decision.auth_id, at);
        }
        this.next.set(batch.partition, Number(batch.lastOffset()) + 1);
      },
    });
    return this;
  }
  async waitAll(ids: Iterable<string>, timeoutMs: number): Promise<void> {
    const want = [...ids];
    const until = Date.now() + timeoutMs;
    while (want.some((id) => !this.firstAt.has(id))) {
      if (Date.now() > until) {
        const missing = want.filter((id) => !this.firstAt.has(id));
        throw new Error(
          `${missing.length} of ${want.length} events undecided after ${timeoutMs} ms, e.g. ${missing.slice(0, 5).join(', ')}`,
        );
      }
      await sleep(100);
    }
  }
  /** Waits until every partition has been read up to its end offset in `ends` (partition → offset). */
  async readTo(ends: ReadonlyMap<number, number>, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    const behind = () => [...ends].filter(([p, end]) => (this.next.get(p) ?? 0) < end).map(([p]) => p);
    while (behind().length) {
      if (Date.now() > until) throw new Error(`decisions not read to their end on partitions ${behind().join(', ')}`);
      await sleep(100);
    }
  }
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export interface DeliveryReport {
  events_sent: number;
  decisions: number;
  decision_messages: number;
  duplicates: number;
  distinct_duplicates: number;
  missing: number;
  worst_latency_ms: number;
  p99_latency_ms: number;
}

/** quantileUpper, 0 for no values. */
const quantile = (sorted: number[], q: number): number => (sorted.length ? quantileUpper(sorted, q) : 0);

/** Delivery: one distinct decision per sent event; duplicates only byte-identical. */
export function delivery(
  sent: readonly AuthorizationEvent[],
  seen: readonly Seen[],
  firstAt: Map<string, number>,
): DeliveryReport & { distinctIds: string[] } {
  const ids = new Set(sent.map((e) => e.auth_id));
  const first = new Map<string, Buffer>();
  let duplicates = 0;
  const distinctIds: string[] = [];
  for (const s of seen) {
    const id = s.decision.auth_id;
    if (!ids.has(id)) continue;
    const prev = first.get(id);
    if (!prev) {
      first.set(id, s.raw);
      continue;
    }
    duplicates++;
    if (!prev.equals(s.raw)) distinctIds.push(id);
  }
  const lat = sent
    .filter((e) => firstAt.has(e.auth_id))
    .map((e) => firstAt.get(e.auth_id)! - e.event_time)
    .sort((a, b) => a - b);
  return {
    events_sent: ids.size,
    decisions: first.size,
    decision_messages: seen.filter((s) => ids.has(s.decision.auth_id)).length,
    duplicates,
    distinct_duplicates: new Set(distinctIds).size,
    missing: [...ids].filter((id) => !first.has(id)).length,
    worst_latency_ms: lat.length ? lat[lat.length - 1]! : 0,
    p99_latency_ms: quantile(lat, 0.99),
    distinctIds,
  };
}

/** Latency (event_time → decision read) of the events sent in [from, to). */
export function windowLatency(
  sent: readonly AuthorizationEvent[],
  firstAt: Map<string, number>,
  from: number,
  to: number,
): { events: number; worst_ms: number; p99_ms: number; p50_ms: number } {
  const lat = sent
    .filter((e) => e.event_time >= from && e.event_time < to && firstAt.has(e.auth_id))
    .map((e) => firstAt.get(e.auth_id)! - e.event_time)
    .sort((a, b) => a - b);
  return {
    events: lat.length,
    worst_ms: lat.length ? lat[lat.length - 1]! : 0,
    p99_ms: quantile(lat, 0.99),
    p50_ms: quantile(lat, 0.5),
  };
}

export interface FeatureReport {
  cards: number;
  /** Cards whose Redis sets hold more members than the card has distinct events (must be 0). */
  over_counted: number;
  /** Cards whose sets hold fewer members than the card has decisions made with features (must be 0). */
  lost: number;
  /** Cards whose last decision (made with features) disagrees with the sets: card_nb_tx_7d, customer_nb_tx_7d (must be 0). */
  last_decision_mismatch: number;
  /** Events not in the sets: decided while Redis was away (0 unless Redis failed). */
  not_recorded: number;
}

/**
 * No double count: per card (and its one customer), the Redis sets hold at most one member per
 * distinct auth id and at least one per event decided with its features; the last decision of
 * each card counts exactly what the sets hold.
 */
export async function featureCounts(
  redis: Redis | Cluster,
  prefix: string,
  sent: readonly AuthorizationEvent[],
  seen: readonly Seen[],
): Promise<FeatureReport> {
  const store = new RedisFeatureStore(redis, { prefix });
  const firstDecision = new Map<string, Decision>();
  for (const s of seen) if (!firstDecision.has(s.decision.auth_id)) firstDecision.set(s.decision.auth_id, s.decision);
  const byCard = new Map<string, { customer: string; ids: Set<string>; withFeatures: Set<string>; last: string }>();
  for (const e of sent) {
    const c = byCard.get(e.card_token) ?? {
      customer: e.customer_id,
      ids: new Set<string>(),
      withFeatures: new Set<string>(),
      last: e.auth_id,
    };
    c.ids.add(e.auth_id);
    if (firstDecision.get(e.auth_id)?.degraded.length === 0) c.withFeatures.add(e.auth_id);
    c.last = e.auth_id;
    byCard.set(e.card_token, c);
  }
  const cards = [...byCard.entries()];
  // One command per key: on a Redis Cluster the keys are in many slots (no one pipeline).
  const res = await Promise.all(
    cards.flatMap(([token, c]) => [store.historySize('card', token), store.historySize('customer', c.customer)]),
  );
  const report: FeatureReport = {
    cards: cards.length,
    over_counted: 0,
    lost: 0,
    last_decision_mismatch: 0,
    not_recorded: 0,
  };
  cards.forEach(([, c], i) => {
    const cardN = res[2 * i]!;
    const custN = res[2 * i + 1]!;
    if (cardN > c.ids.size || custN > c.ids.size) report.over_counted++;
    if (cardN < c.withFeatures.size || custN < c.withFeatures.size) report.lost++;
    report.not_recorded += Math.max(0, c.ids.size - cardN);
    const last = firstDecision.get(c.last);
    if (!last || last.degraded.length > 0) return;
    if (last.features.card_nb_tx_7d !== cardN || last.features.customer_nb_tx_7d !== custN)
      report.last_decision_mismatch++;
  });
  return report;
}

/** One line per fault, as the issue asks. */
export function summary(fault: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ fault, ...fields }));
}
