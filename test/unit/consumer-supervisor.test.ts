import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { superviseConsumer } from '../../src/kafka/consumer-supervisor.js';

/** Enough of a kafkajs consumer to emit CRASH events. */
function fakeConsumer() {
  const ee = new EventEmitter();
  const consumer = { events: { CRASH: 'consumer.crash' }, on: (ev: string, fn: (e: unknown) => void) => ee.on(ev, fn) } as unknown as Consumer;
  const crash = (restart: boolean, message = 'boom') => ee.emit('consumer.crash', { payload: { error: new Error(message), restart } });
  return { consumer, crash };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = pino({ level: 'silent' });

describe('consumer supervisor', () => {
  it('runs a consumer again after a crash kafkajs does not recover from, with back-off, and gives up past the limit', async () => {
    const { consumer, crash } = fakeConsumer();
    const runs: number[] = [];
    const fatal: Error[] = [];
    const t0 = Date.now();
    const s = superviseConsumer(consumer, { name: 't', log, run: async () => { runs.push(Date.now() - t0); }, onFatal: (e) => fatal.push(e), maxRestarts: 2, baseDelayMs: 20 });
    crash(true); // kafkajs restarts this one itself
    await sleep(50);
    expect(runs).toEqual([]);
    crash(false);
    await sleep(40);
    expect(runs).toHaveLength(1);
    crash(false);
    await sleep(70);
    expect(runs).toHaveLength(2);
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(35); // 20 ms, then 40 ms
    crash(false, 'again');
    await sleep(100);
    expect(runs).toHaveLength(2);
    expect(fatal.map((e) => e.message)).toEqual(['again']);
    expect(s.crashes).toBe(3);
  });

  it('does not run a consumer again once stopped', async () => {
    const { consumer, crash } = fakeConsumer();
    let runs = 0;
    const s = superviseConsumer(consumer, { name: 't', log, run: async () => { runs++; }, onFatal: () => undefined, baseDelayMs: 10 });
    crash(false);
    s.stop();
    await sleep(40);
    expect(runs).toBe(0);
  });
});
