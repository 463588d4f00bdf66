/**
 * A live engine's /metrics by Prometheus's conventions: `fraud-engine run` as a child process
 * on the shared stack (unique topics, group and key prefix) decides a few authorizations and
 * dead-letters an undecodable one, so that the labelled families have samples (promtool checks
 * only those); then `promtool check metrics` on its /metrics must exit 0 and say nothing.
 * The shipped model has its drift reference: with every decision sampled and the PSI computed
 * every second, fraud_score_psi and fraud_feature_psi appear after the decisions. The shipped
 * model is its own challenger too: every event is scored twice, the two scores always agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deltaOf, engineCounters, ZERO_COUNTERS } from '../../src/bench/engine-counters.js';
import { ChildEngine } from '../helpers/child-engine.js';
import { pipelineIO, type PipelineIO } from '../helpers/engine.js';
import { authorization } from '../helpers/events.js';
import { checkMetrics } from '../helpers/promtool.js';
import { registryEnv, stack } from '../helpers/stack.js';

describe('metrics of a live engine (promtool check metrics)', () => {
  let io: PipelineIO | null = null;
  let engine: ChildEngine | null = null;

  beforeAll(async () => {
    io = await pipelineIO();
    const k = io.cfg.kafka;
    engine = await ChildEngine.spawn('metrics', {
      FRAUD_KAFKA_BROKERS: k.brokers.join(','),
      FRAUD_KAFKA_GROUP_ID: k.group_id,
      FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: k.topic_authorizations,
      FRAUD_KAFKA_TOPIC_DECISIONS: k.topic_decisions,
      FRAUD_KAFKA_TOPIC_LABELS: k.topic_labels,
      FRAUD_KAFKA_TOPIC_DLQ: k.topic_dlq,
      FRAUD_KAFKA_TOPIC_LABELS_DLQ: k.topic_labels_dlq,
      ...registryEnv(),
      FRAUD_REDIS_URL: stack.redisUrl,
      FRAUD_REDIS_KEY_PREFIX: io.cfg.redis.key_prefix,
      FRAUD_POSTGRES_URL: '', // the default ruleset from config/rules
      FRAUD_ENGINE_REDIS_TIMEOUT_MS: '5000',
      FRAUD_ENGINE_MODEL_TIMEOUT_MS: '5000',
      FRAUD_ENGINE_LOG_LEVEL: 'warn',
      FRAUD_MODEL_DRIFT_SAMPLE_EVERY: '1',
      FRAUD_MODEL_DRIFT_MIN_SAMPLES: '20',
      FRAUD_MODEL_DRIFT_INTERVAL_MS: '1000',
      FRAUD_MODEL_CHALLENGER_PATH: 'models/model.onnx',
    });
    await engine.waitReady();
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await io?.close();
  });

  it('/metrics, after decisions and a dead letter, passes promtool check metrics with no complaint', async () => {
    const { cfg, codecs, producer } = io!;
    const now = Date.now();
    // Ids without long digit runs (a 13-digit epoch would be dead-lettered as a card number).
    const run = now.toString(36);
    const events = Array.from({ length: 20 }, (_, i) =>
      authorization({ auth_id: `m-${run}-${i}`, card_token: `tok_m${i % 4}`, event_time: now }),
    );
    await producer.send({
      topic: cfg.kafka.topic_authorizations,
      acks: -1,
      messages: [
        ...(await Promise.all(
          events.map(async (e) => ({ key: e.card_token, value: await codecs.encodeAuthorization(e) })),
        )),
        { key: 'tok_m0', value: Buffer.from('not avro') },
      ],
    });
    // Counted by the engine (its counters move after the broker's ack, so read them, not the topics).
    const until = Date.now() + 60_000;
    while (
      (await engine!.metric('fraud_decisions_total')) < events.length ||
      (await engine!.metric('fraud_dlq_total')) < 1
    ) {
      if (Date.now() > until) throw new Error(`no decisions or dead letter counted:\n${engine!.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The drift monitor's next tick (every second here) publishes the PSIs of the 20 decisions.
    while ((await engine!.metric('fraud_drift_window_samples')) < events.length) {
      if (Date.now() > until) throw new Error(`no drift samples:\n${engine!.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const { status, body } = await engine!.get('/metrics');
    expect(status).toBe(200);
    // The families that carry units or labels have samples, so promtool looks at them.
    for (const sample of [
      /^fraud_decision_latency_seconds_count [1-9]\d*$/m,
      /^fraud_engine_latency_seconds_count [1-9]\d*$/m,
      /^fraud_stage_latency_seconds_count\{stage="features"\} [1-9]\d*$/m,
      /^fraud_decisions_total\{outcome="[A-Z]+"\} [1-9]\d*$/m,
      /^fraud_dlq_total\{reason="[a-z_]+"\} 1$/m,
      /^fraud_consumer_lag\{topic="[^"]+",partition="\d"\} \d+$/m,
      /^fraud_process_nodejs_gc_duration_seconds_count\{kind="\w+"\} \d+$/m,
      /^fraud_drift_window_samples 20$/m,
      /^fraud_score_psi \d+(\.\d+)?(e[-+]\d+)?$/m,
      /^fraud_feature_psi\{feature="tx_amount"\} \d+(\.\d+)?(e[-+]\d+)?$/m,
      /^fraud_challenger_score_count 20$/m,
      /^fraud_challenger_agreement_total\{agree="true"\} 20$/m,
      /^fraud_challenger_errors_total 0$/m,
      /^fraud_stage_latency_seconds_count\{stage="challenger"\} [1-9]\d*$/m,
    ])
      expect(body).toMatch(sample);
    expect(body).not.toMatch(/_ms(_bucket|_sum|_count)?[{ ]/);
    // The same model as challenger: no disagreement, no would-be outcome change.
    expect(body).not.toMatch(/^fraud_challenger_agreement_total\{agree="false"\}/m);
    expect(body).not.toMatch(/^fraud_challenger_outcome_changes_total\{/m);
    // 20 decisions of one amount, at one instant, from four cards: far from June 2018's spread.
    expect(await engine!.metric('fraud_feature_psi', /feature="tx_amount"/)).toBeGreaterThan(0.25);
    expect(checkMetrics(body)).toEqual({ code: 0, output: '' });
  }, 90_000);

  it("the bench's counters read the renamed stage histogram, in ms per batch", async () => {
    const c = await engineCounters(engine!);
    expect(c.events).toBe(20);
    expect(c.batches).toBeGreaterThan(0);
    for (const n of c.stageCount) expect(n).toBeGreaterThan(0);
    const seconds = await engine!.metric('fraud_stage_latency_seconds_sum', /stage="features"/);
    const batches = await engine!.metric('fraud_stage_latency_seconds_count', /stage="features"/);
    expect(seconds).toBeGreaterThan(0);
    expect(deltaOf(c, ZERO_COUNTERS).stages.features).toBeCloseTo((seconds * 1000) / batches, 2);
  });
});
