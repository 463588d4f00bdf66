/**
 * The Kafka edge of the decision pipeline, a handler of the shared batch loop
 * (src/kafka/batch-loop.ts): each partition chunk of `authorizations` is decoded (only the
 * topic's own schema ids) and validated; the chunks handed in together are merged (see
 * ./coalescer.ts) into one DecisionEngine batch whose decisions, keyed by card token, go out in
 * one acknowledged send; the loop then dead-letters what was refused and commits the offsets.
 * At-least-once: a crash before the commit re-delivers the batch; the decision memo answers a
 * redelivered event with its first decision, byte for byte, and refuses a reused auth id.
 */
import type { Consumer, KafkaMessage, Message, Producer } from 'kafkajs';
import type { EngineConfig } from '../../config/config.js';
import type { Logger } from 'pino';
import type { AuthorizationEvent, Decision } from '../../events/types.js';
import { DecodeError, type AvroCodecs } from '../../events/codec.js';
import { msToSeconds, type Metrics } from '../../observability/metrics.js';
import { LoopRunner, reasonLabel, wiredLoop, type ChunkResult, type LoopChunk } from '../../kafka/batch-loop.js';
import type { DeadLetter } from '../../kafka/dead-letter.js';
import { sendBatchComplete } from '../../kafka/complete-send.js';
import type { DecisionEngine } from './engine.js';
import { payloadHash, type DecisionMemo, type MemoEntry } from '../../features/decision-memo.js';
import { packDecision, unpackDecision } from '../../features/decision-memo-codec.js';
import { validateAuthorization } from './validate.js';
import { Coalescer } from './coalescer.js';

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
  /** Redelivered auth ids get their first decision back, byte for byte; reused ones are refused. */
  memo?: DecisionMemo;
  topics: RunnerTopics;
  log: Logger;
  metrics: Metrics;
  maxBatch: number;
  maxMessageBytes: number;
  /** How far ahead of the clock an event_time may be (ms). */
  maxFutureMs?: number;
  partitionsConsumedConcurrently?: number;
  /** Merged batches (see ./coalescer.ts) decided at once, at most (default 3). */
  coalescedConcurrently?: number;
  /**
   * Called when the consumer keeps crashing for good (see kafka/consumer-supervisor.ts): `run`
   * exits non-zero for its supervisor.
   */
  onFatal?: (err: Error) => void;
}

/** The runner's topics and bounds from the configuration (`kafka.topic_*`, `engine.*`). */
export function runnerSettingsOf(
  cfg: EngineConfig,
): Pick<
  RunnerOptions,
  'topics' | 'maxBatch' | 'partitionsConsumedConcurrently' | 'coalescedConcurrently' | 'maxMessageBytes' | 'maxFutureMs'
> {
  return {
    topics: {
      authorizations: cfg.kafka.topic_authorizations,
      decisions: cfg.kafka.topic_decisions,
      dlq: cfg.kafka.topic_dlq,
    },
    maxBatch: cfg.engine.max_batch,
    partitionsConsumedConcurrently: cfg.engine.partitions_concurrently,
    coalescedConcurrently: cfg.engine.batches_in_flight,
    maxMessageBytes: cfg.engine.max_message_bytes,
    maxFutureMs: cfg.engine.max_future_skew_ms,
  };
}

/** One partition's chunk, decoded: what the coalescer merges. */
interface DecodedChunk {
  events: AuthorizationEvent[];
  /** Aligned with events: the message and the hash of its payload. */
  messages: KafkaMessage[];
  hashes: Buffer[];
  fetchedAt: number;
  /** Filled by the merged batch: events refused there (a reused auth id). */
  refused: DeadLetter[];
}

export class KafkaDecisionRunner extends LoopRunner {
  private readonly coalescer: Coalescer<DecodedChunk>;
  private memoWarnedAt = 0;
  decided = 0;

  constructor(private readonly o: RunnerOptions) {
    super({
      name: 'authorizations',
      ...wiredLoop(o, o.topics.authorizations, o.topics.dlq, o.maxMessageBytes),
      maxChunk: o.maxBatch,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 3,
      // A synthetic event decided without features: fails when the engine itself is broken
      // (model, rules, a bug), in which case nothing is dead-lettered.
      probe: () => o.engine.warmUp(1),
      onDeadLetter: (reason) => o.metrics.dlq.inc({ reason: reasonLabel(reason) }),
    });
    // Merged batches in flight at once: as many as kafkajs would have run partition batches
    // (the merged ones are fuller, so usually one).
    this.coalescer = new Coalescer(o.maxBatch, o.coalescedConcurrently ?? 3, (chunks) => this.decideAndProduce(chunks));
  }

