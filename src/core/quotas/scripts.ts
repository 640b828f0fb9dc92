import { LuaScript } from './lua-script.js';

/**
 * The quota Lua scripts. Each runs atomically, so no two admissions can both see "one left", and no two releases
 * can both decrement. Every key is passed in KEYS (all share the prefix's hash tag, hence one cluster slot).
 *
 * Day keys are hashes `{daily, grant, gen}`: `daily` counts images charged to the daily quota, `grant` those paid
 * from the grant balance, and `gen` is bumped by an admin reset so refunds of pre-reset charges leave the new
 * count alone. Reservations are JSON `{u, g, d, ub, gb, ug, gg, at}`: user, guild, day, the bucket charged for
 * each (`daily` | `grant`), the day generation for each, and the admission time.
 */

/**
 * KEYS: 1 dedupe, 2 reservations, 3 subjects, 4 user ban, 5 user limits, 6 guild limits, 7 user day, 8 guild day,
 *       9 user grant, 10 guild grant, 11 user in-flight, 12 guild in-flight, 13 the day's total (every server),
 *       14 the guild's month, 15 the month's total (every server)
 *       [16 BullMQ wait list, 17 BullMQ prioritized set: of the queue the job will join, to count the jobs ahead]
 * ARGV: 1 jobId, 2 userKey, 3 guildKey, 4 day, 5 now (ms), 6 daily/user, 7 concurrent/user, 8 daily/guild,
 *       9 concurrent/guild, 10 day key ttl (ms), 11 dedupe ttl (ms), 12 the highest job priority (BullMQ's),
 *       13 the operator's daily total cap or '' (none), 14 the operator's largest daily limit or '' (none),
 *       15 the job's estimated cost (micro-dollars), 16 a server's monthly budget or '' (none), 17 a person's daily
 *       budget or '' (none), 18 the operator's monthly budget or '' (none), 19 month key ttl (ms), 20 the number of
 *       images (a gallery's count; '' or absent: 1)
 * Returns {'duplicate', jobId} | {'refused', reason, limit, used[, banReason]} | {'accepted', position[, ahead]}; the
 * same jobId and dedupe key again (a resent command) answers 'accepted' without charging twice.
 *
 * A gallery of n images is admitted whole or not at all: n images of the day's quota (or, once the day cannot hold
 * them, n of the grant balance; one bucket pays for the whole gallery) and the estimate of all n (ARGV 15 is the
 * gallery's). Its reservation keeps `n`; a release refunds what was not delivered. In-flight limits count jobs.
 *
 * Every admitted image also counts toward the day's total; with a cap set, a full day refuses with 'global_daily'.
 * The largest daily limit caps every daily limit (override or default), so no server admin can set past it.
 *
 * Money: the estimate is added to `spent` (micro-dollars) on the person's day hash, the server's month hash and the
 * month's total, each checked first against its budget (the server's limits hash `budget_monthly` and
 * `budget_person_daily` override the defaults): 'guild_budget', 'user_budget', 'global_budget' refuse a job whose
 * estimate would spend past one. Budgets count estimates of jobs in flight, so concurrent admissions never spend past
 * a budget; a job settles to its actual cost (or refunds its estimate) when its reservation is released.
 *
 * `ahead` (with keys 16 and 17): the jobs that will run before this one once it is added with priority = position:
 * the wait list (no priority, runs first) and the prioritized jobs of the same or a higher priority. BullMQ scores a
 * prioritized job `priority * 2^32 + counter` (its getPriorityScore), so those are the scores below (p + 1) * 2^32.
 * Counted here, the submit needs no second round trip for its queue position.
 */
