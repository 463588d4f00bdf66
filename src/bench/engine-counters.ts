/**
 * The engine's cumulative counters read from its /metrics, so that a bench phase is measured as
 * a difference: mean time per stage and batch (in ms; the histogram observes seconds), batches,
 * events, degraded decisions by reason.
 */
import type { ChildEngineProcess } from '../cli/child-engine.js';
import { SECOND_MS } from '../events/time.js';

const STAGES = ['decode', 'features', 'model', 'rules', 'encode', 'produce'] as const;

export interface Counters {
  /** Milliseconds per stage, summed. */
  stageSum: number[];
  stageCount: number[];
  batches: number;
  events: number;
  degraded: number;
  byReason: Record<string, number>;
}

export const ZERO_COUNTERS: Counters = {
  stageSum: STAGES.map(() => 0),
  stageCount: STAGES.map(() => 0),
  batches: 0,
  events: 0,
  degraded: 0,
  byReason: {},
};

export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** What the counters need of an engine: its /metrics read by name. */
export type MetricsSource = Pick<ChildEngineProcess, 'metric' | 'metricByLabel'>;

/** A metric of the engine, NaN when it does not answer (gone). */
export const metricOf = (engine: MetricsSource, name: string, labels?: RegExp): Promise<number> =>
  engine.metric(name, labels).catch(() => NaN);

export async function engineCounters(engine: MetricsSource): Promise<Counters> {
  const stage = (name: string) => Promise.all(STAGES.map((s) => metricOf(engine, name, new RegExp(`stage="${s}"`))));
  return {
    stageSum: (await stage('fraud_stage_latency_seconds_sum')).map((s) => s * SECOND_MS),
    stageCount: await stage('fraud_stage_latency_seconds_count'),
    batches: await metricOf(engine, 'fraud_batch_size_count'),
    events: await metricOf(engine, 'fraud_batch_size_sum'),
    degraded: await metricOf(engine, 'fraud_degraded_total'),
    byReason: await engine.metricByLabel('fraud_degraded_total', 'reason').catch(() => ({})),
  };
}

export interface CounterDelta {
  stages: Record<string, number>;
  batches: number;
  events: number;
  degraded: number;
  degradedByReason: Record<string, number>;
}

export function deltaOf(after: Counters, before: Counters): CounterDelta {
  const degradedByReason: Record<string, number> = {};
  for (const [r, v] of Object.entries(after.byReason))
    if (v - (before.byReason[r] ?? 0) > 0) degradedByReason[r] = v - (before.byReason[r] ?? 0);
  const stages: Record<string, number> = {};
  STAGES.forEach((s, i) => {
    stages[s] = round(
      (after.stageSum[i]! - before.stageSum[i]!) / Math.max(1, after.stageCount[i]! - before.stageCount[i]!),
      2,
    );
  });
  return {
    stages,
    batches: after.batches - before.batches,
    events: after.events - before.events,
    degraded: after.degraded - before.degraded,
    degradedByReason,
  };
}
