/**
 * A fixed-rate phase of the bench: the load generator as a separate process at `rate` events/s,
 * the decisions read back by a separate consumer like the gateway's; end-to-end latency
 * (event_time → decision read) and where it goes.
 */
import type { Kafka } from 'kafkajs';
import type { AvroCodecs } from '../events/codec.js';
import { percentileNearestRank } from '../observability/percentiles.js';
import { round } from './engine-counters.js';
import { readFromNow, sleep } from './kafka.js';
import { loadArgs, startLoadGenerator } from './load-generator.js';

export interface BenchTopics {
  input: string;
  output: string;
  labels: string;
  dlq: string;
}

export async function fixedRate(
  kafka: Kafka,
  codecs: AvroCodecs,
  topics: BenchTopics,
  rate: number,
  seconds: number,
  runId: string,
) {
  const reader = kafka.consumer({ groupId: `${runId}-reader`, maxWaitTimeInMs: 10 });
  const latencies: number[] = [];
  // where an event's time goes: before the engine fetched it (load generator, broker, fetch),
  // in the engine up to the decision, and from there to the reader (encode, produce, broker, fetch)
  const upstream: number[] = [];
  const inEngine: number[] = [];
  const downstream: number[] = [];
  const received: { now: number; value: Buffer }[] = [];
  await readFromNow(
    reader,
    [topics.output],
    {
      // The time a decision is read is when its fetch response arrives, not after this reader
      // has decoded the ones before it: the gateway's consumer sees the whole batch then.
      // Decoding waits for the end of the phase, so this reader's own speed stays out of the figures.
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) if (message.value) received.push({ now, value: message.value });
      },
    },
    { pollMs: 50, settleMs: 1000 },
  );
  const summary = await startLoadGenerator(loadArgs({ rate, duration: seconds, runId, seed: rate }), {
    ...process.env,
    FRAUD_KAFKA_TOPIC_AUTHORIZATIONS: topics.input,
    FRAUD_KAFKA_TOPIC_LABELS: topics.labels,
  }).summary;
  const until = Date.now() + 30_000;
  while (received.length < summary.sent && Date.now() < until) await sleep(100);
  await sleep(500); // stragglers: the count may include a late decision of the phase before
  await reader.disconnect();
  for (const { now, value } of received) {
    const d = await codecs.decodeDecision(value);
    if (!d.auth_id.startsWith(runId)) continue;
    latencies.push(now - d.event_time);
    upstream.push(d.decided_time - d.engine_latency_ms - d.event_time);
    inEngine.push(d.engine_latency_ms);
    downstream.push(now - d.decided_time);
  }
  const s = latencies.sort((a, b) => a - b);
  return {
    rate_eps: rate,
    achieved_eps: Math.round(summary.sent / summary.seconds),
    decided: s.length,
    sent: summary.sent,
    p50_ms: round(percentileNearestRank(s, 50)),
    p99_ms: round(percentileNearestRank(s, 99)),
    p999_ms: round(percentileNearestRank(s, 99.9)),
    max_ms: round(s[s.length - 1] ?? NaN),
    parts_p50_p99_ms: Object.fromEntries(
      Object.entries({ to_engine: upstream, engine: inEngine, to_reader: downstream }).map(([k, v]) => {
        const sorted = v.sort((a, b) => a - b);
        return [k, [round(percentileNearestRank(sorted, 50), 1), round(percentileNearestRank(sorted, 99), 1)]];
      }),
    ),
  };
}
