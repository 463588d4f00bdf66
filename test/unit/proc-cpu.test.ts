import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuDelta, cpuSeconds, machineCpu, sample, ticksOfStat } from '../../src/bench/proc-cpu.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let child: ChildProcess | null = null;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = null;
});

/** A child that says it started, then spins until killed. */
async function burner(): Promise<number> {
  child = spawn(process.execPath, ['-e', 'process.stdout.write("go\\n"); let x = 0; for (;;) x += Math.sqrt(x + 1);'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout!, 'data');
  return child.pid!;
}

/** Samples `pid` until its CPU time has grown past `than` (bounded by the test's timeout, not asserted). */
async function grownPast(pid: number, than: number): Promise<number> {
  for (;;) {
    const s = sample([pid]).get(pid);
    if (s === null || s === undefined) throw new Error('process gone');
    if (s > than) return s;
    await sleep(20);
  }
}

describe('proc-cpu: CPU seconds of processes from /proc', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '250', '50', '0', '0'];
    expect(ticksOfStat(`4242 (a b) c) ${fields.join(' ')}`)).toBe(300);
    expect(() => ticksOfStat('no parentheses here')).toThrow(/stat line/);
  });

  it('a child that burns CPU reads more than 0 and grows monotonically; the delta over a phase is positive', async () => {
    const pid = await burner();
    const first = await grownPast(pid, 0);
    expect(first).toBeGreaterThan(0);
    const before = sample([pid]);
    const readings = [before.get(pid)!];
    for (let i = 0; i < 3; i++) readings.push(await grownPast(pid, readings[readings.length - 1]!));
    const after = sample([pid]);
    for (let i = 1; i < readings.length; i++) expect(readings[i]!).toBeGreaterThan(readings[i - 1]!);
    const d = cpuDelta(before, after).get(pid);
    expect(d).not.toBeNull();
    expect(d!).toBeGreaterThan(0);
    expect(d!).toBeCloseTo(after.get(pid)! - before.get(pid)!, 9);
  });

  it('a process that is gone reads null, and so does its delta', async () => {
    const pid = await burner();
    const before = sample([pid, process.pid]);
    child!.kill('SIGKILL');
    await once(child!, 'exit');
    expect(cpuSeconds(pid)).toBeNull();
    const d = cpuDelta(before, sample([pid, process.pid]));
    expect(d.get(pid)).toBeNull();
    expect(d.get(process.pid)).not.toBeNull();
  });

  it('the machine as a whole: busy within total', () => {
    const m = machineCpu();
    expect(m).not.toBeNull();
    expect(m!.busy).toBeGreaterThan(0);
    expect(m!.total).toBeGreaterThan(m!.busy);
  });
});
