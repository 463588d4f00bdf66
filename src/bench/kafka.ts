/**
 * The bench's Kafka side: its topics (6 partitions, created and deleted by the bench), the
 * preload of the saturation phase, and what it is compared with: a kafkajs consume-then-produce
 * loop with no work, committing per batch like the engine (the ceiling at saturation, the floor
 * of latency at a fixed rate).
 */
import type { Consumer, ConsumerRunConfig, Kafka, Message } from 'kafkajs';
import type { AvroCodecs } from '../events/codec.js';
import { IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { simulate } from '../simulator/index.js';

export const PARTITIONS = 6;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `reader` on `topics` from their latest offsets, like a gateway reading what is decided
 * from now on: resolves once it has joined its group (checked every `pollMs`) and `settleMs` more
 * have passed, so that it sits on the latest offsets.
 */
export async function readFromNow(
  reader: Consumer,
  topics: string[],
  run: ConsumerRunConfig,
  o: { pollMs: number; settleMs: number },
): Promise<void> {
  let joined = false;
  reader.on(reader.events.GROUP_JOIN, () => {
    joined = true;
  });
  await reader.connect();
  await reader.subscribe({ topics, fromBeginning: false });
  await reader.run(run);
  while (!joined) await sleep(o.pollMs);
  await sleep(o.settleMs);
}

export async function createTopics(kafka: Kafka, names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: names.map((topic) => ({ topic, numPartitions: PARTITIONS })),
  });
  await admin.disconnect();
}

export async function deleteTopics(kafka: Kafka, names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: names }).catch(() => undefined);
  await admin.disconnect();
}

/** Fills `topic` with `n` encoded authorizations (event_time = now) as fast as the producer goes. */
export async function preload(
  kafka: Kafka,
  codecs: AvroCodecs,
  topic: string,
  n: number,
  runId: string,
): Promise<void> {
  const sim = simulate({ customers: Math.max(5000, Math.ceil(n / 2)), terminals: 10000, days: 2, seed: 1 });
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await producer.connect();
  for (let i = 0; i < n;) {
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

/** A running passthrough: what it has moved so far, and how to stop it. */
export interface Passthrough {
  /** Events moved, and the times (performance.now()) of the first and the last batch. */
  progress(): { seen: number; first: number; last: number };
  /** Resolves once the consumer has joined its group (and been assigned its partitions). */
  joined: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The floor: a kafkajs consume-then-produce loop with no work, with the engine's fetch wait
 * (20 ms), idempotent producer (acks=all) and a commit per batch, 3 partitions concurrently.
 */
export async function startPassthrough(
  kafka: Kafka,
  o: { input: string; output: string; groupId: string },
): Promise<Passthrough> {
  const consumer = kafka.consumer({ groupId: o.groupId, maxWaitTimeInMs: 20 });
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  let onJoin: () => void = () => undefined;
  const joined = new Promise<void>((r) => (onJoin = r));
  consumer.on(consumer.events.GROUP_JOIN, () => onJoin());
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: o.input, fromBeginning: true });
  let seen = 0,
    first = 0,
    last = 0;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (!batch.messages.length) return;
      if (!first) first = performance.now();
      await producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic: o.output, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) }],
      });
      const lastOffset = batch.messages[batch.messages.length - 1]!.offset;
      resolveOffset(lastOffset);
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() },
      ]);
      seen += batch.messages.length;
      last = performance.now();
    },
  });
  return {
    progress: () => ({ seen, first, last }),
    joined,
    stop: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
