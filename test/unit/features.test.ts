import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent, LabelEvent } from '../../src/events/types.js';
import { FEATURE_NAMES, type FeatureName } from '../../src/features/names.js';
import {
  FEATURES,
  FEATURE_INDEX,
  assertDefinitionsMatchNames,
  txOnlyVector,
  vectorToRecord,
} from '../../src/features/definitions.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { driveFeatureStore, enrichFeed, interleaveLabels, type LabelledTx } from '../../src/features/label-feed.js';
import {
  decodeCard,
  decodeCustomer,
  decodeTerminal,
  encodeCard,
  encodeCustomer,
  encodeTerminal,
  versionOf,
} from '../../src/features/redis/entity-codec.js';
import { featureCsvRow } from '../../src/features/csv.js';
import type { FeatureStore, FeatureVector } from '../../src/features/store.js';

const SEC = 1000;
const HOUR = 3600 * SEC;
const DAY = 24 * HOUR;
/** Wednesday 2024-01-10 12:00:00 UTC. */
const T0 = Date.UTC(2024, 0, 10, 12, 0, 0);

function ev(auth: string, time: number, extra: Partial<AuthorizationEvent> = {}): AuthorizationEvent {
  return {
    auth_id: auth,
    event_time: time,
    card_token: 'K1',
    customer_id: 'C1',
    terminal_id: 'T1',
    merchant_id: 'M1',
    mcc: '5411',
    amount_minor: 1000,
    currency: 'EUR',
    channel: 'POS',
    device_id: null,
    ip: null,
    email_hash: null,
    country: 'FR',
    description: null,
    ...extra,
  };
}

function label(e: AuthorizationEvent, fraud: boolean): LabelEvent {
  return {
    auth_id: e.auth_id,
    card_token: e.card_token,
    customer_id: e.customer_id,
    terminal_id: e.terminal_id,
    tx_time: e.event_time,
    label_time: e.event_time + 7 * DAY,
    fraud,
    source: 'test',
  };
}

const rec = (v: FeatureVector): Record<FeatureName, number | null> => vectorToRecord(v);

async function one(store: FeatureStore, e: AuthorizationEvent): Promise<Record<FeatureName, number | null>> {
  const [v] = await store.enrich([e]);
  return rec(v!);
}

describe('feature definitions', () => {
  it('are in the order of FEATURE_NAMES and fully described', () => {
    expect(FEATURES.map((f) => f.name)).toEqual([...FEATURE_NAMES]);
    for (const f of FEATURES) {
      expect(f.description.length).toBeGreaterThan(10);
      expect(['tx', 'customer', 'terminal', 'card']).toContain(f.entity);
      expect(f.entity === 'tx' ? f.window === null : f.window !== null && f.windowMs! > 0).toBe(true);
      if (f.name.startsWith('terminal_') && f.name !== 'terminal_nb_tx_1h') expect(f.delayMs).toBe(7 * DAY);
      else expect(f.delayMs).toBe(0);
    }
    expect(FEATURE_INDEX.terminal_known_fraud_age).toBe(FEATURE_NAMES.length - 1);
  });

  it('refuses a list that differs from FEATURE_NAMES', () => {
    const swapped = [...FEATURES];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    expect(() => assertDefinitionsMatchNames(swapped)).toThrow(/do not match FEATURE_NAMES/);
    expect(() => assertDefinitionsMatchNames(FEATURES.slice(1))).toThrow();
  });
});

