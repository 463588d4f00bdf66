/** kafkajs client from the configuration: SASL/SCRAM and TLS when configured. */
import { Kafka, Partitioners, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { EngineConfig } from '../config/config.js';

const LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug',
};

export function createKafka(cfg: EngineConfig['kafka'], log?: Logger, clientSuffix = ''): Kafka {
  const kc: KafkaConfig = {
    clientId: cfg.client_id + clientSuffix,
    brokers: cfg.brokers,
    ssl: cfg.ssl,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
  };
  if (cfg.sasl_mechanism !== 'none') {
    kc.sasl = { mechanism: cfg.sasl_mechanism, username: cfg.sasl_username, password: cfg.sasl_password } as SASLOptions;
  }
  if (log) {
    const child = log.child({ component: 'kafkajs' });
    kc.logCreator = () => ({ namespace, level, log: entry }) => {
      const { message, ...extra } = entry;
      child[LEVEL[level] ?? 'info']({ ns: namespace, ...extra }, message);
    };
  }
  return new Kafka(kc);
}

/**
 * Producer settings for an idempotent producer (acks=all, one request in flight, retries
 * without limit as the idempotence protocol requires: a send waits for the broker rather
 * than failing the batch, and the consumer does not commit past it).
 */
export const IDEMPOTENT_PRODUCER = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  // murmur2 on the key, as Java producers do: a card's events land on one partition whoever sends them.
  createPartitioner: Partitioners.DefaultPartitioner,
  retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
} as const;
