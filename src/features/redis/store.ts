/**
 * The Redis feature store (`run`): the aggregates of ../definitions.ts computed by the Lua
 * scripts of ./scripts.ts next to the data, combined into vectors by the same TypeScript as the
 * in-memory store.
 *
 * `enrich` is one round trip: on a single node one EVALSHA of the batch script for the whole
 * batch (customer, terminal and card updates of every event, in event order); on a Redis Cluster
 * one EVALSHA per entity of the batch (its keys share a hash tag, so a slot), sent in parallel.
 * `applyLabels` is one round trip too (ZADD/ZREM on the terminal's fraud set).
 *
 * With a Redis Cluster client, create the Cluster with `enableAutoPipelining: true` so that the
 * calls are written per node in one batch.
 */
import type { Cluster, Redis } from 'ioredis';
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
import { KEY_TTL_MS, SCRIPTS } from './scripts.js';

export interface RedisFeatureStoreOptions {
  /** Key namespace (default `fe`); keys are `<prefix>:{…}:…`. Must not contain `{` or `}`. */
  prefix?: string;
  /** Quit the client on close() (default false: the caller owns it). */
  closeClient?: boolean;
  /** Most entries per entity (default MAX_HISTORY; tests use small ones). */
  maxHistory?: HistoryCaps;
}

/** Escapes an id for a customer member: `%`→%25, `|`→%7C, null → '', '' → '%'. */
export function escapeField(s: string | null): string {
  if (s === null) return '';
  if (s === '') return '%';
  if (s.indexOf('%') < 0 && s.indexOf('|') < 0) return s;
  return s.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'));
}

/** One EVALSHA of the batch script: its operations' keys and arguments, and where their replies go. */
type Call = { keys: string[]; args: string[]; ops: number[] };
type Reply = [Error | null, unknown];

