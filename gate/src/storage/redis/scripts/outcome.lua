-- OUTCOME: what became of the write with an operation id (see ops.rs).
-- Not guarded: it reads and writes the record the guard keeps.
--
-- KEYS: the write's record, history
-- ARGV: ttl (ms), id, 'fence' (cancel a write not applied yet) or 'look'
--       (an id too old to be sure: look in the audit trail, cancel nothing)
-- Reply: {1, record} the record (`[kind, reply]` as JSON, or
-- `cancelled`); {0, ''} cancelled now; {2, ''} no record, but the audit
-- trail names the id; {3, ''} nothing. Rust: scripts::OutcomeReply.
local done = redis.call('GET', KEYS[1])
if done then return {1, done} end
if ARGV[3] == 'look' then
  local needle = '"op":' .. cjson.encode(ARGV[2])
  for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    if string.find(e, needle, 1, true) then return {2, ''} end
  end
  return {3, ''}
end
redis.call('SET', KEYS[1], 'cancelled', 'PX', ARGV[1])
return {0, ''}