export const admitScript = new LuaScript(`
local function answer(position)
  if #KEYS < 17 then return {'accepted', position} end
  local p = math.min(position, tonumber(ARGV[12]))
  -- %d: the bound reaches 2^53, past the 14 digits Lua's number-to-string conversion keeps.
  local below = string.format('%d', (p + 1) * 4294967296 - 1)
  return {'accepted', position, redis.call('LLEN', KEYS[16]) + redis.call('ZCOUNT', KEYS[17], 0, below)}
end

local original = redis.call('GET', KEYS[1])
-- This very call again: ioredis resends a command whose reply was lost when Redis went away after running it. Job
-- ids are unique per call, so answer as the first run did instead of "duplicate" (which would lose the job).
if original == ARGV[1] and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return answer(tonumber(redis.call('GET', KEYS[11]) or '1'))
end
if original then return {'duplicate', original} end
-- The same job id twice would overwrite a reservation and leak its charge.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {'duplicate', ARGV[1]} end

if redis.call('EXISTS', KEYS[4]) == 1 then
  return {'refused', 'banned', 0, 0, redis.call('HGET', KEYS[4], 'reason') or ''}
end

local ceiling = tonumber(ARGV[14])
local function limit(key, field, default)
  return tonumber(redis.call('HGET', key, field) or default)
end
local function daily(key, default)
  local value = limit(key, 'daily', default)
  if ceiling and value > ceiling then return ceiling end
  return value
end

local n = tonumber(ARGV[20]) or 1
-- The daily quota pays first; the persistent grant balance only once the day cannot hold the images.
local function bucket(dayKey, grantKey, dailyLimit)
  local used = tonumber(redis.call('HGET', dayKey, 'daily') or '0')
  if used + n <= dailyLimit then return 'daily', used end
  if tonumber(redis.call('GET', grantKey) or '0') >= n then return 'grant', used end
  return false, used
end

local userDaily = daily(KEYS[5], ARGV[6])
local userBucket, userUsed = bucket(KEYS[7], KEYS[9], userDaily)
if not userBucket then return {'refused', 'user_daily', userDaily, userUsed} end
local guildDaily = daily(KEYS[6], ARGV[8])
local guildBucket, guildUsed = bucket(KEYS[8], KEYS[10], guildDaily)
if not guildBucket then return {'refused', 'guild_daily', guildDaily, guildUsed} end

local userConcurrent = limit(KEYS[5], 'concurrent', ARGV[7])
local userInFlight = tonumber(redis.call('GET', KEYS[11]) or '0')
if userInFlight >= userConcurrent then return {'refused', 'user_concurrent', userConcurrent, userInFlight} end
local guildConcurrent = limit(KEYS[6], 'concurrent', ARGV[9])
local guildInFlight = tonumber(redis.call('GET', KEYS[12]) or '0')
if guildInFlight >= guildConcurrent then return {'refused', 'guild_concurrent', guildConcurrent, guildInFlight} end

local totalCap = tonumber(ARGV[13])
local totalUsed = tonumber(redis.call('HGET', KEYS[13], 'daily') or '0')
if totalCap and totalUsed + n > totalCap then return {'refused', 'global_daily', totalCap, totalUsed} end

local cost = tonumber(ARGV[15]) or 0
local function spent(key) return tonumber(redis.call('HGET', key, 'spent') or '0') end
local function budget(field, default)
  local value = redis.call('HGET', KEYS[6], field)
  if value then return tonumber(value) end
  return tonumber(default)
end
local operatorBudget = tonumber(ARGV[18])
if operatorBudget and spent(KEYS[15]) + cost > operatorBudget then
  return {'refused', 'global_budget', operatorBudget, spent(KEYS[15])}
end
local guildBudget = budget('budget_monthly', ARGV[16])
if guildBudget and spent(KEYS[14]) + cost > guildBudget then return {'refused', 'guild_budget', guildBudget, spent(KEYS[14])} end
local personBudget = budget('budget_person_daily', ARGV[17])
if personBudget and spent(KEYS[7]) + cost > personBudget then return {'refused', 'user_budget', personBudget, spent(KEYS[7])} end

local function charge(dayKey, grantKey, which)
  redis.call('HINCRBY', dayKey, which, n)
  redis.call('PEXPIRE', dayKey, ARGV[10])
  if which == 'grant' then redis.call('DECRBY', grantKey, n) end
  return redis.call('HGET', dayKey, 'gen') or '0'
end
local userGen = charge(KEYS[7], KEYS[9], userBucket)
local guildGen = charge(KEYS[8], KEYS[10], guildBucket)
redis.call('HINCRBY', KEYS[13], 'daily', n)
redis.call('PEXPIRE', KEYS[13], ARGV[10])
if cost > 0 then
  redis.call('HINCRBY', KEYS[7], 'spent', cost)
  for _, key in ipairs({KEYS[14], KEYS[15]}) do
    redis.call('HINCRBY', key, 'spent', cost)
    redis.call('PEXPIRE', key, ARGV[19])
  end
end
local position = redis.call('INCR', KEYS[11])
redis.call('INCR', KEYS[12])
redis.call('SADD', KEYS[3], 'user|' .. ARGV[2], 'guild|' .. ARGV[3])
local reservation = {
  u = ARGV[2], g = ARGV[3], d = ARGV[4], ub = userBucket, gb = guildBucket, ug = userGen, gg = guildGen, at = ARGV[5], c = cost,
}
if n > 1 then reservation.n = n end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(reservation))
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[11])
return answer(position)
`);

