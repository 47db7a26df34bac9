-- BATCH: several creates and updates, all or nothing.
-- Runs inside the op guard (guard.lua), which takes the write's record
-- key off KEYS and its three arguments off ARGV first: KEYS and ARGV below
-- are what this body sees. The audit entry is pushed onto the history list
-- and the list trimmed to its cap in the same run: the change and its
-- entry are one atomic step.
--
-- KEYS: switches, versions, history
-- ARGV: channel, users key prefix, cap, n, then n items of
--       key, json, expected version ('' to create), entry without its
--       closing brace, staging set ('' if the ids follow inline), id count
--       (or the staged set's size), ids...
-- Checks every item first, then writes them all: all or nothing.
-- Reply: {0, version of each item...} all written; else nothing was
-- written and the reply names the first item j (from 1) that failed:
-- {1, j} exists already, {2, j} no such switch, {3, j, current version}
-- a conflict, {4, j} its staging set lost ids. Rust: scripts::BatchReply.
local items = {}
local i = 5
for j = 1, tonumber(ARGV[4]) do
  local nu = tonumber(ARGV[i + 5])
  local inline = 0
  if ARGV[i + 4] == '' then inline = nu end
  items[j] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], i + 6, nu, ARGV[i + 4]}
  i = i + 6 + inline
end
for j, it in ipairs(items) do
  local exists = redis.call('HEXISTS', KEYS[1], it[1]) == 1
  if it[3] == '' then
    if exists then return {1, j} end
  else
    if not exists then return {2, j} end
    local cur = tonumber(redis.call('HGET', KEYS[2], it[1]) or '0')
    if cur ~= tonumber(it[3]) then return {3, j, cur} end
  end
  if it[7] ~= '' and redis.call('SCARD', it[7]) ~= it[6] then return {4, j} end
end
local out = {0}
for j, it in ipairs(items) do
  redis.call('HSET', KEYS[1], it[1], it[2])
  if it[3] == '' then redis.call('HDEL', KEYS[2], it[1]) end
  local v = redis.call('HINCRBY', KEYS[2], it[1], 1)
  local users = ARGV[2] .. it[1]
  redis.call('UNLINK', users)
  if it[7] ~= '' then
    if it[6] > 0 then redis.call('RENAME', it[7], users) end
  else
    for k = it[5], it[5] + it[6] - 1 do redis.call('SADD', users, ARGV[k]) end
  end
  redis.call('LPUSH', KEYS[3], it[4] .. ',"version":' .. v .. '}')
  redis.call('PUBLISH', ARGV[1], cjson.encode({op = 'put', key = it[1], version = v}))
  table.insert(out, v)
end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return out
