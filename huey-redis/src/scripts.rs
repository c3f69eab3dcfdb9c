//! Lua scripts. Each runs atomically in Redis, so a consumer that dies mid-operation leaves
//! every message either where it was or where it was going, never nowhere.
//!
//! No script unpacks a large table onto the Lua stack (the limit apalis hits near 8,000
//! items): they loop, and the caller bounds each call with a batch size.
//!
//! Every script declares its flags (Redis 7's `#!lua` shebang), so a Redis at `maxmemory`
//! with `noeviction` refuses a script that could grow it whole, before it runs, instead of
//! stopping it half way. The scripts that move or remove data (claims, the reaper, schedule
//! promotion, returning claims and dead letters, releases) are `allow-oom`: they are how a
//! full queue drains. Settling has a variant of its own for a full Redis, which applies only
//! settlements that free at least what they write.

use std::sync::LazyLock;

use redis::Script;

/// A Lua function that marks an entry going back to the queue unsettled: its message gets (or
/// has its count raised in) a `\0R<returns>\0` prefix, so the claim that next takes it knows
/// how often it was delivered (see `Delivery::deliveries`). The count travels inside the
/// entry, so a first delivery, the hot path, pays nothing. In zset mode the prefix goes after
/// the `<priority>|` that follows the 8-byte order. `unreturned` gives a message back without
/// its mark (to store it as a dead letter).
macro_rules! returned_fn {
    () => {
        r"
local function returned(entry, zset)
  local head, body = '', entry
  if zset then
    local sep = string.find(entry, '|', 9, true)
    if sep then
      head, body = string.sub(entry, 1, sep), string.sub(entry, sep + 1)
    end
  end
  local count = 1
  local from, to, seen = string.find(body, '^%zR(%d+)%z')
  if from then
    count = tonumber(seen) + 1
    body = string.sub(body, to + 1)
  end
  return head .. '\0R' .. count .. '\0' .. body
end
local function unreturned(message)
  local from, to = string.find(message, '^%zR%d+%z')
  if from then return string.sub(message, to + 1) end
  return message
end
"
    };
}

/// The claim scripts' way of setting aside a message over the size limit, and the settle
/// script's retention bound. `dead_record` builds the binary-safe dead-letter record (see
/// `DeadHeader` in storage.rs): a JSON header line, then the raw message. `keep_newest` drops
/// the oldest records beyond `keep` (nil = unbounded).
macro_rules! dead_letter_lua {
    () => {
        r#"
local function keep_newest(dead, keep)
  if keep then
    if keep <= 0 then redis.call('DEL', dead) else redis.call('LTRIM', dead, -keep, -1) end
  end
end
local function set_aside(dead, seq, keep, message, priority, limit, now)
  local id = 'oversize-' .. redis.call('INCR', seq)
  local header = '{"id":"' .. id .. '","priority":' .. priority
    .. ',"reason":"message of ' .. #message .. ' bytes is over the limit of ' .. limit
    .. ' bytes","at_ms":' .. now .. '}\n'
  redis.call('RPUSH', dead, header .. message)
  keep_newest(dead, keep)
end
-- A consumer with a size limit sleeps on the wake list, where one token wakes one consumer:
-- a claim that leaves messages behind passes a token on, so every idle consumer joins in.
local function pass_wake(remaining, wake)
  if remaining > 0 and redis.call('LLEN', wake) == 0 then
    redis.call('LPUSH', wake, '1')
  end
end
"#
    };
}

