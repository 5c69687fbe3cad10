import { Script } from './client.js';

/**
 * The sink's write: for each outcome, append its result; for an entry that used its last delivery,
 * also append it to the dead-letter stream; then acknowledge every input entry. Atomic, so an entry
 * is acknowledged only if everything before it was written (a failing XADD aborts the script).
 * KEYS: input stream, results stream, dead-letter stream. ARGV: group, maxlen, n, then per outcome:
 * id, dead ('1' or '0'), k, k result fields, then (when dead) j, j dead-letter fields.
 */
export const WRITE = new Script(`
local group, maxlen, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local at, ids = 4, {}
local function append(key, count, trim)
  local args = {key}
  if trim and maxlen ~= '' then args[2] = 'MAXLEN'; args[3] = '~'; args[4] = maxlen end
  args[#args + 1] = '*'
  for j = 1, count do args[#args + 1] = ARGV[at + j - 1] end
  at = at + count
  redis.call('XADD', unpack(args))
end
for e = 1, n do
  local id, dead, k = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  at = at + 3
  append(KEYS[2], k, true)
  if dead == '1' then
    local j = tonumber(ARGV[at])
    at = at + 1
    append(KEYS[3], j, false)
  end
  ids[e] = id
end
return redis.call('XACK', KEYS[1], group, unpack(ids))
`);

/**
 * Move entries to the dead-letter stream and acknowledge them, only those still pending at this
 * consumer. KEYS: input stream, dead-letter stream. ARGV: group, consumer, n, then per entry: id, k,
 * k fields. Returns the ids moved.
 */
export const DEAD_LETTER = new Script(`
local group, consumer, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local at, moved = 4, {}
for e = 1, n do
  local id, k = ARGV[at], tonumber(ARGV[at + 1])
  local row = redis.call('XPENDING', KEYS[1], group, id, id, 1)[1]
  if row and row[2] == consumer then
    local args = {KEYS[2], '*'}
    for j = 1, k do args[#args + 1] = ARGV[at + 1 + j] end
    redis.call('XADD', unpack(args))
    redis.call('XACK', KEYS[1], group, id)
    moved[#moved + 1] = id
  end
  at = at + 2 + k
end
return moved
`);

/**
 * The heartbeat: reset the idle time of the entries this consumer still holds (XCLAIM JUSTID: the
 * delivery count stays), so that XAUTOCLAIM elsewhere does not take a slow batch away. Entries now
 * pending at another consumer are left there and returned: their claim was lost.
 * KEYS: stream. ARGV: group, consumer, ids...
 */
export const HEARTBEAT = new Script(`
local group, consumer = ARGV[1], ARGV[2]
local mine, lost = {KEYS[1], group, consumer, 0}, {}
for i = 3, #ARGV do
  local row = redis.call('XPENDING', KEYS[1], group, ARGV[i], ARGV[i], 1)[1]
  if row then
    if row[2] == consumer then mine[#mine + 1] = ARGV[i] else lost[#lost + 1] = ARGV[i] end
  end
end
if #mine > 4 then
  mine[#mine + 1] = 'JUSTID'
  redis.call('XCLAIM', unpack(mine))
end
return lost
`);