describe('event features', () => {
  it('amount, night (UTC hour <= 6), weekend (Sat/Sun UTC), ecom', async () => {
    const s = new MemoryFeatureStore();
    const sat0659 = Date.UTC(2024, 0, 13, 6, 59, 59, 999); // Saturday
    const sun0700 = Date.UTC(2024, 0, 14, 7, 0, 0); // Sunday
    const mon0000 = Date.UTC(2024, 0, 15, 0, 0, 0); // Monday
    const fri2359 = Date.UTC(2024, 0, 12, 23, 59, 59); // Friday
    const [a, b, c, d] = (
      await s.enrich([
        ev('a', fri2359, { amount_minor: 12345, channel: 'ECOM' }),
        ev('b', sat0659, { customer_id: 'C2', card_token: 'K2' }),
        ev('c', sun0700, { customer_id: 'C3', card_token: 'K3' }),
        ev('d', mon0000, { customer_id: 'C4', card_token: 'K4', amount_minor: 5 }),
      ])
    ).map(rec);
    expect([a!.tx_amount, a!.tx_during_weekend, a!.tx_during_night, a!.tx_is_ecom]).toEqual([123.45, 0, 0, 1]);
    expect([b!.tx_during_weekend, b!.tx_during_night, b!.tx_is_ecom]).toEqual([1, 1, 0]);
    expect([c!.tx_during_weekend, c!.tx_during_night]).toEqual([1, 0]);
    expect([d!.tx_amount, d!.tx_during_weekend, d!.tx_during_night]).toEqual([0.05, 0, 1]);
  });

  it('txOnlyVector fills the event features only', () => {
    const e = ev('x', Date.UTC(2024, 0, 13, 3), { amount_minor: 250, channel: 'ECOM' });
    const v = rec(txOnlyVector(e));
    expect([v.tx_amount, v.tx_during_weekend, v.tx_during_night, v.tx_is_ecom]).toEqual([2.5, 1, 1, 1]);
    expect(v.customer_nb_tx_1d).toBeNull();
    expect(v.terminal_risk_30d).toBeNull();
  });
});

describe('customer windows', () => {
  // a1..a6 of customer C1 on card K1; the current one a6 at T0.
  const history = [
    ev('a1', T0 - 30 * DAY, { amount_minor: 1000, terminal_id: 'T9', merchant_id: 'M9', device_id: 'D1' }), // outside every window
    ev('a2', T0 - 30 * DAY + 1, { amount_minor: 2000, terminal_id: 'T2' }), // 30d only
    ev('a3', T0 - 7 * DAY, { amount_minor: 3000, terminal_id: 'T3', device_id: 'D1' }), // 30d only (7d bound excluded)
    ev('a4', T0 - DAY, { amount_minor: 4000, terminal_id: 'T4', merchant_id: 'M2' }), // 7d, 30d (1d bound excluded)
    ev('a5', T0 - DAY + 1, { amount_minor: 5000, terminal_id: 'T3', merchant_id: 'M1' }), // 1d, 7d, 30d
  ];

  it('counts and means over (t-n, t], the current one included, the lower bound excluded', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich(history);
    const v = await one(s, ev('a6', T0, { amount_minor: 6000, terminal_id: 'T2', merchant_id: null, device_id: 'D1' }));
    expect(v.customer_nb_tx_1d).toBe(2); // a5, a6
    expect(v.customer_avg_amount_1d).toBe(55); // (5000 + 6000) / 2 / 100
    expect(v.customer_nb_tx_7d).toBe(3); // a4, a5, a6
    expect(v.customer_avg_amount_7d).toBe(50);
    expect(v.customer_nb_tx_30d).toBe(5); // a2..a6
    expect(v.customer_avg_amount_30d).toBe(40);
    // 6000 / mean(2000, 3000, 4000, 5000) = 6000 / 3500
    expect(v.customer_amount_over_avg_30d).toBe((6000 * 4) / 14000);
    expect(v.customer_secs_since_prev_tx).toBe(86399.999); // a5 was 1 day - 1 ms before
    expect(v.customer_nb_terminals_1d).toBe(2); // T3 (a5), T2 (a6)
    expect(v.customer_nb_merchants_1d).toBe(1); // M1 (a5); a6 has no merchant, a4's M2 is exactly 1 day before
    expect(v.customer_terminal_seen_before).toBe(1); // T2 by a2
    expect(v.customer_device_seen_before).toBe(1); // D1 by a3 (a1's is out of the 30 days)
    expect(v.card_nb_tx_1d).toBe(2);
    expect(v.card_nb_tx_7d).toBe(3);
    expect(v.terminal_nb_tx_1h).toBe(1);
  });

  it('first transaction: no previous, nothing seen, missing device is null', async () => {
    const s = new MemoryFeatureStore();
    const v = await one(s, ev('x', T0, { amount_minor: 999 }));
    expect(v.customer_nb_tx_1d).toBe(1);
    expect(v.customer_avg_amount_30d).toBe(9.99);
    expect(v.customer_amount_over_avg_30d).toBeNull();
    expect(v.customer_secs_since_prev_tx).toBeNull();
    expect(v.customer_terminal_seen_before).toBe(0);
    expect(v.customer_device_seen_before).toBeNull();
    expect(v.customer_nb_terminals_1d).toBe(1);
    expect(v.customer_nb_merchants_1d).toBe(1);
    expect([v.terminal_nb_tx_1d, v.terminal_risk_1d, v.terminal_nb_tx_30d, v.terminal_risk_30d]).toEqual([0, 0, 0, 0]);
  });

  it('device: unseen device is 0, null merchant ignored', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich([ev('p', T0 - HOUR, { device_id: 'D1', merchant_id: null })]);
    const v = await one(s, ev('q', T0, { device_id: 'D2', merchant_id: null }));
    expect(v.customer_device_seen_before).toBe(0);
    expect(v.customer_nb_merchants_1d).toBe(0);
    expect(v.customer_secs_since_prev_tx).toBe(3600);
  });

  it('a customer 30d window: a transaction exactly 30 days before is not prior', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich([ev('old', T0 - 30 * DAY, { device_id: 'D1' })]);
    const v = await one(s, ev('now', T0, { device_id: 'D1' }));
    expect(v.customer_secs_since_prev_tx).toBeNull();
    expect(v.customer_terminal_seen_before).toBe(0);
    expect(v.customer_device_seen_before).toBe(0);
    expect(v.customer_amount_over_avg_30d).toBeNull();
  });
});

