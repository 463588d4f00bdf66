/**
 * The Lua script of the Redis feature store (./store.ts): the aggregates of ../definitions.ts
 * computed next to the data, one function per entity, all the updates of a batch in one call
 * (LUA_BATCH; on a Redis Cluster, one call per entity of the batch).
 *
 * Keys, hash-tagged by entity so that one entity's keys are in one Redis Cluster slot:
 *   <prefix>:{c:<customer_id>}:tx     ZSET score=pos member=auth|amount|terminal|merchant|device
 *   <prefix>:{c:<customer_id>}:agg    HASH running aggregates of that zset (CUSTOMER_BODY)
 *   <prefix>:{t:<terminal_id>}:tx     ZSET score=pos member=auth_id
 *   <prefix>:{t:<terminal_id>}:fraud  ZSET score=tx_time of the label member=auth_id (currently fraud)
 *   <prefix>:{k:<card_token>}:tx      ZSET score=pos member=auth_id
 * where pos = event_time * 1024 + rank at that millisecond (definitions.ts: TIE_SLOTS), an
 * exact integer score that orders ties by recording order.
 * In a customer member, `%` and `|` of the ids are escaped (%25, %7C), null is the empty field
 * and the empty string is `%`.
 *
 * Each entity's function records the event idempotently, trims the entity to its retention (relative to
 * its newest event) and to its history cap (MAX_HISTORY), refreshes the TTL (retention + 1 day)
 * and returns integer aggregates only (counts, minor-unit sums, times); means and ratios are
 * computed in TypeScript.
 */
import { createHash } from 'node:crypto';
import { DAY_MS, HOUR_MS } from '../../events/time.js';
import { RETENTION_MS, TERMINAL_DELAY_MS, TIE_SLOTS } from '../definitions.js';

/** TTL of an entity's keys, refreshed on every write: retention + 1 day. */
export const KEY_TTL_MS = {
  customer: RETENTION_MS.customer + DAY_MS,
  terminal: RETENTION_MS.terminal + DAY_MS,
  card: RETENTION_MS.card + DAY_MS,
} as const;

// ---------------------------------------------------------------------------------------------
// Lua. Arithmetic is on integers only (epoch ms and minor units, exact in doubles below 2^53).

// Positions (scores) are event_time * TIE_SLOTS + rank, see definitions.ts.
const LUA_COMMON = `
local SLOTS = ${TIE_SLOTS}
local function f(x) return string.format('%.0f', x) end
-- last position of millisecond t: every entry with time <= t has a score <= this
local function lastpos(t) return t * SLOTS + (SLOTS - 1) end
local function timeof(pos) return math.floor(pos / SLOTS) end
-- drops entries older than the retention, relative to the entity's newest entry; returns the bound time
local function trim(k, retention)
  local last = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  local bound = timeof(tonumber(last[2])) - retention
  redis.call('ZREMRANGEBYSCORE', k, '-inf', f(lastpos(bound)))
  return bound
end
-- drops the oldest entries past cap; returns them (members, scores) for the caller's accounts
local function cap(k, max)
  local over = redis.call('ZCARD', k) - max
  if over <= 0 then return {} end
  local gone = redis.call('ZRANGE', k, 0, over - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYRANK', k, 0, over - 1)
  return gone
end
-- records auth_id at time t once (by auth_id); returns its position
local function record(k, t, auth)
  local same = redis.call('ZCOUNT', k, f(t * SLOTS), f(lastpos(t)))
  local pos = t * SLOTS + math.min(same, SLOTS - 1)
  if redis.call('ZADD', k, 'NX', f(pos), auth) == 1 then return pos end
  return tonumber(redis.call('ZSCORE', k, auth))
end
-- number of entries with time > lo and position < pos
local function prior(k, lo, pos)
  return redis.call('ZCOUNT', k, '(' .. f(lastpos(lo)), '(' .. f(pos))
end
`;

/**
 * KEYS[1] customer zset, KEYS[2] customer state hash. ARGV: event_time, escaped auth_id,
 * amount_minor, escaped terminal, escaped merchant ('' = null), escaped device ('' = null).
 * Returns {n1d, sum1d, n7d, sum7d, n30d, sum30d, hasPrev, prevTime, nbTerminals1d, nbMerchants1d, terminalSeen, deviceSeen}.
 *
 * The hash keeps running aggregates of the retained entries so that the usual event (the
 * customer's newest, seen for the first time) costs O(entries of the last day), not a scan of
 * 30 days: `newest` (time of the newest entry), `n`/`s` (count and minor-unit sum of every
 * retained entry, i.e. time > newest - 30d), `n7`/`s7` (those with time > newest - 7d), and
 * `T:<terminal>` / `D:<device>` (retained entries per terminal / device). Entries leaving a
 * window are subtracted once, when `newest` moves past them. A redelivery or an event older
 * than the newest takes the exact scan (the reference algorithm of definitions.ts); both paths
 * keep the hash in step. A zset without a hash (keys written before the hash existed) has its
 * hash rebuilt from the zset on first use.
 */