/// Claims up to `ARGV[1]` messages from a LIST queue into this consumer's processing list and
/// refreshes its heartbeat. A message longer than `ARGV[4]` bytes is set aside as a dead
/// letter instead (it counts towards the maximum), so the consumer never downloads it. The
/// first element returned is the number of revocation flags (so the executor can skip its
/// check when there are none), the second how many messages were set aside, then the messages.
/// With a limit, a claim that leaves messages in the queue makes sure a wake-up token waits
/// for the next consumer (see `dequeue` in storage.rs).
/// KEYS: queue, processing, consumers, revoked set, dead-letter list, dead-letter id counter,
/// wake. ARGV: max, consumer id, now (ms), size limit ('' = none), dead letters kept ('' = all).
pub static CLAIM_LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=allow-oom",
        returned_fn!(),
        dead_letter_lua!(),
        r"
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
local limit, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {tostring(redis.call('SCARD', KEYS[4])), '0'}
local aside = 0
for i = 1, tonumber(ARGV[1]) do
  local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not item then break end
  if limit and #item > limit then
    redis.call('LPOP', KEYS[2])
    set_aside(KEYS[5], KEYS[6], keep, unreturned(item), 0, limit, ARGV[3])
    aside = aside + 1
  else
    out[#out + 1] = item
  end
end
if limit then pass_wake(redis.call('LLEN', KEYS[1]), KEYS[7]) end
out[2] = tostring(aside)
return out
",
    ))
});

/// Claims up to `ARGV[1]` messages from a priority ZSET queue (score = -priority) into the
/// processing list; sets aside, as [`CLAIM_LIST`] does, messages over the size limit. Returns
/// the number of revocation flags, how many were set aside, then the members.
/// KEYS: as [`CLAIM_LIST`]. ARGV: as [`CLAIM_LIST`].
pub static CLAIM_ZSET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=allow-oom",
        returned_fn!(),
        dead_letter_lua!(),
        r"
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
local limit, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[1]))
local out = {tostring(redis.call('SCARD', KEYS[4])), '0'}
local aside = 0
for i = 1, #popped, 2 do
  local member = popped[i]
  -- The member is an 8-byte order, `<priority>|`, then the message: only a member longer
  -- than the limit can hold a message over it.
  local sep = limit and #member > limit and string.find(member, '|', 9, true)
  if sep and #member - sep > limit then
    local priority = tonumber(string.sub(member, 9, sep - 1)) or 0
    local message = unreturned(string.sub(member, sep + 1))
    set_aside(KEYS[5], KEYS[6], keep, message, priority, limit, ARGV[3])
    aside = aside + 1
  else
    redis.call('LPUSH', KEYS[2], member)
    out[#out + 1] = member
  end
end
if limit then pass_wake(redis.call('ZCARD', KEYS[1]), KEYS[7]) end
out[2] = tostring(aside)
return out
",
    ))
});

/// Moves due messages from the schedule to the queue, at most `ARGV[2]` per call, soonest first.
/// In priority mode a schedule member is `<priority>|<message>`; it enters the queue behind an
/// 8-byte order prefix with score `-priority`.
/// KEYS: schedule, queue, wake. ARGV: now (epoch seconds), limit, mode ('list' or 'zset'),
/// the first of a block of queue orders reserved for this call.
pub static PROMOTE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua flags=allow-oom
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local base = tonumber(ARGV[4])
for i, item in ipairs(due) do
  redis.call('ZREM', KEYS[1], item)
  if ARGV[3] == 'zset' then
    local sep = string.find(item, '|', 1, true)
    local priority = sep and tonumber(string.sub(item, 1, sep - 1)) or 0
    local order = base + i - 1
    local prefix = ''
    for _ = 1, 8 do
      prefix = string.char(order % 256) .. prefix
      order = math.floor(order / 256)
    end
    redis.call('ZADD', KEYS[2], -priority, prefix .. item)
  else
    redis.call('LPUSH', KEYS[2], item)
  end
end
if #due > 0 then
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], 0, 1023)
end
return due
",
    )
});

/// Puts the processing lists of consumers whose heartbeat is older than the cutoff back on the
/// queue, each entry marked as returned (see `returned_fn`), forgets those consumers and
/// notes each in the reaped set (with the time), where the consumer's next heartbeat finds
/// that it was presumed dead; notes older than a day are dropped. With a cutoff of `+inf` and
/// a consumer id in ARGV[4], it returns that one consumer's claims, unmarked and unnoted (a
/// graceful stop).
/// KEYS: consumers, queue, wake, reaped. ARGV: cutoff (ms or '+inf'), processing-key prefix,
/// mode, only this consumer (or ''), now (ms).
pub static REAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=allow-oom",
        returned_fn!(),
        r"
