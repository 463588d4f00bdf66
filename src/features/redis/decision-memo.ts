/** The decision memo (../decision-memo.ts) in Redis: one key per auth id, with a TTL. */
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
    const p = this.redis.pipeline();
    for (const id of authIds) p.getBuffer(this.key(id));
    const res = (await p.exec()) ?? [];
    return res.map(([err, v]) => (err ? null : decodeEntry(v as Buffer | null)));
  }

  async remember(entries: readonly ({ authId: string } & MemoEntry)[]): Promise<void> {
    if (!entries.length) return;
    const p = this.redis.pipeline();
    for (const e of entries) p.set(this.key(e.authId), encodeEntry(e), 'PX', this.opts.ttlMs, 'NX');
    await p.exec();
  }
}
