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
 * KEYS: the entities' keys. ARGV: per key the version its new state was computed from (the
 * state's first 4 bytes; empty: computed as a new entity), the new state (empty: nothing to
 * write, only check the version), its TTL (ms). Writes each state whose key still holds that
 * version (or, for a new entity, no key); returns, for each of the others, its 1-based index and
 * what its key holds ('' for no key), for the caller to redo it from there.
 * One command per key on the usual path: SET … GET writes and returns what it replaced, which
 * is put back (a conflict) when its version is not the expected one; SET … NX GET (Redis 7.0+)
 * writes a new entity only if there is none and returns the one there is.
 */
export const LUA_CAS = `
local out = {}
for i = 1, #KEYS do
  local a = 3 * i - 2
  local k, want, state = KEYS[i], ARGV[a], ARGV[a + 1]
  local lost, now = false, nil
  if state == '' then
    if redis.call('GETRANGE', k, 0, 3) ~= want then lost, now = true, redis.call('GET', k) end
  elseif want == '' then
    now = redis.call('SET', k, state, 'PX', ARGV[a + 2], 'NX', 'GET')
    lost = now ~= false
  else
    now = redis.call('SET', k, state, 'PX', ARGV[a + 2], 'GET')
    if not now or string.sub(now, 1, 4) ~= want then
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
