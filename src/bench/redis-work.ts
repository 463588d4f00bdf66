/**
 * Redis's own work per event from `INFO commandstats`, taken as a difference over a phase: the
 * time Redis spent executing commands and how many it ran, per event. Redis (7.x) counts the
 * commands a Lua script runs (`redis.call`) under their own names as well as inside the script's
 * EVALSHA time, so those are reported apart (script_calls) and kept out of the totals, which would
 * otherwise count them twice. Also the memory a key prefix holds, by kind of key.
 */
import type { Redis } from 'ioredis';

export interface CommandStat {
  calls: number;
  usec: number;
}

const SCRIPT_RUNNERS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** `cmdstat_<name>:calls=…,usec=…,…` lines → name (lower case, `|` for subcommands) → calls and usec. */
export function parseCommandStats(info: string): Map<string, CommandStat> {
  const out = new Map<string, CommandStat>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    out.set(m[1]!.toLowerCase(), { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

export function commandStatsDelta(
  after: ReadonlyMap<string, CommandStat>,
  before: ReadonlyMap<string, CommandStat>,
): Map<string, CommandStat> {
  const out = new Map<string, CommandStat>();
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) out.set(name, { calls: a.calls - b.calls, usec: a.usec - b.usec });
  }
  return out;
}

/** The commands Lua sources run (`redis.call('ZADD', …)`, `redis.pcall("get", …)`), lower case. */
export function commandsOfScripts(sources: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const src of sources)
    for (const m of src.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)) out.add(m[1]!.toLowerCase());
  return out;
}

export interface RedisWork {
  /** Time executing the commands clients sent (scripts with what they ran), µs per event. */
  command_usec_per_event: number;
  /** Commands clients sent (a script call is one), per event. */
  calls_per_event: number;
  /** Commands run inside scripts, per event (their time is inside the scripts'). */
  script_calls_per_event: number;
  /** Per command: calls and µs per event (a command scripts run: counted inside the scripts too). */
  by_command: Record<string, { calls_per_event: number; usec_per_event: number; in_scripts: boolean }>;
}

/**
 * Per event over a phase. `inScripts`: the commands the scripts run (commandsOfScripts), all of
 * whose calls are taken as run by scripts (the engine sends none of them directly).
 */
export function redisWork(delta: ReadonlyMap<string, CommandStat>, events: number, inScripts: ReadonlySet<string>) {
  const per = (x: number, d = 2) => Math.round((x / Math.max(1, events)) * 10 ** d) / 10 ** d;
  let usec = 0,
    calls = 0,
    nested = 0;
  const byCommand: RedisWork['by_command'] = {};
  for (const [name, s] of [...delta].sort((a, b) => b[1].usec - a[1].usec)) {
    const nestedHere = inScripts.has(name.split('|')[0]!) && !SCRIPT_RUNNERS.has(name);
    if (nestedHere) nested += s.calls;
    else {
      usec += s.usec;
      calls += s.calls;
    }
    byCommand[name] = { calls_per_event: per(s.calls, 3), usec_per_event: per(s.usec), in_scripts: nestedHere };
  }
  const work: RedisWork = {
    command_usec_per_event: per(usec),
    calls_per_event: per(calls),
    script_calls_per_event: per(nested),
    by_command: byCommand,
  };
  return work;
}

export async function commandStats(redis: Redis): Promise<Map<string, CommandStat>> {
  return parseCommandStats(await redis.info('commandstats'));
}

/**
 * The memory (MEMORY USAGE) of the keys under `prefix`, by kind: the part of the key after the
 * entity's hash tag (`{c:…}:tx` → `c:tx`, `{a:…}:decision` → `a:decision`). Every key is counted;
 * the bytes of each kind are the mean of its first `samplePerKind` keys times its count.
 */
export async function memoryByKind(
  redis: Redis,
  prefix: string,
  samplePerKind = 500,
): Promise<Record<string, { keys: number; bytes: number }>> {
  const kinds = new Map<string, { keys: number; sample: string[] }>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const m = /\{(\w+):.*\}:(\w+)$/.exec(key);
      const kind = m ? `${m[1]}:${m[2]}` : 'other';
      const k = kinds.get(kind) ?? kinds.set(kind, { keys: 0, sample: [] }).get(kind)!;
      k.keys++;
      if (k.sample.length < samplePerKind) k.sample.push(key);
    }
  } while (cursor !== '0');
  const out: Record<string, { keys: number; bytes: number }> = {};
  for (const [kind, k] of [...kinds].sort()) {
    const p = redis.pipeline();
    for (const key of k.sample) p.memory('USAGE', key, 'SAMPLES', '0');
    const sizes = ((await p.exec()) ?? [])
      .map(([err, v]) => (err || v === null ? NaN : Number(v)))
      .filter(Number.isFinite);
    const mean = sizes.reduce((s, x) => s + x, 0) / Math.max(1, sizes.length);
    out[kind] = { keys: k.keys, bytes: Math.round(mean * k.keys) };
  }
  return out;
}
