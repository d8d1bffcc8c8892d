"""The Redis lease store's Lua scripts (``leases_redis.py``): every decision runs inside one of them,
so concurrent visitors across processes never hold the same number at once. Times are epoch seconds
computed by the caller: the scripts never read Redis's clock, so fixed clocks in tests behave like
the SQL store.

Keys, under a prefix (default ``rt:dni:``):
- ``lease:seq``                  counter for lease ids
- ``lease:{id}``                 hash: p(ool) n(umber) v(isitor) s(ession) st(art) ls (last seen),
                                 end, hold, r(ecycled)
- ``n:{number}:cur``             id of the number's latest lease
- ``n:{number}:hist``            sorted set of lease ids by start, read by ``holders``; trimmed
                                 past ``HISTORY_TRIM_SECONDS`` on one new lease in 16
- ``p:{pool}:ends``              sorted set of numbers by their last lease end (busy, cool-down, LRU
                                 order); a number reserved ahead (``RESERVE``) is marked here too
- ``p:{pool}:avail``             the pool's eligible numbers by the moment each may be handed out again
                                 (last end + cool-down; never-used numbers first, in id order), so a
                                 free number is one ``ZRANGEBYSCORE``, not a scan of the pool
- ``p:{pool}:ver``               which eligible set (and cool-down) ``avail`` was built for; a
                                 mismatch makes ``acquire`` rebuild it from ``ends`` and retry
- ``p:{pool}:v:{visitor}``       id of the visitor's latest lease in the pool (stickiness)
- ``s:{account}:{session}``      set of the session's lease ids (heartbeats)

Keys are built inside the scripts, so this needs a single Redis (not Redis Cluster).
"""

from __future__ import annotations

_HELPERS = """
local P = ARGV[1]
local function keep(key, ttl)
  -- Only ever lengthen a TTL: a live lease elsewhere may need the key longer than this write does.
  if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
end
-- The keys of a lease just written or extended live as long as it needs them. ``fresh``: the
-- number's current-lease key and the visitor's key were just SET with their TTLs. Returns how long
-- the pool's keys must live for it (``keep_pool``).
local function extend_lease(now, retention, number, visitor_key, session_key, lease_key, ends, fresh)
  local live = math.ceil(ends - now) + 60
  local kept = math.ceil(ends - now) + retention
  -- A live lease is its number's latest and its visitor's only one in the pool (a new lease on
  -- either ends the previous one), so these keys need exactly what this lease needs.
  redis.call('EXPIRE', lease_key, kept)
  redis.call('EXPIRE', P .. 'n:' .. number .. ':hist', kept)
  if not fresh then
    redis.call('EXPIRE', P .. 'n:' .. number .. ':cur', kept)
    redis.call('EXPIRE', visitor_key, live)
  end
  keep(session_key, live)  -- the session's leases in other pools may need it longer
  return kept
end
-- Pool-wide keys outlive all of the pool's leases: lengthened only when they fall well short of
-- ``kept``, so that a lease costs one TTL read here, not six commands (a batch of leases, one).
-- The availability set and its version expire together: a missing version rebuilds the set.
local function keep_pool(pool, kept)
  local ends_key = P .. 'p:' .. pool .. ':ends'
  if redis.call('TTL', ends_key) < kept - math.min(3600, math.floor(kept / 10)) then
    redis.call('EXPIRE', ends_key, kept)
    redis.call('EXPIRE', P .. 'p:' .. pool .. ':avail', kept)
    redis.call('EXPIRE', P .. 'p:' .. pool .. ':ver', kept)
  end
end
local function extend(now, retention, pool, number, visitor_key, session_key, lease_key, ends, fresh)
  keep_pool(pool, extend_lease(now, retention, number, visitor_key, session_key, lease_key, ends, fresh))
end
-- A number's history is read only by start, newest first, a few entries at a time: trimming what
-- is older than ``trim`` on one lease in 16 keeps it as short, at a sixteenth of the work.
local function trim_history(hist, id, start, trim)
  if id % 16 == 0 then redis.call('ZREMRANGEBYSCORE', hist, '-inf', '(' .. (start - trim)) end
end
"""

_ACQUIRE_ARGS = """
-- ARGV: prefix pool visitor session account now hold cooldown recycle retention trim version
--       extend_after
local pool, visitor, session, account = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, hold, cooldown = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local recycle, retention, trim = ARGV[9] == '1', tonumber(ARGV[10]), tonumber(ARGV[11])
local extend_after = tonumber(ARGV[13])
"""

