-- REMOVE_TREE: removes a switch and every switch below it.
-- Runs inside the op guard (guard.lua), which takes the write's record
-- key off KEYS and its three arguments off ARGV first: KEYS and ARGV below
-- are what this body sees. The audit entry is pushed onto the history list
-- and the list trimmed to its cap in the same run: the change and its
-- entry are one atomic step.
--
-- KEYS: switches, versions, history
-- ARGV: root key, channel, users key prefix, entry without its key and
--       closing brace, cap
-- The tree is removed in key order (a parent before its children,
-- siblings by name), never in HKEYS order, which depends on the server's
-- hash seed: the trail, newest first, lists descendants first.
-- Reply: a flat list of key, record, version for every switch removed
-- (empty if there was none). Rust: scripts::RemovedReply.
local removed = {}
local out = {}
for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
  if k == ARGV[1] or string.sub(k, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then
    table.insert(removed, k)
  end
end
table.sort(removed)
for _, k in ipairs(removed) do
  table.insert(out, k)
  table.insert(out, redis.call('HGET', KEYS[1], k))
  table.insert(out, redis.call('HGET', KEYS[2], k) or '0')
  redis.call('HDEL', KEYS[1], k)
  redis.call('HDEL', KEYS[2], k)
  redis.call('UNLINK', ARGV[3] .. k)
  redis.call('LPUSH', KEYS[3], ARGV[4] .. ',"key":' .. cjson.encode(k) .. '}')
end
if #removed > 0 then
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'del', keys = removed}))
end
return out
