/**
 * The Kafka edge of the decision pipeline: consumes `authorizations` per fetched batch,
 * decodes and validates each partition's chunk, merges the chunks handed in together (see
 * ./coalescer.ts) into one DecisionEngine batch, produces its decisions (keyed by card
 * token) and dead letters in one acknowledged send, then commits each partition's offsets. At-least-once: a crash before the commit re-delivers the batch, the
 * feature store ignores auth ids it has seen, and the decision is recomputed.
 */
import type { Consumer, EachBatchPayload, Producer, Message, IHeaders } from 'kafkajs';
import type { Logger } from 'pino';
import type { AuthorizationEvent, Decision } from '../../events/types.js';
import { DecodeError, type AvroCodecs } from '../../events/codec.js';
import { looksLikePan } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { superviseConsumer, type ConsumerSupervisor } from '../../kafka/consumer-supervisor.js';
import type { DecisionEngine } from './engine.js';
import type { DecisionMemo } from './memo.js';
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
  /** Redelivered auth ids get their first decision back, byte for byte. */
  memo?: DecisionMemo;
  topics: RunnerTopics;
  log: Logger;
  metrics: Metrics;
  maxBatch: number;
  maxMessageBytes: number;
  partitionsConsumedConcurrently?: number;
  /** Merged batches (see ./coalescer.ts) decided at once, at most (default 3). */
  coalescedConcurrently?: number;
  /**
   * Called when the consumer keeps crashing for good (non-retriable errors, run again a few
   * times, see kafka/consumer-supervisor.ts): `run` exits non-zero for its supervisor.
   */
  onFatal?: (err: Error) => void;
}

interface DeadLetter {
  reason: string;
  message: { key: Buffer | null; value: Buffer | null; offset: string; headers?: IHeaders };
}

/** One partition's chunk, decoded: what the coalescer merges. */
interface DecodedChunk {
  topic: string;
  partition: number;
  events: AuthorizationEvent[];
  dead: DeadLetter[];
  fetchedAt: number;
}

export class KafkaDecisionRunner {
  private assigned = 0;
  private running = false;
  private memoWarnedAt = 0;
  private supervisor: ConsumerSupervisor | null = null;
  private readonly coalescer: Coalescer<DecodedChunk>;
  decided = 0;
  deadLettered = 0;

  constructor(private readonly o: RunnerOptions) {
    // Merged batches in flight at once: as many as kafkajs would have run partition batches
    // (the merged ones are fuller, so usually one).
    this.coalescer = new Coalescer(o.maxBatch, o.coalescedConcurrently ?? 3, (chunks) => this.decideAndProduce(chunks));
  }

  get isAssigned(): boolean { return this.assigned > 0; }
  get isRunning(): boolean { return this.running; }

