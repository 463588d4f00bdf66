import type { Message, PartitionMetadata, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { NotingPartitioner, sendBatchComplete } from '../../src/kafka/complete-send.js';

const partitionMetadata: PartitionMetadata[] = [0, 1, 2].map((partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: partitionId + 1,
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
}));

/** A producer that partitions as kafkajs does and leaves out of its replies the partitions in `drop` (once each). */
function fakeProducer(drop: Set<number>) {
  const partitioner = NotingPartitioner();
  const calls: { partition: number; key: string }[][] = [];
  return {
    calls,
    sendBatch: async (b: ProducerBatch): Promise<RecordMetadata[]> => {
      const sent: { partition: number; key: string }[] = [];
      const parts = new Set<number>();
      for (const tm of b.topicMessages ?? [])
        for (const message of tm.messages) {
          const partition = partitioner({ topic: tm.topic, partitionMetadata, message });
          sent.push({ partition, key: String(message.key) });
          parts.add(partition);
        }
      calls.push(sent);
      const replied = [...parts].filter((p) => !drop.delete(p));
      return replied.map((partition) => ({ topicName: 't', partition, errorCode: 0 }));
    },
  };
}

const messages = (n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: `card-${i}`, value: 'x' }));

describe('sendBatchComplete', () => {
  it('sends again exactly the messages of a partition missing from the replies', async () => {
    const p = fakeProducer(new Set([1]));
    const resent: number[] = [];
    const replies = await sendBatchComplete(
      p,
      { acks: -1, topicMessages: [{ topic: 't', messages: messages(30) }] },
      (n) => resent.push(n),
    );
    expect(p.calls).toHaveLength(2);
    const dropped = p.calls[0]!.filter((m) => m.partition === 1);
    expect(dropped.length).toBeGreaterThan(0);
    expect(p.calls[1]).toEqual(dropped);
    expect(resent).toEqual([dropped.length]);
    expect(new Set(replies.map((r) => r.partition))).toEqual(new Set([0, 1, 2]));
  });

  it('sends once when every partition is acknowledged', async () => {
    const p = fakeProducer(new Set());
    await sendBatchComplete(p, { acks: -1, topicMessages: [{ topic: 't', messages: messages(30) }] });
    expect(p.calls).toHaveLength(1);
  });

  it('refuses a producer whose partitioner does not note partitions', async () => {
    const producer = { sendBatch: async () => [] as RecordMetadata[] };
    await expect(
      sendBatchComplete(producer, { acks: -1, topicMessages: [{ topic: 't', messages: messages(2) }] }),
    ).rejects.toThrow(/NotingPartitioner/);
  });
});
