/**
 * The decision memo's compact form: a redelivered event's decision comes back byte for byte
 * from a value a fraction of the decision's size; what cannot be rebuilt exactly is kept whole
 * or, when it does not come back identical, recomputed.
 */
import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { readSchema } from '../../src/events/codec.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { packDecision, unpackDecision } from '../../src/features/decision-memo-codec.js';
import { restoreRemembered } from '../../src/pipelines/decision/kafka-runner.js';
import { payloadHash } from '../../src/features/decision-memo.js';

const type = avro.Type.forSchema(JSON.parse(readSchema('decision')) as avro.Schema);
const wireOf = (d: Decision, id = 7): Buffer => {
  const h = Buffer.alloc(5);
  h.writeInt32BE(id, 1);
  return Buffer.concat([h, type.toBuffer(d)]);
};
const encode = (d: Decision) => wireOf(d);

const ev = (over: Partial<AuthorizationEvent> = {}): AuthorizationEvent => ({
  auth_id: 'auth-1',
  event_time: Date.UTC(2026, 11, 1, 3, 4, 5, 678),
  card_token: 'tok_9f',
  customer_id: 'c-1',
  terminal_id: 't-1',
  merchant_id: 'm-1',
  mcc: '5411',
  amount_minor: 12345,
  currency: 'EUR',
  channel: 'ECOM',
  device_id: 'd-1',
  ip: null,
  email_hash: null,
  country: 'FR',
  description: null,
  ...over,
});

/** A decision as the engine makes it (src/pipelines/decision/engine.ts), varied by `seed`. */
function decision(e: AuthorizationEvent, seed: number): Decision {
  const features: Record<string, number | null> = {};
  FEATURE_NAMES.forEach((n, j) => {
    const k = (seed * 31 + j * 7) % 9;
    features[n] =
      k === 0
        ? null
        : k === 1
          ? j
          : k === 2
            ? (1234.5 + seed) / (3 * (j + 1))
            : k === 3
              ? 0
              : k === 4
                ? -0.25
                : seed / 100;
  });
  const review = seed % 3 !== 0;
  return {
    auth_id: e.auth_id,
    card_token: e.card_token,
    outcome: review ? (seed % 3 === 1 ? 'REVIEW' : 'DECLINE') : 'APPROVE',
    score: seed % 5 === 0 ? null : Math.round(((seed / 7) % 1) * 1e6) / 1e6,
    reasons: review ? ['rule:high_amount_new_terminal', 'score>=0.8', 'é😀'] : [],
    rule_hits: review
      ? [
          { rule_id: 'high_amount_new_terminal', action: 'REVIEW', mode: 'ACTIVE' },
          { rule_id: 'shadow_one', action: 'DECLINE', mode: 'SHADOW' },
        ]
      : [],
    tags: seed % 2 ? ['night'] : [],
    model_version: 'gbm-2018-06-f27',
    ruleset_version: 'v12',
    degraded: seed % 4 === 0 ? ['features_timeout'] : [],
    features,
    event_time: e.event_time,
    decided_time: e.event_time + (seed % 2 ? 23 : -5),
    engine_latency_ms: Math.round((seed * 1.2345 + 0.5) * 1000) / 1000,
    context: {
      customer_id: e.customer_id,
      terminal_id: e.terminal_id,
      merchant_id: e.merchant_id,
      mcc: e.mcc,
      amount_minor: e.amount_minor,
      currency: e.currency,
      channel: e.channel,
      country: e.country,
      device_id: e.device_id,
    },
    factors: review
      ? [
          { feature: FEATURE_NAMES[3]!, value: features[FEATURE_NAMES[3]!]!, contribution: 0.123456 },
          { feature: FEATURE_NAMES[16]!, value: null, contribution: -1 / 3 },
        ]
      : null,
    challenger_score: seed % 2 ? 0.5 : null,
    challenger_version: seed % 2 ? 'challenger-1' : null,
  };
}

