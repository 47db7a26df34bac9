-- UPDATE: replaces a switch at an expected version.
-- Runs inside the op guard (guard.lua), which takes the write's record
-- key off KEYS and its three arguments off ARGV first: KEYS and ARGV below
-- are what this body sees. The audit entry is pushed onto the history list
-- and the list trimmed to its cap in the same run: the change and its
-- entry are one atomic step.
--
-- KEYS: switches, versions, users, history, [staging]
-- ARGV: key, json, channel, expected version, entry, cap,
--       added count (or the staged list's size), added..., removed...
-- Reply: {0, new version} stored; {1, 0} no such switch; {2, current
-- version} a conflict; {3, current version} the staging set lost ids.
-- Nothing was written unless the first is 0. Rust: scripts::UpdateReply.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {1, 0} end
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur ~= tonumber(ARGV[4]) then return {2, cur} end
if KEYS[5] and redis.call('SCARD', KEYS[5]) ~= tonumber(ARGV[7]) then return {3, cur} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if KEYS[5] then
  redis.call('UNLINK', KEYS[3])
  if tonumber(ARGV[7]) > 0 then redis.call('RENAME', KEYS[5], KEYS[3]) end
else
  local n = tonumber(ARGV[7])
  for i = 8, 7 + n do redis.call('SADD', KEYS[3], ARGV[i]) end
  for i = 8 + n, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
end
local v = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('LPUSH', KEYS[4], ARGV[5])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
local users = KEYS[5] ~= nil or #ARGV > 7
redis.call('PUBLISH', ARGV[3], cjson.encode({op = 'put', key = ARGV[1], version = v, users = users}))
return {0, v}