local ids
if ARGV[4] ~= '' then
  ids = {ARGV[4]}
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
end
local zset = ARGV[3] == 'zset'
-- A consumer's own unstarted claims (a graceful stop) were never delivered to a body.
local counted = ARGV[4] == ''
local moved = 0
for _, id in ipairs(ids) do
  local processing = ARGV[2] .. id
  while true do
    local item = redis.call('RPOP', processing)
    if not item then break end
    if counted then item = returned(item, zset) end
    if zset then
      local body = string.sub(item, 9)
      local sep = string.find(body, '|', 1, true)
      local priority = sep and tonumber(string.sub(body, 1, sep - 1)) or 0
      redis.call('ZADD', KEYS[2], -priority, item)
    else
      redis.call('RPUSH', KEYS[2], item)
    end
    moved = moved + 1
  end
  redis.call('ZREM', KEYS[1], id)
  if counted then redis.call('ZADD', KEYS[4], ARGV[5], id) end
end
if counted and #ids > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[5]) - 86400000)
end
if moved > 0 then
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], 0, 1023)
end
return moved
",
    ))
});

/// Removes and returns the due schedule members, at most `ARGV[2]`, soonest first.
/// KEYS: schedule. ARGV: now (epoch seconds), limit.
pub static READ_SCHEDULE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua flags=allow-oom
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, item in ipairs(due) do
  redis.call('ZREM', KEYS[1], item)
end
return due
",
    )
});

/// Stores a value only when the key holds none, in the hash or as a key with a TTL.
/// KEYS: results hash, TTL key. ARGV: field, value, ttl in ms (0 = none).
pub static PUT_IF_EMPTY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
",
    )
});

/// Deletes a value only if it still equals the given one, wherever it lives (the results hash
/// or, for a value with a TTL, its own key), so a lock holder never releases a lock that
/// expired and was taken by someone else.
/// KEYS: results hash, kv key. ARGV: field, value.
pub static DELETE_IF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua flags=allow-oom
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
elseif redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
else
  return 0
end
return 1
",
    )
});

/// Puts one entry of a processing list back on the queue, if it is still there (a claim whose
/// reply was lost, so no worker holds it).
/// KEYS: processing, queue, wake. ARGV: entry, mode ('list' or 'zset').
pub static RETURN_ENTRY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua flags=allow-oom
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then
  return 0
end
if ARGV[2] == 'zset' then
  local body = string.sub(ARGV[1], 9)
  local sep = string.find(body, '|', 1, true)
  local priority = sep and tonumber(string.sub(body, 1, sep - 1)) or 0
  redis.call('ZADD', KEYS[2], -priority, ARGV[1])
else
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
redis.call('LPUSH', KEYS[3], '1')
redis.call('LTRIM', KEYS[3], 0, 1023)
return 1
",
    )
});

