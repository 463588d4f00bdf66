/**
 * The Redis targets of the tests that run on a single node and on a Redis Cluster. The cluster
 * is the one of `scripts/stack cluster up` (npm test starts it, scripts/test.sh); a test file run
 * alone starts it through the same script when it is not answering, and leaves it running.
 * Clients are the engine's own (src/cli/clients.ts), built from a configuration as in production.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { connectRedis } from '../../src/cli/clients.js';
import { loadConfig, type EngineConfig } from '../../src/config/config.js';
import { stack, stackEnv } from './stack.js';

export const REDIS_TARGETS = ['single node', 'Redis Cluster'] as const;
export type RedisTarget = (typeof REDIS_TARGETS)[number];

const ROOT = resolve(import.meta.dirname, '../..');

function clusterOk(node: string): boolean {
  const [host, port] = [node.slice(0, node.lastIndexOf(':')), node.slice(node.lastIndexOf(':') + 1)];
  const r = spawnSync('redis-cli', ['-h', host, '-p', port, 'cluster', 'info'], { encoding: 'utf8' });
  return /cluster_state:ok/.test(r.stdout ?? '');
}

/** The nodes of the local Redis Cluster, started by scripts/stack when it is not answering. */
export function redisClusterNodes(): string[] {
  const read = () =>
    (process.env.FRAUD_REDIS_CLUSTER_NODES ?? stackEnv().FRAUD_REDIS_CLUSTER_NODES ?? '').split(',').filter(Boolean);
  let nodes = read();
  if (nodes.length > 0 && clusterOk(nodes[0]!)) return nodes;
  const r = spawnSync(resolve(ROOT, 'scripts/stack'), ['cluster', 'up'], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`scripts/stack cluster up failed:\n${r.stderr}`);
  nodes = read();
  if (nodes.length === 0) throw new Error('scripts/stack cluster up wrote no FRAUD_REDIS_CLUSTER_NODES');
  return nodes;
}

/** The engine's Redis configuration for a target (the environment variables a deployment would set). */
export function redisEnvOf(target: RedisTarget): Record<string, string> {
  return {
    FRAUD_REDIS_URL: stack.redisUrl,
    FRAUD_REDIS_CLUSTER_NODES: target === 'Redis Cluster' ? redisClusterNodes().join(',') : '',
  };
}

export function redisConfigOf(target: RedisTarget): EngineConfig['redis'] {
  return loadConfig(resolve(ROOT, 'config/default.yaml'), redisEnvOf(target)).redis;
}

/** A connected client of the target, by the engine's factory (retries allowed: tests are not on the decision path). */
export function connectTarget(target: RedisTarget): Promise<Redis | Cluster> {
  return connectRedis(redisConfigOf(target), { options: { maxRetriesPerRequest: 2 } });
}