const CUSTOMER_BODY = `
local key, hkey = KEYS[1], KEYS[2]
local eauth, amount, term, merch, dev = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local t, a = tonumber(ARGV[1]), tonumber(ARGV[3])
local R30, R7, R1 = ${RETENTION_MS.customer}, ${7 * DAY_MS}, ${DAY_MS}
-- an integer argument ('-0' is not one for Redis)
local function int(x) if x == 0 then return '0' end return f(x) end
local function parse(m) return string.match(m, '^[^|]*|([^|]*)|([^|]*)|([^|]*)|(.*)$') end
-- the hash is read once, updated in these variables and written once (HSET) at the end
local tf = 'T:' .. term
local df = nil
if dev ~= '' then df = 'D:' .. dev end
local h = redis.call('HMGET', hkey, 'newest', 'n', 's', 'n7', 's7', tf, df or tf)
local newest = tonumber(h[1])
local hn, hs, hn7, hs7 = tonumber(h[2]), tonumber(h[3]), tonumber(h[4]), tonumber(h[5])
local base = {}
base[tf] = tonumber(h[6]) or 0
if df then base[df] = tonumber(h[7]) or 0 end
local delta = {}
local rebuilt, changed = false, false
local function account(sign, am, te, de, in7)
  hn, hs = hn + sign, hs + sign * am
  if in7 then hn7, hs7 = hn7 + sign, hs7 + sign * am end
  local k = 'T:' .. te
  delta[k] = (delta[k] or 0) + sign
  if de ~= '' then k = 'D:' .. de delta[k] = (delta[k] or 0) + sign end
  changed = true
end
if newest == nil then
  -- no hash: rebuild it from the zset (empty for a new customer)
  redis.call('DEL', hkey)
  rebuilt = true
  base = {}
  hn, hs, hn7, hs7 = 0, 0, 0, 0
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last > 0 then
    newest = timeof(tonumber(last[2]))
    local all = redis.call('ZRANGEBYSCORE', key, '(' .. f(lastpos(newest - R30)), '+inf', 'WITHSCORES')
    for i = 1, #all, 2 do
      local am, te, me, de = parse(all[i])
      account(1, tonumber(am), te, de, timeof(tonumber(all[i + 1])) > newest - R7)
    end
  end
end
-- current value of a per-terminal / per-device field once the deltas are applied (nil: unknown)
local function value(k)
  local b = base[k]
  if b == nil and rebuilt then b = 0 end
  if b == nil then return nil end
  return b + (delta[k] or 0)
end
-- record once per (event_time, auth_id)
local p = eauth .. '|'
local pos = nil
local same = redis.call('ZRANGEBYSCORE', key, f(t * SLOTS), f(lastpos(t)), 'WITHSCORES')
for i = 1, #same, 2 do
  if string.sub(same[i], 1, #p) == p then pos = tonumber(same[i + 1]) break end
end
local fresh = pos == nil
if fresh then pos = t * SLOTS + math.min(#same / 2, SLOTS - 1) end
local fast = fresh and (newest == nil or t >= newest)
if fast then
  if newest ~= nil and t > newest then
    -- entries leaving the 7-day window, then the retention
    local out7 = redis.call('ZRANGEBYSCORE', key, '(' .. f(lastpos(newest - R7)), f(lastpos(t - R7)))
    for i = 1, #out7 do
      local am = parse(out7[i])
      hn7, hs7 = hn7 - 1, hs7 - tonumber(am)
    end
    local gone = redis.call('ZRANGEBYSCORE', key, '-inf', f(lastpos(t - R30)))
    for i = 1, #gone do
      local am, te, me, de = parse(gone[i])
      account(-1, tonumber(am), te, de, false)
    end
    if #gone > 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', f(lastpos(t - R30))) end
  end
  newest = t
  redis.call('ZADD', key, f(pos), p .. amount .. '|' .. term .. '|' .. merch .. '|' .. dev)
  account(1, a, term, dev, true)
elseif fresh and t > newest - R30 then
  -- an event older than the newest: recorded (unless already past the retention), no window moves
  redis.call('ZADD', key, f(pos), p .. amount .. '|' .. term .. '|' .. merch .. '|' .. dev)
  account(1, a, term, dev, t > newest - R7)
end
-- past the cap: the oldest entries leave the zset and the running aggregates
if fresh then
  local over = cap(key, tonumber(ARGV[7]))
  for i = 1, #over, 2 do
    local am, te, me, de = parse(over[i])
    account(-1, tonumber(am), te, de, timeof(tonumber(over[i + 1])) > newest - R7)
  end
end
if changed then
  local args = {'newest', f(newest), 'n', int(hn), 's', int(hs), 'n7', int(hn7), 's7', int(hs7)}
  for k, dv in pairs(delta) do
    if dv ~= 0 or rebuilt then
      local v = value(k)
      if v == nil then v = redis.call('HINCRBY', hkey, k, int(dv)) end
      if v > 0 then
        args[#args + 1] = k
        args[#args + 1] = int(v)
      else
        redis.call('HDEL', hkey, k)
      end
    end
  end
  redis.call('HSET', hkey, unpack(args))
end
redis.call('PEXPIRE', key, ${KEY_TTL_MS.customer})
redis.call('PEXPIRE', hkey, ${KEY_TTL_MS.customer})
local n1, s1, n7, s7, n30, s30 = 0, 0, 0, 0, 0, 0
local hasPrev, prev = 0, 0
local terms, nterms = {}, 1
terms[term] = true
local merchs, nmerchs = {}, 0
if merch ~= '' then merchs[merch] = true nmerchs = 1 end
local tseen, dseen = 0, 0
if fast then
  -- every retained entry but this one is prior and inside (t-30d, t]
  n30, s30 = hn - 1, hs - a
  n7, s7 = hn7 - 1, hs7 - a
  if value(tf) > 1 then tseen = 1 end
  if df and value(df) > 1 then dseen = 1 end
  local rows = redis.call('ZRANGEBYSCORE', key, '(' .. f(lastpos(t - R1)), '(' .. f(pos), 'WITHSCORES')
  for i = 1, #rows, 2 do
    local am, te, me = parse(rows[i])
    n1 = n1 + 1
    s1 = s1 + tonumber(am)
    if not terms[te] then terms[te] = true nterms = nterms + 1 end
    if me ~= '' and not merchs[me] then merchs[me] = true nmerchs = nmerchs + 1 end
  end
  local last = #rows > 0 and rows[#rows] or nil
  if last == nil then
    local r = redis.call('ZREVRANGEBYSCORE', key, '(' .. f(pos), '(' .. f(lastpos(t - R30)), 'WITHSCORES', 'LIMIT', 0, 1)
    last = r[2]
  end
  if last ~= nil then hasPrev = 1 prev = timeof(tonumber(last)) end
  return {n1, s1, n7, s7, n30, s30, hasPrev, prev, nterms, nmerchs, tseen, dseen}
end
-- exact scan of the prior transactions in (t-30d, t]
local rows = redis.call('ZRANGEBYSCORE', key, '(' .. f(lastpos(t - R30)), '(' .. f(pos), 'WITHSCORES')
local lo7, lo1 = t - R7, t - R1
for i = 1, #rows, 2 do
  local s = timeof(tonumber(rows[i + 1]))
  local am, te, me, de = parse(rows[i])
  local x = tonumber(am)
  n30 = n30 + 1
  s30 = s30 + x
  if te == term then tseen = 1 end
  if dev ~= '' and de == dev then dseen = 1 end
  if s > lo7 then n7 = n7 + 1 s7 = s7 + x end
  if s > lo1 then
    n1 = n1 + 1
    s1 = s1 + x
    if not terms[te] then terms[te] = true nterms = nterms + 1 end
    if me ~= '' and not merchs[me] then merchs[me] = true nmerchs = nmerchs + 1 end
  end
  if hasPrev == 0 or s > prev then hasPrev = 1 prev = s end
end
return {n1, s1, n7, s7, n30, s30, hasPrev, prev, nterms, nmerchs, tseen, dseen}
`;

