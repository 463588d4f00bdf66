/**
 * The decision memo in Redis (single node: MGET and one EVAL per batch; cluster: one command per
 * key): entries come back as remembered, the first entry of an auth id is kept, each has the TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { RedisDecisionMemo } from '../../src/features/redis/decision-memo.js';
import { payloadHash } from '../../src/features/decision-memo.js';
import { uniqueName } from '../helpers/stack.js';
import { REDIS_TARGETS, connectTarget } from '../helpers/redis-cluster.js';

const h = (s: string) => payloadHash(Buffer.concat([Buffer.alloc(5), Buffer.from(s)]));

describe.each(REDIS_TARGETS)('decision memo in Redis (%s)', (target) => {
  let redis: Redis | Cluster;
  const prefix = uniqueName('fe-memo');
  const key = (id: string) => `${prefix}:{a:${id}}:decision`;

  beforeAll(async () => {
    redis = await connectTarget(target);
  });
  afterAll(async () => {
    await Promise.all(['a', 'b', 'c', 'é|{x}'].map((id) => redis.del(key(id))));
    await redis?.quit();
  });

  it('remembers a batch, keeps the first entry of an auth id, recalls in order with a TTL', async () => {
    const memo = new RedisDecisionMemo(redis, { prefix, ttlMs: 60_000 });
    const ids = ['a', 'b', 'é|{x}'];
    await memo.remember(ids.map((id) => ({ authId: id, hash: h(id), value: Buffer.from([1, 2, 3, id.length]) })));
    await memo.remember([{ authId: 'a', hash: h('other'), value: Buffer.from('second') }]);
    const got = await memo.recall(['c', ...ids]);
    expect(got[0]).toBeNull();
    got.slice(1).forEach((e, i) => {
      expect(e!.hash.equals(h(ids[i]!))).toBe(true);
      expect([...e!.value]).toEqual([1, 2, 3, ids[i]!.length]);
    });
    const ttl = await redis.pttl(key('b'));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await memo.recall([])).toEqual([]);
  });
});
