/**
 * The decision logic of one batch, shared line for line by `run` (Kafka, Redis) and
 * `replay` (files, memory): features (one store round trip), model (one batched run),
 * rules (compiled, per event), policy. Stage failures or overruns degrade the decision
 * instead of stalling the partition.
 *
 * The rules have a budget per batch (`rulesBudgetMs`, config rules.batch_budget_ms): the time
 * spent in the rules stage is checked once per event (one clock read), and once it is over the
 * budget, the remaining events of the batch are decided without rules (the policy on the model
 * score) and marked degraded `rules_timeout`. Each rule is bounded at compile time
 * (src/rules/cost.ts); the budget bounds their sum under load.
 *
 * A REVIEW or DECLINE decision carries the model's top factors (TreeSHAP over the model's trees,
 * src/models/explain/) when the model has a trees file, computed after the rules and outside
 * their budget; APPROVE decisions do not (the cost is paid where a person or a customer will ask
 * why: docs/model.md, "Factors").
 *
 * A challenger model (`challenger`, config model.challenger_path) is scored on the same feature
 * matrix after the champion, within the same model budget; its score rides on the decision and in
 * metrics only (./challenger.ts).
 */
import type { EngineConfig } from '../../config/config.js';
import type { AuthorizationEvent, Decision, DecisionFactor, RuleHit } from '../../events/types.js';
import type { FeatureStore, FeatureVector } from '../../features/store.js';
import { FEATURE_NAMES } from '../../features/names.js';
import { txOnlyVector, vectorToRecord } from '../../features/definitions.js';
import { contextOf } from '../../features/decision-memo-codec.js';
import { RowBuffers, toFloat32Rows, type Scorer } from '../../models/scorer.js';
import { TOP_FACTORS } from '../../models/explain/explainer.js';
import type { CompiledRuleset } from '../../rules/compile.js';
import { activeHitsOnScore, ruleContext } from '../../rules/evaluate.js';
import { msToSeconds, type Metrics } from '../../observability/metrics.js';
import { compareChallenger, type Challenger } from './challenger.js';
import { decideEvent } from './step.js';
import { FEATURES_SHED, type FeatureAdmission } from './overload.js';

export interface RulesetSource {
  current(): CompiledRuleset;
}

/**
 * The models of one batch: read once at its start (`EngineOptions.models`), so that a promotion
 * swapped in while a batch runs takes effect from the next batch, never inside one.
 */
export interface ModelSet {
  scorer: Scorer | null;
  challenger?: Challenger;
  drift?: EngineOptions['drift'] | null;
}

export interface EngineOptions {
  store: FeatureStore;
  scorer: Scorer | null;
  rules: RulesetSource;
  metrics?: Metrics;
  /** A second model scored on the same batch, never deciding (./challenger.ts). */
  challenger?: Challenger;
  /**
   * The models in force, hot-reloaded (src/models/registry/model-source.ts): when given, it wins
   * over `scorer`, `challenger` and `drift`, which stay for replay and tests.
   */
  models?: { current(): ModelSet };
  /**
   * Overload policy (./overload.ts, `run` only): how many events of a batch get awaited
   * features, by the store's measured capacity; the rest are decided without (`features_shed`).
   */
  overload?: FeatureAdmission;
  /** Budgets per batch (ms). 0 disables the timer (replay). */
  featureTimeoutMs?: number;
  modelTimeoutMs?: number;
  /**
   * Time for the rules of one batch (ms); past it, the rest of the batch is decided without
   * rules, degraded `rules_timeout`. 0 or absent: no budget (replay and backtests, which must be
   * reproducible).
   */
  rulesBudgetMs?: number;
  /** Clock for decided_time; replay passes event time so outputs are reproducible. */
  clock?: (ev: AuthorizationEvent) => number;
  /** Monotonic clock (ms) of the rules budget; performance.now() unless a test injects one. */
  now?: () => number;
  /**
   * Events older than this (ms before `wallClock()`, the features' longest retention) are
   * decided on what they carry alone, without reading or updating features (degraded
   * `event_too_old`): an old replayed event would otherwise become a new entity's history.
   * 0 = off (replay).
   */
  maxEventAgeMs?: number;
  wallClock?: () => number;
  /**
   * Told each batch decided normally (no stage degraded): the vectors served, the scores and the
   * events, for the drift monitor (src/models/drift/monitor.ts), which samples and counts them,
   * and for replay's drift report (which counts those of its window).
   */
  /**
   * The model's top factors on REVIEW and DECLINE decisions (default true). Replay without a
   * decisions output and the backtests, which never show them, turn them off.
   */
  factors?: boolean;
  /**
   * Each decision carries its features as a name → value record (default true). Replay without
   * a decisions output and the backtests read the vector instead: an empty record each.
   */
  decisionFeatures?: boolean;
  drift?: {
    /** `rows`: the model's input matrix of the batch (toFloat32Rows of `vectors`). */
    observe(
      vectors: readonly FeatureVector[],
      scores: Float32Array,
      events: readonly AuthorizationEvent[],
      rows: Float32Array,
    ): void;
  };
}

