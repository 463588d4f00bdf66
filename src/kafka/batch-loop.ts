/**
 * The one Kafka batch-consumer loop of every runner (decisions, labels, audit): subscribe, take
 * each fetched partition batch in chunks, hand a chunk to the runner's handler, dead-letter what
 * it refused, then resolve and commit the chunk's offsets, heartbeat and report the lag.
 *
 * No single message can stop a partition:
 * - the handler returns the messages it refuses (decode, validation) as dead letters;
 * - a handler that throws a transient error (broker, Redis or PostgreSQL away) is retried with
 *   back-off, holding the partition and heartbeating: nothing is skipped while a service is down;
 * - any other error, or a handler over its budget, is either the handler's (a bug, a broken
 *   dependency: the probe fails too) — then the consumer crashes and is supervised as before
 *   (kafka/consumer-supervisor.ts), committing nothing — or the messages': the chunk is handled
 *   again one message at a time, and a message that still fails alone (`maxAttempts` times) is
 *   dead-lettered with the reason while the rest of the chunk goes on.
 */
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { superviseConsumer, type ConsumerSupervisor } from './consumer-supervisor.js';
import { CommitBatcher } from './commit-batcher.js';
import { DeadLetterSink, type DeadLetter } from './dead-letter.js';
import { isTransient } from './errors.js';

export interface LoopChunk {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** performance.now() when the chunk was taken from the fetch. */
  fetchedAt: number;
  /** One message handled alone after its chunk failed: not to be merged with other work. */
  isolated?: boolean;
}

export interface ChunkResult {
  /** Messages refused by the handler, with their reasons. */
  dead: DeadLetter[];
}

/** Thrown by a handler for a chunk of one message: refuse it with this reason (no retry). */
export class PoisonError extends Error {
  constructor(
    readonly reason: string,
    detail = reason,
  ) {
    super(detail);
  }
}

class BudgetExceeded extends Error {}

