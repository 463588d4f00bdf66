/**
 * CPU time of processes from /proc (Linux): `sample(pids)` reads each one's utime + stime from
 * /proc/<pid>/stat (clock ticks, converted to seconds), `cpuDelta` is what each used between two
 * samples. Generic on purpose: the bench samples every process of a phase with it (engine,
 * Redis, broker, load generator, reader), a scale-out measurement samples one pid per instance.
 * A process that is gone (or was never there) reads null, never 0: a missing figure must not
 * look like an idle process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's figures (getconf CLK_TCK; 100 on every Linux we know). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    let n = NaN;
    try {
      n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      /* no getconf: the kernel's USER_HZ default */
    }
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/**
 * utime + stime, in clock ticks, of one /proc/<pid>/stat line. The command name (field 2) is in
 * parentheses and may itself hold spaces and ')', so fields are counted from its last ')'.
 */
export function ticksOfStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('proc-cpu: not a /proc/<pid>/stat line');
  // after ") ": field 3 (state) is index 0, so utime (field 14) is 11 and stime (field 15) 12
  const f = stat.slice(close + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error('proc-cpu: no utime/stime in stat line');
  return utime + stime;
}

/** CPU seconds (user + system, all threads) a process has used so far; null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return ticksOfStat(stat) / clockTicks();
}

/** CPU seconds per pid at one moment (null: gone). */
export type CpuSample = ReadonlyMap<number, number | null>;

export function sample(pids: Iterable<number>): CpuSample {
  const out = new Map<number, number | null>();
  for (const pid of pids) out.set(pid, cpuSeconds(pid));
  return out;
}

/** CPU seconds each pid of `before` used until `after`; null when either sample lacks it. */
export function cpuDelta(before: CpuSample, after: CpuSample): Map<number, number | null> {
  const out = new Map<number, number | null>();
  for (const [pid, b] of before) {
    const a = after.get(pid) ?? null;
    out.set(pid, a === null || b === null ? null : a - b);
  }
  return out;
}

/** The whole machine's CPU seconds so far (/proc/stat, all cores): busy and total. */
export function machineCpu(): { busy: number; total: number } | null {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((s, x) => s + x, 0);
  const idle = v[3]! + v[4]!;
  return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
}

/** A process's command name (/proc/<pid>/comm), null when it is gone: to check a pid from a file is what it claims. */
export function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}