  /** Decodes and validates one partition's chunk, then hands it to the coalescer. */
  protected async handle(chunk: LoopChunk): Promise<ChunkResult> {
    const { metrics, codecs } = this.o;
    const t = performance.now();
    const now = Date.now();
    const part: DecodedChunk = { events: [], messages: [], hashes: [], fetchedAt: chunk.fetchedAt, refused: [] };
    const dead: DeadLetter[] = [];
    for (const m of chunk.messages) {
      if (m.value && m.value.length > this.o.maxMessageBytes) {
        dead.push({ reason: 'oversized_payload', message: m });
        continue;
      }
      let ev: AuthorizationEvent;
      try {
        ev = await codecs.decodeAuthorization(m.value);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        dead.push({ reason: err.reason, message: m });
        continue;
      }
      const invalid = validateAuthorization(ev, { now, maxFutureMs: this.o.maxFutureMs });
      if (invalid) {
        dead.push({ reason: invalid, message: m });
        continue;
      }
      part.events.push(ev);
      part.messages.push(m);
      part.hashes.push(payloadHash(m.value!));
    }
    metrics.stageLatency.observe({ stage: 'decode' }, msToSeconds(performance.now() - t));
    // A message retried alone after its merged batch failed is decided alone: merged again, a
    // poison message would fail its neighbours from other partitions too.
    if (part.events.length)
      await (chunk.isolated ? this.decideAndProduce([part]) : this.coalescer.submit(part, part.events.length));
    return { dead: dead.concat(part.refused) };
  }

  /**
   * Decides the valid events of the chunks merged by the coalescer as one batch (one Redis
   * round trip, one model run) and produces their decisions in one acknowledged send.
   */
  private async decideAndProduce(chunks: DecodedChunk[]): Promise<void> {
    const { metrics, codecs } = this.o;
    const events = chunks.length === 1 ? chunks[0]!.events : chunks.flatMap((c) => c.events);
    const hashes = chunks.length === 1 ? chunks[0]!.hashes : chunks.flatMap((c) => c.hashes);
    const fetchedAt = Math.min(...chunks.map((c) => c.fetchedAt));
    metrics.batchSize.observe(events.length);

    // The memo first: a redelivered event is answered from it, and a reused auth id is refused
    // before its event touches any feature.
    const memo = this.o.memo;
    const recalled = memo ? await memo.recall(events.map((e) => e.auth_id)).catch(() => null) : null;
    const remembered = recalled && restoreRemembered(recalled, events, hashes, (d) => codecs.encodeDecision(d));
    const plan = planBatch(events, hashes, remembered);
    const refused = new Set(plan.reused);
    if (plan.reused.length) {
      let i = 0;
      for (const c of chunks) {
        for (let j = 0; j < c.events.length; j++, i++)
          if (refused.has(i)) c.refused.push({ reason: 'auth_id_reused', message: c.messages[j]! });
      }
    }

    const { decisions } = await this.o.engine.decideBatch(
      plan.fresh.map((i) => events[i]!),
      fetchedAt,
    );
    let t = performance.now();
    const values: (Buffer | null)[] = new Array(events.length).fill(null);
    const toRemember: ({ authId: string } & MemoEntry)[] = [];
    for (let k = 0; k < decisions.length; k++) {
      const i = plan.fresh[k]!;
      const value = codecs.encodeDecision(decisions[k]!);
      values[i] = value;
      toRemember.push({
        authId: events[i]!.auth_id,
        hash: hashes[i]!,
        value: packDecision(decisions[k]!, events[i]!, value),
      });
    }
    for (const [i, entry] of plan.remembered) values[i] = entry.value;
    for (const [i, first] of plan.sameAs) values[i] = values[first]!;
    const out: Message[] = [];
    for (let i = 0; i < events.length; i++) {
      const value = values[i];
      if (value) out.push({ key: events[i]!.card_token, value });
    }
    const redelivered = plan.remembered.size + plan.sameAs.size;
    if (redelivered > 0) metrics.redelivered.inc(redelivered);
    metrics.stageLatency.observe({ stage: 'encode' }, msToSeconds(performance.now() - t));

    // The memo write runs beside the produce; both finish before the offsets are resolved.
    // (A crash between the broker's ack and the memo write recomputes those decisions.)
    t = performance.now();
    const remembering =
      memo && toRemember.length ? memo.remember(toRemember).catch((err: Error) => this.memoUnavailable(err)) : null;
    if (out.length)
      await sendBatchComplete(
        this.o.producer,
        { acks: -1, topicMessages: [{ topic: this.o.topics.decisions, messages: out }] },
        (n) => this.o.log.warn({ messages: n }, 'kafka dropped a partition of a send (a leader moved): sent again'),
      );
    await remembering;
    const ackedAt = Date.now();
    metrics.stageLatency.observe({ stage: 'produce' }, msToSeconds(performance.now() - t));
    this.record(decisions, ackedAt, performance.now() - fetchedAt);
  }

