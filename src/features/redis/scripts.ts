/**
 * The one Lua script of the Redis feature store (./store.ts): the compare-and-set of a batch's
 * entity states. Redis computes nothing else: the engine applies the events to the states it
 * last saw and sends the results with the version each was computed from.
 */
import { createHash } from 'node:crypto';
import { DAY_MS } from '../../events/time.js';
import { RETENTION_MS } from '../definitions.js';

/** TTL of an entity's key, refreshed on every write: retention + 1 day. */
export const KEY_TTL_MS = {
  customer: RETENTION_MS.customer + DAY_MS,
  terminal: RETENTION_MS.terminal + DAY_MS,
  card: RETENTION_MS.card + DAY_MS,
} as const;

/**
 * KEYS: the entities' keys. ARGV[1]: two bytes per key, its kind (`c`, `t`, `k`: its TTL is
 * ARGV[2], ARGV[3] or ARGV[4], in ms) and its mode; ARGV[4 + i]: what KEYS[i] gets:
 *   n  a new entity's state: written only if there is no key (SET … NX GET, Redis 7.0+);
 *   u  a new state computed from the version before its own (a state's first 4 bytes, a u32 LE
 *      bumped by one on every write, ./entity-codec.ts): written, and the state it replaced put
 *      back when that was not the version it was computed from (SET … GET returns it);
 *   v  a version (empty: no key): nothing to write, only checked.
 * Returns, for each key whose state was not written (or did not check), its 1-based index and
 * what the key holds ('' for no key), for the caller to redo it from there.
 * One argument per key, the version read from the state itself: passing each argument into Lua
 * is a measurable part of the script's time (docs/performance.md, "Redis per event").
 */
export const LUA_CAS = `
local out = {}
local spec = ARGV[1]
local ttl = { [99] = ARGV[2], [116] = ARGV[3], [107] = ARGV[4] }
for i = 1, #KEYS do
  local k, arg = KEYS[i], ARGV[i + 4]
  local kind, mode = string.byte(spec, 2 * i - 1, 2 * i)
  local lost, now = false, nil
  if mode == 118 then
    if redis.call('GETRANGE', k, 0, 3) ~= arg then lost, now = true, redis.call('GET', k) end
  elseif mode == 110 then
    now = redis.call('SET', k, arg, 'PX', ttl[kind], 'NX', 'GET')
    lost = now ~= false
  else
    now = redis.call('SET', k, arg, 'PX', ttl[kind], 'GET')
    local ok = false
    if now and #now >= 4 then
      local a1, a2, a3, a4 = string.byte(arg, 1, 4)
      local b1, b2, b3, b4 = string.byte(now, 1, 4)
      ok = (b1 + 256 * (b2 + 256 * (b3 + 256 * b4)) + 1) % 4294967296 == a1 + 256 * (a2 + 256 * (a3 + 256 * a4))
    end
    if not ok then
      if now then redis.call('SET', k, now, 'KEEPTTL') else redis.call('DEL', k) end
      lost = true
    end
  end
  if lost then
    out[#out + 1] = i
    out[#out + 1] = now or ''
  end
end
return out
`;

interface LoadedScript {
  lua: string;
  sha: string;
}

function script(lua: string): LoadedScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const SCRIPTS = {
  cas: script(LUA_CAS),
} as const;
