/**
 * Bounds what the decision path asks of Redis, so that a slow, hung or absent Redis degrades
 * decisions within the budget instead of stalling them or piling commands up in memory.
 *
 * - Circuit breaker. A call that fails, or is still unanswered after `hungMs` (a few feature
 *   budgets), is a failure; `failureThreshold` in a row open the
 *   circuit for `openMs`: meanwhile every call fails at once (RedisUnavailableError), so each
 *   decision is degraded (features_unavailable) in microseconds instead of waiting out the
 *   budget batch after batch (kafkajs works through a fetch's batches a few at a time, so a
 *   budget spent per batch would add up to several budgets end to end). Then one probe call
 *   goes through: answered in time, the circuit closes; else it stays open another `openMs`.
 *   A call answered after the budget but before `hungMs` is late, not failed: the batch that
 *   waited for it was degraded (features_timeout, by the engine), but a Redis that answers is
 *   busy, not down, and opening the circuit on load alone would degrade every decision of
 *   the next `openMs` (measured: over half of them at 5,000 events/s on a loaded machine).
 * - Pending commands. The decision path's Redis work, counted per event whatever the number
 *   of calls it travels in (3 to enrich: the customer, terminal and card updates of the batch
 *   script; 1 to recall or remember a decision), counts as pending from the moment it is sent
 *   until Redis answers or the connection fails, not until the budget gives up on it: ioredis
 *   keeps a command in its queue until its reply arrives. A call that would take the count
 *   past `maxPendingCommands` fails at once: memory held by Redis commands stays bounded
 *   (about 0.5 KiB a counted command) however long Redis stays slow. One call always goes through,
 *   however large, so that a batch larger than the limit is not refused forever.
 * - Memo. The recall runs beside the features, within the same budget. The write is sent
 *   before the decision is produced (one connection: Redis runs it before anything sent
 *   later, and a crash after the produce leaves it in the socket) and its reply is awaited
 *   only `rememberWaitMs`: a slow Redis must not add its delay twice to every decision.
 *
 * With Redis down (connection refused) ioredis fails commands at once (enableOfflineQueue:
 * false) and the circuit opens after `failureThreshold` of them.
 */
import type { AuthorizationEvent, LabelEvent } from '../../events/types.js';
import type { FeatureStore, FeatureVector } from '../store.js';
import type { DecisionMemo, MemoEntry } from '../decision-memo.js';

/** Redis is not asked (circuit open, too many commands pending): the caller degrades. */
export class RedisUnavailableError extends Error {}

export class RedisBudgetError extends Error {
  constructor(ms: number) {
    super(`redis call exceeded its ${ms} ms budget`);
  }
}

export interface RedisGuardOptions {
  /** The feature budget (ms): the engine stops waiting for features past it. 0 = none. */
  budgetMs: number;
  /** A call unanswered past it counts as a failure (ms; default 4 budgets, at least 250). 0 = never. */
  hungMs?: number;
  /** Commands in flight at most (0 = no limit). */
  maxPendingCommands: number;
  /** Failures in a row that open the circuit (default 3). */
  failureThreshold?: number;
  /** How long the circuit stays open before a probe (ms, default 500). */
  openMs?: number;
  /** Told when the circuit opens (with the last failure) and when it closes again. */
  onCircuit?: (open: boolean, reason: string) => void;
  now?: () => number;
}

export class RedisGuard {
  private pending = 0;
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  private isOpen = false;
  /** Calls not sent (circuit open or too many pending), since start. */
  refused = 0;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly hungMs: number;
  private readonly now: () => number;

  constructor(private readonly o: RedisGuardOptions) {
    this.threshold = Math.max(1, o.failureThreshold ?? 3);
    this.openMs = o.openMs ?? 500;
    this.hungMs = o.hungMs ?? (o.budgetMs > 0 ? Math.max(250, 4 * o.budgetMs) : 0);
    this.now = o.now ?? Date.now;
  }

