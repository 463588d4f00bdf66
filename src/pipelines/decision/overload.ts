/**
 * Overload without cascades: how many events of a batch get awaited features, sized by the
 * feature store's measured capacity, instead of a whole batch timing out at random.
 *
 * Without it, a cycle that runs late (CPU contention) makes the next fetch bigger; its one
 * feature call passes `engine.redis_timeout_ms` and the whole batch is decided without features
 * (`features_timeout`), while Redis still does all its work, so the next calls queue behind it
 * and time out too (docs/performance.md, "Overload").
 *
 * The policy, per batch (events in offset order):
 * - Capacity is measured, not configured, from the calls that queued: a call sent while another
 *   was in flight and answered after it took Redis the time between the two answers (Redis
 *   answers a connection's calls in order). A call that did not queue says little: its time is
 *   mostly the round trip and this thread's own delays (on a busy machine, tens of ms whatever
 *   the batch), which shedding features would not save; but it bounds the cost from above, so
 *   it lowers an estimate that is higher (one inflated by a pause of Redis, kept after the load
 *   is gone because calls no longer queue). The cost per event is the decayed sum of the queued
 *   calls' times over the decayed sum of their events. Until a call has queued (no overload yet)
 *   there is no estimate and nothing is shed.
 * - Awaited: the first events, as many as keep the predicted Redis queue (events in flight,
 *   from every batch, plus these, times the cost per event) within `awaitMs`, a share of the
 *   budget; with nothing in flight at least one, so that the estimate keeps being refreshed.
 * - Recorded, not awaited: the next events, up to a predicted queue of `recordMs`. They are sent
 *   (their history counts for later events) after the awaited call, on the same connection, so
 *   per-card order holds; their decisions do not wait for them.
 * - The rest is not sent: decided without features and not in the feature sets (like decisions
 *   made while the circuit is open). Redis's queue, hence the next batches' wait, stays bounded.
 * - The policy stands aside (everything awaited, as without it) while Redis answers nothing for
 *   longer than the feature budget with calls in flight, or since a call failed: it is then
 *   slower than measured, hung or down, and the budget (features_timeout) and the guard's
 *   circuit (features_unavailable) say so, rather than shedding on an estimate that no longer
 *   holds.
 * Every event not awaited is decided on its own fields and the rules, marked degraded
 * `features_shed`, and counted in `fraud_features_shed_total{recorded}`. The budget's timeout
 * stays the safety net when the estimate is wrong.
 */
import type { EngineConfig } from '../../config/config.js';
import type { AuthorizationEvent } from '../../events/types.js';
import type { FeatureStore, FeatureVector } from '../../features/store.js';

/** The reason on a decision whose features were shed by this policy. */
export const FEATURES_SHED = 'features_shed';

export interface OverloadMetrics {
  featuresShed: { inc(labels: { recorded: 'true' | 'false' }, n: number): void };
  featureCapacity: { set(v: number): void };
  featuresInFlight: { set(v: number): void };
}

export interface OverloadOptions {
  /** Predicted Redis queue (ms) that awaited features may join (config engine.overload_await_ms). */
  awaitMs: number;
  /** Predicted Redis queue (ms) up to which shed events are still recorded (engine.overload_record_ms). */
  recordMs: number;
  /** Monotonic clock (ms); performance.now() unless a test injects one. */
  now?: () => number;
  metrics?: OverloadMetrics;
  /** Weight kept by the past at each answer (default 0.8). */
  decay?: number;
  /**
   * No answer for this long (ms) with calls in flight: the policy stands aside (the feature
   * budget, engine.redis_timeout_ms; default 60).
   */
  budgetMs?: number;
}

/** Of a batch of n events (offset order): the first `awaited`, then `recorded`, then the rest unsent. */
export interface FeaturePlan {
  awaited: number;
  recorded: number;
}

export class FeatureAdmission {
  private inFlight = 0;
  /** The last call to end failed (Redis down, circuit open): the guard's to report, not shedding. */
  private failing = false;
  /** The calls in flight: when each was sent, and its events. */
  private readonly calls = new Set<{ sent: number; n: number }>();
  private lastAnswer = -Infinity;
  private workMs = 0;
  private workEvents = 0;
  private readonly now: () => number;