/**
 * Money settled with a release, in Lua shared by the release scripts: the reservation's estimate `c` comes off the
 * person's day, the server's month and the month's total when refunded; when delivered, each moves by (actual -
 * estimate), or stays at the estimate when the actual cost is not known (''). A key that has expired is left alone
 * (it no longer counts toward anything).
 */
const SETTLE_LUA = `
local function settle(r, outcome, actual, userDay, guildMonth, totalMonth)
  local estimate = tonumber(r.c) or 0
  local delta = 0
  if outcome == 'refunded' then delta = -estimate
  elseif actual ~= '' and tonumber(actual) then delta = tonumber(actual) - estimate end
  if delta == 0 then return end
  for _, key in ipairs({userDay, guildMonth, totalMonth}) do
    if redis.call('EXISTS', key) == 1 then redis.call('HINCRBY', key, 'spent', delta) end
  end
end
`;

/**
 * KEYS: 1 reservations, 2 user in-flight, 3 guild in-flight, 4 user day, 5 guild day, 6 user grant, 7 guild grant,
 *       8 the day's total, 9 the guild's month, 10 the month's total
 * ARGV: 1 jobId, 2 the reservation JSON as read by the caller (the keys were derived from it), 3 outcome, 4 the actual
 *       cost in micro-dollars or '' (delivered only), 5 the images delivered or '' (all: a gallery's count)
 * Returns 1 if this call released the reservation, 0 if it was already gone (or replaced). A refund gives back every
 * image reserved (`n`, 1 when absent); a delivery of fewer images than reserved gives back the rest.
 */
export const releaseScript = new LuaScript(`${SETTLE_LUA}
-- The guarded HDEL: whoever still finds the reservation it read is the one who decrements.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local ok, decoded = pcall(cjson.decode, ARGV[2])
if ok and type(decoded) == 'table' then settle(decoded, ARGV[3], ARGV[4] or '', KEYS[4], KEYS[9], KEYS[10]) end

local function decr(key)
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
decr(KEYS[2])
decr(KEYS[3])

if not ok or type(decoded) ~= 'table' then return 1 end
local r = decoded
local reserved = tonumber(r.n) or 1
local back = reserved
if ARGV[3] ~= 'refunded' then
  local delivered = tonumber(ARGV[5] or '') or reserved
  back = math.max(0, reserved - delivered)
end
if back > 0 then
  local function lower(key, field)
    local have = tonumber(redis.call('HGET', key, field) or '0')
    if have > 0 then redis.call('HINCRBY', key, field, -math.min(have, back)) end
  end
  local function refund(dayKey, grantKey, which, gen)
    -- A grant was really spent, so it comes back even if the day has since been reset or expired.
    if which == 'grant' then redis.call('INCRBY', grantKey, back) end
    -- A day reset by an admin (new generation) or already expired no longer holds this charge.
    if (redis.call('HGET', dayKey, 'gen') or '0') == gen then lower(dayKey, which) end
  end
  refund(KEYS[4], KEYS[6], r.ub, r.ug)
  refund(KEYS[5], KEYS[7], r.gb, r.gg)
  lower(KEYS[8], 'daily')
end
return 1
`);

