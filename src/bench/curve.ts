/**
 * The saturation curve of the bench: the engine fed at offered rates from below to well above
 * its capacity (1k to 20k events/s), each for a short bounded phase, reporting what it put out
 * (decisions/s), its latency, and how it shed work (degraded decisions by reason, events whose
 * features were shed by the overload policy, recorded or not: src/pipelines/decision/overload.ts).
 * Above capacity a bounded p99 with `features_shed` decisions is the designed behaviour; a p99
 * that grows with the phase, or whole batches `features_timeout`, is a cascade.
 */
import type { Kafka } from 'kafkajs';
import type { AvroCodecs } from '../events/codec.js';
import { deltaOf, engineCounters, metricOf, round, type MetricsSource } from './engine-counters.js';
import { fixedRate, type BenchTopics, type PhaseMeasure } from './fixed-rate.js';
import { sleep } from './kafka.js';

export const CURVE_RATES: readonly number[] = [1000, 5000, 10_000, 15_000, 20_000];

export interface CurveDeps {
  kafka: Kafka;
  codecs: AvroCodecs;
  topics: BenchTopics;
  /** The engine under test, running throughout (one process, one consumer group). */
  engine: MetricsSource;
  measure: PhaseMeasure;
  runId: string;
  log: (msg: string) => void;
}

const shedOf = async (engine: MetricsSource): Promise<Record<string, number>> =>
  engine.metricByLabel('fraud_features_shed_total', 'recorded').catch(() => ({}));

/**
 * Waits (at most `maxMs`) until the engine's count of decided events stops moving for a second,
 * so that a phase's backlog is not the next phase's load.
 */
async function drained(engine: MetricsSource, maxMs = 30_000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = await metricOf(engine, 'fraud_batch_size_sum');
  while (Date.now() < until) {
    await sleep(1000);
    const now = await metricOf(engine, 'fraud_batch_size_sum');
    if (now === last) return;
    last = now;
  }
}

export async function saturationCurve(d: CurveDeps, seconds: number, rates: readonly number[] = CURVE_RATES) {
  const rows = [];
  for (const rate of rates) {
    await drained(d.engine);
    const before = await engineCounters(d.engine);
    const shedBefore = await shedOf(d.engine);
    const r = await fixedRate(d.kafka, d.codecs, d.topics, rate, seconds, `${d.runId}-c${rate}`, 'engine', d.measure);
    const delta = deltaOf(await engineCounters(d.engine), before);
    const shedAfter = await shedOf(d.engine);
    const shed = (k: string) => (shedAfter[k] ?? 0) - (shedBefore[k] ?? 0);
    const row = {
      offered_eps: rate,
      sent_eps: r.achieved_eps,
      sent: r.sent,
      decided: r.decided,
      decided_eps: r.decided_eps,
      // not read back within the phase's wait (30 s after the load): still in the engine's backlog
      undecided: r.sent - r.decided,
      p50_ms: r.p50_ms,
      p99_ms: r.p99_ms,
      p999_ms: r.p999_ms,
      max_ms: r.max_ms,
      degraded_decisions: r.degraded_decisions,
      decided_without_features: r.decided_without_features,
      degraded_by_reason: delta.degradedByReason,
      features_shed: { recorded: shed('true'), not_recorded: shed('false') },
      feature_capacity_eps: await metricOf(d.engine, 'fraud_features_capacity_events_per_second'),
      mean_batch_size: round(delta.events / Math.max(1, delta.batches), 1),
      parts_p50_p99_ms: r.parts_p50_p99_ms,
      cost: r.cost,
    };
    d.log(
      `   offered ${rate}/s: sent ${row.sent_eps}/s, decided ${row.decided_eps}/s (${row.undecided} undecided in the window), ` +
        `p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, p99.9 ${row.p999_ms} ms, ${row.degraded_decisions} degraded ` +
        `(${row.decided_without_features} without features) ${JSON.stringify(row.degraded_by_reason)}, shed ${JSON.stringify(row.features_shed)}, ` +
        `capacity ${row.feature_capacity_eps}/s, batch ${row.mean_batch_size}, machine ${r.cost.machine_busy_cores} cores busy`,
    );
    rows.push(row);
  }
  return rows;
}