/** The engine's budgets and age bound from the configuration (`engine.*`, `rules.batch_budget_ms`). */
export function engineBudgetsOf(
  cfg: EngineConfig,
): Pick<EngineOptions, 'featureTimeoutMs' | 'modelTimeoutMs' | 'maxEventAgeMs' | 'rulesBudgetMs'> {
  return {
    featureTimeoutMs: cfg.engine.redis_timeout_ms,
    modelTimeoutMs: cfg.engine.model_timeout_ms,
    maxEventAgeMs: cfg.engine.max_event_age_ms,
    rulesBudgetMs: cfg.rules.batch_budget_ms,
  };
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (!ms) return p;
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface BatchResult {
  decisions: Decision[];
  vectors: FeatureVector[];
}

export class DecisionEngine {
  /** Model runs that failed in a row (not timeouts: those say the machine is busy, not that the model is broken). */
  private modelFailures = 0;
  /** The model's input matrices, reused from batch to batch. */
  private readonly rowBuffers = new RowBuffers();

  constructor(private readonly opts: EngineOptions) {}

  /** The models in force now (one read per batch). */
  private modelSet(): ModelSet {
    return this.opts.models?.current() ?? this.opts;
  }

  get modelVersion(): string {
    return this.modelSet().scorer?.version ?? 'none';
  }

  /** For /readyz: a model loaded and answering (fewer than 3 failed runs in a row), a ruleset in force. */
  health(): { model: boolean; rules: boolean } {
    let rules = false;
    try {
      const rs = this.opts.rules.current();
      rules = rs.version.length > 0 && Array.isArray(rs.active);
    } catch {
      rules = false;
    }
    return { model: this.modelSet().scorer !== null && this.modelFailures < 3, rules };
  }

  /**
   * Runs the model and the rules once on synthetic events of each batch size class, so the
   * first real batches do not pay for JIT compilation and onnxruntime's first-run set-up.
   * Touches no feature state.
   */
  async warmUp(maxBatch: number): Promise<void> {
    const ev: AuthorizationEvent = {
      auth_id: 'warm-up',
      event_time: Date.now(),
      card_token: 'tok_warm_up',
      customer_id: 'warm-up',
      terminal_id: 'warm-up',
      merchant_id: null,
      mcc: null,
      amount_minor: 1000,
      currency: 'EUR',
      channel: 'POS',
      device_id: null,
      ip: null,
      email_hash: null,
      country: null,
      description: null,
    };
    const rs = this.opts.rules.current();
    const { scorer, challenger } = this.modelSet();
    for (const n of [1, 16, Math.max(1, maxBatch)]) {
      const vectors = Array.from({ length: n }, () => txOnlyVector(ev));
      const scores = scorer ? await scorer.score(toFloat32Rows(vectors, FEATURE_NAMES.length), n) : null;
      for (let i = 0; i < n; i++) decideEvent(rs, ev, vectors[i]!, scores ? scores[i]! : null);
      // A challenger failing here must not stop the engine either: counted, as at run time.
      if (challenger)
        await challenger.scorer
          .score(toFloat32Rows(vectors, FEATURE_NAMES.length), n)
          .catch(() => challenger.metrics?.errors.inc());
    }
  }

  async decideBatch(events: readonly AuthorizationEvent[], fetchedAt = performance.now()): Promise<BatchResult> {
    const { metrics } = this.opts;
    const n = events.length;
    if (n === 0) return { decisions: [], vectors: [] };
    const batchDegraded: string[] = [];

    // 1. Features: read + update, one round trip (events too old for the features left out;
    // under overload, the events past what the store can answer within the budget: ./overload.ts).
    const t = performance.now();
    const oldest = this.opts.maxEventAgeMs ? (this.opts.wallClock ?? Date.now)() - this.opts.maxEventAgeMs : -Infinity;
    let alone: (string | null)[] | null = null;
    for (let i = 0; i < n; i++)
      if (events[i]!.event_time < oldest) (alone ??= new Array<string | null>(n).fill(null))[i] = 'event_too_old';
    const current = alone ? events.filter((_, i) => !alone![i]) : events;
    const { overload, store } = this.opts;
    const plan = overload && current.length ? overload.plan(current.length) : null;
    if (plan && plan.awaited < current.length) {
      let k = 0;
      for (let i = 0; i < n; i++)
        if (!alone?.[i] && k++ >= plan.awaited) (alone ??= new Array<string | null>(n).fill(null))[i] = FEATURES_SHED;
    }
    const awaited = alone ? events.filter((_, i) => !alone![i]) : events;
    let vectors: FeatureVector[];
    try {
      const enriching = !awaited.length ? null : overload ? overload.enrich(store, awaited) : store.enrich(awaited);
      // Sent after the awaited call (one connection: per-card order holds), never awaited.
      if (plan?.recorded)
        overload!.enrich(store, current.slice(plan.awaited, plan.awaited + plan.recorded)).catch(() => undefined);
      const enriched = enriching ? await withTimeout(enriching, this.opts.featureTimeoutMs) : [];
      if (!alone) vectors = enriched;
      else {
        let j = 0;
        vectors = events.map((ev, i) => (alone![i] ? txOnlyVector(ev) : enriched[j++]!));
      }
    } catch (err) {
      batchDegraded.push(err instanceof TimeoutError ? 'features_timeout' : 'features_unavailable');
      vectors = events.map(txOnlyVector);
    }
    metrics?.stageLatency.observe({ stage: 'features' }, msToSeconds(performance.now() - t));
    return this.decideVectors(events, vectors, fetchedAt, alone, batchDegraded);
  }

  /**
   * The decisions of events whose feature vectors are already known (replay on the in-memory
   * store computes them in feed order, between labels): the model, rules, policy and factors of
   * decideBatch, on these vectors.
   */
  async decideEnriched(
    events: readonly AuthorizationEvent[],
    vectors: FeatureVector[],
    fetchedAt = performance.now(),
  ): Promise<BatchResult> {
    if (events.length === 0) return { decisions: [], vectors: [] };
    return this.decideVectors(events, vectors, fetchedAt, null, []);
  }

  /**
   * `alone`: per event, why it was decided without features (`event_too_old`, `features_shed`),
   * or null; null for the whole batch when none was.
   */
  private async decideVectors(
    events: readonly AuthorizationEvent[],
    vectors: FeatureVector[],
    fetchedAt: number,
    alone: readonly (string | null)[] | null,
    batchDegraded: string[],
  ): Promise<BatchResult> {
    const { metrics } = this.opts;
    const n = events.length;
    // One read: the whole batch is decided, scored and recorded by the same models.
    const { scorer, challenger, drift } = this.modelSet();
    // 2. Model: one batched run.
    let t = performance.now();
    let scores: Float32Array | null = null;
    let rows: Float32Array | null = null;
    const rowBuffer = scorer ? this.rowBuffers.take(n * FEATURE_NAMES.length) : null;
    if (scorer) {
      try {
        rows = toFloat32Rows(vectors, FEATURE_NAMES.length, rowBuffer!);
        scores = await withTimeout(scorer.score(rows, n), this.opts.modelTimeoutMs);
        this.modelFailures = 0;
      } catch (err) {
        const timedOut = err instanceof TimeoutError;
        if (!timedOut) this.modelFailures++;
        batchDegraded.push(timedOut ? 'model_timeout' : 'model_error');
      }
    } else {
      batchDegraded.push('model_unavailable');
    }
    metrics?.stageLatency.observe({ stage: 'model' }, msToSeconds(performance.now() - t));
    const challengerScores = challenger ? await this.scoreChallenger(challenger, vectors, rows) : null;
    // Degraded vectors (features unavailable, events too old) are not the population served.
    if (drift && scores && rows && batchDegraded.length === 0 && !alone) drift.observe(vectors, scores, events, rows);

    // 3. Rules and policy, per event, on the ruleset in force for the whole batch, within the
    // rules budget: one clock read per event; once over, the rest goes without rules.
    t = performance.now();
    const rs = this.opts.rules.current();
    const decisions: Decision[] = new Array(n);
    const modelVersion = scorer?.version ?? 'none';
    const challengerVersion = challenger?.scorer.version ?? null;
    const explainer = scores && rows && this.opts.factors !== false ? (scorer?.explainer ?? null) : null;
    const budget = this.opts.rulesBudgetMs ?? 0;
    const now = this.opts.now ?? (() => performance.now());
    const rulesStart = budget > 0 ? now() : 0;
    const withFeatures = this.opts.decisionFeatures !== false;
    let skipped = 0;
    let timedOut: string[] | null = null;
    for (let i = 0; i < n; i++) {
      const ev = events[i]!;
      const vec = vectors[i]!;
      const score = scores ? scores[i]! : null;
      const challengerScore = challengerScores ? challengerScores[i]! : null;
      if (!timedOut && budget > 0 && i > 0 && now() - rulesStart > budget)
        timedOut = [...batchDegraded, 'rules_timeout'];
      if (timedOut) skipped++;
      const { hits, policy } = decideEvent(rs, ev, vec, score, !timedOut);
      const ruleHits: RuleHit[] = [];
      for (const r of hits.active) ruleHits.push({ rule_id: r.def.id, action: r.def.action, mode: 'ACTIVE' });
      for (const r of hits.shadow) ruleHits.push({ rule_id: r.def.id, action: r.def.action, mode: 'SHADOW' });
      // Replay that reads only outcomes (reports, backtests) skips the record nothing reads.
      const features: Record<string, number | null> = withFeatures ? vectorToRecord(vec) : {};
      if (metrics) {
        for (const r of hits.active) metrics.ruleHits.inc({ rule: r.def.id, mode: 'active' });
        for (const r of hits.shadow) metrics.ruleHits.inc({ rule: r.def.id, mode: 'shadow' });
        for (const id of hits.errors) metrics.ruleErrors.inc({ rule: id });
        if (score !== null) metrics.score.observe(score);
      }
      if (challenger?.metrics && challengerScore !== null) {
        // The rules on the score, run again on the challenger's: the shipped policy declines by rules.
        const wouldHit = timedOut
          ? hits.active
          : activeHitsOnScore(rs, ruleContext(ev, FEATURE_NAMES, vec, challengerScore, rs.lists), hits.active);
        compareChallenger(challenger.metrics, score, challengerScore, rs.thresholds, wouldHit, policy.outcome);
      }
      decisions[i] = {
        auth_id: ev.auth_id,
        card_token: ev.card_token,
        outcome: policy.outcome,
        score: score === null ? null : Math.round(score * 1e6) / 1e6,
        reasons: policy.reasons,
        rule_hits: ruleHits,
        tags: policy.tags,
        model_version: modelVersion,
        ruleset_version: rs.version,
        degraded: alone?.[i]
          ? [alone[i]!, ...(timedOut ?? batchDegraded).filter((r) => !r.startsWith('features_'))]
          : (timedOut ?? batchDegraded),
        features,
        event_time: ev.event_time,
        decided_time: this.opts.clock ? this.opts.clock(ev) : Date.now(),
        engine_latency_ms: 0,
        context: contextOf(ev),
        factors: null,
        challenger_score: challengerScore === null ? null : Math.round(challengerScore * 1e6) / 1e6,
        challenger_version: challengerVersion,
      };
    }
    metrics?.stageLatency.observe({ stage: 'rules' }, msToSeconds(performance.now() - t));

    // 4. Factors of the REVIEW and DECLINE decisions, after the rules (outside their budget).
    if (explainer && rows) {
      t = performance.now();
      for (let i = 0; i < n; i++) {
        const d = decisions[i]!;
        if (d.outcome === 'APPROVE') continue;
        const factors: DecisionFactor[] = explainer.topFactors(rows, i, TOP_FACTORS, vectors[i]);
        for (const f of factors) f.contribution = Math.round(f.contribution * 1e6) / 1e6;
        d.factors = factors;
      }
      metrics?.stageLatency.observe({ stage: 'factors' }, msToSeconds(performance.now() - t));
    }
    const engineMs = performance.now() - fetchedAt;
    for (const d of decisions) d.engine_latency_ms = Math.round(engineMs * 1000) / 1000;
    if (metrics) {
      // A features_ reason of the batch is not on the decisions made alone (they carry theirs).
      let aloneCount = 0;
      if (alone) {
        const byReason = new Map<string, number>();
        for (const reason of alone)
          if (reason) {
            aloneCount++;
            byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
          }
        for (const [reason, k] of byReason) metrics.degraded.inc({ reason }, k);
      }
      for (const reason of batchDegraded)
        metrics.degraded.inc({ reason }, reason.startsWith('features_') ? n - aloneCount : n);
      if (skipped > 0) metrics.degraded.inc({ reason: 'rules_timeout' }, skipped);
    }
    // The model, the challenger and the factors are done with the matrix (a batch that throws
    // before here leaves its buffer to the garbage collector).
    if (rowBuffer) this.rowBuffers.release(rowBuffer);
    return { decisions, vectors };
  }

  /**
   * The challenger's scores of the batch's matrix, or null when there is none or it failed or
   * timed out (counted): nothing it does reaches the outcome.
   */
  private async scoreChallenger(
    challenger: Challenger,
    vectors: readonly FeatureVector[],
    rows: Float32Array | null,
  ): Promise<Float32Array | null> {
    const t = performance.now();
    try {
      // The champion's matrix when it was built (the same input, not packed twice).
      const input = rows ?? toFloat32Rows(vectors, FEATURE_NAMES.length);
      return await withTimeout(challenger.scorer.score(input, vectors.length), this.opts.modelTimeoutMs);
    } catch {
      challenger.metrics?.errors.inc();
      return null;
    } finally {
      this.opts.metrics?.stageLatency.observe({ stage: 'challenger' }, msToSeconds(performance.now() - t));
    }
  }
}
