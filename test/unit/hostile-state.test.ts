/**
 * Bounds on state that hostile input could abuse: a reused auth id (memo with a payload hash),
 * labels and decisions held to the engine's bounds, audit partitions only around the clock.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent, Decision, LabelEvent } from '../../src/events/types.js';
import { planBatch } from '../../src/pipelines/decision/kafka-runner.js';
import { decodeEntry, encodeEntry, MemoryDecisionMemo, payloadHash } from '../../src/features/decision-memo.js';
import { validateLabel } from '../../src/pipelines/labels/validate.js';
import { validateDecision } from '../../src/sinks/audit/validate.js';
import { HOUR_MS } from '../../src/events/time.js';

const ev = (auth_id: string, amount_minor = 100): AuthorizationEvent => ({
  auth_id,
  event_time: Date.UTC(2026, 11, 1),
  card_token: 'tok_1',
  customer_id: 'c-1',
  terminal_id: 't-1',
  merchant_id: null,
  mcc: null,
  amount_minor,
  currency: 'EUR',
  channel: 'POS',
  device_id: null,
  ip: null,
  email_hash: null,
  country: null,
  description: null,
});
const h = (s: string) => payloadHash(Buffer.concat([Buffer.alloc(5), Buffer.from(s)]));

describe('decision memo: auth id plus payload hash', () => {
  it('hashes the Avro body, not the schema id in the header', () => {
    const body = Buffer.from('same body');
    const a = Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), body]);
    const b = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), body]);
    expect(payloadHash(a).equals(payloadHash(b))).toBe(true);
    expect(
      payloadHash(a).equals(payloadHash(Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from('other body')]))),
    ).toBe(false);
  });

  it('round-trips an entry and ignores the first format (a bare decision)', () => {
    const e = { hash: h('x'), value: Buffer.from([0, 0, 0, 0, 9, 1, 2, 3]) };
    expect(decodeEntry(encodeEntry(e))).toEqual(e);
    expect(decodeEntry(e.value)).toBeNull();
    expect(decodeEntry(null)).toBeNull();
  });

  it('plans a batch: redelivery answered from the memo, reuse refused, duplicates within the batch answered once', () => {
    const events = [ev('a'), ev('b'), ev('c'), ev('c'), ev('d'), ev('d', 999), ev('e')];
    const hashes = [h('a'), h('b'), h('c'), h('c'), h('d'), h('d2'), h('e')];
    const remembered = [
      { hash: h('a'), value: Buffer.from('A') },
      { hash: h('b-other'), value: Buffer.from('B') },
      null,
      null,
      null,
      null,
      null,
    ];
    const plan = planBatch(events, hashes, remembered);
    expect(plan.fresh).toEqual([2, 4, 6]);
    expect([...plan.remembered.keys()]).toEqual([0]);
    expect([...plan.sameAs]).toEqual([[3, 2]]);
    expect(plan.reused).toEqual([1, 5]);
    // The memo unavailable: everything decided, in-batch reuse still refused.
    const blind = planBatch(events, hashes, null);
    expect(blind.fresh).toEqual([0, 1, 2, 4, 6]);
    expect(blind.reused).toEqual([5]);
  });

  it('the in-memory memo keeps the first entry until its TTL', async () => {
    let now = 0;
    const memo = new MemoryDecisionMemo(1000, () => now);
    await memo.remember([{ authId: 'a', hash: h('1'), value: Buffer.from('first') }]);
    await memo.remember([{ authId: 'a', hash: h('2'), value: Buffer.from('second') }]);
    expect((await memo.recall(['a', 'b']))[0]!.value.toString()).toBe('first');
    now = 1001;
    expect(await memo.recall(['a'])).toEqual([null]);
  });
});

describe('label validation', () => {
  const now = Date.UTC(2026, 11, 1);
  const ok: LabelEvent = {
    auth_id: 'a',
    card_token: 'tok',
    customer_id: 'c',
    terminal_id: 't',
    tx_time: now - 1000,
    label_time: now,
    fraud: true,
    source: 'chargeback',
  };
  it('accepts a label and names what is wrong with a bad one', () => {
    expect(validateLabel(ok, { now })).toBeNull();
    expect(validateLabel({ ...ok, terminal_id: '' }, { now })).toBe('invalid_field:terminal_id:empty');
    expect(validateLabel({ ...ok, auth_id: 'x'.repeat(200) }, { now })).toBe('invalid_field:auth_id:too_long');
    expect(validateLabel({ ...ok, card_token: '4111111111111111' }, { now })).toBe('pan_in_card_token');
    expect(validateLabel({ ...ok, customer_id: 'cust 4111 1111 1111 1111' }, { now })).toBe(
      'pan_in_identifier:customer_id',
    );
    expect(validateLabel({ ...ok, tx_time: now + HOUR_MS, label_time: now + HOUR_MS }, { now })).toBe(
      'tx_time_in_future',
    );
    expect(validateLabel({ ...ok, tx_time: 5 }, { now })).toBe('invalid_field:tx_time:out_of_range');
    expect(validateLabel({ ...ok, label_time: now - 5000 }, { now })).toBe('invalid_field:label_time:before_tx_time');
    expect(validateLabel({ ...ok, source: 's'.repeat(100) }, { now })).toBe('invalid_field:source:too_long');
  });
});

describe('audit: decision validation', () => {
  const ok: Decision = {
    auth_id: 'a',
    card_token: 'tok',
    outcome: 'APPROVE',
    score: 0.1,
    reasons: ['score>=0.8'],
    rule_hits: [{ rule_id: 'r1', action: 'REVIEW', mode: 'ACTIVE' }],
    tags: [],
    model_version: 'gbm-2018-06-f27',
    ruleset_version: 'default-1',
    degraded: [],
    features: { tx_amount: 1 },
    event_time: 1,
    decided_time: 2,
    engine_latency_ms: 1,
  };
  it("accepts the engine's decisions and refuses a card number anywhere, or strings and lists out of bounds", () => {
    expect(validateDecision(ok)).toBeNull();
    expect(validateDecision({ ...ok, card_token: '5555555555554444' })).toBe('pan_in_decision:card_token');
    expect(validateDecision({ ...ok, reasons: ['manual: 4111-1111-1111-1111'] })).toBe('pan_in_decision:reasons');
    expect(
      validateDecision({ ...ok, rule_hits: [{ rule_id: 'x4111111111111111', action: 'TAG', mode: 'SHADOW' }] }),
    ).toBe('pan_in_decision:rule_hits');
    expect(validateDecision({ ...ok, features: { '4111111111111111': 1 } })).toBe('pan_in_decision:features');
    expect(validateDecision({ ...ok, features: { tx_amount: 4111111111111111 } })).toBe('pan_in_decision:features');
    expect(validateDecision({ ...ok, features: { tx_amount: 1733011200000, score: 0.48953140578265 } })).toBeNull();
    expect(validateDecision({ ...ok, auth_id: '' })).toBe('invalid_decision:auth_id');
    expect(validateDecision({ ...ok, tags: Array.from({ length: 300 }, () => 't') })).toBe('invalid_decision:tags');
    expect(validateDecision({ ...ok, model_version: 'm'.repeat(300) })).toBe('invalid_decision:model_version');
    expect(validateDecision({ ...ok, event_time: Number.NaN })).toBe('invalid_decision:event_time');
  });
});
