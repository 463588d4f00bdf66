/**
 * The decision memo (../decision-memo.ts) in Redis: one key per auth id, with a TTL.
 * On a single node a batch is one MGET to recall, and one pipelined write of a SET PX NX per key
 * to remember: a SET sent as a command costs Redis less than the same SET made inside a script
 * (the value passes into Lua and out again; docs/performance.md, "Redis per event"). On a Redis
 * Cluster the keys of a batch are in many slots: one command each (a multi-key command must hold
 * one slot there), written per node by autopipelining.
 */
import type { Cluster, Redis } from 'ioredis';
import { decodeEntry, encodeEntry, type DecisionMemo, type MemoEntry } from '../decision-memo.js';

export class RedisDecisionMemo implements DecisionMemo {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly opts: { prefix: string; ttlMs: number },
  ) {}

  private key(authId: string): string {
    return `${this.opts.prefix}:{a:${authId}}:decision`;
  }

  async recall(authIds: readonly string[]): Promise<(MemoEntry | null)[]> {
    if (!authIds.length) return [];
    const redis = this.redis;
    if (isCluster(redis)) {
      return Promise.all(
        authIds.map((id) =>
          redis.getBuffer(this.key(id)).then(
            (v) => decodeEntry(v),
            () => null,
          ),
        ),
      );
    }
    const values = await redis.mgetBuffer(authIds.map((id) => this.key(id)));
    return values.map((v) => decodeEntry(v));
  }

  async remember(entries: readonly ({ authId: string } & MemoEntry)[]): Promise<void> {
    if (!entries.length) return;
    const redis = this.redis;
    if (isCluster(redis)) {
      await Promise.all(entries.map((e) => redis.set(this.key(e.authId), encodeEntry(e), 'PX', this.opts.ttlMs, 'NX')));
      return;
    }
    const p = redis.pipeline();
    for (const e of entries) p.set(this.key(e.authId), encodeEntry(e), 'PX', this.opts.ttlMs, 'NX');
    const replies = (await p.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
  }
}

function isCluster(c: Redis | Cluster): c is Cluster {
  return (c as { isCluster?: boolean }).isCluster === true;
}
