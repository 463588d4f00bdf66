/**
 * The one Lua script of the Redis feature store (./store.ts): the compare-and-set of a batch's
 * entity states. Redis computes nothing else: the engine reads the states (MGET), applies the
 * events and sends back the changed ones with the version each had when read.
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
 * KEYS: the entities' keys. ARGV: per key the version read (its first 4 bytes; empty when there
 * was no key), the new state, its TTL (ms). Writes each state whose key still starts with the
 * version read; returns the 1-based indexes of the others (another writer came first).
 * One command per key on the usual path: SET … GET writes and returns what it replaced, which
 * is put back (a rare conflict) when its version is not the one read.
 */
export const LUA_CAS = `
local lost = {}
for i = 1, #KEYS do
  local a = 3 * i - 2
  local old = redis.call('SET', KEYS[i], ARGV[a + 1], 'PX', ARGV[a + 2], 'GET')
  local was = ''
  if old then was = string.sub(old, 1, 4) end
  if was ~= ARGV[a] then
    if old then redis.call('SET', KEYS[i], old, 'KEEPTTL') else redis.call('DEL', KEYS[i]) end
    lost[#lost + 1] = i
  end
end
return lost
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
