/**
 * The online engine started from a configuration: Kafka, the schema registry, Redis and
 * (optionally) PostgreSQL connected, the model and the ruleset loaded, /metrics /healthz /readyz
 * served, deciding until stopped. The caller owns the lifecycle (`fraud-engine run`, tests).
 */
import type { Logger } from 'pino';
import { fatalLatch } from '../cli/kit.js';
import { codecsFromConfig, connectRedis } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import { guardedRedisState } from '../features/redis/guarded-state.js';
import type { RedisFeatureStore } from '../features/redis/store.js';
import { boundedConsumer, createKafka, IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { DriftMonitor, referenceForModel, type DriftMonitorOptions } from '../models/drift/index.js';
import type { OnnxScorer } from '../models/onnx-scorer.js';
import { ModelSource, type Models } from '../models/registry/model-source.js';
import { startHealthHttp } from '../observability/http.js';
import { createLogger } from '../observability/logger.js';
import { createChallengerMetrics, createDriftMetrics, createMetrics, setInfo } from '../observability/metrics.js';
import { DecisionEngine, engineBudgetsOf, type ModelSet } from '../pipelines/decision/engine.js';
import { featureAdmissionOf } from '../pipelines/decision/overload.js';
import { KafkaDecisionRunner, runnerSettingsOf } from '../pipelines/decision/kafka-runner.js';
import { KafkaLabelRunner } from '../pipelines/labels/label-runner.js';
import { PgRulesetSource, rulesetSourceOf } from '../rules/pg-source.js';

export interface EngineHandle {
  runner: KafkaDecisionRunner;
  labels: KafkaLabelRunner;
  metrics: ReturnType<typeof createMetrics>;
  store: RedisFeatureStore;
  /** The champion's drift monitor; null when the model has no drift reference. Changes with a promotion. */
  readonly drift: DriftMonitor | null;
  /** The models in force: the registry's approved versions, else the configuration's files (hot-reloaded). */
  models: ModelSource<EngineModels>;
  /** Stops fetching, finishes the batch in flight, commits and disconnects. */
  stop(): Promise<void>;
  /**
   * Settles when a consumer keeps crashing although run again (kafka/consumer-supervisor.ts):
   * the process should exit non-zero and be restarted by its supervisor.
   */
  fatal: Promise<Error>;
}

/** Connects everything and starts deciding; the caller owns the lifecycle (signals, tests). */
export async function startEngine(
  cfg: EngineConfig,
  opts: { modelPath?: string; rulesDir?: string; log?: Logger } = {},
): Promise<EngineHandle> {
  const log = opts.log ?? createLogger(cfg.engine.log_level);
  const metrics = createMetrics();
  let running = false;

  // The registry's approved versions when PostgreSQL has them, else model.path and
  // model.challenger_path; promotions swapped in between batches (src/models/registry/).
  const models = await ModelSource.start<EngineModels>({
    postgres: cfg.postgres,
    config: { champion: opts.modelPath ?? cfg.model.path, challenger: cfg.model.challenger_path },
    pollIntervalMs: cfg.rules.poll_interval_ms,
    log,
    metrics,
    // A drift monitor built for a promotion starts at once while the engine runs.
    build: (m, previous) => engineModelsOf(m, previous?.built ?? null, metrics, log, cfg.model, running),
  });
  const { scorer, challenger } = models.current();
  // PostgreSQL configured: the active version, hot-reloaded; else the files of rules.dir.
  const rules = await rulesetSourceOf(cfg, { dir: opts.rulesDir ?? cfg.rules.dir, log, metrics });
  setInfo(metrics.rulesetInfo, rules.current().version);

  // Unreachable, bad credentials or an untrusted certificate at start-up: fail, naming Redis.
  const redis = await connectRedis(cfg.redis, { onError: (err) => log.warn({ err }, 'redis error') });
  // Redis calls of the decision path behind a circuit breaker and a bound on commands in flight.
  const { store, features, memo } = guardedRedisState(cfg, redis, log);

  const kafka = createKafka(cfg.kafka, log);
  const codecs = await codecsFromConfig(cfg);
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await producer.connect();
  // Pull-based: what the engine holds is bounded by the fetch sizes, whatever the lag.
  const consumer = boundedConsumer(kafka, cfg.kafka, {
    groupId: cfg.kafka.group_id,
    maxWaitTimeInMs: cfg.kafka.fetch_max_wait_ms,
    minBytes: cfg.kafka.fetch_min_bytes,
  });
  const labelConsumer = boundedConsumer(kafka, cfg.kafka, {
    groupId: `${cfg.kafka.group_id}-labels`,
    maxWaitTimeInMs: 200,
  });
  await Promise.all([consumer.connect(), labelConsumer.connect()]);
  const { fatal, onFatal } = fatalLatch();

  const engine = new DecisionEngine({
    store: features,
    scorer: null,
    models,
    rules,
    metrics,
    ...engineBudgetsOf(cfg),
    overload: featureAdmissionOf(cfg, metrics),
  });
  const runner = new KafkaDecisionRunner({
    consumer,
    producer,
    codecs,
    engine,
    log,
    metrics,
    memo,
    ...runnerSettingsOf(cfg),
    onFatal,
  });
  // The label runner too is run again after a crash kafkajs does not recover from (src/kafka/batch-loop.ts).
  const labels = new KafkaLabelRunner({
    consumer: labelConsumer,
    producer,
    codecs,
    store,
    topic: cfg.kafka.topic_labels,
    dlq: cfg.kafka.topic_labels_dlq,
    log,
    metrics,
    maxMessageBytes: cfg.engine.max_message_bytes,
    maxFutureMs: cfg.engine.max_future_skew_ms,
    onFatal,
  });

  const http = await startHealthHttp({
    host: cfg.engine.http_host,
    port: cfg.engine.http_port,
    registry: metrics.registry,
    checks: () => ({
      kafka: runner.isRunning,
      assigned: runner.isAssigned,
      redis: redis.status === 'ready',
      ...engine.health(),
      // A chunk held for a minute by an unavailable service (the broker for the decisions).
      flowing: runner.stalledMs < 60_000,
    }),
  });

  // Warm before joining the group: the first batches should not pay for start-up costs.
  await Promise.all([engine.warmUp(cfg.engine.max_batch), store.loadScripts()]);
  await runner.start();
  await labels.start();
  models.current().drift?.start();
  running = true;
  log.info(
    {
      model: scorer.version,
      challenger: challenger?.scorer.version ?? null,
      ruleset: rules.current().version,
      metrics: `http://${cfg.engine.http_host}:${cfg.engine.http_port}/metrics`,
    },
    'engine running',
  );

  return {
    runner,
    labels,
    metrics,
    store,
    get drift() {
      return models.current().drift;
    },
    models,
    fatal,
    async stop() {
      running = false;
      await models.stop();
      models.current().drift?.stop();
      await Promise.allSettled([runner.stop(), labels.stop()]);
      await producer.disconnect().catch(() => undefined);
      if (http) await new Promise((r) => http.close(r));
      await store.close().catch(() => undefined);
      redis.disconnect();
      if (rules instanceof PgRulesetSource) await rules.stop();
      log.info({ decided: runner.decided, dlq: runner.deadLettered, labels: labels.applied }, 'stopped');
    },
  };
}

/** What the decision engine reads of the models each batch, with the champion's drift monitor. */
export interface EngineModels extends ModelSet {
  scorer: OnnxScorer;
  drift: DriftMonitor | null;
}

/**
 * The engine's set of `m`: the challenger with its metrics (registered once), the champion's
 * drift monitor (kept when the champion did not change; else the old one stopped, its gauges
 * cleared, the new one started while the engine runs).
 */
export async function engineModelsOf(
  m: Models,
  previous: EngineModels | null,
  metrics: ReturnType<typeof createMetrics>,
  log: Logger,
  model: EngineConfig['model'],
  startDrift: boolean,
): Promise<EngineModels> {
  const scorer = m.champion.scorer;
  const challenger = m.challenger
    ? { scorer: m.challenger.scorer, metrics: createChallengerMetrics(metrics.registry) }
    : undefined;
  if (previous && previous.scorer === scorer) return { scorer, challenger, drift: previous.drift };
  const drift = await driftMonitorOf(scorer, metrics, log, {
    sampleEvery: model.drift_sample_every,
    windowMinutes: model.drift_window_minutes,
    minSamples: model.drift_min_samples,
    intervalMs: model.drift_interval_ms,
  });
  if (previous) {
    previous.drift?.stop();
    // The old model's PSIs say nothing of the new one.
    const g = createDriftMetrics(metrics.registry);
    g.featurePsi.reset();
    g.scorePsi.reset();
    g.driftSamples.set(0);
    if (startDrift) drift?.start();
  }
  return { scorer, challenger, drift };
}

/**
 * The drift monitor of the model, its gauges registered; null, with one warning, when the model
 * has no reference (trained before references existed) or a bad one: drift is watched, not required.
 */
export async function driftMonitorOf(
  scorer: Pick<OnnxScorer, 'modelPath' | 'version'> & { metadata: { features: readonly string[] } },
  metrics: ReturnType<typeof createMetrics>,
  log: Logger,
  options: Omit<DriftMonitorOptions, 'reference' | 'gauges'>,
): Promise<DriftMonitor | null> {
  try {
    const reference = await referenceForModel(scorer.modelPath, {
      version: scorer.version,
      features: scorer.metadata.features,
    });
    if (reference) return new DriftMonitor({ reference, gauges: createDriftMetrics(metrics.registry), ...options });
    log.warn({ model: scorer.version }, 'model has no drift reference (MODEL.reference.json): no drift gauges');
  } catch (err) {
    log.warn({ model: scorer.version, err: (err as Error).message }, 'drift reference refused: no drift gauges');
  }
  return null;
}
