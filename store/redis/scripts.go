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

// appendScript appends one message: ARGV[2] is its record, ARGV[3] its
// payload's length, ARGV[4] its time in milliseconds. When ARGV[6] is not
// empty, KEYS[3] is the message's de-duplication key (an ExactlyOnce
// message, see dedupKey): if it exists the message was appended before,
// and the script appends nothing and returns {offset, epoch, 1} of that
// append; else the append sets it to "<offset>:<epoch>" for ARGV[6]
// milliseconds. The next key, when given, is a sharded channel in the
// topic's slot: the message is published to it as
// "<offset>:<epoch>:<record>", so that live traffic and history are in the
// order the script ran, and, when ARGV[5] is not empty, on the (unsharded)
// channel ARGV[5] too, for pattern subscribers. It returns {offset, epoch}.
var appendScript = rueidis.NewLuaScript(appendLua)

const appendLua = stateLua + `
local d, ch = nil, KEYS[3]
if ARGV[6] ~= '' then
  d, ch = KEYS[3], KEYS[4]
  local v = redis.call('GET', d)
  if v then
    local off, ep = string.match(v, '^(%d+):(%d+)$')
    if off then return {tonumber(off), ep, 1} end
  end
end
last = last + 1
redis.call('XADD', s, last .. '-0', 'n', ARGV[3], 't', ARGV[4], 'r', ARGV[2])
redis.call('HSET', m, 'last', last)
redis.call('HINCRBY', m, 'bytes', ARGV[3])
if d then redis.call('SET', d, last .. ':' .. epoch, 'PX', ARGV[6]) end
if ch then
  local msg = last .. ':' .. epoch .. ':' .. ARGV[2]
  redis.call('SPUBLISH', ch, msg)
  if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], msg) end
end
return {last, epoch}
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
