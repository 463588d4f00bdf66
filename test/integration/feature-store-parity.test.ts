/**
 * The same events through MemoryFeatureStore and RedisFeatureStore (real Redis) give identical
 * vectors: simulated history with delayed and corrected labels, a fuzzed stream of edge cases
 * (ties at the same millisecond, odd ids, redeliveries, out-of-order events), and idempotency.
 * Also reports (console.log, not asserted) Redis throughput and bytes per active customer.
 * Each runs on a single Redis node and on a Redis Cluster (scripts/stack cluster up).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import type { AuthorizationEvent, Channel, LabelEvent } from '../../src/events/types.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import type { FeatureStore, FeatureVector } from '../../src/features/store.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import type { HistoryCaps } from '../../src/features/definitions.js';
import { RedisFeatureStore } from '../../src/features/redis/store.js';
import {
  enrichFeed,
  interleaveLabels,
  labelOf,
  type FeedItem,
  type LabelledTx,
} from '../../src/features/label-feed.js';
import { simulate } from '../../src/simulator/index.js';
import { uniqueName } from '../helpers/stack.js';
import { REDIS_TARGETS, connectTarget } from '../helpers/redis-cluster.js';
import { bareAuthorization } from '../helpers/events.js';
import { DAY_MS as DAY, HOUR_MS as HOUR } from '../../src/events/time.js';

let redis: Redis | Cluster;
let stores: RedisFeatureStore[] = [];

function redisStore(name: string, maxHistory?: HistoryCaps): RedisFeatureStore {
  const s = new RedisFeatureStore(redis, {
    prefix: uniqueName(`fe-parity-${name}`),
    ...(maxHistory ? { maxHistory } : {}),
  });
  stores.push(s);
  return s;
}

/** First difference between two lists of vectors, or null. */
function firstDiff(a: readonly FeatureVector[], b: readonly FeatureVector[], ids: readonly string[]): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    for (let j = 0; j < FEATURE_NAMES.length; j++) {
      if (!Object.is(x[j], y[j])) return `${ids[i]}: ${FEATURE_NAMES[j]} ${String(x[j])} vs ${String(y[j])}`;
    }
  }
  return null;
}

/** Wraps a store: every `every`-th enrich is sent twice (a redelivery); the replies must agree. */
function redelivering(inner: FeatureStore, every: number, problems: string[]): FeatureStore {
  let calls = 0;
  return {
    async enrich(events) {
      const first = await inner.enrich(events);
      if (++calls % every === 0) {
        const again = await inner.enrich(events);
        const d = firstDiff(
          first,
          again,
          events.map((e) => e.auth_id),
        );
        if (d) problems.push(`redelivery changed a vector: ${d}`);
      }
      return first;
    },
    applyLabels: (labels) => inner.applyLabels(labels),
    close: () => inner.close(),
  };
}

/** Merges extra labels into a time-ordered feed (labels before transactions at the same time). */
function mergeLabels(feed: FeedItem[], extra: LabelEvent[]): FeedItem[] {
  const time = (i: FeedItem): number => (i.kind === 'tx' ? i.event.event_time : i.label.label_time);
  const sorted = [...extra].sort((a, b) => a.label_time - b.label_time);
  const out: FeedItem[] = [];
  let k = 0;
  for (const item of feed) {
    while (
      k < sorted.length &&
      sorted[k]!.label_time <= time(item) &&
      (item.kind === 'tx' || sorted[k]!.label_time < time(item))
    ) {
      out.push({ kind: 'label', label: sorted[k++]! });
    }
    out.push(item);
  }
  while (k < sorted.length) out.push({ kind: 'label', label: sorted[k++]! });
  return out;
}