  async start(): Promise<void> {
    const { consumer, topics } = this.o;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const mine = (e.payload.memberAssignment[topics.authorizations] ?? []) as number[];
      this.assigned = mine.length;
      this.running = true;
      this.o.log.info({ partitions: mine }, 'joined consumer group');
    });
    // kafkajs restarts the consumer itself after a retriable failure (broker gone, retries
    // exhausted, an error thrown by a batch): the batch in flight was not committed and is
    // delivered again. After a non-retriable one the supervisor below runs it again, and
    // gives up (onFatal) if it keeps crashing.
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      this.running = false;
      this.assigned = 0;
      if (restart) this.o.log.warn({ err: error.message, restart }, 'consumer crashed; kafkajs restarts it, uncommitted batches are redelivered');
      else this.o.log.error({ err: error.message, restart }, 'consumer crashed and kafkajs will not restart it');
    });
    await consumer.subscribe({ topic: topics.authorizations, fromBeginning: true });
    this.running = true;
    // Offsets are resolved only after the batch's decisions are acknowledged; kafkajs then
    // commits them after every chunk (no interval or threshold) and, on stop, before it
    // leaves the group, so a graceful shutdown re-delivers nothing.
    const run = () => consumer.run({
      autoCommit: true,
      autoCommitInterval: null,
      autoCommitThreshold: null,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.supervisor = superviseConsumer(consumer, { name: 'authorizations', log: this.o.log, run, onFatal: (err) => this.o.onFatal?.(err) });
    await run();
  }

  /** Stops fetching, lets the batch in flight finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    this.supervisor?.stop();
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
      await p.commitOffsetsIfNecessary();
      await p.heartbeat();
    }
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, 0);
  }

  /** Decodes and validates one partition's chunk, then hands it to the coalescer. */
  private async processChunk(topic: string, partition: number, messages: EachBatchPayload['batch']['messages'], fetchedAt: number): Promise<void> {
    const { metrics, codecs } = this.o;
    const t = performance.now();
    const events: AuthorizationEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const m of messages) {
      if (m.value && m.value.length > this.o.maxMessageBytes) { dead.push({ reason: 'oversized_payload', message: m }); continue; }
      try {
        const ev = await codecs.decode<AuthorizationEvent>(m.value);
        const invalid = validateAuthorization(ev) ?? panInIdentifier(ev);
        if (invalid) dead.push({ reason: invalid, message: m });
        else events.push(ev);
      } catch (err) {
        dead.push({ reason: err instanceof DecodeError ? err.reason : 'decode_error', message: m });
      }
    }
    metrics.stageLatency.observe({ stage: 'decode' }, performance.now() - t);
    await this.coalescer.submit({ topic, partition, events, dead, fetchedAt }, events.length);
  }

  /**
   * Decides the valid events of the chunks merged by the coalescer as one batch (one Redis
   * round trip, one model run) and produces their decisions and dead letters in one
   * acknowledged send.
   */
  private async decideAndProduce(chunks: DecodedChunk[]): Promise<void> {
    const { metrics, codecs } = this.o;
    const events = chunks.length === 1 ? chunks[0]!.events : chunks.flatMap((c) => c.events);
    const fetchedAt = Math.min(...chunks.map((c) => c.fetchedAt));
    metrics.batchSize.observe(events.length);

    // The memo lookup runs beside the feature round trip, so it adds no latency.
    const memo = this.o.memo;
    const [{ decisions }, remembered] = await Promise.all([
      this.o.engine.decideBatch(events, fetchedAt),
      memo ? memo.recall(events.map((e) => e.auth_id)).catch(() => null) : Promise.resolve(null),
    ]);

    let t = performance.now();
    const fresh: { authId: string; value: Buffer }[] = [];
    const out: Message[] = decisions.map((d, i) => {
      const before = remembered?.[i];
      if (before) return { key: d.card_token, value: before };
      const value = codecs.encodeDecision(d);
      fresh.push({ authId: d.auth_id, value });
      return { key: d.card_token, value };
    });
    const redelivered = decisions.length - fresh.length;
    if (redelivered > 0) metrics.redelivered.inc(redelivered);
    metrics.stageLatency.observe({ stage: 'encode' }, performance.now() - t);

    // The memo write runs beside the produce; both finish before the offsets are resolved.
    // (A crash between the broker's ack and the memo write recomputes those decisions.)
    t = performance.now();
    const topicMessages = [{ topic: this.o.topics.decisions, messages: out }];
    // Dead letters go in requests of bounded size: a partition's record batch over the broker's
    // message.max.bytes fails that partition alone, and kafkajs then rewinds the idempotent
    // sequence numbers of the whole request (out-of-order sequence, a fatal crash).
    const dead = chunks.flatMap((c) => c.dead.map((d) => deadLetter(d, c.topic, c.partition, this.o.maxMessageBytes)));
    const letters = bySize(dead, DLQ_REQUEST_BYTES);
    if (letters.length) topicMessages.push({ topic: this.o.topics.dlq, messages: letters.shift()! });
    const remembering = memo && fresh.length ? memo.remember(fresh).catch((err: Error) => this.memoUnavailable(err)) : null;
    await this.o.producer.sendBatch({ acks: -1, topicMessages });
    for (const more of letters) await this.o.producer.sendBatch({ acks: -1, topicMessages: [{ topic: this.o.topics.dlq, messages: more }] });
    await remembering;
    const ackedAt = Date.now();
    metrics.stageLatency.observe({ stage: 'produce' }, performance.now() - t);

    this.record(decisions, ackedAt, performance.now() - fetchedAt);
    for (const c of chunks) for (const d of c.dead) metrics.dlq.inc({ reason: d.reason.split(':').slice(0, 2).join(':') });
    this.deadLettered += dead.length;
  }

  /** Logged at most every 10 s: during a Redis outage every batch would say it. */
  private memoUnavailable(err: Error): void {
    const now = Date.now();
    if (now - this.memoWarnedAt < 10_000) return;
    this.memoWarnedAt = now;
    this.o.log.warn({ err: err.message }, 'decision memo unavailable (redeliveries are recomputed meanwhile)');
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
 * For dead letters: a card-number-shaped run of digits (13-19, Luhn-valid, see the logger)
 * also when glued to letters ("x4111…", or an Avro length byte that happens to be a letter):
 * letters become boundaries here. Withholding too much is safe; missing a PAN is not.
 */
function panLike(text: string): boolean {
  return text.length >= 13 && looksLikePan(text.replace(/[A-Za-z_]/g, '.'));
}

/**
 * Identifiers are stored (Redis features) and emitted (decisions): a card number in one of
 * them is refused like a PAN in the card token. Free text (description) is neither stored
 * nor emitted, so it may hold anything; logs mask it. Here a card number is a digit run
 * delimited like a word (the logger's rule), not one glued to letters: hex tokens and hashes
 * hold 13+ digit runs that pass Luhn often enough (0.7 % of the simulator's email hashes)
 * to refuse good traffic.
 */
const PAN_CHECKED_FIELDS = ['card_token', 'auth_id', 'customer_id', 'terminal_id', 'merchant_id', 'device_id', 'ip', 'email_hash', 'mcc', 'country'] as const;
function panInIdentifier(ev: AuthorizationEvent): string | null {
  for (const k of PAN_CHECKED_FIELDS) {
    const v = ev[k];
    if (typeof v === 'string' && v.length >= 13 && looksLikePan(v)) return k === 'card_token' ? 'pan_in_card_token' : `pan_in_identifier:${k}`;
  }
  return null;
}

/** Dead-letter bytes per produce request at most (the broker's default message.max.bytes is 1 MiB). */
const DLQ_REQUEST_BYTES = 512 * 1024;

function bySize(messages: Message[], maxBytes: number): Message[][] {
  const groups: Message[][] = [];
  let size = Infinity;
  for (const m of messages) {
    const bytes = 64 + (m.value?.length ?? 0) + (m.key?.length ?? 0);
    if (size + bytes > maxBytes) { groups.push([]); size = 0; }
    groups[groups.length - 1]!.push(m);
    size += bytes;
  }
  return groups;
}

function hasPan(b: Buffer | string | (Buffer | string)[] | undefined | null): boolean {
  if (b === null || b === undefined) return false;
  if (Array.isArray(b)) return b.some(hasPan);
  return panLike(typeof b === 'string' ? b : b.toString('latin1'));
}

/**
 * A dead letter keeps the original bytes and says why in headers. A payload, key or header
 * that contains something shaped like a card number is withheld (the whole message: bytes,
 * key and original headers): no PAN is stored, even in the DLQ. An oversized payload is not
 * copied either (dlq.source points at it in the input topic).
 */
function deadLetter(d: DeadLetter, topic: string, partition: number, maxBytes: number): Message {
  const raw = d.message.value;
  const headers = d.message.headers ?? {};
  const oversized = raw !== null && raw.length > maxBytes;
  const pan = hasPan(d.message.key) || Object.values(headers).some((h) => hasPan(h)) || (!oversized && hasPan(raw));
  const withheld = pan ? 'withheld:pan_like_content' : oversized ? 'withheld:oversized' : null;
  return {
    key: pan ? null : d.message.key,
    value: withheld ? null : raw,
    headers: {
      ...(pan ? {} : headers),
      'dlq.reason': d.reason,
      'dlq.source': `${topic}/${partition}/${d.message.offset}`,
      'dlq.time': new Date().toISOString(),
      ...(withheld ? { 'dlq.payload': withheld } : {}),
      ...(oversized ? { 'dlq.size': String(raw.length) } : {}),
    },
  };
}
