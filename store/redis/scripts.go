package redis

import "github.com/redis/rueidis"

// The scripts share one way of finding a topic's state, which each
// inlines: the meta hash (KEYS[2]) holds the epoch, the last offset and
// the payload bytes kept; the stream (KEYS[1]) holds the messages, each
// under the id "<offset>-0". A topic whose meta is missing, or whose meta
// counts messages while its stream is gone, lost its history (Redis
// restarted empty, a key was evicted): it starts again at offset 1 under
// the new epoch the caller proposes (ARGV[1]).
const stateLua = `
local s, m = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', m, 'epoch')
local last = tonumber(redis.call('HGET', m, 'last') or '0')
if not epoch or (last > 0 and redis.call('EXISTS', s) == 0) then
  epoch = ARGV[1]
  last = 0
  redis.call('DEL', s)
  redis.call('HSET', m, 'epoch', epoch, 'last', 0, 'bytes', 0)
end
`

// appendScript appends a run of messages of one topic, in order, under
// consecutive offsets. ARGV[2] is the (unsharded) channel to publish on
// for pattern subscribers, or empty; ARGV[3] the milliseconds a
// de-duplication key lives; ARGV[4] is "1" when KEYS[3] is the topic's
// sharded channel. From ARGV[5] on, each message has four arguments: its
// record, its payload's length, its time in milliseconds, and "1" when the
// next of the keys after the channel is its de-duplication key (an
// ExactlyOnce message, see dedupKey). A message whose key exists was
// appended before: it is not appended again, and its reply is {offset,
// epoch} of that append; else the append sets the key to
// "<offset>:<epoch>". The others are appended, their reply their offset.
// The messages appended are then published at once, on the channel and
// the pattern channel, in the batch format (see publishedVersion):
// "v2:<epoch>:<first offset>:" followed by "<length>:<record>" for each,
// so that live traffic and history are in the order the script ran. It
// returns {epoch, reply of each message}.
var appendScript = rueidis.NewLuaScript(appendLua)

const appendLua = stateLua + `
local ch, nk = nil, 3
if ARGV[4] == '1' then ch, nk = KEYS[3], 4 end
local out, parts, first, bytes = {epoch}, {}, last + 1, 0
for i = 5, #ARGV, 4 do
  local rec, d, dup = ARGV[i], nil, nil
  if ARGV[i+3] == '1' then
    d, nk = KEYS[nk], nk + 1
    local v = redis.call('GET', d)
    if v then
      local off, ep = string.match(v, '^(%d+):(%d+)$')
      if off then dup = {tonumber(off), ep} end
    end
  end
  if dup then
    out[#out+1] = dup
  else
    last = last + 1
    redis.call('XADD', s, last .. '-0', 'n', ARGV[i+1], 't', ARGV[i+2], 'r', rec)
    bytes = bytes + tonumber(ARGV[i+1])
    if d then redis.call('SET', d, last .. ':' .. epoch, 'PX', ARGV[3]) end
    if ch then
      parts[#parts+1] = #rec .. ':'
      parts[#parts+1] = rec
    end
    out[#out+1] = last
  end
end
if last >= first then
  redis.call('HSET', m, 'last', last)
  redis.call('HINCRBY', m, 'bytes', bytes)
  if ch then
    local msg = 'v2:' .. epoch .. ':' .. first .. ':' .. table.concat(parts)
    redis.call('SPUBLISH', ch, msg)
    if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], msg) end
  end
end
return out
`

// infoScript returns {epoch, last, first, messages, bytes}, giving a topic
// never seen an epoch.
var infoScript = rueidis.NewLuaScript(stateLua + `
local first = last + 1
local e = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)
if #e > 0 then first = tonumber(string.match(e[1][1], '^(%d+)')) end
return {epoch, last, first, redis.call('XLEN', s), tonumber(redis.call('HGET', m, 'bytes') or '0')}
`)

// deleteScript removes a topic's messages and gives it the epoch ARGV[1].
var deleteScript = rueidis.NewLuaScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'epoch', ARGV[1], 'last', 0, 'bytes', 0)
return 1
`)

// trimScript removes the oldest messages while the topic holds more than
// ARGV[2] messages (0: no bound), more than ARGV[3] payload bytes, or any
// older than ARGV[4] milliseconds since the Unix epoch, at most ARGV[5] of
// them per run, so that one run holds Redis briefly. It returns how many
// it removed; a run that removed ARGV[5] may leave more to remove.
var trimScript = rueidis.NewLuaScript(stateLua + `
local maxn, maxb, mint, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n = redis.call('XLEN', s)
local bytes = tonumber(redis.call('HGET', m, 'bytes') or '0')
local removed, freed, cut = 0, 0, nil
local from = '-'
while removed < limit do
  local page = redis.call('XRANGE', s, from, '+', 'COUNT', 100)
  if #page == 0 then break end
  local stop = false
  for _, e in ipairs(page) do
    local f = e[2]
    local size, at = tonumber(f[2]), tonumber(f[4])
    local over = (maxn > 0 and n - removed > maxn) or (maxb > 0 and bytes - freed > maxb) or (mint > 0 and at < mint)
    if not over or removed >= limit then stop = true break end
    removed, freed, cut = removed + 1, freed + size, e[1]
  end
  if stop then break end
  from = '(' .. page[#page][1]
end
if cut then
  local off = tonumber(string.match(cut, '^(%d+)'))
  redis.call('XTRIM', s, 'MINID', (off + 1) .. '-0')
  redis.call('HINCRBY', m, 'bytes', -freed)
end
return removed
`)
