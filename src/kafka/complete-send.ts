/**
 * kafkajs 2.2.4 can drop messages from a send that spans brokers and still resolve it: its retry
 * keeps the replies of the brokers that answered the first attempt, so the partitions of a broker
 * that died, once led by one of those brokers, are never sent again (the three-broker fault test
 * lost 16 decisions so). The partitioner notes each message's partition; a partition missing
 * from the replies had nothing written, and its messages are sent again.
 */
import {
  Partitioners,
  type ICustomPartitioner,
  type Message,
  type Producer,
  type ProducerBatch,
  type RecordMetadata,
  type TopicMessages,
} from 'kafkajs';
import { murmur2 } from './murmur2.js';

const partitionOf = new WeakMap<Message, number>();

/**
 * murmur2 on the key as Java producers (kafkajs's DefaultPartitioner, same partitions), noting the
 * partition chosen. A keyed message is hashed here (./murmur2.ts: kafkajs's hash allocates a Long
 * per step, and its partitioner filters the partition list per message); the rest (a partition
 * given, no key: round robin) is kafkajs's.
 */
export const NotingPartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    const key = message.key;
    const p =
      (message.partition === null || message.partition === undefined) &&
      key !== null &&
      key !== undefined &&
      partitionMetadata.length > 0
        ? (murmur2(typeof key === 'string' || Buffer.isBuffer(key) ? key : String(key)) & 0x7fffffff) %
          partitionMetadata.length
        : inner(args);
    partitionOf.set(message, p);
    return p;
  };
};

/** Resends of dropped partitions before giving up (each resend is itself retried by kafkajs). */
const MAX_RESENDS = 20;

/**
 * producer.sendBatch, then again for the messages of every partition absent from the replies,
 * until each was acknowledged. The producer must use NotingPartitioner (IDEMPOTENT_PRODUCER does).
 * `onResend` hears how many messages went again.
 */
export async function sendBatchComplete(
  producer: Pick<Producer, 'sendBatch'>,
  batch: ProducerBatch & { topicMessages: TopicMessages[] },
  onResend?: (messages: number) => void,
): Promise<RecordMetadata[]> {
  const replies: RecordMetadata[] = [];
  let pending = batch.topicMessages;
  for (let resends = 0; ; resends++) {
    const res = await producer.sendBatch({ ...batch, topicMessages: pending });
    replies.push(...res);
    const written = new Set(res.map((r) => `${r.topicName}\u0000${r.partition}`));
    const missing: TopicMessages[] = [];
    for (const { topic, messages } of pending) {
      const left = messages.filter((m) => {
        const p = partitionOf.get(m);
        if (p === undefined) throw new Error('sendBatchComplete: the producer does not use NotingPartitioner');
        return !written.has(`${topic}\u0000${p}`);
      });
      if (left.length) missing.push({ topic, messages: left });
    }
    if (!missing.length) return replies;
    if (resends >= MAX_RESENDS) throw new Error(`kafka: partitions still unacknowledged after ${MAX_RESENDS} resends`);
    onResend?.(missing.reduce((n, t) => n + t.messages.length, 0));
    pending = missing;
  }
}
