/**
 * The engine's Redis state from the configuration: the feature store and the decision memo,
 * each behind the one guard (./guard.ts: a circuit breaker and a bound on commands in flight),
 * so that a slow, hung or absent Redis degrades decisions within the budget instead of holding
 * them or piling commands up in memory.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { EngineConfig } from '../../config/config.js';
import { RedisDecisionMemo } from './decision-memo.js';
import { GuardedDecisionMemo, GuardedFeatureStore, RedisGuard } from './guard.js';
import { RedisFeatureStore } from './store.js';

export interface GuardedRedisState {
  /** The store itself: labels, scripts, close (not on the decision path). */
  store: RedisFeatureStore;
  /** The decision path's features, behind the guard. */
  features: GuardedFeatureStore;
  /** The decision memo, behind the guard. */
  memo: GuardedDecisionMemo;
  guard: RedisGuard;
}

/** The feature store and the decision memo on `redis`, both behind one guard that logs its circuit's changes. */
export function guardedRedisState(cfg: EngineConfig, redis: Redis | Cluster, log: Logger): GuardedRedisState {
  const budgetMs = cfg.engine.redis_timeout_ms;
  const store = new RedisFeatureStore(redis, {
    prefix: cfg.redis.key_prefix,
    cacheBytes: cfg.redis.state_cache_mb * 2 ** 20,
  });
  const guard = new RedisGuard({
    budgetMs,
    maxPendingCommands: cfg.redis.max_pending_commands,
    onCircuit: (open, reason) =>
      open
        ? log.warn({ reason }, 'redis circuit open: deciding without features (degraded) until a probe is answered')
        : log.info('redis circuit closed: features back'),
  });
  const memo = new GuardedDecisionMemo(
    new RedisDecisionMemo(redis, { prefix: cfg.redis.key_prefix, ttlMs: cfg.engine.decision_memo_ttl_ms }),
    guard,
    budgetMs,
    Math.min(budgetMs, Math.max(1, Math.round(budgetMs / 4))),
  );
  return { store, features: new GuardedFeatureStore(store, guard), memo, guard };
}