describe('ties at the same millisecond', () => {
  it('order by recording; each sees only those recorded before it; redelivery keeps the place', async () => {
    const s = new MemoryFeatureStore();
    const b = ev('b', T0, { amount_minor: 2000 });
    const a = ev('a', T0, { amount_minor: 1000, terminal_id: 'T2' });
    const [vb, va] = (await s.enrich([b, a])).map(rec);
    expect(vb!.customer_nb_tx_1d).toBe(1);
    expect(vb!.customer_secs_since_prev_tx).toBeNull();
    expect(va!.customer_nb_tx_1d).toBe(2);
    expect(va!.customer_secs_since_prev_tx).toBe(0);
    expect(va!.customer_amount_over_avg_30d).toBe(0.5);
    expect(va!.card_nb_tx_1d).toBe(2);
    // redelivered in the other order: same vectors
    const again = await s.enrich([a, b]);
    expect(again.map(rec)).toEqual([va, vb]);
  });
});

describe('terminal delayed windows and labels', () => {
  // Terminal X; windows at T0: hi = T0-7d; 1d (T0-8d, T0-7d], 7d (T0-14d, T0-7d], 30d (T0-37d, T0-7d].
  const X = { terminal_id: 'X' };
  const b6 = ev('b6', T0 - 37 * DAY, { ...X, customer_id: 'c6', card_token: 'k6' }); // out (lower bound)
  const b7 = ev('b7', T0 - 37 * DAY + 1, { ...X, customer_id: 'c7', card_token: 'k7' }); // 30d
  const b3 = ev('b3', T0 - 10 * DAY, { ...X, customer_id: 'c3', card_token: 'k3' }); // 7d, 30d
  const b4 = ev('b4', T0 - 8 * DAY, { ...X, customer_id: 'c4', card_token: 'k4' }); // 7d, 30d (1d bound excluded)
  const b1 = ev('b1', T0 - 8 * DAY + HOUR, { ...X, customer_id: 'c1', card_token: 'k1' }); // 1d, 7d, 30d
  const b2 = ev('b2', T0 - 7 * DAY, { ...X, customer_id: 'c2', card_token: 'k2' }); // 1d, 7d, 30d (upper bound included)
  const b5 = ev('b5', T0 - 3 * DAY, { ...X, customer_id: 'c5', card_token: 'k5' }); // inside the delay: never counted
  const past = [b6, b7, b3, b4, b1, b2, b5];

  it('counts the delayed windows and applies labels from the moment they arrive', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich(past);
    // Before any label: counts, risks 0.
    const c1 = await one(s, ev('c1', T0, X));
    expect([c1.terminal_nb_tx_1d, c1.terminal_nb_tx_7d, c1.terminal_nb_tx_30d]).toEqual([2, 4, 5]);
    expect([c1.terminal_risk_1d, c1.terminal_risk_7d, c1.terminal_risk_30d]).toEqual([0, 0, 0]);
    expect(c1.terminal_nb_tx_1h).toBe(1);

    // Labels arrive: b1, b4, b7 fraud; b2 genuine; a label for a transaction this terminal never saw.
    await s.applyLabels([
      label(b1, true),
      label(b4, true),
      label(b7, true),
      label(b2, false),
      label(ev('ghost', T0 - 9 * DAY, X), true),
      label(b5, true),
    ]);
    const c2 = await one(s, ev('c2', T0, X));
    expect(c2.terminal_risk_1d).toBe(1 / 2); // b1 of {b1, b2}
    expect(c2.terminal_risk_7d).toBe(2 / 4); // b1, b4 of {b3, b4, b1, b2}
    expect(c2.terminal_risk_30d).toBe(3 / 5); // b7, b1, b4 of {b7, b3, b4, b1, b2}
    expect(c2.terminal_nb_tx_1h).toBe(2); // c1, c2

    // Point in time: redelivering c1 now sees the labels (the inputs changed), but it was computed without them.
    expect(c1.terminal_risk_30d).toBe(0);

    // Corrected verdict: b4 was not fraud after all.
    await s.applyLabels([label(b4, false)]);
    const c3 = await one(s, ev('c3', T0, X));
    expect(c3.terminal_risk_1d).toBe(1 / 2);
    expect(c3.terminal_risk_7d).toBe(1 / 4);
    expect(c3.terminal_risk_30d).toBe(2 / 5);
    expect(c3.terminal_nb_tx_1h).toBe(3);
  });

  it('terminal_known_fraud_age: days from the oldest known fraud of (t-7d-30d, t-7d] to t, null without one', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich(past);
    expect((await one(s, ev('d0', T0, X))).terminal_known_fraud_age).toBeNull();
    // Frauds outside the window (b6 at its excluded lower bound, b5 inside the delay, a transaction
    // the terminal never recorded) and genuine labels do not count.
    await s.applyLabels([
      label(b6, true),
      label(b5, true),
      label(b2, false),
      label(ev('ghost', T0 - 9 * DAY, X), true),
    ]);
    expect((await one(s, ev('d1', T0, X))).terminal_known_fraud_age).toBeNull();
    await s.applyLabels([label(b1, true), label(b4, true)]);
    expect((await one(s, ev('d2', T0, X))).terminal_known_fraud_age).toBe(8); // b4, 8 days before
    await s.applyLabels([label(b7, true)]);
    expect((await one(s, ev('d3', T0, X))).terminal_known_fraud_age).toBe((37 * DAY - 1) / DAY);
    // An hour later b7 has left the window (its bound is excluded): the oldest is b4 again.
    expect((await one(s, ev('d4', T0 + HOUR, X))).terminal_known_fraud_age).toBe((8 * DAY + HOUR) / DAY);
    // A retracted fraud no longer starts the streak.
    await s.applyLabels([label(b4, false)]);
    expect((await one(s, ev('d5', T0 + HOUR, X))).terminal_known_fraud_age).toBe((8 * DAY) / DAY);
  });

  it('a label arriving after the transaction that needed it is not seen by it', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich(past);
    const before = await one(s, ev('c1', T0, X));
    await s.applyLabels([label(b2, true)]);
    const after = await one(s, ev('c2', T0 + 1, X));
    expect(before.terminal_risk_1d).toBe(0);
    expect(after.terminal_risk_1d).toBe(1 / 2);
  });

  it('terminal_nb_tx_1h: exactly one hour before is excluded', async () => {
    const s = new MemoryFeatureStore();
    await s.enrich([ev('h0', T0 - HOUR, X), ev('h1', T0 - HOUR + 1, { ...X, customer_id: 'z' })]);
    expect((await one(s, ev('h2', T0, { ...X, customer_id: 'y' }))).terminal_nb_tx_1h).toBe(2);
  });
});

