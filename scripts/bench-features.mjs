#!/usr/bin/env node
/**
 * `npm run bench:features`: throughput and memory of the Redis feature store alone (moved out of
 * the parity test: a benchmark is not a test). Simulated events in batches, each batch also
 * enriched by the in-memory store and compared (mismatches are reported).
 *
 * Needs the local stack (`scripts/stack up`); FRAUD_REDIS_URL or .stack/stack.env names Redis.
 *   node scripts/bench-features.mjs [--events 50000] [--batch 500]
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisFeatureStore } from '../dist/features/redis/store.js';
import { MemoryFeatureStore } from '../dist/features/memory-store.js';
import { simulate } from '../dist/simulator/index.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, batch: { type: 'string' } } });
const total = Number(values.events ?? 50_000);
const batchSize = Number(values.batch ?? 500);
const envFile = new URL('../.stack/stack.env', import.meta.url);
const fileEnv = existsSync(envFile)
  ? Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .split('\n')
        .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l.trim()))
        .filter(Boolean)
        .map((m) => [m[1], m[2]]),
    )
  : {};
const redisUrl = process.env.FRAUD_REDIS_URL ?? fileEnv.FRAUD_REDIS_URL ?? 'redis://127.0.0.1:6379';

const redis = new Redis(redisUrl, { lazyConnect: true });
await redis.connect();
const store = new RedisFeatureStore(redis, { prefix: `bench-fe-${Date.now().toString(36)}` });
const memory = new MemoryFeatureStore();
const sim = simulate({ customers: 500, terminals: 1000, days: Math.ceil((total / 58_000) * 60) + 1, seed: 11 });
const events = [...sim].slice(0, total).map((r) => r.event);
await store.loadScripts();
const lat = [];
let mismatches = 0;
try {
  for (let i = 0; i < events.length; i += batchSize) {
    const batch = events.slice(i, i + batchSize);
    const t0 = performance.now();
    const v = await store.enrich(batch);
    lat.push(performance.now() - t0);
    const m = memory.enrichSync(batch);
    if (v.some((row, k) => row.some((x, j) => x !== m[k][j]))) mismatches++;
  }
  const secs = lat.reduce((s, x) => s + x, 0) / 1000;
  lat.sort((x, y) => x - y);
  const mu = await store.memoryUsage();
  const activeCustomers = new Set(events.map((e) => e.customer_id)).size;
  console.log(
    JSON.stringify({
      events: events.length,
      batch: batchSize,
      tx_per_s: Math.round(events.length / secs),
      batch_p50_ms: Math.round(lat[Math.floor(lat.length / 2)] * 10) / 10,
      batch_p99_ms: Math.round(lat[Math.floor(lat.length * 0.99)] * 10) / 10,
      redis_bytes: mu.bytes,
      keys: mu.keys,
      bytes_per_active_customer: Math.round(mu.bytes / activeCustomers),
      mismatched_batches: mismatches,
    }),
  );
} finally {
  await store.deleteAll();
  redis.disconnect();
}
