import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { superviseConsumer } from '../../src/kafka/consumer-supervisor.js';

/** Enough of a kafkajs consumer to emit CRASH events. */
function fakeConsumer() {
  const ee = new EventEmitter();
  const consumer = {
    events: { CRASH: 'consumer.crash' },
    on: (ev: string, fn: (e: unknown) => void) => ee.on(ev, fn),
  } as unknown as Consumer;
  const crash = (restart: boolean, message = 'boom') =>
    ee.emit('consumer.crash', { payload: { error: new Error(message), restart } });
  return { consumer, crash };
}
const log = pino({ level: 'silent' });

describe('consumer supervisor', () => {
  // Fake timers: the back-off is asserted to the millisecond, without waiting for it.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

  it('runs a consumer again after a crash kafkajs does not recover from, with back-off, and gives up past the limit', async () => {
    const { consumer, crash } = fakeConsumer();
    const runs: number[] = [];
    const fatal: Error[] = [];
    const s = superviseConsumer(consumer, {
      name: 't',
      log,
      run: async () => {
        runs.push(Date.now());
      },
      onFatal: (e) => fatal.push(e),
      maxRestarts: 2,
      baseDelayMs: 20,
    });
    crash(true); // kafkajs restarts this one itself
    await advance(1_000);
    expect(runs).toEqual([]);
    crash(false);
    const first = Date.now();
    await advance(19);
    expect(runs).toHaveLength(0);
    await advance(1);
    expect(runs).toEqual([first + 20]); // after the base delay
    crash(false);
    const second = Date.now();
    await advance(39);
    expect(runs).toHaveLength(1);
    await advance(1);
    expect(runs).toEqual([first + 20, second + 40]); // doubled
    crash(false, 'again');
    await advance(10_000);
    expect(runs).toHaveLength(2);
    expect(fatal.map((e) => e.message)).toEqual(['again']);
    expect(s.crashes).toBe(3);
  });

  it('does not run a consumer again once stopped', async () => {
    const { consumer, crash } = fakeConsumer();
    let runs = 0;
    const s = superviseConsumer(consumer, {
      name: 't',
      log,
      run: async () => {
        runs++;
      },
      onFatal: () => undefined,
      baseDelayMs: 10,
    });
    crash(false);
    s.stop();
    await advance(10_000);
    expect(runs).toBe(0);
  });
});