  constructor(private readonly o: OverloadOptions) {
    if (!(o.awaitMs > 0) || o.recordMs < o.awaitMs)
      throw new RangeError('overload: awaitMs must be > 0 and recordMs at least awaitMs');
    this.now = o.now ?? (() => performance.now());
  }

  /** Measured cost of one event's features (ms), or null before a first answer. */
  get msPerEvent(): number | null {
    return this.workEvents > 0 ? this.workMs / this.workEvents : null;
  }

  /** Events sent to the store and not answered yet (awaited and recorded). */
  get eventsInFlight(): number {
    return this.inFlight;
  }

  /** How a batch of n events is split; counts the shed ones. */
  plan(n: number): FeaturePlan {
    const c = this.msPerEvent;
    if (c === null || c <= 0 || this.failing) return { awaited: n, recorded: 0 };
    let queue = 0;
    let oldest = Infinity;
    for (const call of this.calls) {
      queue += call.n;
      oldest = Math.min(oldest, call.sent);
    }
    if (queue > 0 && this.now() - Math.max(oldest, this.lastAnswer) > (this.o.budgetMs ?? 60))
      return { awaited: n, recorded: 0 };
    const room = (ms: number): number => Math.max(0, Math.floor(ms / c) - queue);
    let awaited = Math.min(n, room(this.o.awaitMs));
    if (awaited === 0 && queue === 0) awaited = Math.min(n, 1);
    const recorded = Math.min(n - awaited, Math.max(0, room(this.o.recordMs) - awaited));
    const dropped = n - awaited - recorded;
    if (recorded) this.o.metrics?.featuresShed.inc({ recorded: 'true' }, recorded);
    if (dropped) this.o.metrics?.featuresShed.inc({ recorded: 'false' }, dropped);
    return { awaited, recorded };
  }

  /** `store.enrich(events)`, counted in flight and timed while it runs. */
  enrich(store: FeatureStore, events: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    const n = events.length;
    let p: Promise<FeatureVector[]>;
    try {
      p = store.enrich(events);
    } catch (err) {
      p = Promise.reject(err);
    }
    const queued = this.inFlight > 0;
    const call = { sent: this.now(), n };
    this.calls.add(call);
    this.setInFlight(this.inFlight + n);
    return p.then(
      (vectors) => {
        this.calls.delete(call);
        this.answered(queued, call.sent, n);
        return vectors;
      },
      (err: unknown) => {
        // A failure says nothing of the capacity (the guard and the circuit deal with it).
        this.failing = true;
        this.calls.delete(call);
        this.setInFlight(this.inFlight - n);
        throw err;
      },
    );
  }

  private answered(queued: boolean, sent: number, n: number): void {
    this.failing = false;
    const at = this.now();
    const after = Math.max(sent, this.lastAnswer);
    this.lastAnswer = at;
    this.setInFlight(this.inFlight - n);
    if (!queued) {
      // A lone call's time bounds Redis's work from above: it can only lower the estimate (an
      // estimate inflated by a pause would otherwise shed long after Redis is fast again, as
      // calls stop queueing once the load is gone).
      const bound = (at - sent) / n;
      const c = this.msPerEvent;
      if (c !== null && bound < c) this.workMs = this.workEvents * bound;
      return;
    }
    const d = this.o.decay ?? 0.8;
    this.workMs = this.workMs * d + Math.max(0, at - after);
    this.workEvents = this.workEvents * d + n;
    const c = this.msPerEvent;
    if (c) this.o.metrics?.featureCapacity.set(Math.round(1000 / c));
  }

  private setInFlight(v: number): void {
    this.inFlight = v;
    this.o.metrics?.featuresInFlight.set(v);
  }
}

/** The policy of `run` from the configuration (`engine.overload_*`), or undefined when it is off. */
export function featureAdmissionOf(cfg: EngineConfig, metrics?: OverloadMetrics): FeatureAdmission | undefined {
  const { overload_await_ms: awaitMs, overload_record_ms: recordMs } = cfg.engine;
  const budgetMs = cfg.engine.redis_timeout_ms || Infinity;
  return awaitMs > 0 ? new FeatureAdmission({ awaitMs, recordMs, metrics, budgetMs }) : undefined;
}