_GATE = """
-- ARGV after the acquisition's: counter-ttl n (counter limit)*n [command args...]
-- Rate-limit counters are counted, then the command (remembering the first touch) runs, whatever
-- the counts: what the two-step path does with one pipeline before its lease script.
local ttl, limited, i = ARGV[14], false, 16
for _ = 1, tonumber(ARGV[15]) do
  local count = redis.call('INCR', ARGV[i])
  -- A counter is named after its window: its TTL is set once, when the window's first hit makes it.
  if count == 1 then redis.call('EXPIRE', ARGV[i], ttl) end
  if count > tonumber(ARGV[i + 1]) then limited = true end
  i = i + 2
end
if #ARGV >= i then redis.call(unpack(ARGV, i, #ARGV)) end
if limited then return {-2, 0} end
"""

_ACQUIRE_BODY = """
local avail_key = P .. 'p:' .. pool .. ':avail'
if redis.call('GET', P .. 'p:' .. pool .. ':ver') ~= ARGV[12] then return {-1, 0} end
local ends_key = P .. 'p:' .. pool .. ':ends'
local visitor_key = P .. 'p:' .. pool .. ':v:' .. visitor
local session_key = P .. 's:' .. account .. ':' .. session

local function new_lease(number, recycled)
  local id = redis.call('INCR', P .. 'lease:seq')
  local key = P .. 'lease:' .. id
  local hist = P .. 'n:' .. number .. ':hist'
  local ends = now + hold
  redis.call('HSET', key, 'p', pool, 'n', number, 'v', visitor, 's', session,
    'st', now, 'ls', now, 'end', ends, 'hold', hold, 'cd', cooldown, 'r', recycled)
  redis.call('SET', P .. 'n:' .. number .. ':cur', id, 'EX', math.ceil(hold) + retention)
  redis.call('ZADD', hist, now, id)
  trim_history(hist, id, now, trim)
  redis.call('ZADD', ends_key, ends, number)
  redis.call('ZADD', avail_key, ends + cooldown, number)
  redis.call('SET', visitor_key, id, 'EX', math.ceil(hold) + 60)
  redis.call('SADD', session_key, id)
  extend(now, retention, pool, number, visitor_key, session_key, key, ends, true)
  return {tonumber(number), tonumber(recycled), tostring(ends)}
end

local function sticky()
  local id = redis.call('GET', visitor_key)
  if not id then return nil end
  local key = P .. 'lease:' .. id
  local f = redis.call('HMGET', key, 'n', 's', 'end', 'r')
  if not f[1] or tonumber(f[3]) <= now or not redis.call('ZSCORE', avail_key, f[1]) then return nil end
  if f[2] ~= session then
    -- Same visitor, new visit: the number stays, the new session gets its own lease history.
    redis.call('HSET', key, 'end', now)
    return new_lease(f[1], f[4])
  end
  -- Extended lately (another page view seconds ago): left as it is.
  if tonumber(f[3]) >= now + hold - extend_after then return {tonumber(f[1]), tonumber(f[4]), f[3]} end
  local ends = now + hold
  redis.call('HSET', key, 'ls', now, 'end', ends, 'hold', hold, 'cd', cooldown)
  redis.call('ZADD', ends_key, ends, f[1])
  redis.call('ZADD', avail_key, ends + cooldown, f[1])
  extend(now, retention, pool, f[1], visitor_key, session_key, key, ends, false)
  return {tonumber(f[1]), tonumber(f[4]), tostring(ends)}
end

local function free_number()
  -- Never-used numbers score below any time, in id order; then the one released longest ago.
  return redis.call('ZRANGEBYSCORE', avail_key, '-inf', now, 'LIMIT', 0, 1)[1]
end

local function recycle_oldest()
  -- The live lease seen longest ago gives up its number; both leases are marked recycled. Live
  -- leases are the ones whose number is not available before now + cool-down; the earliest ends
  -- are the candidates, and ties go to the oldest lease.
  local best_key, best_n, best_seen, best_id = nil, nil, nil, nil
  local first = redis.call('ZRANGEBYSCORE', avail_key, '(' .. (now + cooldown), '+inf', 'LIMIT', 0, 16)
  for _, n in ipairs(first) do
    local id = redis.call('GET', P .. 'n:' .. n .. ':cur')
    if id then
      local f = redis.call('HMGET', P .. 'lease:' .. id, 'p', 'ls', 'end')
      local seen = tonumber(f[2])
      if f[1] == pool and f[3] and tonumber(f[3]) > now and (best_seen == nil or seen < best_seen
          or (seen == best_seen and tonumber(id) < best_id)) then
        best_key, best_n, best_seen, best_id = P .. 'lease:' .. id, n, seen, tonumber(id)
      end
    end
  end
  if not best_key then return nil end
  redis.call('HSET', best_key, 'end', now, 'r', 1)
  return new_lease(best_n, 1)
end

local kept = sticky()
if kept then return kept end
local n = free_number()
if n then return new_lease(n, 0) end
if recycle then return recycle_oldest() end
return nil
"""