/// The body of the settle scripts: applies a batch of settlements in one call (the settle
/// path's group commit). Each applies only if its claim is still in this consumer's processing
/// list (or it has none): then its results are stored (in the hash, or as keys with a TTL)
/// waking any registered waiter, its follow-up and retry messages are queued or scheduled, the
/// chords it fired keep only a short-lived `fired` marker, its results for waiters (a `()`
/// value) are stored, as keys that live as long as a wake-up token, only where a waiter
/// registered (one `EXISTS` each otherwise), a revocation flag set while it ran
/// is removed, and the claim is acknowledged, requeued or dead-lettered. A settlement whose
/// claim is gone writes nothing. In 'freeing' mode (Redis is full) a settlement that would
/// write more bytes than its claim frees is deferred, untouched. Returns, per settlement, 1
/// (applied), 0 (not held) or 2 (deferred).
/// KEYS: results hash, processing list, revoked set, queue, schedule, dead-letter list, wake.
/// ARGV: notify-key prefix, waiting-key prefix, TTL-key prefix, notify ttl (ms), result ttl
/// (ms, 0 = hash), chord-key prefix, queue mode ('list' or 'zset'), settle mode ('normal' or
/// 'freeing'), dead letters kept ('' = all); then per settlement a shape and its arguments. 'S' (an acknowledgement with
/// one result): processing entry, result field, value, revocation field. 'A' (an
/// acknowledgement alone): processing entry, revocation field. 'W' (an acknowledgement with
/// one result for waiters): processing entry, result field, value, revocation field. 'G'
/// (any): processing entry,
/// disposition ('a' ack, 'r' requeue, 'u' release unstarted, 'd' dead letter), dead-letter
/// header (the record's first line, with its newline: the script appends the message from the
/// processing entry, so a big message is not sent back to be stored), revocation field, the
/// number of results and each field and value, the number of messages and each kind ('q'
/// queue, 's' schedule), member and score, the number of fired chords and each chord id, the
/// number of results for waiters and each field and value. A processing entry of '' means no
/// claim; a revocation field of '' means none. A requeued entry is marked as returned (see
/// `returned_fn`); a released one goes back as it was.
macro_rules! settle_body {
    () => {
        r"
local revocations = redis.call('SCARD', KEYS[3]) > 0
local ttl = tonumber(ARGV[5])
local zset = ARGV[7] == 'zset'
local freeing = ARGV[8] == 'freeing'
local keep = tonumber(ARGV[9])
local wake = false
local out = {}
local i = 10
local n = #ARGV
while i <= n do
  local entry, disposition, record, revoke
  local results_at, results, messages_at, messages, chords_at, chords = 0, 0, 0, 0, 0, 0
  local awaited_at, awaited = 0, 0
  local shape = ARGV[i]
  if shape == 'S' then
    entry, disposition, record, revoke = ARGV[i + 1], 'a', '', ARGV[i + 4]
    results_at, results = i + 2, 1
    i = i + 5
  elseif shape == 'W' then
    entry, disposition, record, revoke = ARGV[i + 1], 'a', '', ARGV[i + 4]
    awaited_at, awaited = i + 2, 1
    i = i + 5
  elseif shape == 'A' then
    entry, disposition, record, revoke = ARGV[i + 1], 'a', '', ARGV[i + 2]
    i = i + 3
  else
    entry, disposition, record, revoke = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    results_at = i + 6
    results = tonumber(ARGV[i + 5])
    messages_at = results_at + 2 * results + 1
    messages = tonumber(ARGV[messages_at - 1])
    chords_at = messages_at + 3 * messages + 1
    chords = tonumber(ARGV[chords_at - 1])
    awaited_at = chords_at + chords + 1
    awaited = tonumber(ARGV[awaited_at - 1])
    i = awaited_at + 2 * awaited
  end
  local status = 1
  if freeing then
    local written = #record
    if disposition == 'd' then written = written + #entry end
    for r = results_at, results_at + 2 * results - 1, 2 do
      written = written + #ARGV[r] + #ARGV[r + 1]
    end
    for m = messages_at, messages_at + 3 * messages - 1, 3 do
      written = written + #ARGV[m + 1]
    end
    for w = awaited_at, awaited_at + 2 * awaited - 1, 2 do
      written = written + #ARGV[w] + #ARGV[w + 1]
    end
    local freed = 0
    if disposition ~= 'r' and disposition ~= 'u' then freed = #entry end
    if written > freed then status = 2 end
  end
  if status == 1 and entry ~= '' and redis.call('LREM', KEYS[2], -1, entry) == 0 then
    status = 0
  end
  out[#out + 1] = status
  if status == 1 then
    for r = results_at, results_at + 2 * results - 1, 2 do
      local field, value = ARGV[r], ARGV[r + 1]
      if ttl > 0 then
        redis.call('SET', ARGV[3] .. field, value, 'PX', ttl)
      else
        redis.call('HSET', KEYS[1], field, value)
      end
      if redis.call('EXISTS', ARGV[2] .. field) == 1 then
        redis.call('LPUSH', ARGV[1] .. field, '1')
        redis.call('PEXPIRE', ARGV[1] .. field, ARGV[4])
      end
    end
    for w = awaited_at, awaited_at + 2 * awaited - 1, 2 do
      local field = ARGV[w]
      if redis.call('EXISTS', ARGV[2] .. field) == 1 then
        -- Replaces an intermediate error in the hash, which would otherwise be read first.
        redis.call('HDEL', KEYS[1], field)
        redis.call('SET', ARGV[3] .. field, ARGV[w + 1], 'PX', ARGV[4])
        redis.call('LPUSH', ARGV[1] .. field, '1')
        redis.call('PEXPIRE', ARGV[1] .. field, ARGV[4])
      end
    end
    for m = messages_at, messages_at + 3 * messages - 1, 3 do
      local kind, member, score = ARGV[m], ARGV[m + 1], ARGV[m + 2]
      if kind == 's' then
        redis.call('ZADD', KEYS[5], score, member)
      elseif zset then
        redis.call('ZADD', KEYS[4], score, member)
        wake = true
      else
        redis.call('LPUSH', KEYS[4], member)
        wake = true
      end
    end
    for c = chords_at, chords_at + chords - 1 do
      local chord = ARGV[6] .. ARGV[c]
      redis.call('DEL', chord)
      redis.call('HSET', chord, 'fired', '1')
      redis.call('EXPIRE', chord, 86400)
    end
    if revoke ~= '' and revocations then
      if redis.call('HDEL', KEYS[1], revoke) == 1 then
        redis.call('SREM', KEYS[3], revoke)
      end
    end
    if entry ~= '' and (disposition == 'r' or disposition == 'u') then
      if disposition == 'r' then entry = returned(entry, zset) end
      if zset then
        local body = string.sub(entry, 9)
        local sep = string.find(body, '|', 1, true)
        local priority = sep and tonumber(string.sub(body, 1, sep - 1)) or 0
        redis.call('ZADD', KEYS[4], -priority, entry)
      else
        redis.call('RPUSH', KEYS[4], entry)
      end
      wake = true
    elseif entry ~= '' and disposition == 'd' then
      local message = entry
      if zset then
        local body = string.sub(entry, 9)
        local sep = string.find(body, '|', 1, true)
        if sep then message = string.sub(body, sep + 1) else message = body end
      end
      redis.call('RPUSH', KEYS[6], record .. unreturned(message))
      keep_newest(KEYS[6], keep)
    end
  end
end
if wake then
  redis.call('LPUSH', KEYS[7], '1')
  redis.call('LTRIM', KEYS[7], 0, 1023)
end
return out
"
    };
}

/// The settle script for a Redis with room: refused whole, before it runs, when Redis is at
/// `maxmemory` (a script without the shebang would be stopped at its first growing command,
/// after its claims were already removed).
pub static SETTLE_MANY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua",
        returned_fn!(),
        dead_letter_lua!(),
        settle_body!()
    ))
});