export interface BatchLoopOptions {
  /** For logs and the supervisor: which consumer. */
  name: string;
  consumer: Consumer;
  topic: string;
  handle: (chunk: LoopChunk) => Promise<ChunkResult>;
  deadLetters: DeadLetterSink;
  log: Logger;
  /** Messages per chunk at most. */
  maxChunk: number;
  partitionsConsumedConcurrently?: number;
  /**
   * Is the handler itself healthy? Runs after a non-transient failure: when it throws, the
   * failure is the handler's, not the messages' (nothing is dead-lettered; the consumer crashes
   * and is supervised). Without a probe every such failure is blamed on the messages.
   */
  probe?: () => Promise<void>;
  /** Times a message is handled alone before it is dead-lettered (default 3). */
  maxAttempts?: number;
  /** Budget of one handler call (ms, 0 = none): past it the call counts as failed. */
  handlerBudgetMs?: number;
  /** The DLQ reason of a message that keeps failing alone (default `handler_error:<error name>`). */
  reasonFor?: (err: unknown) => string;
  retryBaseMs?: number;
  retryMaxMs?: number;
  onLag?: (topic: string, partition: number, lag: number) => void;
  onDeadLetter?: (reason: string) => void;
  /** The consumer keeps crashing although run again: the process should exit for its supervisor. */
  onFatal: (err: Error) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class BatchConsumerLoop {
  private assigned = 0;
  private running = false;
  private supervisor: ConsumerSupervisor | null = null;
  private stalledSince: number | null = null;
  private lastRetryLog = 0;
  /** Messages dead-lettered by this loop (handler refusals and isolated failures). */
  deadLettered = 0;
  private readonly commits: CommitBatcher;

  constructor(private readonly o: BatchLoopOptions) {
    this.commits = new CommitBatcher((err) =>
      o.log.debug({ consumer: o.name, err }, 'offset commit failed: kafkajs commits the batch again'),
    );
  }

  get isAssigned(): boolean {
    return this.assigned > 0;
  }
  get isRunning(): boolean {
    return this.running;
  }
  /** How long a chunk has been waiting for a service to come back (0 when none is). */
  get stalledMs(): number {
    return this.stalledSince === null ? 0 : Date.now() - this.stalledSince;
  }

  async start(): Promise<void> {
    const { consumer, topic, log } = this.o;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const mine = (e.payload.memberAssignment[topic] ?? []) as number[];
      this.assigned = mine.length;
      this.running = true;
      log.info({ consumer: this.o.name, partitions: mine }, 'joined consumer group');
    });
    // kafkajs restarts the consumer itself after a retriable failure: the batch in flight was
    // not committed and is delivered again. After a non-retriable one the supervisor runs it again.
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      this.running = false;
      this.assigned = 0;
      if (restart)
        log.warn(
          { consumer: this.o.name, err: error, restart },
          'consumer crashed; kafkajs restarts it, uncommitted batches are redelivered',
        );
      else
        log.error({ consumer: this.o.name, err: error, restart }, 'consumer crashed and kafkajs will not restart it');
    });
    await consumer.subscribe({ topic, fromBeginning: true });
    this.running = true;
    // Offsets are resolved only once a chunk is handled and its dead letters acknowledged, and
    // committed then, those of the partitions finishing together in one request
    // (./commit-batcher.ts); kafkajs commits what is left after every batch and on stop.
    const run = () =>
      consumer.run({
        autoCommit: true,
        autoCommitInterval: null,
        autoCommitThreshold: null,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => this.onBatch(payload),
      });
    this.supervisor = superviseConsumer(consumer, {
      name: this.o.name,
      log,
      run,
      onFatal: (err) => this.o.onFatal(err),
    });
    await run();
  }

  /** Stops fetching, lets the chunk in flight finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    this.supervisor?.stop();
    await this.o.consumer.disconnect();
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const hw = BigInt(batch.highWatermark);
    const lag = (next: bigint) => this.o.onLag?.(batch.topic, batch.partition, Number(hw > next ? hw - next : 0n));
    if (batch.messages.length) lag(BigInt(batch.messages[0]!.offset));
    for (let start = 0; start < batch.messages.length; start += this.o.maxChunk) {
      if (!p.isRunning() || p.isStale()) return;
      const chunk: LoopChunk = {
        topic: batch.topic,
        partition: batch.partition,
        messages: batch.messages.slice(start, start + this.o.maxChunk),
        fetchedAt: performance.now(),
      };
      if (!(await this.handleChunk(chunk, p))) return;
      const last = chunk.messages[chunk.messages.length - 1]!.offset;
      p.resolveOffset(last);
      await this.commits.commit(p, batch.topic, batch.partition, last);
      await p.heartbeat();
      lag(BigInt(last) + 1n);
    }
  }

  private call(chunk: LoopChunk): Promise<ChunkResult> {
    const ms = this.o.handlerBudgetMs ?? 0;
    const p = this.o.handle(chunk);
    if (!ms) return p;
    let timer: NodeJS.Timeout;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BudgetExceeded(`over the budget of ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** True once the chunk is handled (or dead-lettered); false when the partition is being left. */
  private async handleChunk(chunk: LoopChunk, p: EachBatchPayload): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      let result: ChunkResult;
      try {
        result = await this.call(chunk);
      } catch (err) {
        if (isTransient(err)) {
          if (!(await this.backOff(p, attempt, err))) return false;
          continue;
        }
        if (err instanceof PoisonError && chunk.messages.length === 1) {
          return this.deadLetter(chunk, [{ reason: err.reason, message: chunk.messages[0]! }], p);
        }
        if (!(await this.blameMessages(err, p))) return false;
        return this.isolate(chunk, p);
      }
      this.stalledSince = null;
      return this.deadLetter(chunk, result.dead, p);
    }
  }

  /**
   * After a non-transient failure: true when the handler is healthy (so the messages are to
   * blame), false when the partition is being left; throws the original error when the handler
   * itself is broken (the consumer crashes, nothing is committed).
   */
  private async blameMessages(err: unknown, p: EachBatchPayload): Promise<boolean> {
    if (!this.o.probe) return true;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.probe();
        return true;
      } catch (probeErr) {
        if (!isTransient(probeErr)) throw err;
        if (!(await this.backOff(p, attempt, probeErr))) return false;
      }
    }
  }

  /** Handles the chunk's messages one at a time; a message that fails alone is dead-lettered. */
  private async isolate(chunk: LoopChunk, p: EachBatchPayload): Promise<boolean> {
    const maxAttempts = this.o.maxAttempts ?? 3;
    for (const message of chunk.messages) {
      const one: LoopChunk = { ...chunk, messages: [message], isolated: true };
      let failures = 0;
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await this.call(one);
          if (!(await this.deadLetter(chunk, r.dead, p))) return false;
          break;
        } catch (err) {
          if (isTransient(err)) {
            if (!(await this.backOff(p, attempt, err))) return false;
            continue;
          }
          if (!(err instanceof PoisonError) && ++failures < maxAttempts) continue;
          const reason =
            err instanceof PoisonError
              ? err.reason
              : err instanceof BudgetExceeded
                ? 'budget_exceeded'
                : (this.o.reasonFor?.(err) ?? `handler_error:${(err as Error)?.name ?? 'Error'}`);
          this.o.log.warn(
            { consumer: this.o.name, partition: chunk.partition, offset: message.offset, reason, err },
            'message dead-lettered after failing alone',
          );
          if (!(await this.deadLetter(chunk, [{ reason, message }], p))) return false;
          break;
        }
      }
    }
    this.stalledSince = null;
    return true;
  }

  /** Sends dead letters, retrying while the broker is away. */
  private async deadLetter(chunk: LoopChunk, dead: readonly DeadLetter[], p: EachBatchPayload): Promise<boolean> {
    if (!dead.length) return true;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.deadLetters.send(dead, chunk);
        break;
      } catch (err) {
        if (!isTransient(err)) throw err;
        if (!(await this.backOff(p, attempt, err))) return false;
      }
    }
    this.deadLettered += dead.length;
    for (const d of dead) this.o.onDeadLetter?.(d.reason);
    return true;
  }

  /** Waits before a retry, heartbeating; false when the partition is being left meanwhile. */
  private async backOff(p: EachBatchPayload, attempt: number, err: unknown): Promise<boolean> {
    this.stalledSince ??= Date.now();
    const wait = Math.min(this.o.retryMaxMs ?? 5_000, (this.o.retryBaseMs ?? 100) * 2 ** Math.min(attempt, 16));
    const now = Date.now();
    if (now - this.lastRetryLog > 10_000) {
      this.lastRetryLog = now;
      this.o.log.warn(
        { consumer: this.o.name, err, attempt, retry_in_ms: wait, stalled_ms: this.stalledMs },
        'a service is unavailable: retrying, the partition waits',
      );
    }
    for (let left = wait; left > 0; left -= 1_000) {
      await sleep(Math.min(left, 1_000));
      if (!this.running || !p.isRunning() || p.isStale()) return false;
      try {
        await p.heartbeat();
      } catch {
        return false; // a rebalance: the partition may be someone else's now; nothing was committed
      }
    }
    return true;
  }
}