describe('idempotency', () => {
  it('re-enriching returns the same vectors and does not change later counts', async () => {
    const s = new MemoryFeatureStore();
    const ref = new MemoryFeatureStore();
    const batch = [
      ev('i1', T0 - 2 * HOUR),
      ev('i2', T0 - HOUR, { terminal_id: 'T2', device_id: 'D' }),
      ev('i3', T0 - HOUR / 2),
    ];
    const first = await s.enrich(batch);
    const again = await s.enrich(batch);
    expect(again).toEqual(first);
    expect(await ref.enrich(batch)).toEqual(first);
    const later = ev('i4', T0, { device_id: 'D' });
    const v = rec((await s.enrich([later]))[0]!);
    expect(v.customer_nb_tx_1d).toBe(4);
    expect(v.card_nb_tx_1d).toBe(4);
    expect(v.terminal_nb_tx_1h).toBe(2); // i3 and i4 at T1 (i1 is 2h before)
    expect((await ref.enrich([later]))[0]).toEqual((await s.enrich([later]))[0]);
    expect(s.stats()).toEqual(ref.stats());
  });
});

describe('retention', () => {
  it('keeps only what the windows need, and drops idle entities', async () => {
    const s = new MemoryFeatureStore();
    const events: AuthorizationEvent[] = [];
    for (let d = 0; d < 60; d++) events.push(ev(`r${d}`, T0 + d * DAY));
    await s.enrich(events);
    const st = s.stats();
    // customer keeps (newest - 30d, newest]: 30 entries; terminal 37; card 7.
    expect(st.entries).toBe(30 + 37 + 7);
    // An entity idle for longer than its retention + 1 day is dropped.
    await s.enrich([ev('other', T0 + 100 * DAY, { customer_id: 'C9', card_token: 'K9', terminal_id: 'T9' })]);
    expect(s.stats()).toMatchObject({ customers: 1, terminals: 1, cards: 1 });
  });
});

