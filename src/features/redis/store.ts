/**
 * The Redis feature store (`run`): per entity (customer, terminal, card) one Redis string holding
 * its compact state (./entity-codec.ts). The engine applies a batch's events to the states with
 * the reference algorithm (./entity-ops.ts: the in-memory store's rules and ../definitions.ts's
 * aggregates) and writes the changed ones back with one compare-and-set script call
 * (./scripts.ts); the states it last wrote or saw are kept in a bounded cache, so the usual
 * batch is one round trip, and an entity another instance changed meanwhile (or one this
 * process has not seen) comes back in the script's reply and is redone. Redis thus only stores
 * and returns small blobs: one command per entity instead of ~30 sorted-set commands per event
 * in Lua (docs/performance.md, "Compact feature state").
 *
 * `applyLabels` is the same read-modify-write on the terminals' states (labels live there).
 * On a Redis Cluster each entity is its own slot (hash tag): one script call per entity; create
 * the Cluster with `enableAutoPipelining: true` so that they go out per node in one write.
 * Needs Redis 7.0 or later (SET … NX GET).
 */
import { Command, type Cluster, type Redis } from 'ioredis';
import type { AuthorizationEvent, LabelEvent } from '../../events/types.js';
import type { FeatureStore, FeatureVector } from '../store.js';
import {
  MAX_HISTORY,
  checkEvent,
  combine,
  type CardAggregates,
  type HistoryCaps,
  type CustomerAggregates,
  type TerminalAggregates,
} from '../definitions.js';
import {
  decodeCard,
  decodeCustomer,
  decodeTerminal,
  encodeCard,
  encodeCustomer,
  encodeTerminal,
  versionOf,
  type CustomerState,
  type KeyedState,
  type TerminalState,
} from './entity-codec.js';
import { applyCard, applyCustomer, applyTerminal } from './entity-ops.js';
import { KEY_TTL_MS, SCRIPTS } from './scripts.js';

const EMPTY = Buffer.alloc(0);
const TTL: Record<EntityKind, string> = {
  customer: String(KEY_TTL_MS.customer),
  terminal: String(KEY_TTL_MS.terminal),
  card: String(KEY_TTL_MS.card),
};
const DECODE: Record<EntityKind, (b: Buffer | null) => { tx: unknown[] }> = {
  customer: decodeCustomer,
  terminal: decodeTerminal,
  card: decodeCard,
};

export interface RedisFeatureStoreOptions {
  /** Key namespace (default `fe`); keys are `<prefix>:{…}:…`. Must not contain `{` or `}`. */
  prefix?: string;
  /** Quit the client on close() (default false: the caller owns it). */
  closeClient?: boolean;
  /** Most entries per entity (default MAX_HISTORY; tests use small ones). */
  maxHistory?: HistoryCaps;
  /**
   * Bytes of entity states kept in this process (default 64 MiB): an entity found here costs no
   * read of Redis, one not found (or changed by another instance) one more round trip.
   */
  cacheBytes?: number;
}

/** The kinds of entity state: customer, terminal, card (the key's hash tag starts with it). */
export type EntityKind = 'customer' | 'terminal' | 'card';
const TAG: Record<EntityKind, string> = { customer: 'c', terminal: 't', card: 'k' };
/**
 * Suffix of the entity keys: the version of their format. A new format takes a new suffix, so
 * that a deployment's keys of the old format are never read, only left to expire (KEY_TTL_MS).
 * (v1: `:tx` sorted sets, `:agg` hashes and `:fraud` sorted sets, read by Lua scripts.)
 */
export const KEY_SUFFIX = ':v2';
/** Compare-and-set rounds of one call before it gives up (each round loses only to another writer's success). */
const MAX_ROUNDS = 20;

/** An entity touched by a call: its key, the events (or labels) applied to it in order, its state. */
interface Entity<S> {
  kind: EntityKind;
  key: string;
  ops: number[];
  read: Buffer;
  state: S | null;
}

type Reply = [Error | null, unknown];
/** One entity of a compare-and-set call: its new state, or null to check it only. */
interface CasOp {
  e: Entity<unknown>;
  kind: EntityKind;
  key: string;
  read: Buffer;
  blob: Buffer | null;
}