ACQUIRE = _HELPERS + _ACQUIRE_ARGS + _ACQUIRE_BODY
# The rate limits and the first touch in the same round trip as the lease (see ``acquire_gated``).
GATED_ACQUIRE = _HELPERS + _ACQUIRE_ARGS + _GATE + _ACQUIRE_BODY

SYNC = """
-- ARGV: prefix pool version cooldown retention eligible...
-- Rebuild the pool's availability set from the numbers' last lease ends: only eligible numbers are
-- in it, so a drained number is never handed out and keeps its history for attribution.
local P, pool, cooldown = ARGV[1], ARGV[2], tonumber(ARGV[4])
local avail_key, ends_key = P .. 'p:' .. pool .. ':avail', P .. 'p:' .. pool .. ':ends'
redis.call('DEL', avail_key)
for i = 6, #ARGV do
  local n = ARGV[i]
  local last = redis.call('ZSCORE', ends_key, n)
  if last then
    redis.call('ZADD', avail_key, tonumber(last) + cooldown, n)
  else
    redis.call('ZADD', avail_key, -1e12 + tonumber(n), n)
  end
end
redis.call('SET', P .. 'p:' .. pool .. ':ver', ARGV[3], 'EX', ARGV[5])
if #ARGV >= 6 then redis.call('EXPIRE', avail_key, ARGV[5]) end
return #ARGV - 5
"""

TOUCH = (
    _HELPERS
    + """
-- ARGV: prefix account session now retention
local session_key = P .. 's:' .. ARGV[2] .. ':' .. ARGV[3]
local now, retention = tonumber(ARGV[4]), tonumber(ARGV[5])
local touched = 0
for _, id in ipairs(redis.call('SMEMBERS', session_key)) do
  local key = P .. 'lease:' .. id
  local f = redis.call('HMGET', key, 'p', 'n', 'v', 'end', 'hold', 'cd')
  if f[4] and tonumber(f[4]) > now then
    local ends = now + tonumber(f[5])
    redis.call('HSET', key, 'ls', now, 'end', ends)
    redis.call('ZADD', P .. 'p:' .. f[1] .. ':ends', ends, f[2])
    -- XX: a number drained since stays out of the availability set.
    redis.call('ZADD', P .. 'p:' .. f[1] .. ':avail', 'XX', ends + tonumber(f[6] or 0), f[2])
    extend(now, retention, f[1], f[2], P .. 'p:' .. f[1] .. ':v:' .. f[3], session_key, key, ends, false)
    touched = touched + 1
  end
end
return touched
"""
)

HOLDERS = """
-- ARGV: prefix number at
-- A number's leases never overlap (a new lease cuts the previous one), so the covering lease is among
-- the latest few that started by then: no need to scan the whole history.
local P, at = ARGV[1], tonumber(ARGV[3])
local ids = redis.call('ZREVRANGEBYSCORE', P .. 'n:' .. ARGV[2] .. ':hist', ARGV[3], '-inf', 'LIMIT', 0, 8)
local out = {}
for i = #ids, 1, -1 do
  local f = redis.call('HMGET', P .. 'lease:' .. ids[i], 's', 'v', 'r', 'end')
  if f[4] and tonumber(f[4]) > at then
    out[#out + 1] = {f[1], f[2], tonumber(f[3])}
  end
end
return out
"""


RECENT = """
-- ARGV: prefix number before limit
-- Leases that had ended by ``before``, latest end first (a number's leases never overlap, so their
-- ends follow their starts).
local P, before, limit = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local hist = P .. 'n:' .. ARGV[2] .. ':hist'
local ids = redis.call('ZREVRANGEBYSCORE', hist, ARGV[3], '-inf', 'LIMIT', 0, limit + 1)
local out = {}
for i = 1, #ids do
  local f = redis.call('HMGET', P .. 'lease:' .. ids[i], 's', 'end')
  if f[2] and tonumber(f[2]) <= before and #out < limit then out[#out + 1] = f[1] end
end
return out
"""

RETURNING = """
-- ARGV: prefix first-touch-key visitor, then (source, its pool) pairs
-- Read only: a returning visitor's first-touch source and its latest lease in that source's pool,
-- for a process that remembers neither (``RedisLeaseStore.first_touch_and_lease``).
local P, visitor = ARGV[1], ARGV[3]
local first = redis.call('GET', ARGV[2])
if not first then return {} end
for i = 4, #ARGV, 2 do
  if ARGV[i] == first then
    local id = redis.call('GET', P .. 'p:' .. ARGV[i + 1] .. ':v:' .. visitor)
    if not id then return {first} end
    local f = redis.call('HMGET', P .. 'lease:' .. id, 'n', 's', 'end', 'r')
    if not f[1] or not f[3] then return {first} end
    return {first, ARGV[i + 1], f[1], f[2], f[3], f[4]}
  end
end
return {first}
"""

