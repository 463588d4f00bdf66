import { describe, expect, it } from 'vitest';
import { CoalescedRefresh } from '../../src/storage/coalesced-refresh.js';

describe('CoalescedRefresh', () => {
  it('runs one pass at a time; calls during a pass make exactly one more pass, which they wait for', async () => {
    let passes = 0;
    let release!: () => void;
    const r = new CoalescedRefresh(
      () => {
        passes++;
        return passes === 1 ? new Promise<void>((res) => (release = res)) : Promise.resolve();
      },
      () => false,
    );
    const first = r.run();
    const second = r.run();
    const third = r.run();
    expect(passes).toBe(1);
    expect(second).toBe(first);
    expect(third).toBe(first);
    release();
    await first;
    expect(passes).toBe(2); // the calls made during pass 1 were covered by a single pass 2
    await r.run();
    expect(passes).toBe(3);
  });

  it('stops repeating once stopped, and settled() waits for the pass without rejecting', async () => {
    let passes = 0;
    let stopped = false;
    let release!: () => void;
    const r = new CoalescedRefresh(
      () => {
        passes++;
        return new Promise<void>((res) => (release = res));
      },
      () => stopped,
    );
    const p = r.run();
    void r.run();
    stopped = true;
    release();
    await p;
    expect(passes).toBe(1);
    await expect(r.settled()).resolves.toBeUndefined();
  });
});