describe('decision memo codec', () => {
  it('restores decisions byte for byte from a compact form a fraction of their size', () => {
    let packedBytes = 0;
    let wireBytes = 0;
    for (let seed = 0; seed < 60; seed++) {
      const e = ev({ auth_id: `a-${seed}`, device_id: seed % 2 ? null : 'd-1', merchant_id: seed % 3 ? 'm' : null });
      const d = decision(e, seed);
      const wire = wireOf(d);
      const packed = packDecision(d, e, wire);
      expect(packed[0]).toBe(2); // compact
      const back = unpackDecision(packed, e, encode);
      expect(back).not.toBeNull();
      expect(back!.equals(wire)).toBe(true);
      packedBytes += packed.length;
      wireBytes += wire.length;
    }
    expect(packedBytes).toBeLessThan(wireBytes / 4);
  });

  it("recomputes (never misreads) the previous release's entries: 27 feature values, a tag byte each", () => {
    // packDecision of the release before the paired tags, on these decisions
    const form1: Record<number, string> = {
      1: 'AUrimW0BHwWSuBEDHXJ1bGU6aGlnaF9hbW91bnRfbmV3X3Rlcm1pbmFsCnNjb3JlPj0wLjgGw6nwn5iAAhhoaWdoX2Ftb3VudF9uZXdfdGVybWluYWwGUkVWSUVXAApzaGFkb3dfb25lB0RFQ0xJTkUBAQVuaWdodA9nYm0tMjAxOC0wNi1mMjcDdjEyAAMxAVVVVVVVvWlAAAMCAwICAAIMAwIDAgMxAfjggw8+uEJAAAMCAwICAAIeAwIDAgMxAXd3d3d3lzRAAAMCAwICAAIwAwIDAi4EjhsCAwMCBYCJDxAAAVVVVVVVVdW/A2QMY2hhbGxlbmdlci0x',
      4: 'Afxa4lIBBwXK4EUDHXJ1bGU6aGlnaF9hbW91bnRfbmV3X3Rlcm1pbmFsCnNjb3JlPj0wLjgGw6nwn5iAAhhoaWdoX2Ftb3VudF9uZXdfdGVybWluYWwGUkVWSUVXAApzaGFkb3dfb25lB0RFQ0xJTkUBAA9nYm0tMjAxOC0wNi1mMjcDdjEyARBmZWF0dXJlc190aW1lb3V0AwgDCAIAAgYDCAMIAzEBVVVVVVXNSUAAAwgDCAIAAhgDCAMIAzEBycjIyMhIOEAAAwgDCAIAAioDCAMIAzEBGqRBGqTBL0AACQT8VAIDAgYFgIkPEAABVVVVVVVV1b8=',
    };
    for (const seed of [1, 4]) {
      const e = ev({ auth_id: `a-${seed}` });
      const wire = wireOf(decision(e, seed));
      const old = Buffer.from(form1[seed]!, 'base64');
      expect(old[0]).toBe(1);
      // Rebuilt with 28 features, such a decision is not the 27-feature one remembered.
      expect(unpackDecision(old, e, encode)).toBeNull();
      // The same bytes behind today's form byte are not a 28-feature decision either.
      expect(unpackDecision(Buffer.concat([Buffer.from([2]), old.subarray(1)]), e, encode)).toBeNull();
      const now = packDecision(decision(e, seed), e, wire);
      // Paired tags save 13 bytes on 27 values; smaller still with a 28th value.
      expect(now.length).toBeLessThan(old.length);
    }
  });

  it('keeps a decision whole when the event cannot rebuild it, and reads whole ones as they are', () => {
    const e = ev();
    const d = decision(e, 1);
    const odd: Decision[] = [
      { ...d, context: { ...d.context!, amount_minor: 1 } },
      { ...d, auth_id: 'other' },
      { ...d, features: Object.fromEntries(Object.entries(d.features).reverse()) },
      { ...d, factors: [{ feature: 'not_a_feature', value: 1, contribution: 1 }] },
    ];
    for (const x of odd) {
      const wire = wireOf(x);
      const packed = packDecision(x, e, wire);
      expect(packed).toBe(wire);
      expect(unpackDecision(packed, e, encode)).toBe(wire);
    }
  });

  it('answers null (recompute) when the rebuilt decision is not the one remembered', () => {
    const e = ev();
    const d = decision(e, 2);
    const packed = packDecision(d, e, wireOf(d));
    // another writer schema id, the wrong event, a damaged or truncated value, an unknown kind
    expect(unpackDecision(packed, e, (x) => wireOf(x, 8))).toBeNull();
    expect(unpackDecision(packed, ev({ amount_minor: 1 }), encode)).toBeNull();
    const damaged = Buffer.from(packed);
    damaged[damaged.length - 3]! ^= 0x40;
    expect(unpackDecision(damaged, e, encode)).toBeNull();
    expect(unpackDecision(packed.subarray(0, packed.length - 1), e, encode)).toBeNull();
    expect(unpackDecision(Buffer.concat([packed, Buffer.from([0])]), e, encode)).toBeNull();
    expect(unpackDecision(Buffer.from([9, 1, 2]), e, encode)).toBeNull();
    expect(unpackDecision(Buffer.alloc(0), e, encode)).toBeNull();
    expect(unpackDecision(packed, e, encode)!.equals(wireOf(d))).toBe(true);
  });

  it('the runner restores redeliveries, leaves reuses to be refused and recomputes the unrestorable', () => {
    const events = [ev({ auth_id: 'x' }), ev({ auth_id: 'y' }), ev({ auth_id: 'z' })];
    const hashes = events.map((e) => payloadHash(Buffer.concat([Buffer.alloc(5), Buffer.from(e.auth_id)])));
    const d = events.map((e, i) => decision(e, i + 1));
    const reused = { hash: payloadHash(Buffer.alloc(9)), value: Buffer.from('anything') };
    const out = restoreRemembered(
      [
        { hash: hashes[0]!, value: packDecision(d[0]!, events[0]!, wireOf(d[0]!)) },
        reused,
        { hash: hashes[2]!, value: Buffer.from([1, 0, 0]) },
      ],
      events,
      hashes,
      encode,
    );
    expect(out[0]!.value.equals(wireOf(d[0]!))).toBe(true);
    expect(out[1]).toBe(reused);
    expect(out[2]).toBeNull();
  });
});