export class RedisFeatureStore implements FeatureStore {
  readonly prefix: string;
  private readonly ns: string;
  private loaded = false;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly opts: RedisFeatureStoreOptions = {},
  ) {
    const prefix = opts.prefix ?? 'fe';
    if (/[{}]/.test(prefix)) throw new Error(`feature store prefix must not contain '{' or '}': '${prefix}'`);
    this.prefix = prefix;
    this.ns = prefix === '' || prefix.endsWith(':') ? prefix : `${prefix}:`;
  }

  customerKey(id: string): string {
    return `${this.ns}{c:${id}}:tx`;
  }
  /** The customer's running aggregates (see LUA_CUSTOMER). */
  customerStateKey(id: string): string {
    return `${this.ns}{c:${id}}:agg`;
  }
  terminalKey(id: string): string {
    return `${this.ns}{t:${id}}:tx`;
  }
  fraudKey(terminalId: string): string {
    return `${this.ns}{t:${terminalId}}:fraud`;
  }
  cardKey(token: string): string {
    return `${this.ns}{k:${token}}:tx`;
  }

  async enrich(events: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    if (events.length === 0) return [];
    const caps = this.opts.maxHistory ?? MAX_HISTORY;
    const [capCustomer, capTerminal, capCard] = [String(caps.customer), String(caps.terminal), String(caps.card)];
    const cluster = isCluster(this.client);
    // Single node: one call. Cluster: one call per hash tag (entity), in the events' order.
    const calls: Call[] = [];
    const byTag = new Map<string, Call>();
    const callOf = (tag: string): Call => {
      if (!cluster) {
        if (!calls.length) calls.push({ keys: [], args: [], ops: [] });
        return calls[0]!;
      }
      let c = byTag.get(tag);
      if (!c) {
        c = { keys: [], args: [], ops: [] };
        byTag.set(tag, c);
        calls.push(c);
      }
      return c;
    };
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      checkEvent(ev);
      const ts = String(ev.event_time);
      let c = callOf(`c:${ev.customer_id}`);
      c.ops.push(3 * i);
      c.keys.push(this.customerKey(ev.customer_id), this.customerStateKey(ev.customer_id));
      c.args.push(
        'c',
        ts,
        escapeField(ev.auth_id),
        String(ev.amount_minor),
        escapeField(ev.terminal_id),
        escapeField(ev.merchant_id),
        escapeField(ev.device_id),
        capCustomer,
      );
      c = callOf(`t:${ev.terminal_id}`);
      c.ops.push(3 * i + 1);
      c.keys.push(this.terminalKey(ev.terminal_id), this.fraudKey(ev.terminal_id));
      c.args.push('t', ts, ev.auth_id, capTerminal);
      c = callOf(`k:${ev.card_token}`);
      c.ops.push(3 * i + 2);
      c.keys.push(this.cardKey(ev.card_token));
      c.args.push('k', ts, ev.auth_id, capCard);
    }
    const replies = await this.evalAll(calls, 3 * events.length);
    const out: FeatureVector[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      const c = ints(replies[3 * i]!, 12);
      const t = ints(replies[3 * i + 1]!, 9);
      const k = ints(replies[3 * i + 2]!, 2);
      const customer: CustomerAggregates = {
        n1d: c[0]!,
        sum1d: c[1]!,
        n7d: c[2]!,
        sum7d: c[3]!,
        n30d: c[4]!,
        sum30d: c[5]!,
        prevTime: c[6] === 1 ? c[7]! : null,
        nbTerminals1d: c[8]!,
        nbMerchants1d: c[9]!,
        terminalSeen: c[10] === 1 ? 1 : 0,
        deviceSeen: c[11] === 1 ? 1 : 0,
      };
      const terminal: TerminalAggregates = {
        nb1h: t[0]!,
        nb1d: t[1]!,
        fraud1d: t[2]!,
        nb7d: t[3]!,
        fraud7d: t[4]!,
        nb30d: t[5]!,
        fraud30d: t[6]!,
        lastFraud: t[7] === 1 ? 1 : 0,
        last3Frauds: t[8]!,
      };
      const card: CardAggregates = { nb1d: k[0]!, nb7d: k[1]! };
      out[i] = combine(events[i]!, customer, terminal, card);
    }
    return out;
  }

  async applyLabels(labels: readonly LabelEvent[]): Promise<void> {
    if (labels.length === 0) return;
    const client = this.client;
    if (isCluster(client)) {
      await Promise.all(
        labels.map((l) => {
          const key = this.fraudKey(l.terminal_id);
          if (!l.fraud) return client.zrem(key, l.auth_id);
          return Promise.all([
            client.zadd(key, String(l.tx_time), l.auth_id),
            client.pexpire(key, KEY_TTL_MS.terminal),
          ]);
        }),
      );
      return;
    }
    const p = client.pipeline();
    for (const l of labels) {
      const key = this.fraudKey(l.terminal_id);
      if (l.fraud) p.zadd(key, String(l.tx_time), l.auth_id).pexpire(key, KEY_TTL_MS.terminal);
      else p.zrem(key, l.auth_id);
    }
    const res = (await p.exec()) ?? [];
    const err = res.find(([e]) => e)?.[0];
    if (err) throw err;
  }

  async close(): Promise<void> {
    if (this.opts.closeClient) await this.client.quit();
  }

  /** Loads the scripts (SCRIPT LOAD on every node); called lazily by the first enrich. */
  async loadScripts(): Promise<void> {
    const nodes: Redis[] = isCluster(this.client) ? this.client.nodes('master') : [this.client];
    await Promise.all(nodes.flatMap((n) => Object.values(SCRIPTS).map((s) => n.script('LOAD', s.lua))));
    this.loaded = true;
  }

  /** Runs the calls; returns the reply of each operation, by operation index. */
  private async evalAll(calls: Call[], ops: number): Promise<unknown[]> {
    if (!this.loaded) await this.loadScripts();
    let replies = await this.send(calls);
    if (replies.some(([e]) => e && /NOSCRIPT/.test(e.message))) {
      // Script cache flushed (restart, failover): load and resend the batch; safe because
      // recording is idempotent by auth_id and no label was applied in between.
      await this.loadScripts();
      replies = await this.send(calls);
    }
    const out: unknown[] = new Array(ops);
    replies.forEach(([e, r], j) => {
      if (e) throw e;
      const call = calls[j]!;
      if (!Array.isArray(r) || r.length !== call.ops.length)
        throw new Error(
          `feature script returned ${r === null ? 'nothing' : typeof r}, expected ${call.ops.length} replies`,
        );
      call.ops.forEach((op, k) => (out[op] = r[k]));
    });
    return out;
  }

  private send(calls: Call[]): Promise<Reply[]> {
    const client = this.client;
    const sha = SCRIPTS.batch.sha;
    // (one array argument, flattened by ioredis: a batch's thousands of arguments are not spread)
    return Promise.all(
      calls.map((c) =>
        client.evalsha(sha, c.keys.length, c.keys.concat(c.args)).then(
          (r): Reply => [null, r],
          (e: Error): Reply => [e, null],
        ),
      ),
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
        if (tag === 'c' && k.endsWith(':tx')) customers++;
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

function ints(reply: unknown, n: number): number[] {
  if (!Array.isArray(reply) || reply.length !== n) {
    throw new Error(`feature script returned ${JSON.stringify(reply)}, expected ${n} integers`);
  }
  return reply as number[];
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
