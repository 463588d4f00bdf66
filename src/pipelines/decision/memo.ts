/**
 * Decision memo: the encoded decision of each auth id, kept for a while so that an event
 * redelivered after a crash or a rebalance gets byte-identical output. Recomputing is not
 * enough: another partition may have added events to a shared terminal or customer in the
 * meantime. Bounded by a TTL a little longer than a redelivery can take (session timeout,
 * restart); best effort: if Redis is away, the decision is recomputed.
 */
import type { Cluster, Redis } from 'ioredis';

export interface DecisionMemo {
  recall(authIds: readonly string[]): Promise<(Buffer | null)[]>;
  remember(entries: readonly { authId: string; value: Buffer }[]): Promise<void>;
}

export class RedisDecisionMemo implements DecisionMemo {
  constructor(private readonly redis: Redis | Cluster, private readonly opts: { prefix: string; ttlMs: number }) {}

  private key(authId: string): string {
    return `${this.opts.prefix}:{a:${authId}}:decision`;
  }

  async recall(authIds: readonly string[]): Promise<(Buffer | null)[]> {
    if (!authIds.length) return [];
    const p = this.redis.pipeline();
    for (const id of authIds) p.getBuffer(this.key(id));
    const res = (await p.exec()) ?? [];
    return res.map(([err, v]) => (err ? null : (v as Buffer | null)));
  }

  async remember(entries: readonly { authId: string; value: Buffer }[]): Promise<void> {
    if (!entries.length) return;
    const p = this.redis.pipeline();
    for (const e of entries) p.set(this.key(e.authId), e.value, 'PX', this.opts.ttlMs, 'NX');
    await p.exec();
  }
}
