-- SHORTCUT: a rollout shortcut (state, toggle, percentage, condition,
-- allow, disallow), applied to the switch as stored: never a conflict.
-- Runs inside the op guard (guard.lua), which takes the write's record
-- key off KEYS and its three arguments off ARGV first: KEYS and ARGV below
-- are what this body sees. The audit entry is pushed onto the history list
-- and the list trimmed to its cap in the same run: the change and its
-- entry are one atomic step.
--
-- KEYS: switches, versions, users, history
-- ARGV: key, channel, op ('state' | 'toggle' | 'percent' | 'condition' |
--       'allow' | 'disallow'), operand (the state, or the condition's
--       JSON), the record's canonical start ('{"name":<name>,"state":"'),
--       the record and the audit entry if the switch is created, the
--       entry of a change without its closing brace (the script adds the
--       version and what changed), cap, listed ids, the caller's version
--       ('' if none), users limit, ids...
-- The record is edited as text: the state's value, or one element of the
-- conditions array spliced in or replaced. Nothing else is decoded and
-- encoded again, so every number keeps its exact digits (cjson would turn
-- them into doubles with 14 significant digits). A record not in the form
-- gate writes answers {2}: the caller falls back to read-modify-write.
-- Replies {status (0 applied, 1 created, 2 fall back), version before,
-- version after, record, users mode, users}: mode 0 when the caller's
-- version was the one changed (it applies the change to its own copy),
-- 1 with the whole allow-list, 2 when that list is over the limit.
-- Rust: scripts::ShortcutReply.
local key, op, operand = ARGV[1], ARGV[3], ARGV[4]
local json = redis.call('HGET', KEYS[1], key)
if not json then
  redis.call('HSET', KEYS[1], key, ARGV[6])
  redis.call('HDEL', KEYS[2], key)
  local v = redis.call('HINCRBY', KEYS[2], key, 1)
  redis.call('UNLINK', KEYS[3])
  if op == 'allow' then
    for i = 13, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
  end
  redis.call('LPUSH', KEYS[4], ARGV[7])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'put', key = key, version = v}))
  return {1, 0, v, ARGV[6], 0, {}}
