/**
 * The in-memory store (parallel arrays, running sums, interned ids: src/features/memory-store.ts)
 * gives exactly the vectors of the definitions' aggregate functions over sorted entry arrays
 * (test/helpers/reference-memory-store.ts, the store as it was before it was laid out for speed):
 * a simulated history with delayed and corrected labels, and a fuzzed stream of edge cases (ties,
 * odd ids, redeliveries, late and out-of-order events, label corrections, tiny caps, amounts
 * whose sums leave the exact range of doubles).
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent, Channel, LabelEvent } from '../../src/events/types.js';
import { DAY_MS as DAY, HOUR_MS as HOUR } from '../../src/events/time.js';
import type { HistoryCaps } from '../../src/features/definitions.js';
import { enrichFeed, interleaveLabels, labelOf, type FeedItem } from '../../src/features/label-feed.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import type { FeatureVector } from '../../src/features/store.js';
import { simulate } from '../../src/simulator/index.js';
import { bareAuthorization } from '../helpers/events.js';
import { ReferenceMemoryStore } from '../helpers/reference-memory-store.js';

/** First difference (Object.is: -0, NaN and null count) between two vectors, or null. */
function diff(a: FeatureVector, b: FeatureVector): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let j = 0; j < a.length; j++) if (!Object.is(a[j], b[j])) return `${FEATURE_NAMES[j]} ${a[j]} vs ${b[j]}`;
  return null;
}

