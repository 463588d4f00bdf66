/**
 * The decision memo (../decision-memo.ts) in Redis, in buckets: the entries live as fields of a
 * few Redis hashes, `<prefix>:{m:<shard>}:<epoch>`, the shard a hash of the auth id (MEMO_SHARDS),
 * the epoch the engine's clock in periods of the TTL. A key per auth id cost a SET inside a
 * script (~4–5 µs of Redis CPU) and ~270 B (key, object, expiry) per entry; a field of a bucket
 * costs an HSET argument (~1 µs) and ~200 B (docs/performance.md, "Redis per event").
 *
 * Each field's value starts with the time its entry expires (6 bytes, ms, little endian: Redis's
 * clock at the write plus the TTL), so the TTL is kept per entry, as PX kept it per key: an entry
 * is answered while Redis's clock is at or before it, never after; the bucket itself expires just
 * after its last entry. A lookup reads the auth id's shard in the epochs before, at and after the
 * engine's own (instances' clocks may differ by up to a TTL); a write keeps the first live entry of
 * an auth id (as SET NX did) and writes into the current epoch.
 *
 * One script call per batch on a single node, one per shard on a Redis Cluster (a shard's buckets
 * share its hash tag, so one slot), sent per node by autopipelining.
 */
import { crc32 } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Command, type Cluster, type Redis } from 'ioredis';
import { decodeEntry, encodeEntry, type DecisionMemo, type MemoEntry } from '../decision-memo.js';

/**
 * Shards of the buckets: spread over a cluster's masters, few enough that a batch's entries share
 * buckets. Changing it moves every auth id: entries written before are no longer found (as after
 * an upgrade across a key format, docs/operations.md).
 */
export const MEMO_SHARDS = 16;
/** Epochs read around the engine's own: before, at, after. */
const EPOCHS = 3;
const UNTIL_BYTES = 6;

/**
 * KEYS: per shard its EPOCHS buckets (the epoch before, the current, the one after). ARGV[1]: the
 * number of shards G, ARGV[2 … G + 1]: how many auth ids each has, then the auth ids in that order.
 * Returns, aligned with the auth ids, the live value (its expiry, then the entry) or false.
 */
const RECALL_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local g = tonumber(ARGV[1])
local out, at = {}, g + 2
for s = 1, g do
  local n = tonumber(ARGV[s + 1])
  local ids = {}
  for j = 1, n do ids[j] = ARGV[at + j - 1] end
  for e = 1, ${EPOCHS} do
    local vs = redis.call('HMGET', KEYS[(s - 1) * ${EPOCHS} + e], unpack(ids))
    for j = 1, n do
      local v = vs[j]
      if v and not out[at + j - 1] then
        local b1, b2, b3, b4, b5, b6 = string.byte(v, 1, 6)
        if b1 + 256 * (b2 + 256 * (b3 + 256 * (b4 + 256 * (b5 + 256 * b6)))) >= now then out[at + j - 1] = v end
      end
    end
  end
  at = at + n
