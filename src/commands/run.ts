/**
 * `fraud-engine run`: the composition root of the online engine. Connects Kafka, the
 * schema registry, Redis and (later) PostgreSQL, loads the model and the ruleset, serves
 * /metrics /healthz /readyz, and decides until SIGTERM; then stops fetching, finishes the
 * batch in flight, commits and disconnects (bounded to 10 s).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type EngineConfig } from '../config/config.js';
import { AvroCodecs } from '../events/codec.js';
import { FEATURE_NAMES } from '../features/names.js';
import { RedisFeatureStore } from '../features/redis-store.js';
import { createKafka, IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { OnnxScorer } from '../models/onnx-scorer.js';
import { startHttp } from '../observability/http.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics, setInfo } from '../observability/metrics.js';
import { DecisionEngine } from '../pipelines/decision/engine.js';
import { KafkaDecisionRunner } from '../pipelines/decision/kafka-runner.js';
import { RedisDecisionMemo } from '../pipelines/decision/memo.js';
import { KafkaLabelRunner } from '../pipelines/labels/label-runner.js';
import { StaticRulesetSource } from '../rules/file-source.js';

const HELP = `usage: fraud-engine run [--config config/default.yaml] [--model FILE] [--rules DIR]
Environment overrides: FRAUD_<SECTION>_<KEY>, e.g. FRAUD_KAFKA_BROKERS, FRAUD_REDIS_URL, FRAUD_ENGINE_HTTP_PORT.`;

const SHUTDOWN_BUDGET_MS = 10_000;

export function redisClient(cfg: EngineConfig['redis']): Redis {
  return new Redis(cfg.url, {
    ...(cfg.password ? { password: cfg.password } : {}),
    lazyConnect: true,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 1,
    // Fail fast while Redis is away: decisions degrade instead of queueing behind it.
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
}

export interface EngineHandle {
  runner: KafkaDecisionRunner;
  labels: KafkaLabelRunner;
  metrics: ReturnType<typeof createMetrics>;
  store: RedisFeatureStore;
  /** Stops fetching, finishes the batch in flight, commits and disconnects. */
  stop(): Promise<void>;
}

/** Connects everything and starts deciding; the caller owns the lifecycle (signals, tests). */
export async function startEngine(cfg: EngineConfig, opts: { modelPath?: string; rulesDir?: string; log?: Logger } = {}): Promise<EngineHandle> {
  const log = opts.log ?? createLogger(cfg.engine.log_level);
  const metrics = createMetrics();

  const scorer = await OnnxScorer.load(opts.modelPath ?? cfg.model.path, { expectedFeatures: FEATURE_NAMES });
  setInfo(metrics.modelInfo, scorer.version);
  const rules = StaticRulesetSource.fromFiles(opts.rulesDir ?? cfg.rules.dir);
  setInfo(metrics.rulesetInfo, rules.current().version);

  const redis = redisClient(cfg.redis);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  await redis.connect();
  const store = new RedisFeatureStore(redis, { prefix: cfg.redis.key_prefix });

  const kafka = createKafka(cfg.kafka, log);
  const topics = { authorizations: cfg.kafka.topic_authorizations, decisions: cfg.kafka.topic_decisions, labels: cfg.kafka.topic_labels };
  const codecs = await AvroCodecs.create(cfg.schema_registry.url, topics, cfg.schema_registry);
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await producer.connect();
  const consumer = kafka.consumer({ groupId: cfg.kafka.group_id, maxWaitTimeInMs: 20, sessionTimeout: 10_000, heartbeatInterval: 1_000, allowAutoTopicCreation: false });
  const labelConsumer = kafka.consumer({ groupId: `${cfg.kafka.group_id}-labels`, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
  await Promise.all([consumer.connect(), labelConsumer.connect()]);

  const engine = new DecisionEngine({
    store, scorer, rules, metrics,
    featureTimeoutMs: cfg.engine.redis_timeout_ms,
    modelTimeoutMs: cfg.engine.model_timeout_ms,
  });
  const runner = new KafkaDecisionRunner({
    consumer, producer, codecs, engine, log, metrics,
    memo: new RedisDecisionMemo(redis, { prefix: cfg.redis.key_prefix, ttlMs: cfg.engine.decision_memo_ttl_ms }),
    topics: { authorizations: cfg.kafka.topic_authorizations, decisions: cfg.kafka.topic_decisions, dlq: cfg.kafka.topic_dlq },
    maxBatch: cfg.engine.max_batch, maxMessageBytes: cfg.engine.max_message_bytes,
  });
  const labels = new KafkaLabelRunner({ consumer: labelConsumer, codecs, store, topic: cfg.kafka.topic_labels, log, metrics });

  const http = cfg.engine.http_port === 0 ? null : await startHttp({
    host: cfg.engine.http_host, port: cfg.engine.http_port, registry: metrics.registry,
    readiness: {
      ready: () => {
        const checks = { kafka: runner.isRunning, assigned: runner.isAssigned, redis: redis.status === 'ready', model: true, rules: true };
        return { ok: Object.values(checks).every(Boolean), checks };
      },
    },
  });

  await runner.start();
  await labels.start();
  log.info({ model: scorer.version, ruleset: rules.current().version, metrics: `http://${cfg.engine.http_host}:${cfg.engine.http_port}/metrics` }, 'engine running');

  return {
    runner, labels, metrics, store,
    async stop() {
      await Promise.allSettled([runner.stop(), labels.stop()]);
      await producer.disconnect().catch(() => undefined);
      if (http) await new Promise((r) => http.close(r));
      await store.close().catch(() => undefined);
      redis.disconnect();
      log.info({ decided: runner.decided, dlq: runner.deadLettered, labels: labels.applied }, 'stopped');
    },
  };
}

export default async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, model: { type: 'string' }, rules: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) { console.log(HELP); return 0; }
  let cfg: EngineConfig;
  try {
    cfg = loadConfig(values.config ?? 'config/default.yaml');
  } catch (err) {
    if (err instanceof ConfigError) { console.error(err.message); return 2; }
    throw err;
  }
  const log = createLogger(cfg.engine.log_level);
  const engine = await startEngine(cfg, { modelPath: values.model, rulesDir: values.rules, log });

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: finishing the batch in flight');
      const hard = setTimeout(() => { log.error('shutdown budget exceeded, exiting'); process.exit(1); }, SHUTDOWN_BUDGET_MS);
      hard.unref();
      engine.stop().then(
        () => {
          clearTimeout(hard);
          resolveExit(0);
          // A client library's stray timer must not keep a stopped engine alive.
          setTimeout(() => process.exit(0), 500).unref();
        },
        (err: unknown) => { log.error({ err }, 'shutdown failed'); resolveExit(1); },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
