/**
 * The decision pipeline for real: Kafka, the schema registry and Redis started by
 * scripts/stack, the shipped model and the default ruleset; on a single Redis node and on a
 * Redis Cluster (scripts/stack cluster up), configured as a deployment would (redis.cluster_nodes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { simulate } from '../../src/simulator/index.js';
import { pipelineIO, rulesFromFiles, type PipelineIO, type TopicReader } from '../helpers/engine.js';
import { authorization, bareAuthorization } from '../helpers/events.js';
import { REDIS_TARGETS, redisEnvOf } from '../helpers/redis-cluster.js';
import { DAY_MS as DAY, HOUR_MS as HOUR } from '../../src/events/time.js';

describe.each(REDIS_TARGETS)('decision pipeline (Kafka, registry, Redis %s, ONNX, rules)', (target) => {
  let cfg: EngineConfig;
  let codecs: AvroCodecs;
  let producer: Producer;
  let engine: EngineHandle | null = null;
  let decisions: TopicReader<Decision>;
  let dlq: TopicReader<null>;

  const send = async (events: AuthorizationEvent[]) => {
    await producer.send({
      topic: cfg.kafka.topic_authorizations,
      acks: -1,
      messages: await Promise.all(
        events.map(async (e) => ({ key: e.card_token, value: await codecs.encodeAuthorization(e) })),
      ),
    });
  };
  const decided = (ids: Iterable<string>) => {
    const want = new Set(ids);
    // Distinct ids: a redelivered event may be answered twice (identically).
    return (items: { value: Decision }[]) =>
      new Set(items.map((d) => d.value.auth_id).filter((id) => want.has(id))).size >= want.size;
  };

  let io: PipelineIO | null = null;

  beforeAll(async () => {
    // A generous rules budget, like the feature and model ones of testConfig: on two shared cores
    // a busy machine otherwise degrades a batch with rules_timeout, and decisions are compared exactly.
    io = await pipelineIO({ ...redisEnvOf(target), FRAUD_RULES_BATCH_BUDGET_MS: '5000' });
    ({ cfg, codecs, producer, decisions, dlq } = io);
    engine = await startEngine(rulesFromFiles(cfg));
  });

  afterAll(async () => {
    await engine?.stop();
    await io?.close();
  });

  it('gives exactly one decision with valid fields per produced event', async () => {
    const sim = simulate({ customers: 200, terminals: 400, days: 3, seed: 7 });
    const events = [...sim.transactions()].map((t) => ({ ...t.event, auth_id: `n-${t.event.auth_id}` }));
    await send(events);
    await decisions.waitFor(decided(events.map((e) => e.auth_id)));
    const mine = decisions.items.map((d) => d.value).filter((d) => d.auth_id.startsWith('n-'));
    expect(mine).toHaveLength(events.length);
    expect(new Set(mine.map((d) => d.auth_id))).toEqual(new Set(events.map((e) => e.auth_id)));
    const byId = new Map(events.map((e) => [e.auth_id, e]));
    for (const d of mine) {
      expect(['APPROVE', 'REVIEW', 'DECLINE']).toContain(d.outcome);
      expect(d.score).toBeGreaterThanOrEqual(0);
      expect(d.score).toBeLessThanOrEqual(1);
      expect(d.card_token).toBe(byId.get(d.auth_id)!.card_token);
      expect(d.event_time).toBe(byId.get(d.auth_id)!.event_time);
      // The authorization's context travels with the decision (for the audit trail and the console).
      const ev = byId.get(d.auth_id)!;
      expect(d.context).toEqual({
        customer_id: ev.customer_id,
        terminal_id: ev.terminal_id,
        merchant_id: ev.merchant_id,
        mcc: ev.mcc,
        amount_minor: ev.amount_minor,
        currency: ev.currency,
        channel: ev.channel,
        country: ev.country,
        device_id: ev.device_id,
      });
      expect(d.ruleset_version).toBe('default-2');
      expect(d.model_version).not.toBe('none');
      expect(d.degraded).toEqual([]);
      expect(Object.keys(d.features)).toContain('customer_nb_tx_1d');
    }
    // Outcomes follow the policy: a DECLINE has a reason.
    for (const d of mine.filter((x) => x.outcome !== 'APPROVE')) expect(d.reasons.length).toBeGreaterThan(0);
    // REVIEW and DECLINE carry the model's top factors (TreeSHAP over models/model.trees.json),
    // largest |contribution| first, each with the value the decision was made on; APPROVE none.
    const explained = mine.filter((d) => d.outcome !== 'APPROVE');
    expect(explained.length).toBeGreaterThan(0);
    for (const d of mine) {
      if (d.outcome === 'APPROVE') {
        expect(d.factors ?? null).toBeNull();
        continue;
      }
      const factors = d.factors!;
      expect(factors.length).toBeGreaterThan(0);
      expect(factors.length).toBeLessThanOrEqual(5);
      expect(new Set(factors.map((f) => f.feature)).size).toBe(factors.length);
      for (const [i, f] of factors.entries()) {
        expect(FEATURE_NAMES).toContain(f.feature);
        expect(f.value).toBe(d.features[f.feature] ?? null);
        expect(f.contribution).not.toBe(0);
        if (i > 0) expect(Math.abs(f.contribution)).toBeLessThanOrEqual(Math.abs(factors[i - 1]!.contribution));
      }
    }
  });

  it('dead-letters a malformed event with its reason and bytes, and decides the next valid one', async () => {
    const base = bareAuthorization({
      auth_id: 'm-1',
      event_time: Date.now(),
      card_token: 'tok_dlq',
      customer_id: 'c-dlq',
      terminal_id: 't-dlq',
      amount_minor: 1000,
      channel: 'POS',
    });
    const good = await codecs.encodeAuthorization(base);
    const truncated = good.subarray(0, 9);
    const badMagic = Buffer.concat([Buffer.from([7]), good.subarray(1)]);
    const invalid = await codecs.encodeAuthorization({ ...base, auth_id: 'm-invalid', currency: 'euro' });
    await producer.send({
      topic: cfg.kafka.topic_authorizations,
      acks: -1,
      messages: [
        { key: 'tok_dlq', value: truncated },
        { key: 'tok_dlq', value: badMagic },
        { key: 'tok_dlq', value: invalid },
        { key: 'tok_dlq', value: await codecs.encodeAuthorization({ ...base, auth_id: 'm-2' }) },
      ],
    });
    await decisions.waitFor(decided(['m-2']));
    await dlq.waitFor((items) => items.length >= 3);
    const reasons = dlq.items.map((i) => i.headers['dlq.reason']!.toString());
    expect(reasons).toEqual(['avro_limit:truncated', 'bad_magic_byte', 'invalid_field:currency:not_iso4217']);
    expect(dlq.items[0]!.raw!.equals(truncated)).toBe(true);
    expect(dlq.items[1]!.raw!.equals(badMagic)).toBe(true);
    expect(dlq.items.every((i) => /^.+\/\d+\/\d+$/.test(i.headers['dlq.source']!.toString()))).toBe(true);
    expect(decisions.items.some((d) => d.value.auth_id === 'm-invalid')).toBe(false);
  });

  it('answers an event delivered again from the memo byte for byte, and dead-letters a reused auth id', async () => {
    const base = bareAuthorization({
      auth_id: 'memo-1',
      event_time: Date.now(),
      card_token: 'tok_memo',
      customer_id: 'c-memo',
      terminal_id: 't-memo',
      amount_minor: 4321,
      channel: 'ECOM',
    });
    await send([base]);
    await decisions.waitFor(decided(['memo-1']));
    // The same payload again (to the engine, a redelivery), then the same id on another amount.
    const reused = { ...base, amount_minor: 9999 };
    await send([base, reused]);
    const reusedBytes = await codecs.encodeAuthorization(reused);
    await decisions.waitFor((items) => items.filter((d) => d.value.auth_id === 'memo-1').length >= 2);
    await dlq.waitFor((items) => items.some((i) => i.raw!.equals(reusedBytes)));
    const mine = decisions.items.filter((d) => d.value.auth_id === 'memo-1');
    expect(mine).toHaveLength(2);
    // A recomputed decision would differ (decided_time, engine_latency_ms): this one is the memo's.
    expect(mine[1]!.raw!.equals(mine[0]!.raw!)).toBe(true);
    expect(mine[0]!.value.context?.amount_minor).toBe(4321);
  });

  it('serves the expected features for a known sequence of events and labels', async () => {
    const t0 = Date.UTC(2026, 9, 5, 12, 0); // a Monday, noon UTC
    const ev = (id: string, t: number, customer: string, amount: number): AuthorizationEvent =>
      authorization({
        auth_id: id,
        event_time: t,
        card_token: `tok_${customer}`,
        customer_id: customer,
        terminal_id: 'T-known',
        merchant_id: 'M1',
        amount_minor: amount,
        channel: 'POS',
        ip: null,
      });
    const first = [ev('k-1', t0, 'cA', 1000), ev('k-2', t0 + 60_000, 'cA', 3000), ev('k-3', t0 + 120_000, 'cA', 5000)];
    await send(first);
    await decisions.waitFor(decided(first.map((e) => e.auth_id)));
    const f = (id: string) => decisions.items.find((d) => d.value.auth_id === id)!.value.features;
    expect([f('k-1').customer_nb_tx_1d, f('k-2').customer_nb_tx_1d, f('k-3').customer_nb_tx_1d]).toEqual([1, 2, 3]);
    expect([f('k-1').customer_avg_amount_1d, f('k-2').customer_avg_amount_1d, f('k-3').customer_avg_amount_1d]).toEqual(
      [10, 20, 30],
    );
    expect([f('k-1').customer_terminal_seen_before, f('k-2').customer_terminal_seen_before]).toEqual([0, 1]);
    expect([f('k-1').terminal_nb_tx_1h, f('k-3').terminal_nb_tx_1h]).toEqual([1, 3]);
    expect(f('k-3').customer_amount_over_avg_30d).toBe(2.5); // 50 / mean(10, 30)
    expect(f('k-1').customer_secs_since_prev_tx).toBeNull();
    expect(f('k-2').customer_secs_since_prev_tx).toBe(60);
    expect(f('k-1').tx_during_weekend).toBe(0);

    // A chargeback for k-1 arrives; 8 days later another customer pays at the same terminal.
    await producer.send({
      topic: cfg.kafka.topic_labels,
      acks: -1,
      messages: [
        {
          key: 'tok_cA',
          value: await codecs.encodeLabel({
            auth_id: 'k-1',
            card_token: 'tok_cA',
            customer_id: 'cA',
            terminal_id: 'T-known',
            tx_time: t0,
            label_time: t0 + 7 * DAY,
            fraud: true,
            source: 'chargeback',
          }),
        },
      ],
    });
    const until = Date.now() + 30_000;
    while (engine!.labels.applied < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(engine!.labels.applied).toBe(1);
    await send([ev('k-4', t0 + 8 * DAY, 'cB', 2000)]);
    await decisions.waitFor(decided(['k-4']));
    // Terminal window (t-14d, t-7d] holds k-1..k-3, one of them fraud.
    expect(f('k-4').terminal_nb_tx_7d).toBe(3);
    expect(f('k-4').terminal_risk_7d).toBeCloseTo(1 / 3, 12);
    // Window (t-8d, t-7d] = (t0, t0+1d]: k-2 and k-3, not k-1 (exactly at t0), so no fraud.
    expect(f('k-4').terminal_nb_tx_1d).toBe(2);
    expect(f('k-4').terminal_risk_1d).toBe(0);
  });

  it('resumes from committed offsets after a restart with no event left undecided', async () => {
    const sim = simulate({ customers: 300, terminals: 500, days: 6, seed: 11 });
    const events = [...sim.transactions()].map((t) => ({
      ...t.event,
      auth_id: `r-${t.event.auth_id}`,
      event_time: Date.now() - HOUR + Number(t.event.auth_id),
    }));
    const half = Math.floor(events.length / 2);
    await send(events.slice(0, half));
    await decisions.waitFor(
      (items) => items.filter((d) => d.value.auth_id.startsWith('r-')).length >= Math.floor(half / 4),
    );
    await engine!.stop(); // mid-stream
    engine = null;
    await send(events.slice(half));
    engine = await startEngine(rulesFromFiles(cfg));
    await decisions.waitFor(decided(events.map((e) => e.auth_id)), 90_000);
    const mine = decisions.items.map((d) => d.value).filter((d) => d.auth_id.startsWith('r-'));
    const ids = new Set(mine.map((d) => d.auth_id));
    expect(ids.size).toBe(events.length);
    console.log(
      `[restart] ${events.length} events, ${mine.length} decisions, ${mine.length - ids.size} redelivered duplicates (byte-identical)`,
    );
    // A redelivered event gets its first decision back, byte for byte (decision memo).
    const first = new Map<string, Buffer>();
    for (const item of decisions.items.filter((d) => d.value.auth_id.startsWith('r-'))) {
      const prev = first.get(item.value.auth_id);
      if (!prev) first.set(item.value.auth_id, item.raw!);
      else expect(item.raw!.equals(prev)).toBe(true);
    }
  });
});