/**
 * A runner built on the loop (decisions, labels, audit): it handles chunks; its state and its
 * lifecycle are the loop's.
 */
/** What every runner hands its loop the same way, from its own options. */
export interface RunnerWiring {
  consumer: Consumer;
  producer: Producer;
  log: Logger;
  metrics: { consumerLag: { set(labels: { topic: string; partition: string }, value: number): void } };
  onFatal?: (err: Error) => void;
}

/** The consumer, topic, logger and dead letters of a runner's loop; its lag to its gauge, a fatal crash to its owner. */
export function wiredLoop(
  o: RunnerWiring,
  topic: string,
  dlq: string,
  maxMessageBytes: number,
): Pick<BatchLoopOptions, 'consumer' | 'topic' | 'log' | 'deadLetters' | 'onLag' | 'onFatal'> {
  return {
    consumer: o.consumer,
    topic,
    log: o.log,
    deadLetters: new DeadLetterSink(o.producer, dlq, maxMessageBytes),
    onLag: (t, partition, n) => o.metrics.consumerLag.set({ topic: t, partition: String(partition) }, n),
    onFatal: (err) => o.onFatal?.(err),
  };
}

/** A dead-letter reason cut to its first two parts (`kind:detail`), for a metric label. */
export const reasonLabel = (reason: string): string => reason.split(':').slice(0, 2).join(':');

export abstract class LoopRunner {
  protected readonly loop: BatchConsumerLoop;

  constructor(options: Omit<BatchLoopOptions, 'handle'>) {
    this.loop = new BatchConsumerLoop({ ...options, handle: (chunk) => this.handle(chunk) });
  }

  protected abstract handle(chunk: LoopChunk): Promise<ChunkResult>;

  get isAssigned(): boolean {
    return this.loop.isAssigned;
  }
  get isRunning(): boolean {
    return this.loop.isRunning;
  }
  /** Messages dead-lettered (refused by the handler, or failing alone). */
  get deadLettered(): number {
    return this.loop.deadLettered;
  }
  /** How long a chunk has been waiting for a service to come back (0 when none is). */
  get stalledMs(): number {
    return this.loop.stalledMs;
  }
  start(): Promise<void> {
    return this.loop.start();
  }
  /** Stops fetching, lets the chunk in flight finish and commit, then leaves the group. */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}
