/**
 * The overload policy (src/pipelines/decision/overload.ts) and the engine's use of it, on the
 * in-memory store; time is a fake clock and Redis's answers are promises the test resolves.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import type { FeatureStore, FeatureVector } from '../../src/features/store.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { loadConfig } from '../../src/config/config.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { Scorer } from '../../src/models/scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { FeatureAdmission, featureAdmissionOf } from '../../src/pipelines/decision/overload.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';

const T0 = Date.UTC(2026, 11, 1, 12);
const ev = (i: number, card = `tok_${i % 7}`): AuthorizationEvent => ({
  auth_id: `ov-${i}`,
  event_time: T0 + i,
  card_token: card,
  customer_id: `c-${card}`,
  terminal_id: 't-1',
  merchant_id: null,
  mcc: null,
  amount_minor: 100 + i,
  currency: 'EUR',
  channel: 'POS',
  device_id: null,
  ip: null,
  email_hash: null,
  country: null,
  description: null,
});
const events = (from: number, n: number, card?: string) => Array.from({ length: n }, (_, i) => ev(from + i, card));

/** The memory store, whose answers wait until the test releases them (in the order of the calls). */
class GatedStore implements FeatureStore {
  readonly inner = new MemoryFeatureStore();
  readonly calls: { events: readonly AuthorizationEvent[]; release: () => void; fail: (e: Error) => void }[] = [];
  enrich(evs: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    // The memory store applies the call now, like Redis running calls in the order they were sent.
    const applied = this.inner.enrich(evs);
    return new Promise((resolve, reject) => {
      this.calls.push({
        events: evs,
        release: () => resolve(applied),
        fail: (e) => reject(e),
      });
    });
  }
  applyLabels(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

/**
 * A policy with a fake clock, taught a cost of `ms` per event: two calls of 100 events sent
 * together, the second answered 100 × ms after the first (it queued behind it).
 */
async function taught(msPerEvent: number, store: GatedStore, o: { awaitMs?: number; recordMs?: number } = {}) {
  const clock = { t: 0 };
  const m = createMetrics({ defaultMetrics: false });
  const policy = new FeatureAdmission({
    awaitMs: o.awaitMs ?? 30,
    recordMs: o.recordMs ?? 60,
    now: () => clock.t,
    metrics: m,
  });
  const a = policy.enrich(store, events(1_000_000, 100));
  const b = policy.enrich(store, events(2_000_000, 100));
  clock.t += 3; // the first one's round trip: not counted
  store.calls.at(-2)!.release();
  await a;
  clock.t += 100 * msPerEvent;
  store.calls.at(-1)!.release();
  await b;
  return { policy, clock, m };
}

async function counter(m: ReturnType<typeof createMetrics>, name: string, labels = ''): Promise<number> {
  const text = await m.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('overload policy: awaited features sized by measured capacity', () => {
  it('sheds nothing before a first answer (no estimate)', () => {
    const policy = new FeatureAdmission({ awaitMs: 30, recordMs: 60, now: () => 0 });
    expect(policy.msPerEvent).toBeNull();
    expect(policy.plan(10_000)).toEqual({ awaited: 10_000, recorded: 0 });
  });

  it('measures the cost per event and splits a batch: awaited within awaitMs, recorded up to recordMs, the rest unsent', async () => {
    const store = new GatedStore();
    const { policy, m } = await taught(0.2, store);
    expect(policy.msPerEvent).toBeCloseTo(0.2, 9);
    expect(await counter(m, 'fraud_features_capacity_events_per_second')).toBe(5000);
    // 30 ms / 0.2 = 150 awaited; 60 ms / 0.2 = 300 in the queue at most: 150 recorded; 100 unsent.
    expect(policy.plan(400)).toEqual({ awaited: 150, recorded: 150 });
    expect(policy.plan(120)).toEqual({ awaited: 120, recorded: 0 });
    expect(await counter(m, 'fraud_features_shed_total', '{recorded="true"}')).toBe(150);
    expect(await counter(m, 'fraud_features_shed_total', '{recorded="false"}')).toBe(100);
  });

  it('counts the events already in flight (other batches, recorded ones) against the room', async () => {
    const store = new GatedStore();
    const { policy, m } = await taught(0.2, store);
    void policy.enrich(store, events(0, 100));
    expect(policy.eventsInFlight).toBe(100);
    expect(await counter(m, 'fraud_features_in_flight_events')).toBe(100);
    expect(policy.plan(400)).toEqual({ awaited: 50, recorded: 150 });
    void policy.enrich(store, events(100, 250));
    // 350 in flight: past both bounds. Something is in flight, so nothing is awaited.
    expect(policy.plan(10)).toEqual({ awaited: 0, recorded: 0 });
  });

  it('stands aside while Redis answers nothing for longer than the budget: slower than measured, or hung', async () => {
    const store = new GatedStore();
    const clock = { t: 0 };
    const policy = new FeatureAdmission({ awaitMs: 30, recordMs: 60, budgetMs: 60, now: () => clock.t });
    const a = policy.enrich(store, events(0, 100));
    const b = policy.enrich(store, events(100, 100));
    clock.t = 5;
    store.calls[0]!.release();
    await a;
    clock.t = 25; // 0.2 ms per event
    store.calls[1]!.release();
    await b;
    void policy.enrich(store, events(200, 300)); // sent at 25, never answered
    clock.t = 85; // 60 ms without an answer: still the estimate's
    expect(policy.plan(100)).toEqual({ awaited: 0, recorded: 0 });
    clock.t = 86; // past the budget: the budget and the guard's circuit decide
    expect(policy.plan(100)).toEqual({ awaited: 100, recorded: 0 });
    expect(policy.eventsInFlight).toBe(300);
  });

  it('learns only from calls that queued, timed from the answer before them', async () => {
    const store = new GatedStore();
    const clock = { t: 0 };
    const policy = new FeatureAdmission({ awaitMs: 30, recordMs: 60, now: () => clock.t });
    // Alone (no overload): its 40 ms are the round trip and this thread's delays, not Redis's work.
    const alone = policy.enrich(store, events(0, 10));
    clock.t = 40;
    store.calls[0]!.release();
    await alone;
    expect(policy.msPerEvent).toBeNull();
    expect(policy.plan(10_000)).toEqual({ awaited: 10_000, recorded: 0 });
    // Three calls in flight at once, answered at 60, 80 and 100: the second and the third took
    // 20 ms each for 100 events (from their sends it would be (40 + 60) / 200 = 0.5 ms per event).
    const calls = [0, 1, 2].map((k) => policy.enrich(store, events(100 * (k + 1), 100)));
    for (let k = 0; k < 3; k++) {
      clock.t = 60 + 20 * k;
      store.calls[1 + k]!.release();
      await calls[k];
    }
    expect(policy.msPerEvent).toBeCloseTo(0.2, 9);
    expect(policy.eventsInFlight).toBe(0);
  });

  it('follows a slower store, the past weighing less at each answer', async () => {
    const store = new GatedStore();
    const { policy, clock } = await taught(0.1, store);
    // Each call sent while the one before is in flight: each queued behind the previous.
    let ahead = policy.enrich(store, events(5_000, 100));
    for (let i = 0; i <= 10; i++) {
      const p = i < 10 ? policy.enrich(store, events(i * 100, 100)) : null;
      clock.t += 100; // 1 ms per event now
      store.calls[store.calls.length - (p ? 2 : 1)]!.release();
      await ahead;
      if (p) ahead = p;
    }
    expect(policy.eventsInFlight).toBe(0);
    expect(policy.msPerEvent!).toBeGreaterThan(0.9);
    expect(policy.plan(100).awaited).toBe(30);
  });

  it('a lone call lowers an estimate it shows too high (a pause is over), and never raises one', async () => {
    const store = new GatedStore();
    const { policy, clock } = await taught(40, store); // a 200-ms pause on 5 events looks like this
    expect(policy.plan(100)).toEqual({ awaited: 1, recorded: 0 });
    const slow = policy.enrich(store, events(0, 10));
    clock.t += 1000; // alone and slower than the estimate: says nothing of Redis's work
    store.calls.at(-1)!.release();
    await slow;
    expect(policy.msPerEvent).toBeCloseTo(40, 9);
    const fast = policy.enrich(store, events(10, 10));
    clock.t += 2;
    store.calls.at(-1)!.release();
    await fast;
    expect(policy.msPerEvent).toBeCloseTo(0.2, 9);
    expect(policy.plan(100)).toEqual({ awaited: 100, recorded: 0 });
  });

  it('a failed call teaches nothing, leaves the flight, and stands the policy aside until an answer', async () => {
    const store = new GatedStore();
    const { policy, clock } = await taught(0.2, store);
    const p = policy.enrich(store, events(0, 100));
    clock.t += 10_000;
    store.calls.at(-1)!.fail(new Error('redis down'));
    await expect(p).rejects.toThrow('redis down');
    expect(policy.msPerEvent).toBeCloseTo(0.2, 9);
    expect(policy.eventsInFlight).toBe(0);
    // Until an answer, Redis is down, not busy: the guard reports it, nothing is shed.
    expect(policy.plan(1000)).toEqual({ awaited: 1000, recorded: 0 });
    const next = policy.enrich(store, events(100, 10));
    clock.t += 5; // alone, 0.5 ms per event: above the estimate, which stays
    store.calls.at(-1)!.release();
    await next;
    expect(policy.plan(1000)).toEqual({ awaited: 150, recorded: 150 });
  });

  it('with nothing in flight, awaits at least one event, so a bad estimate is corrected', async () => {
    const store = new GatedStore();
    const { policy } = await taught(100, store); // a pause: 100 ms per event
    expect(policy.plan(50)).toEqual({ awaited: 1, recorded: 0 });
  });

  it('is configured by engine.overload_*: off at 0, and refuses a bound over the budget or the guard', () => {
    const cfg = loadConfig('config/default.yaml', {});
    expect(featureAdmissionOf(cfg)).toBeInstanceOf(FeatureAdmission);
    expect(featureAdmissionOf(loadConfig('config/default.yaml', { FRAUD_ENGINE_OVERLOAD_AWAIT_MS: '0' }))).toBe(
      undefined,
    );
    expect(() => loadConfig('config/default.yaml', { FRAUD_ENGINE_OVERLOAD_AWAIT_MS: '61' })).toThrow(
      /engine.overload_await_ms.*over engine.redis_timeout_ms/,
    );
    expect(() => loadConfig('config/default.yaml', { FRAUD_ENGINE_OVERLOAD_RECORD_MS: '250' })).toThrow(
      /engine.overload_record_ms.*under 250 ms/,
    );
    expect(() => loadConfig('config/default.yaml', { FRAUD_ENGINE_OVERLOAD_RECORD_MS: '20' })).toThrow(
      /engine.overload_record_ms.*at least engine.overload_await_ms/,
    );
  });
});

describe('the engine under overload', () => {
  const scorer: Scorer = { version: 'test', score: async (_rows, n) => new Float32Array(n).fill(0.01) };
  const rules = StaticRulesetSource.fromFiles('config/rules');
  const featureOf = (d: { features: Record<string, number | null> }, name: string) => d.features[name];
  const cardCount = FEATURE_NAMES.find((f) => f.startsWith('card_'))!;

  it('decides the awaited events with features and the rest on time without them (features_shed), recording only those with room', async () => {
    const store = new GatedStore();
    const { policy, m } = await taught(0.2, store, { awaitMs: 2, recordMs: 4 }); // 10 awaited, 10 recorded
    const engine = new DecisionEngine({ store, scorer, rules, metrics: m, overload: policy });
    // 30 events of one card: offset order 0..29.
    const batch = events(0, 30, 'tok_hot');
    const deciding = engine.decideBatch(batch);
    await tick();
    // Two calls, the awaited one first (per-card order), then the recorded one; 10 never sent.
    expect(store.calls.slice(2).map((c) => c.events.map((e) => e.auth_id))).toEqual([
      batch.slice(0, 10).map((e) => e.auth_id),
      batch.slice(10, 20).map((e) => e.auth_id),
    ]);
    store.calls[2]!.release(); // the recorded call (calls[3]) is never answered: not awaited
    const { decisions } = await deciding;
    expect(decisions.slice(0, 10).every((d) => d.degraded.length === 0)).toBe(true);
    expect(decisions.slice(10).every((d) => d.degraded.join() === 'features_shed')).toBe(true);
    // The 10th awaited event saw the 9 before it; a shed event has only its own fields.
    expect(featureOf(decisions[9]!, cardCount)).toBe(10);
    expect(featureOf(decisions[25]!, cardCount)).not.toBe(featureOf(decisions[9]!, cardCount));
    expect(await counter(m, 'fraud_degraded_total', '{reason="features_shed"}')).toBe(20);
    // What Redis now holds for the card: the awaited and the recorded events, not the unsent ones.
    const [after] = await store.inner.enrich([ev(100, 'tok_hot')]);
    expect(after![FEATURE_NAMES.indexOf(cardCount)]).toBe(21);
  });

  it('a failed awaited call degrades the awaited events features_unavailable; the shed keep their own reason', async () => {
    const store = new GatedStore();
    const { policy, m } = await taught(0.2, store, { awaitMs: 2, recordMs: 2 });
    const engine = new DecisionEngine({ store, scorer, rules, metrics: m, overload: policy });
    const deciding = engine.decideBatch(events(0, 15, 'tok_x'));
    await tick();
    expect(store.calls.length).toBe(3); // nothing recorded: no room past the awaited
    store.calls[2]!.fail(new Error('redis down'));
    const { decisions } = await deciding;
    expect(decisions.slice(0, 10).every((d) => d.degraded.join() === 'features_unavailable')).toBe(true);
    expect(decisions.slice(10).every((d) => d.degraded.join() === 'features_shed')).toBe(true);
    expect(await counter(m, 'fraud_degraded_total', '{reason="features_unavailable"}')).toBe(10);
    expect(await counter(m, 'fraud_degraded_total', '{reason="features_shed"}')).toBe(5);
  });

  it('an event too old for the features keeps its own reason beside shed ones, and is never sent', async () => {
    const store = new GatedStore();
    const { policy, m } = await taught(0.2, store, { awaitMs: 2, recordMs: 2 });
    const engine = new DecisionEngine({
      store,
      scorer,
      rules,
      metrics: m,
      overload: policy,
      maxEventAgeMs: 1000,
      wallClock: () => T0 + 500,
    });
    const batch = events(0, 14, 'tok_mix');
    batch[3] = { ...batch[3]!, event_time: T0 - 2000 };
    const deciding = engine.decideBatch(batch);
    await tick();
    // 13 current events: the first 10 awaited (the old one skipped over), 3 shed unsent.
    expect(store.calls.slice(2).map((c) => c.events.map((e) => e.auth_id))).toEqual([
      batch.filter((_, i) => i !== 3 && i < 11).map((e) => e.auth_id),
    ]);
    store.calls[2]!.release();
    const { decisions } = await deciding;
    expect(decisions.map((d) => d.degraded.join() || 'ok')).toEqual([
      ...['ok', 'ok', 'ok', 'event_too_old', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
      ...['features_shed', 'features_shed', 'features_shed'],
    ]);
    expect(await counter(m, 'fraud_degraded_total', '{reason="event_too_old"}')).toBe(1);
    expect(await counter(m, 'fraud_degraded_total', '{reason="features_shed"}')).toBe(3);
  });

  it('without the policy (replay) the whole batch is awaited', async () => {
    const store = new GatedStore();
    const engine = new DecisionEngine({ store, scorer, rules });
    const deciding = engine.decideBatch(events(0, 500));
    await tick();
    expect(store.calls.map((c) => c.events.length)).toEqual([500]);
    store.calls[0]!.release();
    expect((await deciding).decisions.every((d) => d.degraded.length === 0)).toBe(true);
  });
});