/// The settle script for a full Redis (`maxmemory` reached): allowed to run, because settling
/// is how a queue shrinks, and in 'freeing' mode it applies only the settlements that free at
/// least as many bytes as they write, so a full Redis never grows.
pub static SETTLE_FREEING: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=allow-oom",
        returned_fn!(),
        dead_letter_lua!(),
        settle_body!()
    ))
});

/// Records a chord member's outcome in the chord's hash (field = member index) and, once all
/// members have one, marks who completed it and returns every outcome in member order. A
/// later call for the completing member gets them again; any other member, nothing. A chord
/// whose callback a settlement enqueued keeps only a `fired` field, and records nothing more.
/// KEYS: chord hash. ARGV: index, size, outcome.
pub static CHORD_RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua
if redis.call('HEXISTS', KEYS[1], 'fired') == 1 then return false end
local by = redis.call('HGET', KEYS[1], 'completed_by')
if by and by ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local size = tonumber(ARGV[2])
local recorded = redis.call('HLEN', KEYS[1])
if by then recorded = recorded - 1 end
if recorded < size then return false end
redis.call('HSET', KEYS[1], 'completed_by', ARGV[1])
local out = {}
for i = 0, size - 1 do
    out[i + 1] = redis.call('HGET', KEYS[1], tostring(i))
