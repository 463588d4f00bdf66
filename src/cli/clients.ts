/**
 * The clients of the engine's services built from the configuration, one way each, for every
 * composition root: the Avro codecs on the configured topics with the registry's credentials,
 * and Redis with its password and TLS. (PostgreSQL: src/storage/pool.ts `pgPool`.)
 */
import { Redis, type RedisOptions } from 'ioredis';
import { AvroCodecs, type TopicNames } from '../events/codec.js';
import { redisTlsOptions, type EngineConfig } from '../config/config.js';

/** The three topics whose schemas the codecs register: authorizations, decisions, labels. */
export function codecTopics(k: EngineConfig['kafka']): TopicNames {
  return { authorizations: k.topic_authorizations, decisions: k.topic_decisions, labels: k.topic_labels };
}

/** The codecs of the configured topics (or of `topics`), registered with the configured registry. */
export function codecsFromConfig(
  cfg: { schema_registry: EngineConfig['schema_registry']; kafka?: EngineConfig['kafka'] },
  topics?: TopicNames,
): Promise<AvroCodecs> {
  const names = topics ?? (cfg.kafka ? codecTopics(cfg.kafka) : null);
  if (!names) throw new Error('codecsFromConfig: no topics (neither kafka.topic_* nor explicit names)');
  return AvroCodecs.create(cfg.schema_registry.url, names, cfg.schema_registry);
}

/**
 * The decision path's Redis options: fail fast while Redis is away (no offline queue, one retry),
 * so that decisions degrade instead of queueing behind it.
 */
export const FAIL_FAST_REDIS: RedisOptions = {
  enableAutoPipelining: false,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(times * 100, 1000),
};

/** A Redis client of `redis.url` with `redis.password` and TLS (`rediss://`, `redis.tls_ca_file`); not connected yet. */
export function redisFromConfig(cfg: EngineConfig['redis'], options: RedisOptions = FAIL_FAST_REDIS): Redis {
  const tls = redisTlsOptions(cfg);
  return new Redis(cfg.url, {
    ...(cfg.password ? { password: cfg.password } : {}),
    ...(tls ? { tls } : {}),
    ...options,
    lazyConnect: true,
  });
}

/**
 * redisFromConfig, connected: unreachable, bad credentials or an untrusted certificate fail
 * here, naming Redis and the reason. `onError` sees every error event of the client's life.
 */
export async function connectRedis(
  cfg: EngineConfig['redis'],
  o: { options?: RedisOptions; onError?: (err: Error) => void } = {},
): Promise<Redis> {
  const redis = redisFromConfig(cfg, o.options);
  let last = '';
  redis.on('error', (err: Error) => {
    last = err.message;
    o.onError?.(err);
  });
  await redis.connect().catch((err: Error) => {
    redis.disconnect();
    throw new Error(`cannot connect to Redis (redis.url): ${last || err.message}`);
  });
  return redis;
}
