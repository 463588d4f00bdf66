/**
 * The decision memo (../decision-memo.ts) in Redis: one key per auth id, with a TTL.
 * On a single node a batch is one command each way: MGET to recall, one EVAL (a SET PX NX per
 * key inside) to remember. On a Redis Cluster the keys of a batch are in many slots: one command
 * each (a multi-key command must hold one slot there), written per node by autopipelining.
 */
import type { Cluster, Redis } from 'ioredis';
import { decodeEntry, encodeEntry, type DecisionMemo, type MemoEntry } from '../decision-memo.js';

/** KEYS: the entries' keys; ARGV[1]: TTL (ms), ARGV[i + 1]: the entry of KEYS[i]. Only absent keys are written. */
/** A batch's entries in one call on a single node (the bench reads its inner SETs as scripts' work). */
export const MEMO_REMEMBER_LUA = `for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1], 'NX') end`;

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
    const keys = entries.map((e) => this.key(e.authId));
    const args: (string | Buffer)[] = [String(this.opts.ttlMs)];
    for (const e of entries) args.push(encodeEntry(e));
    await redis.eval(MEMO_REMEMBER_LUA, keys.length, [...keys, ...args]);
  }
}

function isCluster(c: Redis | Cluster): c is Cluster {
  return (c as { isCluster?: boolean }).isCluster === true;
}