end
return out
",
    )
});

/// Moves one dead letter back to the queue, atomically: the record leaves the dead-letter list
/// and its message joins the queue, or nothing happens (another caller moved or deleted it).
/// KEYS: dead-letter list, queue, wake. ARGV: the exact record, mode ('list' or 'zset'), the
/// queue member (the message, or in zset mode its order-prefixed member), the zset score.
pub static REQUEUE_DEAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"#!lua flags=allow-oom
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
if ARGV[2] == 'zset' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
else
  redis.call('LPUSH', KEYS[2], ARGV[3])
end
redis.call('LPUSH', KEYS[3], '1')
redis.call('LTRIM', KEYS[3], 0, 1023)
return 1
",
    )
});

/// The clock of the semaphore scripts: the server's time in milliseconds, so that holders on
/// machines whose clocks disagree still agree on when a slot expires. Redis 7 replicates a
/// script's effects, not the script, so reading `TIME` before writing is allowed.
macro_rules! semaphore_now {
    () => {
        "
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"
    };
}

/// Lets a semaphore's ZSET expire with its last slot, so an abandoned name leaves nothing.
macro_rules! semaphore_expire_with_last {
    () => {
        "
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
"
    };
}

/// Takes a slot of a counting semaphore (a ZSET of holder -> expiry in ms): drops expired
/// slots, then admits a holder that already has one (refreshing it) or any holder while fewer
/// than the limit remain. Returns 1 when admitted.
/// KEYS: semaphore ZSET. ARGV: holder, limit, ttl (ms).
pub static SEMAPHORE_ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua",
        semaphore_now!(),
        "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
",
        semaphore_expire_with_last!(),
        "return 1\n",
    ))
});

/// Renews a live slot of a semaphore; a holder whose slot expired or was released gets 0 and
/// nothing changes (only an acquire may take a slot).
/// KEYS: semaphore ZSET. ARGV: holder, ttl (ms).
pub static SEMAPHORE_RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua",
        semaphore_now!(),
        "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
",
        semaphore_expire_with_last!(),
        "return 1\n",
    ))
});

/// Gives a semaphore slot back; returns 1 when the holder had a live one (an expired slot is
/// dropped first, so it does not count as released).
/// KEYS: semaphore ZSET. ARGV: holder.
pub static SEMAPHORE_RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=allow-oom",
        semaphore_now!(),
        "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZREM', KEYS[1], ARGV[1])
",
    ))
});

/// The holders of a semaphore's live slots, soonest to expire first.
/// KEYS: semaphore ZSET.
pub static SEMAPHORE_HOLDERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=no-writes",
        semaphore_now!(),
        "
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
",
    ))
});

/// Consumer presence records: KEYS[1] the hash of id -> record, KEYS[2] the ZSET of id ->
/// heartbeat (ms), ARGV[1] the cutoff (ms). Drops the records whose heartbeat is older, in the
/// same step, and returns the others as id, record pairs. It removes, so a full Redis may run
/// it (`allow-oom`).
pub static PRESENCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "#!lua flags=allow-oom
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, id in ipairs(stale) do
  redis.call('HDEL', KEYS[1], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf')) do
  local record = redis.call('HGET', KEYS[1], id)
  if record then
    table.insert(out, id)
    table.insert(out, record)
  end
end
return out
",
    )
});
