/**
 * Backtests running in the console's process while the page polls for them: a backtest of a
 * month of history takes tens of seconds (measured: ~290k transactions), longer than a request
 * should hold a browser. The backtest library yields to the event loop as it goes, so the
 * console keeps serving meanwhile. At most `max` run at once (they share the CPU with the
 * server); results are kept for `keepMs`, for their owner only.
 */
import { randomBytes } from 'node:crypto';

export type JobState = 'running' | 'done' | 'failed';

export interface Job<T> {
  id: string;
  owner: string;
  state: JobState;
  startedAt: number;
  finishedAt: number | null;
  result: T | null;
  /** For the person: why it failed. */
  error: string | null;
  /** Settles when the job ends (never rejects). */
  done: Promise<void>;
}

/** Too many backtests are running: the message says to wait. */
export class JobsBusyError extends Error {}

export class JobRunner<T> {
  private readonly jobs = new Map<string, Job<T>>();
  constructor(private readonly o: { max: number; keepMs: number; failure: (err: unknown) => string }) {}

  running(): number {
    return [...this.jobs.values()].filter((j) => j.state === 'running').length;
  }

  start(owner: string, run: () => Promise<T>): Job<T> {
    this.prune();
    if (this.running() >= this.o.max)
      throw new JobsBusyError(
        `${this.running()} backtest(s) are already running on this console (at most ${this.o.max} at once): try again in a minute.`,
      );
    const job: Job<T> = {
      id: randomBytes(12).toString('base64url'),
      owner,
      state: 'running',
      startedAt: Date.now(),
      finishedAt: null,
      result: null,
      error: null,
      done: Promise.resolve(),
    };
    job.done = run().then(
      (result) => {
        Object.assign(job, { state: 'done', result, finishedAt: Date.now() });
      },
      (err: unknown) => {
        Object.assign(job, { state: 'failed', error: this.o.failure(err), finishedAt: Date.now() });
      },
    );
    this.jobs.set(job.id, job);
    return job;
  }

  /** The job `id` of `owner`; undefined when unknown, expired or someone else's. */
  get(id: string, owner: string): Job<T> | undefined {
    const j = this.jobs.get(id);
    return j && j.owner === owner ? j : undefined;
  }

  private prune(): void {
    const old = Date.now() - this.o.keepMs;
    for (const [id, j] of this.jobs) if (j.finishedAt !== null && j.finishedAt < old) this.jobs.delete(id);
  }
}