/**
 * KEYS[1] terminal tx zset, KEYS[2] terminal fraud zset. ARGV: event_time, auth_id.
 * Returns {nb1h, nb1d, fraud1d, nb7d, fraud7d, nb30d, fraud30d, lastFraud, last3Frauds}.
 */
const TERMINAL_BODY = `
local k, fk = KEYS[1], KEYS[2]
local t, auth = tonumber(ARGV[1]), ARGV[2]
local pos = record(k, t, auth)
local bound = trim(k, ${RETENTION_MS.terminal})
cap(k, tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', fk, '-inf', f(bound))
redis.call('PEXPIRE', k, ${KEY_TTL_MS.terminal})
-- (the fraud set's TTL is refreshed by applyLabels; nothing older than the retention is read)
local nb1h = prior(k, t - ${HOUR_MS}, pos) + 1
-- delayed windows (hi-n, hi]
local hi = t - ${TERMINAL_DELAY_MS}
local top = f(lastpos(hi))
local lo1, lo7, lo30 = hi - ${DAY_MS}, hi - ${7 * DAY_MS}, hi - ${30 * DAY_MS}
local n1 = redis.call('ZCOUNT', k, '(' .. f(lastpos(lo1)), top)
local n7 = redis.call('ZCOUNT', k, '(' .. f(lastpos(lo7)), top)
local n30 = redis.call('ZCOUNT', k, '(' .. f(lastpos(lo30)), top)
-- frauds among them: labels indexed by tx_time, placed by the transaction's own time
local f1, f7, f30 = 0, 0, 0
local fr = redis.call('ZRANGEBYSCORE', fk, '(' .. f(lo30), f(hi))
for i = 1, #fr do
  local sc = redis.call('ZSCORE', k, fr[i])
  if sc then
    local s = timeof(tonumber(sc))
    if s <= hi then
      if s > lo30 then f30 = f30 + 1 end
      if s > lo7 then f7 = f7 + 1 end
      if s > lo1 then f1 = f1 + 1 end
    end
  end
end
-- the latest 3 transactions in (lo30, hi], each a fraud when labelled so by a label of that window:
-- whether the latest is, and how many of the 3 are (0 and 0 when there is none)
local last, last3 = 0, 0
if n30 > 0 then
  local r = redis.call('ZREVRANGEBYSCORE', k, top, '(' .. f(lastpos(lo30)), 'LIMIT', 0, 3)
  for i = 1, #r do
    local sc = redis.call('ZSCORE', fk, r[i])
    local fraud = 0
    if sc and tonumber(sc) > lo30 and tonumber(sc) <= hi then fraud = 1 end
    if i == 1 then last = fraud end
    last3 = last3 + fraud
  end
end
return {nb1h, n1, f1, n7, f7, n30, f30, last, last3}
`;