describe('label feed', () => {
  const r = (auth: string, t: number, fraud: boolean | null): LabelledTx => ({
    event: ev(auth, t),
    fraud,
    scenario: fraud ? 1 : 0,
  });

  it('puts each known outcome delay days later, labels before transactions at the same time', () => {
    const feed = interleaveLabels([r('a', T0, true), r('b', T0 + 7 * DAY, null), r('c', T0 + 7 * DAY, false)], 7);
    expect(
      feed.map((i) => (i.kind === 'tx' ? `tx:${i.event.auth_id}` : `label:${i.label.auth_id}:${i.label.fraud}`)),
    ).toEqual(['tx:a', 'label:a:true', 'tx:b', 'tx:c', 'label:c:false']);
    const l = feed[1]!;
    expect(l.kind === 'label' && l.label).toMatchObject({ tx_time: T0, label_time: T0 + 7 * DAY, terminal_id: 'T1' });
  });

  it('gives records in time order (merged) the order of the same records sorted', () => {
    const name = (i: ReturnType<typeof interleaveLabels>[number]) =>
      i.kind === 'tx' ? `tx:${i.event.auth_id}` : `label:${i.label.auth_id}`;
    // Ties everywhere: two transactions per ms, labels falling on transaction times, an unlabelled one.
    const sorted = [
      r('a', T0, true),
      r('b', T0, false),
      r('c', T0 + DAY, null),
      r('d', T0 + 7 * DAY, true),
      r('e', T0 + 7 * DAY, true),
      r('f', T0 + 8 * DAY, false),
      r('g', T0 + 14 * DAY, true),
    ];
    const expected = [
      'tx:a',
      'tx:b',
      'tx:c',
      'label:a',
      'label:b',
      'tx:d',
      'tx:e',
      'tx:f',
      'label:d',
      'label:e',
      'tx:g',
      'label:f',
      'label:g',
    ];
    expect(interleaveLabels(sorted, 7).map(name)).toEqual(expected);
    // The same records out of order take the sorting path: the same feed.
    const shuffled = [sorted[6]!, ...sorted.slice(0, 6)];
    expect(interleaveLabels(shuffled, 7).map(name)).toEqual(expected);
  });

  it('drives a store in batches, flushing transactions before labels', async () => {
    const calls: string[] = [];
    const inner = new MemoryFeatureStore();
    const store: FeatureStore = {
      enrich: async (evs) => {
        calls.push(`enrich:${evs.map((e) => e.auth_id).join('')}`);
        return inner.enrich(evs);
      },
      applyLabels: async (ls) => {
        calls.push(`labels:${ls.map((l) => l.auth_id).join('')}`);
      },
      close: async () => {},
    };
    const feed = interleaveLabels(
      [
        r('a', T0, true),
        r('b', T0 + HOUR, true),
        r('c', T0 + 2 * HOUR, null),
        r('d', T0 + 7 * DAY, null),
        r('e', T0 + 7 * DAY + 3 * HOUR, null),
      ],
      7,
    );
    const out = await enrichFeed(store, feed, { batchSize: 2 });
    expect(out.map((o) => o.auth_id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(calls).toEqual(['enrich:ab', 'enrich:c', 'labels:a', 'enrich:d', 'labels:b', 'enrich:e']);
    let n = 0;
    for await (const x of driveFeatureStore(new MemoryFeatureStore(), feed)) n += x.vector.length;
    expect(n).toBe(5 * FEATURE_NAMES.length);
  });
});

describe('encoding and CSV', () => {
  it('packs entity states for Redis and reads them back exactly; each write bumps the version', () => {
    const t = Date.UTC(2024, 0, 1);
    const customer = {
      tx: [
        { time: t, pos: t * 1024, auth: 'a|b%c', amount: -500, terminal: '', merchant: null, device: '' },
        { time: t, pos: t * 1024 + 1, auth: '😀', amount: 2 ** 52, terminal: 'é', merchant: '', device: null },
      ],
    };
    const first = encodeCustomer(customer, Buffer.alloc(0));
    expect(decodeCustomer(first)).toEqual(customer);
    const second = encodeCustomer(customer, versionOf(first));
    expect(versionOf(second).readUInt32LE(0)).toBe((versionOf(first).readUInt32LE(0) + 1) >>> 0);
    const keyed = { tx: [{ time: t + 5, pos: (t + 5) * 1024 + 3, auth: 'x' }], byAuth: null };
    expect(decodeCard(encodeCard(keyed, Buffer.alloc(0)))).toEqual(keyed);
    const terminal = {
      ...keyed,
      frauds: new Map([
        ['x', t + 5],
        ['ghost', t],
      ]),
    };
    expect(decodeTerminal(encodeTerminal(terminal, Buffer.alloc(0)))).toEqual(terminal);
    // no key: an empty state and no version
    expect(decodeTerminal(null)).toEqual({ tx: [], byAuth: null, frauds: new Map() });
    expect(versionOf(null).length).toBe(0);
  });

  it('prints null as an empty cell and numbers round-trip', () => {
    const v: FeatureVector = FEATURE_NAMES.map((_, i) => (i === 0 ? 0.1 + 0.2 : i === 1 ? null : i));
    const row = featureCsvRow('id,1', v);
    expect(row.startsWith('"id,1",0.30000000000000004,,2,')).toBe(true);
    expect(row.endsWith('\n')).toBe(true);
    expect(row.split(',').length).toBe(FEATURE_NAMES.length + 2);
  });
});