export class RedisFeatureStore implements FeatureStore {
  readonly prefix: string;
  /** Entities redone because another writer changed them since this store saw them (diagnostics, tests). */
  conflicts = 0;
  /** Entities redone because this store had not seen them (not in its cache) but Redis had. */
  misses = 0;
  private readonly ns: string;
  private loaded = false;
  /** key → the entity's state as this store last wrote or saw it (see readModifyWrite). */
  private readonly cache = new Map<string, Buffer>();
  private readonly cacheLimit: number;
  private cacheBytes = 0;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly opts: RedisFeatureStoreOptions = {},
  ) {
    const prefix = opts.prefix ?? 'fe';
    if (/[{}]/.test(prefix)) throw new Error(`feature store prefix must not contain '{' or '}': '${prefix}'`);
    this.prefix = prefix;
    this.ns = prefix === '' || prefix.endsWith(':') ? prefix : `${prefix}:`;
    this.cacheLimit = opts.cacheBytes ?? 64 * 2 ** 20;
  }

  /** The key of an entity's state (one Redis Cluster slot per entity, by its hash tag). */
  key(kind: EntityKind, id: string): string {
    return `${this.ns}{${TAG[kind]}:${id}}${KEY_SUFFIX}`;
  }

  /** Number of transactions an entity's state holds (tests, diagnostics). */
  async historySize(kind: EntityKind, id: string): Promise<number> {
    const blob = await this.client.getBuffer(this.key(kind, id));
    return DECODE[kind](blob).tx.length;
  }

  async enrich(events: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    if (events.length === 0) return [];
    const caps = this.opts.maxHistory ?? MAX_HISTORY;
    const customers = new Map<string, Entity<CustomerState>>();
    const terminals = new Map<string, Entity<TerminalState>>();
    const cards = new Map<string, Entity<KeyedState>>();
    const touch = <S>(m: Map<string, Entity<S>>, kind: EntityKind, id: string, i: number): void => {
      let e = m.get(id);
      if (!e) m.set(id, (e = { kind, key: this.key(kind, id), ops: [], read: EMPTY, state: null }));
      e.ops.push(i);
    };
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      checkEvent(ev);
      touch(customers, 'customer', ev.customer_id, i);
      touch(terminals, 'terminal', ev.terminal_id, i);
      touch(cards, 'card', ev.card_token, i);
    }
    const c: CustomerAggregates[] = new Array(events.length);
    const t: TerminalAggregates[] = new Array(events.length);
    const k: CardAggregates[] = new Array(events.length);
    // Each entity's events in order on its state as read; a conflicting write redoes only that entity.
    const apply = (e: Entity<unknown>, blob: Buffer | null): Buffer | null => {
      let changed = false;
      if (e.kind === 'customer') {
        const s = decodeCustomer(blob);
        for (const i of e.ops) {
          const r = applyCustomer(s, events[i]!, caps.customer);
          c[i] = r.agg;
          changed = r.changed || changed;
        }
        return changed ? encodeCustomer(s, e.read) : null;
      }
      if (e.kind === 'terminal') {
        const s = decodeTerminal(blob);
        for (const i of e.ops) {
          const r = applyTerminal(s, events[i]!, caps.terminal);
          t[i] = r.agg;
          changed = r.changed || changed;
        }
        return changed ? encodeTerminal(s, e.read) : null;
      }
      const s = decodeCard(blob);
      for (const i of e.ops) {
        const r = applyCard(s, events[i]!, caps.card);
        k[i] = r.agg;
        changed = r.changed || changed;
      }
      return changed ? encodeCard(s, e.read) : null;
    };
    await this.readModifyWrite(
      [...customers.values(), ...terminals.values(), ...cards.values()] as Entity<unknown>[],
      apply,
    );
    const out: FeatureVector[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) out[i] = combine(events[i]!, c[i]!, t[i]!, k[i]!);
    return out;
  }

  async applyLabels(labels: readonly LabelEvent[]): Promise<void> {
    if (labels.length === 0) return;
    const terminals = new Map<string, Entity<TerminalState>>();
    labels.forEach((l, i) => {
      let e = terminals.get(l.terminal_id);
      if (!e)
        terminals.set(
          l.terminal_id,
          (e = { kind: 'terminal', key: this.key('terminal', l.terminal_id), ops: [], read: EMPTY, state: null }),
        );
      e.ops.push(i);
    });
    await this.readModifyWrite([...terminals.values()] as Entity<unknown>[], (e, blob) => {
      const s = decodeTerminal(blob);
      let changed = false;
      for (const i of e.ops) {
        const l = labels[i]!;
        if (l.fraud) {
          if (s.frauds.get(l.auth_id) !== l.tx_time) changed = true;
          s.frauds.set(l.auth_id, l.tx_time);
        } else changed = s.frauds.delete(l.auth_id) || changed;
      }
      return changed ? encodeTerminal(s, e.read) : null;
    });
  }

  async close(): Promise<void> {
    if (this.opts.closeClient) await this.client.quit();
  }

  /** Loads the scripts (SCRIPT LOAD on every node); called lazily by the first write. */
  async loadScripts(): Promise<void> {
    const nodes: Redis[] = isCluster(this.client) ? this.client.nodes('master') : [this.client];
    await Promise.all(nodes.flatMap((n) => Object.values(SCRIPTS).map((s) => n.script('LOAD', s.lua))));
    this.loaded = true;
  }

  /**
   * Optimistic concurrency in one round trip: each entity's events are applied to the state this
   * store last saw of it (its cache; none: a new entity), and the result is sent to LUA_CAS with
   * the version it was computed from: written if Redis still holds that version, else Redis
   * answers with what it holds (another instance wrote since, or the cache is cold) and the
   * entity is redone from that, until none is left. An entity left unchanged (a redelivery) is
   * only checked. Each entity's result is therefore that of its events applied in order after
   * every write that won before it, as a script computing next to the data gives.
   */
  private async readModifyWrite(
    entities: Entity<unknown>[],
    apply: (e: Entity<unknown>, blob: Buffer | null) => Buffer | null,
  ): Promise<void> {
    let pending = entities.map((e) => ({ e, blob: this.cache.get(e.key) ?? null }));
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_ROUNDS)
        throw new Error(`feature state: ${pending.length} entities still contended after ${MAX_ROUNDS} rounds`);
      const ops: CasOp[] = pending.map(({ e, blob }) => {
        e.read = versionOf(blob);
        return { e, kind: e.kind, key: e.key, read: e.read, blob: apply(e, blob) };
      });
      const lost = await this.compareAndSet(ops);
      for (const op of ops) if (op.blob) this.remember(op.key, op.blob);
      pending = lost.map(({ op, now }) => {
        if (op.read.length > 0) this.conflicts++;
        else this.misses++;
        this.remember(op.key, now);
        return { e: op.e, blob: now };
      });
    }
  }

  /** Keeps an entity's state as last written or seen, most recent last (the oldest leave first). */
  private remember(key: string, blob: Buffer | null): void {
    const had = this.cache.get(key);
    if (had) {
      this.cache.delete(key);
      this.cacheBytes -= had.length;
    }
    if (!blob) return;
    // An exact copy of its own: the states are views into larger buffers (the encoder's, the
    // socket's), which a cached view would keep alive.
    const copy = Buffer.allocUnsafeSlow(blob.length);
    blob.copy(copy);
    this.cache.set(key, copy);
    this.cacheBytes += copy.length;
    for (const [k, b] of this.cache) {
      if (this.cacheBytes <= this.cacheLimit) break;
      this.cache.delete(k);
      this.cacheBytes -= b.length;
    }
  }

  /**
   * Writes (or, without a new state, checks) each entity whose key still holds the version it
   * was computed from; returns the others with what their key holds now (null: no key).
   */
  private async compareAndSet(ops: CasOp[]): Promise<{ op: CasOp; now: Buffer | null }[]> {
    if (!this.loaded) await this.loadScripts();
    // Single node: one call. Cluster: one call per entity (its own slot), auto-pipelined.
    const calls = isCluster(this.client) ? ops.map((op) => [op]) : [ops];
    const replies = await this.send(calls);
    const noscript = replies.flatMap(([e], j) => (e && /NOSCRIPT/.test(e.message) ? [j] : []));
    if (noscript.length > 0) {
      // Script cache flushed (restart, failover): load and resend the calls that did not run.
      await this.loadScripts();
      const again = await this.send(noscript.map((j) => calls[j]!));
      noscript.forEach((j, n) => (replies[j] = again[n]!));
    }
    const lost: { op: CasOp; now: Buffer | null }[] = [];
    replies.forEach(([e, r], j) => {
      if (e) throw e;
      if (!Array.isArray(r) || r.length % 2 !== 0)
        throw new Error(`feature state write returned ${r === null ? 'nothing' : typeof r}`);
      for (let x = 0; x < r.length; x += 2) {
        const now = r[x + 1] as Buffer;
        lost.push({ op: calls[j]![(r[x] as number) - 1]!, now: now.length > 0 ? now : null });
      }
    });
    return lost;
  }

  private send(calls: CasOp[][]): Promise<Reply[]> {
    const client = this.client;
    const sha = SCRIPTS.cas.sha;
    return Promise.all(
      calls.map((ops) => {
        const args: (string | number | Buffer)[] = [sha, ops.length];
        let spec = '';
        for (const op of ops) {
          args.push(op.key);
          spec += TAG[op.kind] + (op.blob ? (op.read.length > 0 ? 'u' : 'n') : 'v');
        }
        args.push(spec, TTL.customer, TTL.terminal, TTL.card);
        // A new state's version is the one it was computed from plus one: the script reads it there.
        for (const op of ops) args.push(op.blob ?? op.read);
        // replies as Buffers (the states are binary); routed by the first key on a cluster
        const cmd = new Command('evalsha', args, { replyEncoding: null });
        return (client.sendCommand(cmd) as Promise<unknown>).then(
          (r): Reply => [null, r],
          (e: Error): Reply => [e, null],
        );
      }),
    );
  }

  // ---- maintenance (tests, CLI, benchmarks) ------------------------------------------------

  /** Every key under this store's prefix (SCAN on every master). */
  async keys(): Promise<string[]> {
    const nodes: Redis[] = isCluster(this.client) ? this.client.nodes('master') : [this.client];
    const pattern = `${this.ns.replace(/[*?[\]\\]/g, '\\$&')}{*`;
    const out: string[] = [];
    for (const n of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await n.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        out.push(...batch);
      } while (cursor !== '0');
    }
    return out;
  }

  /** Deletes every key under this store's prefix; returns how many. */
  async deleteAll(): Promise<number> {
    const keys = await this.keys();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      if (isCluster(this.client)) await Promise.all(chunk.map((k) => this.client.unlink(k)));
      else await this.client.unlink(...chunk);
    }
    return keys.length;
  }

  /**
   * MEMORY USAGE summed over the prefix's feature keys, by entity (the decision memo's keys,
   * `{a:…}`, share the prefix: counted apart, not in `bytes`).
   */
  async memoryUsage(): Promise<{
    keys: number;
    bytes: number;
    customers: number;
    byEntity: Record<'customer' | 'terminal' | 'card', { keys: number; bytes: number }>;
    memo: { keys: number; bytes: number };
  }> {
    const keys = await this.keys();
    const byEntity = { customer: { keys: 0, bytes: 0 }, terminal: { keys: 0, bytes: 0 }, card: { keys: 0, bytes: 0 } };
    const memo = { keys: 0, bytes: 0 };
    let features = 0;
    let bytes = 0;
    let customers = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const sizes = await Promise.all(
        chunk.map((k) => this.client.memory('USAGE', k, 'SAMPLES', '0') as Promise<number | null>),
      );
      chunk.forEach((k, j) => {
        const b = sizes[j] ?? 0;
        const tag = k.slice(this.ns.length + 1, this.ns.length + 2);
        const e =
          tag === 'c' ? byEntity.customer : tag === 't' ? byEntity.terminal : tag === 'k' ? byEntity.card : memo;
        if (tag === 'c' && k.endsWith(KEY_SUFFIX)) customers++;
        e.keys++;
        e.bytes += b;
        if (e !== memo) {
          features++;
          bytes += b;
        }
      });
    }
    return { keys: features, bytes, customers, byEntity, memo };
  }
}

function isCluster(c: Redis | Cluster): c is Cluster {
  return (c as { isCluster?: boolean }).isCluster === true;
}

/**
 * The store `features --store redis` writes to: the engine's own (keys under `prefix`, kept) for
 * a backfill, else a scratch prefix of it (`<prefix>-features-<pid>-<time>`) whose keys close()
 * deletes. close() also quits the connection.
 */
export function backfillStore(
  redis: Redis | Cluster,
  prefix: string,
  backfill: boolean,
): { store: RedisFeatureStore; close(): Promise<void> } {
  const store = new RedisFeatureStore(redis, {
    prefix: backfill ? prefix : `${prefix}-features-${process.pid}-${Date.now().toString(36)}`,
  });
  const close = async () => {
    if (!backfill) await store.deleteAll();
    await store.close();
    await redis.quit();
  };
  return { store, close };
}
