-- The op guard: every write script runs inside it (scripts.rs puts the
-- script's body in place of the body marker in `write` below). See ops.rs.
--
-- KEYS[1]: the write's record ({prefix}:ops:{id}), then the script's own.
-- ARGV: how long to keep the record (ms), the kind of write, the type each
--       of the script's own keys must have if it exists (`hash hash set
--       list`, `*` for any), then the script's own.
-- The guard takes its key and arguments off KEYS and ARGV before the
-- script's body runs. The record holds `[kind, reply]`, or `cancelled` if
-- an outcome check (outcome.lua) got there first.
-- Reply: the body's reply; the recorded reply if the write was applied
-- before (a write sent twice is applied once); an error GATECANCELLED if
-- it was cancelled, GATEWRONGTYPE if a key holds another type (written by
-- some other tool): then nothing was written, since Redis does not roll a
-- script back and a script that failed half way would have written half.
local record = table.remove(KEYS, 1)
local ttl = table.remove(ARGV, 1)
local kind = table.remove(ARGV, 1)
local types = table.remove(ARGV, 1)
local done = redis.call('GET', record)
if done == 'cancelled' then
  return redis.error_reply('GATECANCELLED an outcome check cancelled this write before it reached Redis: nothing was written')
end
if done then return cjson.decode(done)[2] end
local i = 0
for expected in string.gmatch(types, '%S+') do
  i = i + 1
  if KEYS[i] and expected ~= '*' then
    local found = redis.call('TYPE', KEYS[i])['ok']
    if found ~= 'none' and found ~= expected then
      return redis.error_reply('GATEWRONGTYPE the key ' .. KEYS[i] .. ' holds a ' .. found .. ', not a ' .. expected .. ' (written by another tool?): nothing was written; delete or repair that key')
    end
  end
end
local function write()
--[[body]]
end
local reply = write()
redis.call('SET', record, cjson.encode({kind, reply}), 'PX', ttl)
return reply
