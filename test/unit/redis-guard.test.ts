import { afterEach, describe, expect, it, vi } from 'vitest';
import { GuardedDecisionMemo, RedisGuard, RedisUnavailableError, withBudget } from '../../src/features/redis/guard.js';
import type { DecisionMemo } from '../../src/features/decision-memo.js';
import { panRuns } from '../helpers/child-engine.js';

const never = <T>() => new Promise<T>(() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('redis guard', () => {
  afterEach(() => vi.useRealTimers());

  it('opens the circuit after failures in a row, refuses at once while open, closes on an answered probe', async () => {
    let now = 1000;
    const changes: boolean[] = [];
    const g = new RedisGuard({
      budgetMs: 0,
      maxPendingCommands: 0,
      failureThreshold: 2,
      openMs: 500,
      now: () => now,
      onCircuit: (open) => changes.push(open),
    });
    const fail = () => g.call(1, () => Promise.reject(new Error('ECONNREFUSED')));
    await expect(fail()).rejects.toThrow('ECONNREFUSED');
    expect(g.circuitOpen).toBe(false);
    await expect(fail()).rejects.toThrow('ECONNREFUSED');
    expect(g.circuitOpen).toBe(true);
    let sent = 0;
    await expect(
      g.call(1, async () => {
        sent++;
        return 1;
      }),
    ).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(sent).toBe(0);
    now += 501; // half-open: one probe goes through, the others are refused meanwhile
    let answer!: (v: number) => void;
    const probe = g.call(
      1,
      () =>
        new Promise<number>((r) => {
          answer = r;
        }),
    );
    await expect(g.call(1, async () => 2)).rejects.toBeInstanceOf(RedisUnavailableError);
    answer(7);
    expect(await probe).toBe(7);
    expect(g.circuitOpen).toBe(false);
    expect(await g.call(1, async () => 3)).toBe(3);
    expect(changes).toEqual([true, false]);
    expect(g.refused).toBe(2);
  });

  // The guard's hung timer on fake timers: the thresholds are checked to the millisecond, whatever the machine's load.
  it('counts a call unanswered after hungMs as a failure (a hung Redis opens the circuit)', async () => {
    vi.useFakeTimers();
    const g = new RedisGuard({ budgetMs: 10, hungMs: 20, maxPendingCommands: 0, failureThreshold: 2, openMs: 10_000 });
    void g.call(1, never).catch(() => undefined);
    void g.call(1, never).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(19);
    expect(g.circuitOpen).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.circuitOpen).toBe(true);
    expect(g.pendingCommands).toBe(2); // still in the client's queue: counted until answered
  });

  it('a late answer (past the budget, before hungMs) is not a failure: a busy Redis does not open the circuit', async () => {
    vi.useFakeTimers();
    const g = new RedisGuard({ budgetMs: 5, hungMs: 200, maxPendingCommands: 0, failureThreshold: 2, openMs: 10_000 });
    for (let i = 0; i < 4; i++) {
      const answered = g.call(1, () => sleep(199).then(() => 'late'));
      await vi.advanceTimersByTimeAsync(199);
      expect(await answered).toBe('late');
    }
    expect(g.circuitOpen).toBe(false);
    expect(g.refused).toBe(0);
  });

  it('hungMs defaults to four budgets, at least 250 ms', async () => {
    vi.useFakeTimers();
    const g = new RedisGuard({ budgetMs: 100, maxPendingCommands: 0, failureThreshold: 1, openMs: 10_000 });
    void g.call(1, never).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(399);
    expect(g.circuitOpen).toBe(false); // unanswered, not yet hung (400 ms)
    await vi.advanceTimersByTimeAsync(1);
    expect(g.circuitOpen).toBe(true);
    const small = new RedisGuard({ budgetMs: 10, maxPendingCommands: 0, failureThreshold: 1, openMs: 10_000 });
    void small.call(1, never).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(249);
    expect(small.circuitOpen).toBe(false); // four budgets would be 40 ms: the floor is 250
    await vi.advanceTimersByTimeAsync(1);
    expect(small.circuitOpen).toBe(true);
  });

  it('bounds the commands in flight, letting one call through however large', async () => {
    const g = new RedisGuard({ budgetMs: 0, maxPendingCommands: 100 });
    const big = g.call(300, never); // alone: allowed
    void big.catch(() => undefined);
    await expect(g.call(1, async () => 1)).rejects.toThrow(/backlog: 300 commands pending/);
    expect(g.pendingCommands).toBe(300);
  });

  it('does not count a call that sends nothing', async () => {
    const g = new RedisGuard({ budgetMs: 0, maxPendingCommands: 0, failureThreshold: 1, openMs: 10_000 });
    await expect(g.call(1, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(g.circuitOpen).toBe(true);
    expect(await g.call(0, async () => 'empty')).toBe('empty');
    expect(g.circuitOpen).toBe(true);
  });

  it('memo: recall within the budget, remember awaited only briefly and never an error past it', async () => {
    const g = new RedisGuard({ budgetMs: 30, maxPendingCommands: 0, failureThreshold: 100 });
    const slow: DecisionMemo = { recall: () => never(), remember: () => never() };
    const memo = new GuardedDecisionMemo(slow, g, 30, 5);
    await expect(memo.recall(['a'])).rejects.toThrow(/budget/);
    // The write never answers: that remember() resolves at all (rather than rejecting or hanging) is the behaviour.
    await expect(
      memo.remember([{ authId: 'a', hash: Buffer.alloc(16), value: Buffer.from('x') }]),
    ).resolves.toBeUndefined();
    expect(g.pendingCommands).toBe(2); // the recall and the write, still counted until answered
    await expect(withBudget(Promise.resolve(1), 0)).resolves.toBe(1);
  });
});

describe('PAN scan of logs and outputs', () => {
  it('finds card numbers however written, ignores pino times and other digits', () => {
    expect(panRuns('{"level":30,"time":1795616763230,"msg":"ok"}')).toEqual([]); // 1795616763230 is not the point: time is skipped
    expect(panRuns('{"time":1,"msg":"x 4111111111111111"}')).toEqual(['4111111111111111']);
    // a UUID whose middle is digits is not a card number; a card number beside one still is
    expect(panRuns('{"memberId":"fraud-engine-e3b1a706-8430-4952-8393-47c1d2e3f4a5"}')).toEqual([]);
    expect(panRuns('{"memberId":"e3b1a706-8430-4952-8393-47c1d2e3f4a5","x":"4111-1111-1111-1111"}')).toEqual([
      '4111-1111-1111-1111',
    ]);
    expect(panRuns('card 4111 1111 1111 1111 declined')).toEqual(['4111 1111 1111 1111']);
    expect(panRuns('tok_4111111111111111')).toEqual(['4111111111111111']);
    expect(panRuns('order 4111111111111112 and 1234567890123, at 2026-12-01T03:46:54.123Z')).toEqual([]);
    // inside a longer digit run, with other separators, and a 19-digit JSON number kept exact
    expect(panRuns('qty 12 4111111111111111')).toEqual(['4111111111111111']);
    expect(panRuns('card 5555.5555.5555.4444 / 3782 822463 10005')).toEqual([
      '5555.5555.5555.4444',
      '3782 822463 10005',
    ]);
    expect(panRuns('{"level":30,"time":1795616763230,"n":4000000000000000006}')).toEqual(['4000000000000000006']);
    expect(panRuns('{"level":30,"time":4111111111111111,"msg":"ok"}')).toEqual([]);
  });
});
