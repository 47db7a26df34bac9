-- REPAIR: stores a switch over whatever its key holds.
-- Runs inside the op guard (guard.lua), which takes the write's record
-- key off KEYS and its three arguments off ARGV first: KEYS and ARGV below
-- are what this body sees. The audit entry is pushed onto the history list
-- and the list trimmed to its cap in the same run: the change and its
-- entry are one atomic step.
--
-- KEYS: switches, versions, users, history
-- ARGV: key, json, channel, entry without its closing brace, cap, ids...
-- Stores the switch whatever the key holds, also an unreadable record: a
-- version that is not a whole number starts again from 0, an allow-list
-- that is not a set is replaced.
-- Reply: the new version. Rust: scripts::RepairReply.
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if not cur or cur < 0 or cur ~= math.floor(cur) or cur > 2^52 then cur = 0 end
local v = cur + 1
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', v))
redis.call('UNLINK', KEYS[3])
for i = 6, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('LPUSH', KEYS[4], ARGV[4] .. ',"version":' .. string.format('%d', v) .. '}')
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
redis.call('PUBLISH', ARGV[3], cjson.encode({op = 'put', key = ARGV[1], version = v}))
return v
