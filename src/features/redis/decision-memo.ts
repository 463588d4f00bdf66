/**
 * The decision memo (../decision-memo.ts) in Redis: one key per auth id, with a TTL.
 * The keys of a batch are in many slots: one pipeline on a single node; on a Redis Cluster, one
 * command each (a pipeline must hold one slot there), written per node by autopipelining.
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
    const p = redis.pipeline();
    for (const id of authIds) p.getBuffer(this.key(id));
    const res = (await p.exec()) ?? [];
    return res.map(([err, v]) => (err ? null : decodeEntry(v as Buffer | null)));
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
    await p.exec();
  }
}

function isCluster(c: Redis | Cluster): c is Cluster {
  return (c as { isCluster?: boolean }).isCluster === true;
}