end
local fallback = {2, 0, 0, '', 0, {}}
-- Checked before anything is written: a script that fails midway is not
-- rolled back.
local before = tonumber(redis.call('HGET', KEYS[2], key) or '0')
local users_type = redis.call('TYPE', KEYS[3]).ok
if not before or (users_type ~= 'set' and users_type ~= 'none') then return fallback end
local start = ARGV[5]
if string.sub(json, 1, #start) ~= start then return fallback end
local ok, record = pcall(cjson.decode, json)
if not ok or type(record) ~= 'table' then return fallback end
local state_end = string.find(json, '"', #start + 1, true)
if not state_end then return fallback end
local state = string.sub(json, #start + 1, state_end - 1)
if record.state ~= state or (state ~= 'disabled' and state ~= 'selective' and state ~= 'global') then
  return fallback
end
local conditions = record.conditions
if type(conditions) ~= 'table' then conditions = {} end
local after = json
local change = nil
local changed = {}
if op == 'allow' or op == 'disallow' then
  for i = 13, #ARGV do
    local n
    if op == 'allow' then n = redis.call('SADD', KEYS[3], ARGV[i])
    else n = redis.call('SREM', KEYS[3], ARGV[i]) end
    if n == 1 then table.insert(changed, ARGV[i]) end
  end
elseif op == 'state' or op == 'toggle' then
  local to = operand
  if op == 'toggle' then
    if state ~= 'disabled' then to = 'disabled'
    elseif #conditions == 0 and redis.call('SCARD', KEYS[3]) == 0 then to = 'global'
    else to = 'selective' end
  end
  if to ~= state then
    after = start .. to .. string.sub(json, state_end)
    change = '"changes":{"state":{"previous":"' .. state .. '","current":"' .. to .. '"}}'
  end
else
  local _, open = string.find(json, '^","compounded":%a+,"concent":%a+,"conditions":%[', state_end)
  if not open then return fallback end
  -- The elements of the conditions array, as [first, last] byte spans:
  -- jumps from bracket to bracket, over strings.
  local spans, close = {}, nil
  local depth, first, i = 0, 0, open + 1
  while not close do
    local j = string.find(json, '[%[%]{}"]', i)
    if not j then return fallback end
    local c = string.byte(json, j)
    i = j + 1
    if c == 34 then
      while true do
        local q = string.find(json, '["\\]', i)
        if not q then return fallback end
        if string.byte(json, q) == 92 then i = q + 2 else i = q + 1 break end
      end
    elseif c == 123 or c == 91 then
      if depth == 0 then first = j end
      depth = depth + 1
    elseif depth == 0 then
      close = j
    else
      depth = depth - 1
      if depth == 0 then table.insert(spans, {first, j}) end
    end
  end
  if not close or #spans ~= #conditions then return fallback end
  local at = nil
  if op == 'percent' then
    for i, c in ipairs(conditions) do
      if type(c) == 'table' and c.argument == '@id' and c.negative ~= true
        and type(c.operator) == 'table' and c.operator.percent ~= nil then
        at = spans[i]
        break
      end
    end
  else
    -- An equal condition (as gate writes it) is not added again.
    for _, span in ipairs(spans) do
      if string.sub(json, span[1], span[2]) == operand then at = span end
    end
  end
  -- A condition more than the limit (crate::limits::MAX_CONDITIONS): the
  -- caller's read-modify-write refuses it with the rule's error.
  if not at and #spans >= 100 then return fallback end
  if at then
    if string.sub(json, at[1], at[2]) ~= operand then
      after = string.sub(json, 1, at[1] - 1) .. operand .. string.sub(json, at[2] + 1)
    end
  elseif #spans == 0 then
    after = string.sub(json, 1, close - 1) .. operand .. string.sub(json, close)
  else
    after = string.sub(json, 1, close - 1) .. ',' .. operand .. string.sub(json, close)
  end
  if after ~= json then
    if at then
      -- Replaced in place: both lists (a condition moved is not a
      -- "remove some, append some" change).
      local closed = close + #after - #json
      change = '"changes":{"conditions":{"previous":' .. string.sub(json, open, close) ..
        ',"current":' .. string.sub(after, open, closed) .. '}}'
    else
      -- Appended: only the new condition (a compact audit entry).
      change = '"lists":{"conditions":{"added":[' .. operand .. ']}}'
    end
  end
end
local v = before
if change then
  redis.call('HSET', KEYS[1], key, after)
  v = redis.call('HINCRBY', KEYS[2], key, 1)
  redis.call('LPUSH', KEYS[4], ARGV[8] .. ',"version":' .. v .. ',' .. change .. '}')
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'put', key = key, version = v, users = false}))
elseif #changed > 0 then
  v = redis.call('HINCRBY', KEYS[2], key, 1)
  local listed = {}
  for i = 1, math.min(#changed, tonumber(ARGV[10])) do listed[i] = changed[i] end
  local side = 'removed'
  if op == 'allow' then side = 'added' end
  redis.call('LPUSH', KEYS[4], ARGV[8] .. ',"version":' .. v .. ',"users":{"' .. side .. '":' ..
    cjson.encode(listed) .. ',"' .. side .. '_count":' .. #changed .. '}}')
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = op, key = key, version = v, ids = changed}))
end
if v ~= before then redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1) end
if ARGV[11] ~= '' and tonumber(ARGV[11]) == before then return {0, before, v, after, 0, {}} end
if redis.call('SCARD', KEYS[3]) > tonumber(ARGV[12]) then return {0, before, v, after, 2, {}} end
return {0, before, v, after, 1, redis.call('SMEMBERS', KEYS[3])}