describe('memory store = reference (definitions over sorted entries)', () => {
  it('simulated history with delayed and corrected labels: identical vectors and stats', async () => {
    const records = [...simulate({ customers: 200, terminals: 300, days: 75, seed: 11 })];
    const extra: FeedItem[] = [];
    let n = 0;
    for (const r of records) {
      const l = labelOf(r, 7 * DAY);
      if (l && ++n % 7 === 0) extra.push({ kind: 'label', label: { ...l, fraud: !l.fraud, label_time: l.label_time } });
    }
    // corrections right after the original labels (same times, so the feed stays in order)
    const feed: FeedItem[] = [];
    const byAuth = new Map(extra.map((x) => [x.kind === 'label' ? x.label.auth_id : '', x]));
    for (const item of interleaveLabels(records, 7)) {
      feed.push(item);
      const c = item.kind === 'label' ? byAuth.get(item.label.auth_id) : undefined;
      if (c) feed.push(c);
    }
    const memory = new MemoryFeatureStore();
    const reference = new ReferenceMemoryStore();
    const a = await enrichFeed(memory, feed, { batchSize: 50 });
    const b = await enrichFeed(reference, feed, { batchSize: 50 });
    expect(a.length).toBe(records.length);
    expect(a.length).toBeGreaterThan(10_000);
    const differences = a.flatMap((x, i) => {
      const d = diff(x.vector, b[i]!.vector);
      return d ? [`${x.auth_id}: ${d}`] : [];
    });
    expect(differences.slice(0, 5)).toEqual([]);
    expect(memory.stats()).toEqual(reference.stats());
    // The labels and the sweep mattered.
    const risk = FEATURE_NAMES.indexOf('terminal_risk_7d');
    expect(a.filter((x) => (x.vector[risk] ?? 0) > 0).length).toBeGreaterThan(100);
    expect(memory.stats().customers).toBeLessThan(200 + 1);
  });

  it('a terminal kept idle for a label still knows its old auth ids months later (a redelivery is not recorded again)', () => {
    const T0 = Date.UTC(2024, 0, 1);
    const memory = new MemoryFeatureStore();
    const reference = new ReferenceMemoryStore();
    const stores = [memory, reference];
    const old = bareAuthorization({
      auth_id: 'old',
      event_time: T0,
      terminal_id: 'kept',
      customer_id: 'c0',
      card_token: 'k0',
    });
    const label = {
      auth_id: 'later',
      card_token: 'k0',
      customer_id: 'c0',
      terminal_id: 'kept',
      tx_time: T0 + 400 * DAY,
      label_time: T0 + DAY,
      fraud: true,
      source: 'test',
    };
    const vectors = stores.map((s) => [s.enrichEventSync(old)]);
    for (const s of stores) s.applyLabelSync(label);
    // 300 days of traffic elsewhere: daily sweeps, several rotations of the auth index
    for (let d = 1; d <= 300; d++) {
      const e = bareAuthorization({
        auth_id: `x${d}`,
        event_time: T0 + d * DAY,
        terminal_id: 'other',
        customer_id: 'c1',
        card_token: 'k1',
      });
      stores.forEach((s, i) => vectors[i]!.push(s.enrichEventSync(e)));
    }
    stores.forEach((s, i) => vectors[i]!.push(s.enrichEventSync(old)));
    const nb1h = FEATURE_NAMES.indexOf('terminal_nb_tx_1h');
    expect(vectors[1]!.at(-1)![nb1h]).toBe(1);
    expect(vectors[0]!.map((v, i) => diff(v, vectors[1]![i]!)).filter(Boolean)).toEqual([]);
    expect(memory.stats()).toEqual(reference.stats());
  });

  it.each([
    ['the default history caps', undefined, false],
    ['tiny history caps', { customer: 6, terminal: 9, card: 4 }, false],
    ['amounts near 2^53', undefined, true],
  ] as [string, HistoryCaps | undefined, boolean][])(
    'fuzzed edge cases: ties, odd ids, redeliveries, late and out-of-order events, label corrections; %s',
    async (_name, caps, huge) => {
      let seed = 777;
      const rnd = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const odd = ['a|b', '%', '', 'é', '😀', 'plain'];
      const customers = ['c1', 'c2', 'c|3', '', 'ç'];
      const terminals = ['t1', 't2', 't|3', '%25', '', '😀'];
      const cards = ['k1', 'k2', 'k{3}', 'k%'];
      const merchants: (string | null)[] = ['m1', 'm2', null, '', 'm|3'];
      const devices: (string | null)[] = ['d1', null, '', 'd|2'];
      const channels: Channel[] = ['POS', 'ECOM', 'ATM', 'MOTO', 'UNKNOWN'];
      const memory = new MemoryFeatureStore(caps);
      const reference = new ReferenceMemoryStore(caps);
      const seen: AuthorizationEvent[] = [];
      let now = Date.UTC(2024, 2, 1);
      let n = 0;
      let checked = 0;
      let redelivered = 0;
      let late = 0;
      for (let step = 0; step < 4000; step++) {
        const r = rnd();
        if (r < 0.15 && seen.length > 0) {
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
          memory.applyLabelsSync(labels);
          reference.applyLabelsSync(labels);
          continue;
        }
        let batch: AuthorizationEvent[];
        if (r < 0.25 && seen.length > 10) {
          const from = Math.max(0, seen.length - 1 - Math.floor(rnd() * 30));
          batch = seen.slice(from, from + 1 + Math.floor(rnd() * 10));
          redelivered += batch.length;
        } else {
          batch = [];
          for (let i = 0, m = 1 + Math.floor(rnd() * 12); i < m; i++) {
            const jump = rnd();
            now +=
              jump < 0.4 ? 0 : jump < 0.7 ? Math.floor(rnd() * HOUR) : jump < 0.9 ? DAY : jump < 0.97 ? 7 * DAY : HOUR;
            const back = rnd() < 0.03 ? 40 * DAY : rnd() < 0.05 ? DAY : rnd() < 0.03 ? 31 * DAY : 0;
            if (back) late++;
            const amount = huge
              ? rnd() < 0.8
                ? 2 ** 52 + 2 * Math.floor(rnd() * 2 ** 50) + 1
                : -Math.floor(rnd() * 2 ** 51)
              : rnd() < 0.05
                ? 0
                : rnd() < 0.02
                  ? -500
                  : Math.floor(rnd() * 100_000);
            const e = bareAuthorization({
              auth_id: rnd() < 0.1 ? `${pick(odd)}#${n++}` : rnd() < 0.02 ? `a${Math.max(0, n - 3)}` : `a${n++}`,
              event_time: now - back,
              card_token: pick(cards),
              customer_id: pick(customers),
              terminal_id: pick(terminals),
              merchant_id: pick(merchants),
              amount_minor: amount,
              channel: pick(channels),
              device_id: pick(devices),
            });
            batch.push(e);
            seen.push(e);
          }
        }
        for (const e of batch) {
          const a = memory.enrichEventSync(e);
          const b = reference.enrichEventSync(e);
          const d = diff(a, b);
          if (d) throw new Error(`step ${step}, ${e.auth_id}: memory vs reference differ: ${d}`);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(10_000);
      expect(redelivered).toBeGreaterThan(1000);
      expect(late).toBeGreaterThan(100);
      expect(memory.stats()).toEqual(reference.stats());
    },
  );
});