describe.each(REDIS_TARGETS)('feature store parity (memory vs Redis, %s)', (target) => {
  beforeAll(async () => {
    stores = [];
    redis = await connectTarget(target);
  });

  afterAll(async () => {
    for (const s of stores) await s.deleteAll();
    await redis?.quit();
  });

  it('simulated history with delayed and corrected labels gives identical vectors; redelivery changes nothing', async () => {
    const sim = simulate({ customers: 150, terminals: 300, days: 60, seed: 3 });
    const records: LabelledTx[] = [...sim];
    expect(records.length).toBeGreaterThan(5000);
    // Corrections: every 5th fraud is retracted 2 days after its chargeback, every 50th genuine
    // transaction is wrongly flagged 9 days after it happened (and never corrected).
    const corrections: LabelEvent[] = [];
    let nf = 0;
    let ng = 0;
    for (const r of records) {
      const l = labelOf(r, 7 * DAY)!;
      if (r.fraud && ++nf % 5 === 0)
        corrections.push({ ...l, fraud: false, label_time: l.label_time + 2 * DAY, source: 'analyst' });
      if (!r.fraud && ++ng % 50 === 0)
        corrections.push({ ...l, fraud: true, label_time: l.tx_time + 9 * DAY, source: 'analyst' });
    }
    const feed = mergeLabels(interleaveLabels(records, 7), corrections);
    expect(feed.length).toBe(records.length * 2 + corrections.length);

    const problems: string[] = [];
    const reference = await enrichFeed(new MemoryFeatureStore(), feed, { batchSize: 64 });
    const t0 = performance.now();
    const viaRedis = await enrichFeed(redelivering(redisStore('sim'), 5, problems), feed, { batchSize: 64 });
    const redisMs = performance.now() - t0;
    const viaMemory = await enrichFeed(redelivering(new MemoryFeatureStore(), 5, problems), feed, { batchSize: 64 });

    const ids = reference.map((r) => r.auth_id);
    expect(viaRedis.map((r) => r.auth_id)).toEqual(ids);
    expect(problems).toEqual([]);
    expect(
      firstDiff(
        viaRedis.map((r) => r.vector),
        reference.map((r) => r.vector),
        ids,
      ),
    ).toBeNull();
    expect(
      firstDiff(
        viaMemory.map((r) => r.vector),
        reference.map((r) => r.vector),
        ids,
      ),
    ).toBeNull();

    // The labels mattered: some terminal risks are positive, some features are null.
    const riskIdx = FEATURE_NAMES.indexOf('terminal_risk_7d');
    expect(reference.filter((r) => (r.vector[riskIdx] ?? 0) > 0).length).toBeGreaterThan(100);
    const lastIdx = FEATURE_NAMES.indexOf('terminal_last_known_fraud');
    const last3Idx = FEATURE_NAMES.indexOf('terminal_frauds_last3_known');
    expect(reference.filter((r) => r.vector[lastIdx] === 1).length).toBeGreaterThan(20);
    expect(reference.filter((r) => (r.vector[last3Idx] ?? 0) >= 2).length).toBeGreaterThan(20);
    // The fraud streak's age: known for some, of varied ages (not only the 7-day minimum).
    const ages = reference.map((r) => r.vector[FEATURE_NAMES.indexOf('terminal_known_fraud_age')]);
    const known = ages.filter((a): a is number => a !== null);
    expect(known.length).toBeGreaterThan(100);
    expect(known.filter((a) => a > 14).length).toBeGreaterThan(20);
    expect(known.every((a) => a >= 7 && a < 37)).toBe(true);
    expect(reference.some((r) => r.vector.includes(null))).toBe(true);
    console.log(
      `[parity] simulated: ${records.length} tx, ${feed.length - records.length} labels (${corrections.length} corrections): ` +
        `identical vectors; Redis (${target}) run incl. redeliveries ${(redisMs / 1000).toFixed(2)} s`,
    );
  });

  it.each([
    ['the default history caps', undefined],
    // A handful of entities over thousands of events: every entity is trimmed to its cap all the time.
    ['tiny history caps', { customer: 6, terminal: 9, card: 4 }],
  ] as [string, HistoryCaps | undefined][])(
    'fuzzed edge cases: ties, odd ids, redeliveries, late and out-of-order events, label corrections; %s',
    async (_name, caps) => {
      let seed = 12345;
      const rnd = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const odd = ['a|b', '%', '%7C', '', 'é', '😀', '{x}', 'a:b', ' ', 'plain'];
      const customers = ['c1', 'c2', 'c|3', '', 'ç'];
      const terminals = ['t1', 't2', 't|3', '%25', '', '😀'];
      const cards = ['k1', 'k2', 'k{3}', 'k%'];
      const merchants: (string | null)[] = ['m1', 'm2', null, '', 'm|3', '%'];
      const devices: (string | null)[] = ['d1', null, '', 'd|2', 'd%'];
      const channels: Channel[] = ['POS', 'ECOM', 'ATM', 'MOTO', 'UNKNOWN'];
      const T0 = Date.UTC(2024, 2, 1);

      const memory = new MemoryFeatureStore(caps);
      const viaRedis = redisStore('fuzz', caps);
      const seen: AuthorizationEvent[] = [];
      const lastSeen = new Map<string, number>();
      let now = T0;
      let n = 0;
      let checked = 0;
      let fullest = 0;
      for (let step = 0; step < 1500; step++) {
        const r = rnd();
        if (r < 0.15 && seen.length > 0) {
          // labels: fraud, correction, or for a transaction no store has seen
          const labels: LabelEvent[] = [];
          for (let i = 0, m = 1 + Math.floor(rnd() * 5); i < m; i++) {
            const e = rnd() < 0.9 ? pick(seen) : { ...pick(seen), auth_id: `ghost${i}` };
            labels.push({
              auth_id: e.auth_id,
              card_token: e.card_token,
              customer_id: e.customer_id,
              terminal_id: e.terminal_id,
              tx_time: e.event_time,
              label_time: now,
              fraud: rnd() < 0.7,
              source: 'fuzz',
            });
          }
          await memory.applyLabels(labels);
          await viaRedis.applyLabels(labels);
          continue;
        }
        let batch: AuthorizationEvent[];
        if (r < 0.25 && seen.length > 10) {
          // redelivery of recent events (possibly after later ones), less than 7 days old
          const from = Math.max(0, seen.length - 1 - Math.floor(rnd() * 20));
          batch = seen.slice(from, from + 1 + Math.floor(rnd() * 10)).filter((e) => e.event_time > now - 7 * DAY);
        } else {
          batch = [];
          for (let i = 0, m = 1 + Math.floor(rnd() * 12); i < m; i++) {
            const jump = rnd();
            // many ties (same ms), small steps, day and week jumps, sometimes exact window bounds
            now +=
              jump < 0.4 ? 0 : jump < 0.7 ? Math.floor(rnd() * HOUR) : jump < 0.9 ? DAY : jump < 0.97 ? 7 * DAY : HOUR;
            const customer = pick(customers);
            const terminal = pick(terminals);
            const card = pick(cards);
            // Out of order: a day late, or far beyond every window when the entities are active
            // (the stores agree on late events only while the memory store still holds the
            // entities, i.e. they had an event within retention + 1 day, see memory-store.ts).
            const active = [`c${customer}`, `t${terminal}`, `k${card}`].every(
              (k) => (lastSeen.get(k) ?? -Infinity) > now - 7 * DAY,
            );
            const late = active && rnd() < 0.03 ? 40 * DAY : rnd() < 0.05 ? DAY : 0;
            const e = bareAuthorization({
              auth_id: rnd() < 0.1 ? `${pick(odd)}#${n++}` : `a${n++}`,
              event_time: now - late,
              card_token: card,
              customer_id: customer,
              terminal_id: terminal,
              merchant_id: pick(merchants),
              amount_minor: rnd() < 0.05 ? 0 : rnd() < 0.02 ? -500 : Math.floor(rnd() * 100_000),
              channel: pick(channels),
              device_id: pick(devices),
            });
            for (const k of [`c${customer}`, `t${terminal}`, `k${card}`])
              lastSeen.set(k, Math.max(lastSeen.get(k) ?? -Infinity, e.event_time));
            batch.push(e);
            seen.push(e);
          }
        }
        if (batch.length === 0) continue;
        const a = await memory.enrich(batch);
        const b = await viaRedis.enrich(batch);
        const d = firstDiff(
          b,
          a,
          batch.map((e) => e.auth_id),
        );
        if (d) throw new Error(`step ${step}: Redis vs memory differ: ${d}`);
        checked += batch.length;
        if (caps) for (const e of batch) fullest = Math.max(fullest, await viaRedis.historySize('card', e.card_token));
      }
      expect(checked).toBeGreaterThan(3000);
      if (caps) {
        // The caps did bite (cards were full) and no entity holds more than its cap.
        expect(fullest).toBe(caps.card);
        for (const c of cards) expect(await viaRedis.historySize('card', c)).toBeLessThanOrEqual(caps.card);
        for (const c of customers) expect(await viaRedis.historySize('customer', c)).toBeLessThanOrEqual(caps.customer);
        for (const t of terminals) expect(await viaRedis.historySize('terminal', t)).toBeLessThanOrEqual(caps.terminal);
      }
      console.log(
        `[parity] fuzz (${_name}, ${target}): ${checked} enrichments (${n} distinct events), identical vectors`,
      );
    },
  );

  it("concurrent writers of the same terminals: every event recorded once, the losers redone on the winners' state", async () => {
    // Two streams on disjoint customers and cards that share every terminal, enriched at the same
    // time (two stores on the same prefix, as two engine instances): each one's reads go out before
    // the other's writes, so the compare-and-set of shared terminals conflicts and is redone.
    const events = [...simulate({ customers: 100, terminals: 12, days: 30, seed: 7 })].map((r) => r.event);
    const isA = (e: AuthorizationEvent): boolean => Number(/\d+/.exec(e.customer_id)?.[0] ?? 0) % 2 === 0;
    const a = events.filter(isA).map((e) => ({ ...e, card_token: `A${e.card_token}` }));
    const b = events.filter((e) => !isA(e)).map((e) => ({ ...e, card_token: `B${e.card_token}` }));
    expect(a.length).toBeGreaterThan(50);
    expect(b.length).toBeGreaterThan(50);
    const one = redisStore('concurrent');
    const two = new RedisFeatureStore(redis, { prefix: one.prefix });
    const memA = new MemoryFeatureStore();
    const memB = new MemoryFeatureStore();
    // Customer and card features depend on one stream only: equal to that stream's alone.
    const own = ['customer', 'card', 'tx'].flatMap((p) =>
      FEATURE_NAMES.flatMap((n, i) => (n.startsWith(p) ? [i] : [])),
    );
    const pick = (v: FeatureVector): (number | null)[] => own.map((i) => v[i]!);
    for (let i = 0; i < Math.max(a.length, b.length); i += 50) {
      const [ra, rb] = await Promise.all([one.enrich(a.slice(i, i + 50)), two.enrich(b.slice(i, i + 50))]);
      expect(ra.map(pick)).toEqual((await memA.enrich(a.slice(i, i + 50))).map(pick));
      expect(rb.map(pick)).toEqual((await memB.enrich(b.slice(i, i + 50))).map(pick));
    }
    expect(one.conflicts + two.conflicts).toBeGreaterThan(0);
    // Each terminal holds each of its events once (the retention of 37 days keeps them all).
    const perTerminal = new Map<string, number>();
    for (const e of events) perTerminal.set(e.terminal_id, (perTerminal.get(e.terminal_id) ?? 0) + 1);
    for (const [t, n] of perTerminal) expect(await one.historySize('terminal', t)).toBe(n);
    // A redelivery of everything in one stream's order (sequential now) changes no count.
    const again = await one.enrich(a.slice(0, 50));
    expect(again.length).toBe(Math.min(50, a.length));
    for (const [t, n] of perTerminal) expect(await one.historySize('terminal', t)).toBe(n);
  });

  it('cleans up: deleteAll removes every key of a prefix', async () => {
    const s = redisStore('cleanup');
    await s.enrich([
      bareAuthorization({
        auth_id: 'x',
        event_time: Date.UTC(2024, 0, 1),
        card_token: 'k',
        customer_id: 'c',
        terminal_id: 't',
        amount_minor: 1,
        channel: 'POS',
      }),
    ]);
    await s.applyLabels([
      {
        auth_id: 'x',
        card_token: 'k',
        customer_id: 'c',
        terminal_id: 't',
        tx_time: Date.UTC(2024, 0, 1),
        label_time: Date.UTC(2024, 0, 8),
        fraud: true,
        source: 't',
      },
    ]);
    expect((await s.keys()).sort()).toEqual(
      [s.key('card', 'k'), s.key('customer', 'c'), s.key('terminal', 't')].sort(),
    );
    expect(await redis.pttl(s.key('customer', 'c'))).toBeGreaterThan(30 * DAY);
    expect(await redis.pttl(s.key('terminal', 't'))).toBeGreaterThan(37 * DAY);
    expect(await s.deleteAll()).toBe(3);
    expect(await s.keys()).toEqual([]);
    // The store's cache still holds the deleted states: its next write finds no key and redoes
    // the event on an empty state, as a fresh store does.
    const later = bareAuthorization({
      auth_id: 'y',
      event_time: Date.UTC(2024, 0, 2),
      card_token: 'k',
      customer_id: 'c',
      terminal_id: 't',
      amount_minor: 2,
      channel: 'POS',
    });
    expect(await s.enrich([later])).toEqual(await new MemoryFeatureStore().enrich([later]));
    expect(await s.historySize('card', 'k')).toBe(1);
  });
});
