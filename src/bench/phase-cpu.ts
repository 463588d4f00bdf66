/**
 * What one phase of the bench costs each process, per event: CPU from /proc (./proc-cpu.ts) of
 * named pids, the whole machine's busy cores beside them (the stack is shared: anything else
 * running shows there), and Redis's own work from INFO commandstats (./redis-work.ts).
 */
import type { Redis } from 'ioredis';
import { round } from './engine-counters.js';
import { cpuDelta, machineCpu, sample, type CpuSample } from './proc-cpu.js';
import { commandStats, commandStatsDelta, redisWork, type CommandStat, type RedisWork } from './redis-work.js';

/** Process name → pid (undefined: not measurable here, reported as null). */
export type NamedPids = Record<string, number | undefined>;

export interface PhaseStart {
  pids: NamedPids;
  cpu: CpuSample;
  machine: ReturnType<typeof machineCpu>;
  commands: Map<string, CommandStat>;
  at: number;
}

export interface PhaseCost {
  events: number;
  wall_s: number;
  /** The machine's busy time over the wall time: 2 = both cores of this machine busy. */
  machine_busy_cores: number | null;
  cpu_s: Record<string, number | null>;
  cpu_us_per_event: Record<string, number | null>;
  redis: RedisWork;
}

export async function beginPhase(pids: NamedPids, redis: Redis): Promise<PhaseStart> {
  const commands = await commandStats(redis);
  return {
    pids,
    commands,
    machine: machineCpu(),
    cpu: sample(Object.values(pids).filter((p): p is number => p !== undefined)),
    at: performance.now(),
  };
}

/**
 * The phase's cost over `events`. `selfReported`: CPU seconds a process measured itself (the
 * load generator, over its sending window: it has exited by now).
 */
export async function endPhase(
  start: PhaseStart,
  redis: Redis,
  events: number,
  o: { inScripts: ReadonlySet<string>; selfReported?: Record<string, number | null> },
): Promise<PhaseCost> {
  const after = sample(start.cpu.keys());
  const machine = machineCpu();
  const wall = (performance.now() - start.at) / 1000;
  const commands = await commandStats(redis);
  const d = cpuDelta(start.cpu, after);
  const cpu: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(start.pids)) cpu[name] = pid === undefined ? null : (d.get(pid) ?? null);
  Object.assign(cpu, o.selfReported ?? {});
  const perEvent = (s: number | null) => (s === null ? null : round((s * 1e6) / Math.max(1, events), 1));
  return {
    events,
    wall_s: round(wall, 2),
    machine_busy_cores: start.machine && machine ? round((machine.busy - start.machine.busy) / wall, 2) : null,
    cpu_s: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v === null ? null : round(v, 2)])),
    cpu_us_per_event: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, perEvent(v)])),
    redis: redisWork(commandStatsDelta(commands, start.commands), events, o.inScripts),
  };
}