end
local r = {}
for i = g + 2, at - 1 do r[#r + 1] = out[i] or false end
return r
`;

/**
 * KEYS: as RECALL_LUA's; the entries go to each shard's current bucket (its second key).
 * ARGV[1]: TTL (ms), ARGV[2]: the number of shards G, ARGV[3 … G + 2]: how many entries each has,
 * then per entry its auth id and its value. An auth id with a live entry (in any of the three
 * buckets, or earlier in this call) keeps it. Each written bucket expires 1 ms after its newest entry.
 */
const REMEMBER_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local u = now + ttl
local til = ''
for i = 1, ${UNTIL_BYTES} do
  til = til .. string.char(u % 256)
  u = math.floor(u / 256)
end
local g = tonumber(ARGV[2])
local at = g + 3
for s = 1, g do
  local n = tonumber(ARGV[s + 2])
  local ids, live = {}, {}
  for j = 1, n do ids[j] = ARGV[at + 2 * j - 2] end
  for e = 1, ${EPOCHS} do
    local vs = redis.call('HMGET', KEYS[(s - 1) * ${EPOCHS} + e], unpack(ids))
    for j = 1, n do
      local v = vs[j]
      if v then
        local b1, b2, b3, b4, b5, b6 = string.byte(v, 1, 6)
        if b1 + 256 * (b2 + 256 * (b3 + 256 * (b4 + 256 * (b5 + 256 * b6)))) >= now then live[ids[j]] = true end
      end
    end
  end
  local fields = {}
  for j = 1, n do
    local id = ids[j]
    if not live[id] then
      live[id] = true
      fields[#fields + 1] = id
      fields[#fields + 1] = til .. ARGV[at + 2 * j - 1]
    end
  end
  if #fields > 0 then
    local k = KEYS[(s - 1) * ${EPOCHS} + 2]
    redis.call('HSET', k, unpack(fields))
    redis.call('PEXPIRE', k, ttl + 1)
  end
  at = at + 2 * n
end
return 0
`;

interface LoadedScript {
  lua: string;
  sha: string;
}
const script = (lua: string): LoadedScript => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
/** The memo's scripts (the bench counts their commands as scripts' work). */
export const MEMO_SCRIPTS = { recall: script(RECALL_LUA), remember: script(REMEMBER_LUA) } as const;

export interface RedisDecisionMemoOptions {
  prefix: string;
  ttlMs: number;
  /** The engine's clock, which picks the epochs (tests move it). */
  now?: () => number;
}

export class RedisDecisionMemo implements DecisionMemo {
  private readonly now: () => number;
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly opts: RedisDecisionMemoOptions,
  ) {
    if (!(opts.ttlMs > 0)) throw new Error(`decision memo TTL must be positive: ${opts.ttlMs}`);
    this.now = opts.now ?? Date.now;
  }

  /** The shard of an auth id (its buckets' hash tag). */
  static shardOf(authId: string): number {
    return crc32(authId) % MEMO_SHARDS;
  }

  /** The buckets of a shard around the engine's current epoch: before, current, after. */
  bucketKeys(shard: number): string[] {
    const e = Math.floor(this.now() / this.opts.ttlMs);
    const base = `${this.opts.prefix}:{m:${shard}}:`;
    return [`${base}${e - 1}`, `${base}${e}`, `${base}${e + 1}`];
  }

  async recall(authIds: readonly string[]): Promise<(MemoEntry | null)[]> {
    if (!authIds.length) return [];
    const groups = this.group(authIds.length, (i) => authIds[i]!);
    const out: (MemoEntry | null)[] = new Array(authIds.length).fill(null);
    const replies = await this.send(MEMO_SCRIPTS.recall, groups, (g) => {
      const args: (string | Buffer)[] = [String(g.length), ...g.map((s) => String(s.at.length))];
      for (const s of g) for (const i of s.at) args.push(authIds[i]!);
      return args;
    });
    replies.forEach((r, c) => {
      const order = groups[c]!.flatMap((s) => s.at);
      if (!Array.isArray(r)) return;
      order.forEach((i, j) => {
        const v = r[j] as Buffer | null;
        out[i] = v ? decodeEntry(v.subarray(UNTIL_BYTES)) : null;
      });
    });
    return out;
  }

  async remember(entries: readonly ({ authId: string } & MemoEntry)[]): Promise<void> {
    if (!entries.length) return;
    const groups = this.group(entries.length, (i) => entries[i]!.authId);
    await this.send(MEMO_SCRIPTS.remember, groups, (g) => {
      const args: (string | Buffer)[] = [
        String(this.opts.ttlMs),
        String(g.length),
        ...g.map((s) => String(s.at.length)),
      ];
      for (const s of g)
        for (const i of s.at) {
          const e = entries[i]!;
          args.push(e.authId, encodeEntry(e));
        }
      return args;
    });
  }

  /**
   * The items by shard, and the shards by call: all in one call on a single node, one call per
   * shard on a cluster (its keys in one slot).
   */
  private group(n: number, idOf: (i: number) => string): { shard: number; at: number[] }[][] {
    const byShard = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const s = RedisDecisionMemo.shardOf(idOf(i));
      const at = byShard.get(s);
      if (at) at.push(i);
      else byShard.set(s, [i]);
    }
    const shards = [...byShard].map(([shard, at]) => ({ shard, at }));
    return isCluster(this.redis) ? shards.map((s) => [s]) : [shards];
  }

  /** One EVALSHA per call (the script loaded on NOSCRIPT), replies as Buffers. */
  private async send(
    s: LoadedScript,
    calls: { shard: number; at: number[] }[][],
    argsOf: (g: { shard: number; at: number[] }[]) => (string | Buffer)[],
  ): Promise<unknown[]> {
    const client = this.redis;
    return Promise.all(
      calls.map(async (g) => {
        const keys = g.flatMap((x) => this.bucketKeys(x.shard));
        const rest = [keys.length, ...keys, ...argsOf(g)];
        const run = (cmd: 'evalsha' | 'eval') =>
          client.sendCommand(new Command(cmd, [cmd === 'evalsha' ? s.sha : s.lua, ...rest], { replyEncoding: null }));
        try {
          return await run('evalsha');
        } catch (err) {
          // Script cache flushed (restart, failover) or never loaded: EVAL loads it on its node.
          if (err instanceof Error && /NOSCRIPT/.test(err.message)) return run('eval');
          throw err;
        }
      }),
    );
  }
}

function isCluster(c: Redis | Cluster): c is Cluster {
  return (c as { isCluster?: boolean }).isCluster === true;
}
