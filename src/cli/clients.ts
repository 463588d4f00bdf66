/**
 * The clients of the engine's services built from the configuration, one way each, for every
 * composition root: the Avro codecs on the configured topics with the registry's credentials,
 * and Redis (a single node or a Redis Cluster) with its password and TLS. (PostgreSQL:
 * src/storage/pool.ts `pgPool`.)
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
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

/** The engine's Redis: one node, or a Redis Cluster (`redis.cluster_nodes`). */
export type RedisClient = Redis | Cluster;

/**
 * The Redis client of the configuration, not connected yet: a Cluster of `redis.cluster_nodes`
 * when set, else the single node of `redis.url`. Either way `redis.password` (or the URL's
 * credentials) and TLS (`rediss://`, `redis.tls_ca_file`) apply to every node.
 */
export function redisFromConfig(cfg: EngineConfig['redis'], options: RedisOptions = FAIL_FAST_REDIS): RedisClient {
  const tls = redisTlsOptions(cfg);
  if (cfg.cluster_nodes.length > 0) return clusterFromConfig(cfg, options, tls);
  return new Redis(cfg.url, {
    ...(cfg.password ? { password: cfg.password } : {}),
    ...(tls ? { tls } : {}),
    ...options,
    lazyConnect: true,
  });
}

function clusterFromConfig(cfg: EngineConfig['redis'], options: RedisOptions, tls: RedisOptions['tls']): Cluster {
  // The URL's host is not used with a cluster: its scheme and credentials are.
  const url = new URL(cfg.url);
  const password = cfg.password || decodeURIComponent(url.password);
  const username = decodeURIComponent(url.username);
  const secure = url.protocol === 'rediss:';
  const nodes = cfg.cluster_nodes.map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
  });
  const { enableOfflineQueue, retryStrategy, ...rest } = options;
  // Autopipelining is the cluster's (below), not each node's.
  const perNode: RedisOptions = { ...rest, enableAutoPipelining: false };
  const clusterOptions: ClusterOptions = {
    // One node per slot's batch: the store's parallel EVALSHAs are written per node in one go.
    enableAutoPipelining: true,
    scaleReads: 'master',
    lazyConnect: true,
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    // A failover moves slots: look again soon, and do not hold commands long (the guard's budget degrades them).
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    slotsRefreshTimeout: 2000,
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
    redisOptions: {
      ...perNode,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(secure ? { tls: tls ?? {} } : {}),
    },
  };
  return new Cluster(nodes, clusterOptions);
}

/**
 * redisFromConfig, connected: unreachable, bad credentials or an untrusted certificate fail
 * here, naming Redis and the reason. `onError` sees every error event of the client's life.
 */
export async function connectRedis(
  cfg: EngineConfig['redis'],
  o: { options?: RedisOptions; onError?: (err: Error) => void } = {},
): Promise<RedisClient> {
  const redis = redisFromConfig(cfg, o.options);
  let last = '';
  redis.on('error', (err: Error) => {
    last = err.message;
    o.onError?.(err);
  });
  await redis.connect().catch((err: Error) => {
    redis.disconnect();
    const key = cfg.cluster_nodes.length > 0 ? 'redis.cluster_nodes' : 'redis.url';
    throw new Error(`cannot connect to Redis (${key}): ${last || err.message}`);
  });
  return redis;
}
