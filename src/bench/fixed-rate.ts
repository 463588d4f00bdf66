/**
 * A fixed-rate phase of the bench: the load generator as a separate process at `rate` events/s,
 * what the pipeline under test (the engine, or the passthrough: the floor) writes read back by a
 * separate consumer like the gateway's; end-to-end latency (event_time → output read), where it
 * goes, and what the phase cost each process (./phase-cpu.ts).
 */
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { AvroCodecs } from '../events/codec.js';
import { percentileNearestRank } from '../observability/percentiles.js';
import { round } from './engine-counters.js';
import { readFromNow, sleep } from './kafka.js';
import { loadArgs, startLoadGenerator, type LoadSummary } from './load-generator.js';
import { beginPhase, endPhase, type NamedPids, type PhaseCost } from './phase-cpu.js';

export interface BenchTopics {
  input: string;
  output: string;
  labels: string;
  dlq: string;
}

/** How a phase's CPU is measured: these processes (the reader is the bench's own: `bench`), Redis's commandstats. */
export interface PhaseMeasure {
  pids: NamedPids;
  redis: Redis;
  inScripts: ReadonlySet<string>;
}

/**
 * `pipeline`: what writes `topics.output`: the engine (decisions, split in parts from their own
 * fields) or the passthrough (the authorizations themselves, split at the output's timestamp).
 */
export async function fixedRate(
  kafka: Kafka,
  codecs: AvroCodecs,
  topics: BenchTopics,
  rate: number,
  seconds: number,
  runId: string,
  pipeline: 'engine' | 'passthrough',
  measure: PhaseMeasure,
) {
  const reader = kafka.consumer({ groupId: `${runId}-reader`, maxWaitTimeInMs: 10 });
  const received: { now: number; timestamp: number; value: Buffer }[] = [];
  let summary: LoadSummary, cost: PhaseCost;
  let startedAt = 0;
  // The reader stops however the phase ends (a load generator that fails must not leave it polling deleted topics).
  try {
    await readFromNow(
      reader,
      [topics.output],
      {
        // The time an output is read is when its fetch response arrives, not after this reader
        // has decoded the ones before it: the gateway's consumer sees the whole batch then.
        // Decoding waits for the end of the phase, so this reader's own speed stays out of the figures.
        eachBatch: async ({ batch }) => {
          const now = Date.now();
          for (const message of batch.messages)
            if (message.value) received.push({ now, timestamp: Number(message.timestamp), value: message.value });
        },
      },
      { pollMs: 50, settleMs: 1000 },
    );
    const phase = await beginPhase(measure.pids, measure.redis);
    startedAt = Date.now();
    summary = await startLoadGenerator(loadArgs({ rate, duration: seconds, runId, seed: rate }), {
      ...process.env,
      FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input,
      FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
    }).summary;
    const until = Date.now() + 30_000;
    while (received.length < summary.sent && Date.now() < until) await sleep(100);
    cost = await endPhase(phase, measure.redis, summary.sent, {
      inScripts: measure.inScripts,
      selfReported: { load_generator: summary.cpu_seconds },
    });
    await sleep(500); // stragglers: the count may include a late output of the phase before
  } finally {
    await reader.disconnect().catch(() => undefined);
  }

  const latencies: number[] = [];
  let lastRead = startedAt;
  let degraded = 0,
    withoutFeatures = 0;
  // Where an event's time goes. Engine: before the engine fetched it (load generator, broker,
  // fetch), in the engine up to the decision, and from there to the reader (encode, produce,
  // broker, fetch). Passthrough: up to its produce (the output's timestamp), then to the reader.
  const parts: Record<string, number[]> =
    pipeline === 'engine' ? { to_engine: [], engine: [], to_reader: [] } : { to_produce: [], to_reader: [] };
  for (const { now, timestamp, value } of received) {
    if (pipeline === 'engine') {
      const d = await codecs.decodeDecision(value);
      if (!d.auth_id.startsWith(runId)) continue;
      lastRead = Math.max(lastRead, now);
      latencies.push(now - d.event_time);
      if (d.degraded.length) degraded++;
      if (d.degraded.some((r) => r.startsWith('features_'))) withoutFeatures++;
      parts.to_engine!.push(d.decided_time - d.engine_latency_ms - d.event_time);
      parts.engine!.push(d.engine_latency_ms);
      parts.to_reader!.push(now - d.decided_time);
    } else {
      const a = await codecs.decodeAuthorization(value);
      if (!a.auth_id.startsWith(runId)) continue;
      lastRead = Math.max(lastRead, now);
      latencies.push(now - a.event_time);
      parts.to_produce!.push(timestamp - a.event_time);
      parts.to_reader!.push(now - timestamp);
    }
  }
  const s = latencies.sort((a, b) => a - b);
  return {
    rate_eps: rate,
    achieved_eps: Math.round(summary.sent / summary.seconds),
    decided: s.length,
    // what the pipeline put out: its outputs read from the load's start to the last one read
    decided_eps: Math.round(s.length / Math.max(1e-3, (lastRead - startedAt) / 1000)),
    sent: summary.sent,
    p50_ms: round(percentileNearestRank(s, 50)),
    p99_ms: round(percentileNearestRank(s, 99)),
    p999_ms: round(percentileNearestRank(s, 99.9)),
    max_ms: round(s[s.length - 1] ?? NaN),
    // from the decisions read (exact; the engine's counter counts a decision once per reason)
    ...(pipeline === 'engine' ? { degraded_decisions: degraded, decided_without_features: withoutFeatures } : {}),
    parts_p50_p99_ms: Object.fromEntries(
      Object.entries(parts).map(([k, v]) => {
        const sorted = v.sort((a, b) => a - b);
        return [k, [round(percentileNearestRank(sorted, 50), 1), round(percentileNearestRank(sorted, 99), 1)]];
      }),
    ),
    cost,
  };
}
