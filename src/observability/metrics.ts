/**
 * The engine's Prometheus metrics (ARCHITECTURE.md §5), prefixed `fraud_`. One registry per
 * process; created in the composition root and passed to the stages that record.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Durations are in seconds, Prometheus's base unit (`promtool check metrics`); dense below
// 100 ms, where the budget lives.
const LATENCY_SECONDS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1,
  2.5, 5,
];

/**
 * A duration measured in milliseconds (performance.now(), Date.now(), the decision's
 * engine_latency_ms) as the seconds the latency histograms observe.
 */
export const msToSeconds = (ms: number): number => ms / 1000;

/**
 * prom-client's default process metrics under `prefix`, without its three `nodejs_active_*_total`
 * gauges: a gauge named `_total` reads as a counter (promtool refuses it), and each is only the
 * sum of the `nodejs_active_*` gauge by type that stays.
 */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const kind of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`${prefix}nodejs_active_${kind}_total`);
}

/** Buckets of a fraud probability (the champion's and the challenger's, so the two compare bucket for bucket). */
const SCORE_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectProcessMetrics(registry, 'fraud_process_');
  const m = {
    registry,
    decisions: new Counter({
      name: 'fraud_decisions_total',
      help: 'Decisions produced, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    e2eLatency: new Histogram({
      name: 'fraud_decision_latency_seconds',
      help: 'End-to-end latency from the event_time to the decision acknowledged by the broker, in seconds',
      buckets: LATENCY_SECONDS,
      registers: [registry],
    }),
    engineLatency: new Histogram({
      name: 'fraud_engine_latency_seconds',
      help: 'Engine latency from the batch fetched to the decision acknowledged, in seconds',
      buckets: LATENCY_SECONDS,
      registers: [registry],
    }),
    stageLatency: new Histogram({
      name: 'fraud_stage_latency_seconds',
      help: 'Per-batch latency of each pipeline stage, in seconds',
      labelNames: ['stage'] as const,
      buckets: LATENCY_SECONDS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'fraud_batch_size',
      help: 'Events per decision batch',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    ruleHits: new Counter({
      name: 'fraud_rule_hits_total',
      help: 'Rule hits by rule id and mode',
      labelNames: ['rule', 'mode'] as const,
      registers: [registry],
    }),
    ruleErrors: new Counter({
      name: 'fraud_rule_errors_total',
      help: 'Rules that failed at run time (counted as not hit), by rule id',
      labelNames: ['rule'] as const,
      registers: [registry],
    }),
    score: new Histogram({
      name: 'fraud_model_score',
      help: 'Model fraud score',
      buckets: SCORE_BUCKETS,
      registers: [registry],
    }),
    dlq: new Counter({
      name: 'fraud_dlq_total',
      help: 'Messages sent to a dead-letter topic, by reason (label:… for fraud labels)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    degraded: new Counter({
      name: 'fraud_degraded_total',
      help: 'Decisions made on partial information, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    featuresShed: new Counter({
      name: 'fraud_features_shed_total',
      help: 'Events decided without waiting for their features under overload (degraded features_shed), by whether their features were still recorded',
      labelNames: ['recorded'] as const,
      registers: [registry],
    }),
    featureCapacity: new Gauge({
      name: 'fraud_features_capacity_events_per_second',
      help: 'Feature store capacity measured from its answers (events per second); the overload policy sizes awaited features by it',
      registers: [registry],
    }),
    featuresInFlight: new Gauge({
      name: 'fraud_features_in_flight_events',
      help: 'Events whose features were sent to the store and not answered yet (awaited and recorded)',
      registers: [registry],
    }),
    redelivered: new Counter({
      name: 'fraud_redelivered_total',
      help: 'Events seen again (crash, rebalance) answered with their first decision',
      registers: [registry],
    }),
    labels: new Counter({
      name: 'fraud_labels_applied_total',
      help: 'Fraud labels applied to the feature store',
      labelNames: ['fraud'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'fraud_consumer_lag',
      help: 'Messages behind the high watermark, by topic and partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    rulesetInfo: new Gauge({
      name: 'fraud_ruleset_info',
      help: 'Active ruleset version (value 1)',
      labelNames: ['version'] as const,
      registers: [registry],
    }),
    modelInfo: new Gauge({
      name: 'fraud_model_info',
      help: 'Loaded model version (value 1)',
      labelNames: ['version'] as const,
      registers: [registry],
    }),
    modelReloads: new Counter({
      name: 'fraud_model_reloads_total',
      help: 'Model versions swapped in while running (an approved promotion or retirement), by role',
      labelNames: ['role'] as const,
      registers: [registry],
    }),
    modelReloadFailures: new Counter({
      name: 'fraud_model_reload_failures_total',
      help: 'Approved model versions refused while the running model stayed (load, sha256, version) or registry reads that failed (registry), by role',
      labelNames: ['role', 'reason'] as const,
      registers: [registry],
    }),
    rulesetReloads: new Counter({
      name: 'fraud_ruleset_reloads_total',
      help: 'Ruleset reload attempts, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The drift gauges (src/models/drift/), registered only when the model has a drift reference:
 * an unlabelled gauge reads 0 before it is set, which would say "no drift" when nothing is known.
 */
export function createDriftMetrics(registry: Registry): DriftMetrics {
  return once(registry, driftMetrics, newDriftMetrics);
}

function newDriftMetrics(registry: Registry) {
  return {
    featurePsi: new Gauge({
      name: 'fraud_feature_psi',
      help: "Population stability index of each feature over the drift window against the model's training window",
      labelNames: ['feature'] as const,
      registers: [registry],
    }),
    scorePsi: new Gauge({
      name: 'fraud_score_psi',
      help: "Population stability index of the model score over the drift window against the model's training window",
      registers: [registry],
    }),
    driftSamples: new Gauge({
      name: 'fraud_drift_window_samples',
      help: 'Sampled decisions in the drift window the PSI gauges are computed on',
      registers: [registry],
    }),
  };
}

export type DriftMetrics = ReturnType<typeof newDriftMetrics>;
const driftMetrics = new WeakMap<Registry, DriftMetrics>();

/**
 * The families of `make` registered once per registry: a model loaded later (a promotion) reuses
 * those of the first, where registering them again would throw.
 */
function once<T>(registry: Registry, memo: WeakMap<Registry, T>, make: (r: Registry) => T): T {
  let m = memo.get(registry);
  if (!m) memo.set(registry, (m = make(registry)));
  return m;
}

/**
 * The challenger's families (src/pipelines/decision/challenger.ts), registered only when a
 * challenger is configured: without one, an error counter at 0 would claim a healthy challenger.
 */
export function createChallengerMetrics(registry: Registry): ChallengerMetrics {
  return once(registry, challengerMetrics, newChallengerMetrics);
}

function newChallengerMetrics(registry: Registry) {
  return {
    score: new Histogram({
      name: 'fraud_challenger_score',
      help: 'Challenger model fraud score (same buckets as fraud_model_score); it never changes the outcome',
      buckets: SCORE_BUCKETS,
      registers: [registry],
    }),
    agreement: new Counter({
      name: 'fraud_challenger_agreement_total',
      help: "Events both models scored, by whether the two scores fall in the same band at the ruleset's thresholds",
      labelNames: ['agree'] as const,
      registers: [registry],
    }),
    outcomeChanges: new Counter({
      name: 'fraud_challenger_outcome_changes_total',
      help: "Events whose outcome would change were the challenger's score used with the same thresholds and rule hits",
      labelNames: ['from', 'to'] as const,
      registers: [registry],
    }),
    info: new Gauge({
      name: 'fraud_challenger_info',
      help: 'Loaded challenger model version (value 1); no series once the challenger is retired',
      labelNames: ['version'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'fraud_challenger_errors_total',
      help: 'Challenger batch runs that failed or timed out (its scores then null; decisions unaffected)',
      registers: [registry],
    }),
  };
}

export type ChallengerMetrics = ReturnType<typeof newChallengerMetrics>;
const challengerMetrics = new WeakMap<Registry, ChallengerMetrics>();

/** Sets an info gauge to exactly one version. */
export function setInfo(g: Gauge<'version'>, version: string): void {
  g.reset();
  g.set({ version }, 1);
}
