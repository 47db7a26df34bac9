-- INSERT: registers a new switch, with its allow-list.
-- Runs inside the op guard (guard.lua), which takes the write's record
-- key off KEYS and its three arguments off ARGV first: KEYS and ARGV below
-- are what this body sees. The audit entry is pushed onto the history list
-- and the list trimmed to its cap in the same run: the change and its
-- entry are one atomic step.
--
-- KEYS: switches, versions, users, history, [staging]
-- ARGV: key, json, channel, id count, entry, cap, ids...
-- Reply: the new version (> 0); -1 if the key exists; -2 if the staging
-- set does not hold id count ids (it expired): nothing was written.
-- Rust: scripts::InsertReply.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
if KEYS[5] and redis.call('SCARD', KEYS[5]) ~= tonumber(ARGV[4]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
local v = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('UNLINK', KEYS[3])
if KEYS[5] then
  if tonumber(ARGV[4]) > 0 then redis.call('RENAME', KEYS[5], KEYS[3]) end
else
  for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
end
redis.call('LPUSH', KEYS[4], ARGV[5])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
redis.call('PUBLISH', ARGV[3], cjson.encode({op = 'put', key = ARGV[1], version = v}))
return v