# Reservations (``dni/reservations.py``): free numbers a process takes ahead under load, marked
# leased for the hold time, as the SQL store marks its rows. Marking ``ends`` too keeps them out of
# an availability set rebuilt meanwhile (``SYNC``).
RESERVE = """
-- ARGV: prefix pool version now mark cooldown limit headroom
local P, pool = ARGV[1], ARGV[2]
if redis.call('GET', P .. 'p:' .. pool .. ':ver') ~= ARGV[3] then return -1 end
local now, mark, cooldown = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local avail_key, ends_key = P .. 'p:' .. pool .. ':avail', P .. 'p:' .. pool .. ':ends'
if redis.call('ZCOUNT', avail_key, '-inf', now) < tonumber(ARGV[8]) then return {} end
local out = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', avail_key, '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))) do
  out[#out + 1] = n
  out[#out + 1] = redis.call('ZSCORE', ends_key, n) or ''  -- '': never leased
  redis.call('ZADD', ends_key, ARGV[5], n)  -- as given: ``UNRESERVE`` compares it
  redis.call('ZADD', avail_key, mark + cooldown, n)
end
return out
"""

UNRESERVE = """
-- ARGV: prefix pool mark cooldown, then (number, its end before it was reserved or '') pairs.
-- A number still marked as reserved goes back as it was; one leased meanwhile keeps its lease.
local P, pool, mark, cooldown = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local avail_key, ends_key = P .. 'p:' .. pool .. ':avail', P .. 'p:' .. pool .. ':ends'
for i = 5, #ARGV, 2 do
  local n, before = ARGV[i], ARGV[i + 1]
  if tonumber(redis.call('ZSCORE', ends_key, n)) == mark then
    -- XX: a number drained meanwhile stays out of the availability set.
    if before == '' then
      redis.call('ZREM', ends_key, n)
      redis.call('ZADD', avail_key, 'XX', -1e12 + tonumber(n), n)
    else
      redis.call('ZADD', ends_key, before, n)
      redis.call('ZADD', avail_key, 'XX', tonumber(before) + cooldown, n)
    end
  end
end
return 0
"""

WRITE_LEASES = (
    _HELPERS
    + """
-- ARGV: prefix retention trim, then per lease: pool number visitor session account start end
--       cooldown recycled
-- Leases handed out from reserved numbers, as ``new_lease`` in ``ACQUIRE`` writes one.
local retention, trim = tonumber(ARGV[2]), tonumber(ARGV[3])
local count = (#ARGV - 3) / 9
local id = redis.call('INCRBY', P .. 'lease:seq', count) - count  -- ids for the batch at once
local pools = {}  -- pool → how long its keys must live for the batch's leases
for i = 4, #ARGV, 9 do
  local pool, number, visitor, session, account = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local start, ends, cooldown = tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6]), tonumber(ARGV[i + 7])
  id = id + 1
  local key, hist = P .. 'lease:' .. id, P .. 'n:' .. number .. ':hist'
  local visitor_key = P .. 'p:' .. pool .. ':v:' .. visitor
  local session_key = P .. 's:' .. account .. ':' .. session
  redis.call('HSET', key, 'p', pool, 'n', number, 'v', visitor, 's', session, 'st', ARGV[i + 5],
    'ls', ARGV[i + 5], 'end', ARGV[i + 6], 'hold', ends - start, 'cd', ARGV[i + 7], 'r', ARGV[i + 8])
  redis.call('SET', P .. 'n:' .. number .. ':cur', id, 'EX', math.ceil(ends - start) + retention)
  redis.call('ZADD', hist, start, id)
  trim_history(hist, id, start, trim)
  redis.call('ZADD', P .. 'p:' .. pool .. ':ends', ends, number)
  redis.call('ZADD', P .. 'p:' .. pool .. ':avail', 'XX', ends + cooldown, number)
  redis.call('SET', visitor_key, id, 'EX', math.ceil(ends - start) + 60)
  redis.call('SADD', session_key, id)
  local kept = extend_lease(start, retention, number, visitor_key, session_key, key, ends, true)
  pools[pool] = math.max(pools[pool] or 0, kept)
end
for pool, kept in pairs(pools) do keep_pool(pool, kept) end
return count
"""
)