/** KEYS[1] card zset. ARGV: event_time, auth_id. Returns {nb1d, nb7d}. */
const CARD_BODY = `
local k = KEYS[1]
local t, auth = tonumber(ARGV[1]), ARGV[2]
local pos = record(k, t, auth)
trim(k, ${RETENTION_MS.card})
cap(k, tonumber(ARGV[3]))
redis.call('PEXPIRE', k, ${KEY_TTL_MS.card})
return {prior(k, t - ${DAY_MS}, pos) + 1, prior(k, t - ${7 * DAY_MS}, pos) + 1}
`;

/**
 * The batch script: every entity update of one batch (on a Redis Cluster, of one slot) in one
 * call, so that Redis parses, dispatches and sets up a script once per batch instead of three
 * times per event. Each body above runs as a function of its own KEYS and ARGV, in the order of
 * the operations (per entity, the caller's event order).
 *
 * KEYS: the operations' keys in order (customer: zset, hash; terminal: zset, fraud set; card:
 * zset). ARGV: per operation its kind ('c', 't' or 'k') followed by its arguments (customer 7,
 * terminal 3, card 3, as documented above). Returns one reply (an array of integers) per operation.
 */
export const LUA_BATCH = `${LUA_COMMON}
local function customer(KEYS, ARGV)
${CUSTOMER_BODY}
end
local function terminal(KEYS, ARGV)
${TERMINAL_BODY}
end
local function card(KEYS, ARGV)
${CARD_BODY}
end
local ops = {c = {customer, 2, 7}, t = {terminal, 2, 3}, k = {card, 1, 3}}
local out = {}
local ki, ai = 1, 1
while ai <= #ARGV do
  local op = ops[ARGV[ai]]
  if op == nil then return redis.error_reply('unknown operation ' .. tostring(ARGV[ai])) end
  local keys, args = {}, {}
  for j = 1, op[2] do keys[j] = KEYS[ki + j - 1] end
  for j = 1, op[3] do args[j] = ARGV[ai + j] end
  ki, ai = ki + op[2], ai + op[3] + 1
  out[#out + 1] = op[1](keys, args)
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
  batch: script(LUA_BATCH),
} as const;
