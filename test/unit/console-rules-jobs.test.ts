/** The console's backtest jobs: run off the request, bounded in number, results for their owner only. */
import { describe, expect, it } from 'vitest';
import { JobRunner, JobsBusyError } from '../../src/console/rules/jobs.js';

describe('backtest jobs', () => {
  const runner = () =>
    new JobRunner<number>({ max: 1, keepMs: 60_000, failure: (e) => `failed: ${(e as Error).message}` });

  it('runs a job, reports it to its owner only, and keeps its result', async () => {
    const jobs = runner();
    let release!: (n: number) => void;
    const job = jobs.start('ann', () => new Promise<number>((resolve) => (release = resolve)));
    expect(job.state).toBe('running');
    expect(jobs.get(job.id, 'ann')).toBe(job);
    expect(jobs.get(job.id, 'bob')).toBeUndefined();
    expect(() => jobs.start('bob', async () => 1)).toThrow(JobsBusyError);
    release(42);
    await job.done;
    expect(job).toMatchObject({ state: 'done', result: 42, error: null });
    expect(job.finishedAt).not.toBeNull();
    const next = jobs.start('bob', async () => 7);
    await next.done;
    expect(jobs.get(next.id, 'bob')?.result).toBe(7);
  });

  it('turns a failure into the message for the person', async () => {
    const jobs = runner();
    const job = jobs.start('ann', async () => {
      throw new Error('no history');
    });
    await job.done;
    expect(job).toMatchObject({ state: 'failed', result: null, error: 'failed: no history' });
  });
});
