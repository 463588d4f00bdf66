/**
 * The analysts' labels on Kafka: the label codec (config/schemas/label.avsc, Confluent wire
 * format) and an idempotent producer with acks=all, keyed by card token as every label is.
 * Connected on first use, so a console without verdicts to publish never touches Kafka.
 * Bounded retries (unlike the engine's producer): a failed pass leaves the outbox rows pending
 * and the relay tries again later, instead of holding their transaction open through an outage.
 */
import type { Producer } from 'kafkajs';
import type { EngineConfig } from '../config/config.js';
import type { AvroCodecs } from '../events/codec.js';
import { createKafka } from '../kafka/client.js';
import { NotingPartitioner, sendBatchComplete } from '../kafka/complete-send.js';
import type { Logger } from 'pino';
import type { LabelPublisher } from './relay.js';

/** `codecs`: the configuration's codecs (src/cli/clients.ts codecsFromConfig, their one home). */
export function kafkaLabelPublisher(
  cfg: Pick<EngineConfig, 'kafka'>,
  codecsOf: () => Promise<AvroCodecs>,
  log?: Logger,
): LabelPublisher {
  let ready: Promise<{ codecs: AvroCodecs; producer: Producer }> | null = null;
  const connect = async () => {
    const codecs = await codecsOf();
    const producer = createKafka(cfg.kafka, log, '-console', { retries: 3 }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: NotingPartitioner,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    await producer.connect();
    return { codecs, producer };
  };
  return {
    async send(topic, messages) {
      ready ??= connect().catch((err: unknown) => {
        ready = null; // the next pass connects again
        throw err;
      });
      const { codecs, producer } = await ready;
      await sendBatchComplete(producer, {
        acks: -1,
        topicMessages: [{ topic, messages: messages.map((m) => ({ key: m.key, value: codecs.encodeLabel(m.label) })) }],
      });
    },
    async close() {
      const r = ready;
      ready = null;
      if (r) await (await r.catch(() => null))?.producer.disconnect();
    },
  };
}
