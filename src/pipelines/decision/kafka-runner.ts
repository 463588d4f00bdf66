/**
 * The Kafka edge of the decision pipeline: consumes `authorizations` per fetched batch,
 * decodes and validates, hands valid events to the DecisionEngine, produces decisions
 * (keyed by card token) and dead letters in one acknowledged send, then commits the
 * batch's offsets. At-least-once: a crash before the commit re-delivers the batch, the
 * feature store ignores auth ids it has seen, and the decision is recomputed.
 */
import type { Consumer, EachBatchPayload, Producer, Message, IHeaders } from 'kafkajs';
import type { Logger } from 'pino';
import type { AuthorizationEvent, Decision } from '../../events/types.js';
import { DecodeError, type AvroCodecs } from '../../events/codec.js';
import { looksLikePan } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { DecisionEngine } from './engine.js';
import type { DecisionMemo } from './memo.js';
import { validateAuthorization } from './validate.js';

export interface RunnerTopics {
  authorizations: string;
  decisions: string;
  dlq: string;
}

export interface RunnerOptions {
  consumer: Consumer;
  producer: Producer;
  codecs: AvroCodecs;
  engine: DecisionEngine;
  /** Redelivered auth ids get their first decision back, byte for byte. */
  memo?: DecisionMemo;
  topics: RunnerTopics;
  log: Logger;
  metrics: Metrics;
  maxBatch: number;
  maxMessageBytes: number;
  partitionsConsumedConcurrently?: number;
}

interface DeadLetter {
  reason: string;
  message: { key: Buffer | null; value: Buffer | null; offset: string; headers?: IHeaders };
}

export class KafkaDecisionRunner {
  private assigned = 0;
  private running = false;
  decided = 0;
  deadLettered = 0;

  constructor(private readonly o: RunnerOptions) {}

  get isAssigned(): boolean { return this.assigned > 0; }
  get isRunning(): boolean { return this.running; }

  async start(): Promise<void> {
    const { consumer, topics } = this.o;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const mine = (e.payload.memberAssignment[topics.authorizations] ?? []) as number[];
      this.assigned = mine.length;
      this.o.log.info({ partitions: mine }, 'joined consumer group');
    });
    consumer.on(consumer.events.CRASH, (e) => this.o.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed'));
    await consumer.subscribe({ topic: topics.authorizations, fromBeginning: true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Stops fetching, lets the batch in flight finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    await this.o.consumer.disconnect();
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const { metrics } = this.o;
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
    for (let start = 0; start < batch.messages.length; start += this.o.maxBatch) {
      if (!p.isRunning() || p.isStale()) return;
      const chunk = batch.messages.slice(start, start + this.o.maxBatch);
      const fetchedAt = performance.now();
      await this.processChunk(batch.topic, batch.partition, chunk, fetchedAt);
      const last = chunk[chunk.length - 1]!.offset;
      p.resolveOffset(last);
      await this.o.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      await p.heartbeat();
    }
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, 0);
  }

  private async processChunk(topic: string, partition: number, messages: EachBatchPayload['batch']['messages'], fetchedAt: number): Promise<void> {
    const { metrics, codecs } = this.o;
    let t = performance.now();
    const events: AuthorizationEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const m of messages) {
      if (m.value && m.value.length > this.o.maxMessageBytes) { dead.push({ reason: 'oversized_payload', message: m }); continue; }
      try {
        const ev = await codecs.decode<AuthorizationEvent>(m.value);
        const invalid = validateAuthorization(ev);
        if (invalid) dead.push({ reason: invalid, message: m });
        else events.push(ev);
      } catch (err) {
        dead.push({ reason: err instanceof DecodeError ? err.reason : 'decode_error', message: m });
      }
    }
    metrics.stageLatency.observe({ stage: 'decode' }, performance.now() - t);
    metrics.batchSize.observe(events.length);

    // The memo lookup runs beside the feature round trip, so it adds no latency.
    const memo = this.o.memo;
    const [{ decisions }, remembered] = await Promise.all([
      this.o.engine.decideBatch(events, fetchedAt),
      memo ? memo.recall(events.map((e) => e.auth_id)).catch(() => null) : Promise.resolve(null),
    ]);

    t = performance.now();
    const fresh: { authId: string; value: Buffer }[] = [];
    const out: Message[] = await Promise.all(decisions.map(async (d, i) => {
      const before = remembered?.[i];
      if (before) return { key: d.card_token, value: before };
      const value = await codecs.encodeDecision(d);
      fresh.push({ authId: d.auth_id, value });
      return { key: d.card_token, value };
    }));
    const redelivered = decisions.length - fresh.length;
    if (redelivered > 0) metrics.redelivered.inc(redelivered);
    // Remembered before it is produced: a crash after the send still finds it.
    if (memo && fresh.length) await memo.remember(fresh).catch((err: Error) => this.o.log.warn({ err: err.message }, 'decision memo unavailable'));
    metrics.stageLatency.observe({ stage: 'encode' }, performance.now() - t);

    t = performance.now();
    const topicMessages = [{ topic: this.o.topics.decisions, messages: out }];
    if (dead.length) topicMessages.push({ topic: this.o.topics.dlq, messages: dead.map((d) => deadLetter(d, topic, partition)) });
    await this.o.producer.sendBatch({ acks: -1, topicMessages });
    const ackedAt = Date.now();
    metrics.stageLatency.observe({ stage: 'produce' }, performance.now() - t);

    this.record(decisions, ackedAt, performance.now() - fetchedAt);
    for (const d of dead) metrics.dlq.inc({ reason: d.reason.split(':').slice(0, 2).join(':') });
    this.deadLettered += dead.length;
  }

  private record(decisions: Decision[], ackedAt: number, engineMs: number): void {
    const { metrics } = this.o;
    for (const d of decisions) {
      metrics.decisions.inc({ outcome: d.outcome });
      metrics.e2eLatency.observe(ackedAt - d.event_time);
      metrics.engineLatency.observe(engineMs);
    }
    this.decided += decisions.length;
  }
}

/**
 * A dead letter keeps the original bytes and says why in headers. A payload that contains
 * something shaped like a card number is withheld: no PAN is stored, even in the DLQ.
 */
function deadLetter(d: DeadLetter, topic: string, partition: number): Message {
  const raw = d.message.value;
  const withheld = raw !== null && looksLikePan(raw.toString('latin1'));
  return {
    key: d.message.key,
    value: withheld ? null : raw,
    headers: {
      ...(d.message.headers ?? {}),
      'dlq.reason': d.reason,
      'dlq.source': `${topic}/${partition}/${d.message.offset}`,
      'dlq.time': new Date().toISOString(),
      ...(withheld ? { 'dlq.payload': 'withheld:pan_like_content' } : {}),
    },
  };
}
