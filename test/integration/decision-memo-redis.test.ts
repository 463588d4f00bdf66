/**
 * The decision memo in Redis (buckets of entries per shard and epoch; single node: one script call
 * per batch each way; cluster: one per shard): entries come back as remembered, the first live
 * entry of an auth id is kept, each entry expires after its own TTL (Redis's clock), across
 * buckets and across the engines' clocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisDecisionMemo } from '../../src/features/redis/decision-memo.js';
import { payloadHash } from '../../src/features/decision-memo.js';
import { uniqueName } from '../helpers/stack.js';
import { REDIS_TARGETS, connectTarget } from '../helpers/redis-cluster.js';

const h = (s: string) => payloadHash(Buffer.concat([Buffer.alloc(5), Buffer.from(s)]));

describe.each(REDIS_TARGETS)('decision memo in Redis (%s)', (target) => {
  let redis: Redis | Cluster;
  const prefix = uniqueName('fe-memo');

  beforeAll(async () => {
    redis = await connectTarget(target);
  });
  afterAll(async () => {
    // every bucket of this prefix, on every master
    const nodes: Redis[] = (redis as Cluster).isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
    for (const n of nodes) {
      const keys = await n.keys(`${prefix}:*`);
      for (const k of keys) await n.del(k);
    }
    await redis?.quit();
  });

  it('remembers a batch, keeps the first entry of an auth id, recalls in order; the bucket expires after its entries', async () => {
    const memo = new RedisDecisionMemo(redis, { prefix, ttlMs: 60_000 });
    const ids = ['a', 'b', 'é|{x}', ...Array.from({ length: 40 }, (_, i) => `n-${i}`)];
    await memo.remember(ids.map((id) => ({ authId: id, hash: h(id), value: Buffer.from([1, 2, 3, id.length]) })));
    // the same auth id again (later, and twice in one call): the first entry stays
    await memo.remember([
      { authId: 'a', hash: h('other'), value: Buffer.from('second') },
      { authId: 'c', hash: h('c1'), value: Buffer.from('c-first') },
      { authId: 'c', hash: h('c2'), value: Buffer.from('c-second') },
    ]);
    const got = await memo.recall(['zz', ...ids, 'c']);
    expect(got[0]).toBeNull();
    ids.forEach((id, i) => {
      const e = got[i + 1]!;
      expect(e.hash.equals(h(id))).toBe(true);
      expect([...e.value]).toEqual([1, 2, 3, id.length]);
    });
    expect(got.at(-1)!.value.toString()).toBe('c-first');
    expect(got.at(-1)!.hash.equals(h('c1'))).toBe(true);
    const bucket = memo.bucketKeys(RedisDecisionMemo.shardOf('b'))[1]!;
    expect(await redis.hexists(bucket, 'b')).toBe(1);
    const ttl = await redis.pttl(bucket);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_001);
    expect(await memo.recall([])).toEqual([]);
  });

  it('an entry lives for its TTL only, whatever bucket holds it; then the auth id can be remembered again', async () => {
    const memo = new RedisDecisionMemo(redis, { prefix, ttlMs: 2_000 });
    await memo.remember([{ authId: 'ttl-1', hash: h('x'), value: Buffer.from('first') }]);
    expect((await memo.recall(['ttl-1']))[0]!.value.toString()).toBe('first');
    await sleep(2_100);
    expect(await memo.recall(['ttl-1'])).toEqual([null]);
    await memo.remember([{ authId: 'ttl-1', hash: h('y'), value: Buffer.from('again') }]);
    expect((await memo.recall(['ttl-1']))[0]!.value.toString()).toBe('again');
  });

  it('finds an entry written by an engine whose clock is a TTL ahead or behind, and keeps it first', async () => {
    const ttlMs = 1_000_000;
    const t = Date.now();
    const ahead = new RedisDecisionMemo(redis, { prefix, ttlMs, now: () => t + ttlMs });
    const behind = new RedisDecisionMemo(redis, { prefix, ttlMs, now: () => t - ttlMs });
    const here = new RedisDecisionMemo(redis, { prefix, ttlMs, now: () => t });
    await ahead.remember([{ authId: 'skew-1', hash: h('s'), value: Buffer.from('ahead') }]);
    await behind.remember([{ authId: 'skew-2', hash: h('s'), value: Buffer.from('behind') }]);
    const got = await here.recall(['skew-1', 'skew-2']);
    expect(got.map((e) => e?.value.toString())).toEqual(['ahead', 'behind']);
    await here.remember([{ authId: 'skew-1', hash: h('t'), value: Buffer.from('here') }]);
    expect((await here.recall(['skew-1']))[0]!.value.toString()).toBe('ahead');
  });
});
