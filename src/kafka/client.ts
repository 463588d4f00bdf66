/** kafkajs client from the configuration: SASL/SCRAM and TLS (CA, client certificate) when configured. */
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, logLevel, type Consumer, type ISocketFactory, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaTlsOptions, type EngineConfig } from '../config/config.js';
import { NotingPartitioner } from './complete-send.js';

const LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs's own socket factory with Nagle's algorithm off. kafkajs leaves it on: a small
 * request (an offset commit, a heartbeat, a produce) written while an earlier request on the
 * same connection is not yet acknowledged (a fetch parked in the broker's purgatory is
 * acknowledged only by the delayed-ACK timer) waits for that ACK, up to ~40 ms on Linux.
 * The broker sets TCP_NODELAY on its side; librdkafka made it its default in 2025.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : netConnect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000); // as kafkajs's default factory
  socket.setNoDelay(true);
  return socket;
};

/**
 * The configuration was validated by loadConfig (no SASL without TLS unless allowed); the TLS
 * files are read again here, and a missing one throws a ConfigError naming its key.
 */
export function createKafka(
  cfg: EngineConfig['kafka'],
  log?: Logger,
  clientSuffix = '',
  opts: { retries?: number } = {},
): Kafka {
  const ssl = kafkaTlsOptions(cfg);
  const kc: KafkaConfig = {
    clientId: cfg.client_id + clientSuffix,
    brokers: cfg.brokers,
    ...(ssl ? { ssl } : {}),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    // `retries`: fewer for a one-shot check (a refused certificate is otherwise retried for ~5 s).
    retry: { initialRetryTime: 100, retries: opts.retries ?? 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    socketFactory: noDelaySocketFactory,
  };
  if (cfg.sasl_mechanism !== 'none') {
    kc.sasl = {
      mechanism: cfg.sasl_mechanism,
      username: cfg.sasl_username,
      password: cfg.sasl_password,
    } as SASLOptions;
  }
  if (log) {
    if (ssl && !ssl.rejectUnauthorized)
      log.warn("kafka.ssl_reject_unauthorized is false: the brokers' certificates are not verified");
    const child = log.child({ component: 'kafkajs' });
    kc.logCreator =
      () =>
      ({ namespace, level, log: entry }) => {
        const { message, ...extra } = entry;
        child[LEVEL[level] ?? 'info']({ ns: namespace, ...extra }, message);
      };
  }
  return new Kafka(kc);
}

/**
 * Producer settings for an idempotent producer (acks=all, one request in flight, retries
 * without limit as the idempotence protocol requires: a send waits for the broker rather
 * than failing the batch, and the consumer does not commit past it). Send through
 * sendBatchComplete: kafkajs alone can drop a partition's messages when a broker dies.
 */
export const IDEMPOTENT_PRODUCER = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  // murmur2 on the key, as Java producers do: a card's events land on one partition whoever sends
  // them; the partition noted for sendBatchComplete (./complete-send.ts).
  createPartitioner: NotingPartitioner,
  retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
} as const;

/**
 * A consumer of the engine's flow: pull-based, kafkajs fetches again only once the fetched
 * batches are decided, so what the engine holds is bounded by the fetch sizes of the config,
 * whatever the lag; heartbeats every third of the session timeout (0.1 to 1 s).
 */
export function boundedConsumer(
  kafka: Kafka,
  cfg: EngineConfig['kafka'],
  o: { groupId: string; maxWaitTimeInMs: number; minBytes?: number },
): Consumer {
  const sessionTimeout = cfg.session_timeout_ms;
  return kafka.consumer({
    groupId: o.groupId,
    maxWaitTimeInMs: o.maxWaitTimeInMs,
    minBytes: o.minBytes ?? 1,
    sessionTimeout,
    heartbeatInterval: Math.max(100, Math.min(1_000, Math.floor(sessionTimeout / 3))),
    allowAutoTopicCreation: false,
    // kafkajs refreshes its metadata on a fetch only once it is this old (5 min by default), and
    // a connection refused by a dead leader is merely retried: with three brokers, the input
    // waited up to 30 s past the election of new leaders. Metadata at most 5 s old bounds that.
    metadataMaxAge: 5_000,
    maxBytesPerPartition: cfg.max_bytes_per_partition,
    maxBytes: cfg.max_bytes,
  });
}
