/**
 * The bench's passthrough (./kafka.ts) on @platformatic/kafka instead of kafkajs, for issue 17's
 * A/B of the two clients (scripts/bench-platformatic-ab.mjs, `fraud-engine bench passthrough
 * --client platformatic`): the same work, consume then produce with no work, an idempotent
 * producer (acks=all), offsets committed after the send is acknowledged, a 20 ms fetch wait.
 * @platformatic/kafka hands out a stream of messages rather than batches: what the stream holds
 * when it becomes readable is one batch (one send, then one commit per partition).
 *
 * @platformatic/kafka is a development dependency (the engine runs on kafkajs): imported here
 * only when this passthrough is asked for.
 */
import type { Message } from '@platformatic/kafka';
import type { Passthrough } from './kafka.js';

const MAX_SEND_BYTES = 256 * 1024;

export async function startPlatformaticPassthrough(o: {
  brokers: string[];
  input: string;
  output: string;
  groupId: string;
}): Promise<Passthrough> {
  const { Consumer, Producer } = await import('@platformatic/kafka');
  const consumer = new Consumer({
    clientId: 'fraud-engine-passthrough',
    bootstrapBrokers: o.brokers,
    groupId: o.groupId,
    maxWaitTime: 20,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  const producer = new Producer({
    clientId: 'fraud-engine-passthrough',
    bootstrapBrokers: o.brokers,
    idempotent: true,
    acks: -1,
  });
  // consume() resolves once the consumer has joined its group and been assigned its partitions.
  const stream = await consumer.consume({
    topics: [o.input],
    mode: 'committed',
    fallbackMode: 'earliest',
    autocommit: false,
    maxWaitTime: 20,
  });
  let seen = 0,
    first = 0,
    last = 0,
    draining = false,
    failed: Error | null = null;

  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    try {
      for (;;) {
        // At most MAX_SEND_BYTES a send: the broker refuses a record batch over its
        // message.max.bytes (1 MB), and a stream that filled up while a send was out holds more.
        const batch: Message[] = [];
        let bytes = 0;
        for (let m: Message | null; bytes < MAX_SEND_BYTES && (m = stream.read() as Message | null) !== null;) {
          batch.push(m);
          bytes += m.value.length + m.key.length;
        }
        if (!batch.length) break;
        if (!first) first = performance.now();
        await producer.send({ messages: batch.map((m) => ({ topic: o.output, key: m.key, value: m.value })) });
        const lastOf = new Map<number, Message>();
        for (const m of batch) lastOf.set(m.partition, m);
        await Promise.all([...lastOf.values()].map((m) => m.commit()));
        seen += batch.length;
        last = performance.now();
      }
    } catch (err) {
      failed = err as Error;
      console.error('platformatic passthrough: send or commit failed', err, (err as { errors?: unknown }).errors);
    } finally {
      draining = false;
    }
  }
  stream.on('readable', () => void drain());

  return {
    progress: () => {
      if (failed) throw failed;
      return { seen, first, last };
    },
    joined: Promise.resolve(),
    stop: async () => {
      await stream.close();
      await consumer.close(true);
      await producer.close();
    },
  };
}