  get pendingCommands(): number {
    return this.pending;
  }
  get circuitOpen(): boolean {
    return this.isOpen;
  }

  /** Runs `call` (which sends `commands` Redis commands) unless the guard refuses it. */
  call<T>(commands: number, call: () => Promise<T>): Promise<T> {
    if (commands === 0) return call(); // nothing sent: neither a probe nor a failure
    const refusal = this.admit(commands);
    if (refusal) {
      this.refused++;
      return Promise.reject(new RedisUnavailableError(refusal));
    }
    this.pending += commands;
    let p: Promise<T>;
    try {
      p = call();
    } catch (err) {
      p = Promise.reject(err);
    }
    let late = false;
    const timer =
      this.hungMs > 0
        ? setTimeout(() => {
            late = true;
            this.failure(`unanswered after ${this.hungMs} ms`);
          }, this.hungMs)
        : null;
    return p.then(
      (v) => {
        this.settle(commands, timer);
        if (!late) this.success();
        return v;
      },
      (err: unknown) => {
        this.settle(commands, timer);
        if (!late) this.failure(err instanceof Error ? err.message : String(err));
        throw err;
      },
    );
  }

  private admit(commands: number): string | null {
    const max = this.o.maxPendingCommands;
    if (max > 0 && this.pending > 0 && this.pending + commands > max)
      return `redis backlog: ${this.pending} commands pending`;
    if (this.failures >= this.threshold) {
      if (this.now() < this.openUntil) return 'redis circuit open';
      if (this.probing) return 'redis circuit open (probe in flight)';
      this.probing = true; // half-open: this call is the probe
    }
    return null;
  }

  private settle(commands: number, timer: NodeJS.Timeout | null): void {
    this.pending -= commands;
    if (timer) clearTimeout(timer);
  }

  private success(): void {
    this.failures = 0;
    this.probing = false;
    if (this.isOpen) {
      this.isOpen = false;
      this.o.onCircuit?.(false, 'answered');
    }
  }

  private failure(reason: string): void {
    this.failures++;
    this.probing = false;
    if (this.failures < this.threshold) return;
    this.openUntil = this.now() + this.openMs;
    if (!this.isOpen) {
      this.isOpen = true;
      this.o.onCircuit?.(true, reason);
    }
  }
}

/** Rejects after `ms` (0 = never); the call itself goes on (and stays counted as pending). */
export function withBudget<T>(p: Promise<T>, ms: number): Promise<T> {
  if (!ms) return p;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisBudgetError(ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The feature store of the decision path behind the guard (labels are not guarded: their consumer waits). */
export class GuardedFeatureStore implements FeatureStore {
  constructor(
    private readonly inner: FeatureStore,
    private readonly guard: RedisGuard,
  ) {}
  enrich(events: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    return this.guard.call(3 * events.length, () => this.inner.enrich(events));
  }
  applyLabels(labels: readonly LabelEvent[]): Promise<void> {
    return this.inner.applyLabels(labels);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The decision memo behind the same guard: recall within `budgetMs`, remember awaited `rememberWaitMs`. */
export class GuardedDecisionMemo implements DecisionMemo {
  constructor(
    private readonly inner: DecisionMemo,
    private readonly guard: RedisGuard,
    private readonly budgetMs: number,
    private readonly rememberWaitMs: number,
  ) {}
  recall(authIds: readonly string[]): Promise<(MemoEntry | null)[]> {
    return withBudget(
      this.guard.call(authIds.length, () => this.inner.recall(authIds)),
      this.budgetMs,
    );
  }
  remember(entries: readonly ({ authId: string } & MemoEntry)[]): Promise<void> {
    // Past the wait the write is still on its way (and counted as pending): not an error.
    return withBudget(
      this.guard.call(entries.length, () => this.inner.remember(entries)),
      this.rememberWaitMs,
    ).catch((err: unknown) => {
      if (!(err instanceof RedisBudgetError)) throw err;
    });
  }
}
