import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/pipelines/decision/coalescer.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('coalescer', () => {
  it('merges the parts handed in during one turn, up to maxItems, never splitting a part', async () => {
    const flushed: string[][] = [];
    const c = new Coalescer<string>(5, 3, async (parts) => {
      flushed.push(parts);
    });
    await Promise.all([c.submit('a', 2), c.submit('b', 2), c.submit('c', 3), c.submit('d', 1)]);
    expect(flushed).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    await c.submit('e', 9); // larger than maxItems: alone, whole
    expect(flushed[2]).toEqual(['e']);
  });

  it('parts handed in on later turns go into later batches', async () => {
    const flushed: string[][] = [];
    const c = new Coalescer<string>(100, 3, async (parts) => {
      flushed.push(parts);
    });
    const first = c.submit('a', 1);
    await tick();
    const second = c.submit('b', 1);
    await Promise.all([first, second]);
    expect(flushed).toEqual([['a'], ['b']]);
  });

  it('a failed batch rejects every part in it and no other', async () => {
    const c = new Coalescer<string>(2, 3, async (parts) => {
      if (parts.includes('bad')) throw new Error('produce failed');
    });
    const results = await Promise.allSettled([c.submit('ok1', 1), c.submit('bad', 1), c.submit('ok2', 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
  });

  it('runs at most `concurrency` batches at once, the rest in order', async () => {
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const c = new Coalescer<string>(1, 2, async (parts) => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      order.push(parts[0]!);
      running--;
    });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((p) => c.submit(p, 1)));
    expect(peak).toBe(2);
    expect(order.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