  /** Logged at most every 10 s: during a Redis outage every batch would say it. */
  private memoUnavailable(err: Error): void {
    const now = Date.now();
    if (now - this.memoWarnedAt < 10_000) return;
    this.memoWarnedAt = now;
    this.o.log.warn({ err }, 'decision memo unavailable (redeliveries are recomputed meanwhile)');
  }

  private record(decisions: Decision[], ackedAt: number, engineMs: number): void {
    const { metrics } = this.o;
    // Outcomes counted per batch: one counter update each instead of one per decision.
    let approve = 0,
      review = 0,
      decline = 0;
    const engineSeconds = msToSeconds(engineMs);
    for (const d of decisions) {
      if (d.outcome === 'APPROVE') approve++;
      else if (d.outcome === 'REVIEW') review++;
      else decline++;
      metrics.e2eLatency.observe(msToSeconds(ackedAt - d.event_time));
      metrics.engineLatency.observe(engineSeconds);
    }
    if (approve) metrics.decisions.inc({ outcome: 'APPROVE' }, approve);
    if (review) metrics.decisions.inc({ outcome: 'REVIEW' }, review);
    if (decline) metrics.decisions.inc({ outcome: 'DECLINE' }, decline);
    this.decided += decisions.length;
  }
}

export interface BatchPlan {
  /** Indices to decide. */
  fresh: number[];
  /** Index → its remembered decision (a redelivery of the same payload). */
  remembered: Map<number, MemoEntry>;
  /** Index → the earlier index of the same auth id and payload in this batch. */
  sameAs: Map<number, number>;
  /** Indices whose auth id was decided on another payload: refused. */
  reused: number[];
}

/**
 * The memo's answers with each redelivery's decision restored to its wire bytes (the memo holds
 * it packed, ../../features/decision-memo-codec.ts). One that cannot be restored exactly is
 * decided again, as if it had expired; an entry of another payload (a reused auth id) is left
 * for planBatch to refuse.
 */
export function restoreRemembered(
  recalled: readonly (MemoEntry | null)[],
  events: readonly AuthorizationEvent[],
  hashes: readonly Buffer[],
  encode: (d: Decision) => Buffer,
): (MemoEntry | null)[] {
  return recalled.map((e, i) => {
    if (!e || !e.hash.equals(hashes[i]!)) return e;
    const wire = unpackDecision(e.value, events[i]!, encode);
    return wire ? { hash: e.hash, value: wire } : null;
  });
}

/** What to do with each event of a batch, given the memo's answers (null: memo unavailable). */
export function planBatch(
  events: readonly AuthorizationEvent[],
  hashes: readonly Buffer[],
  remembered: readonly (MemoEntry | null)[] | null,
): BatchPlan {
  const plan: BatchPlan = { fresh: [], remembered: new Map(), sameAs: new Map(), reused: [] };
  const firstOf = new Map<string, number>();
  for (let i = 0; i < events.length; i++) {
    const id = events[i]!.auth_id;
    const before = remembered?.[i];
    if (before) {
      if (before.hash.equals(hashes[i]!)) plan.remembered.set(i, before);
      else plan.reused.push(i);
      continue;
    }
    const first = firstOf.get(id);
    if (first === undefined) {
      firstOf.set(id, i);
      plan.fresh.push(i);
    } else if (hashes[first]!.equals(hashes[i]!)) plan.sameAs.set(i, first);
    else plan.reused.push(i);
  }
  return plan;
}