/**
 * A Lua function for scripts that finish a delivered job in one round trip (queue/step-writes.ts): releases the
 * reservation when the caller knows the job's user and guild but has not read the reservation (HGET + releaseScript
 * otherwise). Same guarded HDEL as releaseScript, so every path still releases exactly once. It only releases what
 * QuotaStore.release would (a well-formed reservation of this user and guild; 'delivered' touches no day key).
 *
 * releaseDelivered(reservations, userInFlight, guildInFlight, jobId, userKey, guildKey, day, money) returns 1 if
 * this call released, 0 if no reservation is held, -1 if it is malformed, names another subject or another admission
 * day than `day` (the money keys were derived from it): on 0 and -1 the caller falls back to QuotaStore.release,
 * which decides as before. `money` = {userDay, guildMonth, totalMonth, actual, count}: the settlement (see SETTLE_LUA)
and the images delivered ('' for all); a gallery that delivered fewer than it reserved answers -1 (the release script
gives the rest back).
 */
export const RELEASE_DELIVERED_LUA = `${SETTLE_LUA}
local function releaseDelivered(reservations, userInFlight, guildInFlight, jobId, userKey, guildKey, day, money)
  local raw = redis.call('HGET', reservations, jobId)
  if not raw then return 0 end
  local ok, r = pcall(cjson.decode, raw)
  if not ok or type(r) ~= 'table' or r.u ~= userKey or r.g ~= guildKey or type(r.d) ~= 'string' or r.d ~= day then return -1 end
  if (r.ub ~= 'daily' and r.ub ~= 'grant') or (r.gb ~= 'daily' and r.gb ~= 'grant') then return -1 end
  local at = tonumber(r.at)
  if not at or at ~= at or at == math.huge or at == -math.huge then return -1 end
  -- A gallery that delivers fewer images than it reserved gives the rest back: the release script does that.
  if (tonumber(r.n) or 1) > (tonumber(money.count or '') or (tonumber(r.n) or 1)) then return -1 end
  redis.call('HDEL', reservations, jobId)
  for _, key in ipairs({userInFlight, guildInFlight}) do
    if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
  end
  settle(r, 'delivered', money.actual, money.userDay, money.guildMonth, money.totalMonth)
  return 1
end
`;

/**
 * KEYS: 1 reservations, 2 subjects, 3.. in-flight counters
 * ARGV: the subject id (`user|<key>` / `guild|<key>`) of each counter, in the same order
 * Sets each counter to the number of reservations held by its subject (admissions and releases change both
 * together, so counting inside one script is exact); forgets subjects with none. Returns how many counters changed.
 */
export const recountScript = new LuaScript(`
local counts = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 2, #all, 2 do
  local ok, r = pcall(cjson.decode, all[i])
  if ok and type(r) == 'table' then
    local u = 'user|' .. tostring(r.u)
    local g = 'guild|' .. tostring(r.g)
    counts[u] = (counts[u] or 0) + 1
    counts[g] = (counts[g] or 0) + 1
  end
end
local repaired = 0
for i = 1, #ARGV do
  local key = KEYS[i + 2]
  local want = counts[ARGV[i]] or 0
  local have = redis.call('GET', key)
  if want == 0 then
    if have and have ~= '0' then repaired = repaired + 1 end
    redis.call('DEL', key)
    redis.call('SREM', KEYS[2], ARGV[i])
  elseif tonumber(have or '') ~= want then
    repaired = repaired + 1
    redis.call('SET', key, want)
  end
end
return repaired
`);

/**
 * KEYS: 1 reservations. ARGV: 1 jobId.
 * A job's first start claims its reservation: returns 1 and marks it started (`s = 1`) when it is held, 0 when it is
 * gone (refunded: the job must not reach a provider, it would run free). Marking rewrites the stored JSON, so a
 * reconciler pass that read the reservation before the claim no longer finds the text it read and its guarded
 * release does nothing: the claim and a refund cannot both win.
 */
export const claimScript = new LuaScript(`
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, r = pcall(cjson.decode, raw)
if not ok or type(r) ~= 'table' then return 1 end
if r.s ~= 1 then
  r.s = 1
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r))
end
return 1
`);
