import { describe, expect, it } from 'vitest';
import { commandStatsDelta, commandsOfScripts, parseCommandStats, redisWork } from '../../src/bench/redis-work.js';
import { SCRIPTS } from '../../src/features/redis/scripts.js';

const INFO = (evalsha: [number, number], zadd: [number, number], get: [number, number]) =>
  [
    '# Commandstats',
    `cmdstat_evalsha:calls=${evalsha[0]},usec=${evalsha[1]},usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_zadd:calls=${zadd[0]},usec=${zadd[1]},usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_get:calls=${get[0]},usec=${get[1]},usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_client|setname:calls=1,usec=2,usec_per_call=2.00,rejected_calls=0,failed_calls=0`,
    '',
  ].join('\r\n');

describe("redis-work: Redis's own work per event from INFO commandstats", () => {
  it('parses calls and usec per command, subcommands included', () => {
    const s = parseCommandStats(INFO([3, 300], [6, 60], [1, 5]));
    expect(s.get('evalsha')).toEqual({ calls: 3, usec: 300 });
    expect(s.get('zadd')).toEqual({ calls: 6, usec: 60 });
    expect(s.get('client|setname')).toEqual({ calls: 1, usec: 2 });
  });

  it('takes the difference over a phase, leaving out commands that did not run', () => {
    const d = commandStatsDelta(
      parseCommandStats(INFO([13, 1300], [26, 260], [1, 5])),
      parseCommandStats(INFO([3, 300], [6, 60], [1, 5])),
    );
    expect(d.get('evalsha')).toEqual({ calls: 10, usec: 1000 });
    expect(d.get('zadd')).toEqual({ calls: 20, usec: 200 });
    expect(d.has('get')).toBe(false);
  });

  it("counts the commands scripts run apart: their time is already inside the scripts'", () => {
    const d = new Map([
      ['evalsha', { calls: 30, usec: 3000 }],
      ['zadd', { calls: 60, usec: 600 }],
      ['get', { calls: 10, usec: 50 }],
    ]);
    const w = redisWork(d, 10, new Set(['zadd']));
    expect(w.command_usec_per_event).toBe(305); // (3000 + 50) / 10, not + 600
    expect(w.calls_per_event).toBe(4); // 3 script calls and 1 GET
    expect(w.script_calls_per_event).toBe(6);
    expect(w.by_command.zadd).toEqual({ calls_per_event: 6, usec_per_event: 60, in_scripts: true });
    expect(w.by_command.evalsha!.in_scripts).toBe(false);
  });

  it("finds the commands of the feature store's scripts", () => {
    const found = commandsOfScripts(Object.values(SCRIPTS).map((s) => s.lua));
    expect(found).toEqual(new Set(['getrange', 'get', 'set', 'del']));
    expect(commandsOfScripts([`redis.pcall("Get", KEYS[1]); redis.call( 'ZCARD', k)`])).toEqual(
      new Set(['get', 'zcard']),
    );
  });
});
