//! Replayable streams in Redis (`pubsub/stream.rs` for the semantics): per stream a
//! meta hash (`epoch`, `offset`, `run`, `floor`: the newest offset trimmed, and
//! `k:{key}`: the offset of the newest entry of each supersede key) and a Redis
//! stream of entries with ids `{offset}-0`, trimmed to the window, both expiring
//! together. Scripts make each step atomic.
//!
//! Positions are never reused. A Redis restored from a snapshot, or a lagging
//! replica promoted, holds a stream's epoch with a lower offset than was handed
//! out: appending under it would number new entries as old ones, and a client
//! holding a newer position would silently skip them. So the meta hash remembers
//! the `run_id` of the Redis server that last wrote it; a stream read or written by
//! another run (a restart, a restore, a failover) starts a new epoch, and its
//! readers are told `ResyncRequired`. (A restart that kept everything costs its
//! readers one resync: a store cannot tell that from one that went back in time.)

/// The Lua lines that set `run` to the server's run id (every script starts with
/// them).
const RUN_ID: &str = "local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')\n";

use redis::Value;

use super::stream::{Entry, History};

/// Appends to several streams at once, unless the dedupe key says it was done,
/// removing the entry each one supersedes, then trimming to the window (oldest
/// first, remembering the newest offset trimmed as `floor`), then publishing each
/// entry live.
///
/// The dedupe key records how far an append got: once written, it holds each
/// stream's `epoch:offset` (so a repeat writes nothing again); once published too,
/// `done`. A repeat of an append whose publishing failed (Redis runs a script's
/// commands up to the failing one) publishes the same entries again instead of
/// writing them twice, so a live reader hears them without waiting for the next
/// entry.
/// KEYS: dedupe, then (meta, stream) per stream. ARGV: data, epoch candidate,
/// window, ttl ms, dedupe ttl ms, supersede key ('' for none), then one channel per
/// stream.
pub const APPEND: &str = r"
local state = redis.call('GET', KEYS[1])
if state == 'done' then return 0 end
local n = (#KEYS - 1) / 2
local written = {}
if state then
  for place in string.gmatch(state, '[^,]+') do table.insert(written, place) end
else
  local key = ARGV[6]
  local window = tonumber(ARGV[3])
  for k = 1, n do
    local meta, stream = KEYS[2 * k], KEYS[2 * k + 1]
    if redis.call('HGET', meta, 'run') ~= run then
      redis.call('DEL', meta)
      redis.call('HSET', meta, 'run', run)
    end
    if redis.call('HSETNX', meta, 'epoch', ARGV[2]) == 1 then
      redis.call('DEL', stream)
      redis.call('HSET', meta, 'floor', 0)
    end
    local epoch = redis.call('HGET', meta, 'epoch')
    local offset = redis.call('HINCRBY', meta, 'offset', 1)
    if key == '' then
      redis.call('XADD', stream, offset .. '-0', 'd', ARGV[1])
    else
      local older = redis.call('HGET', meta, 'k:' .. key)
      if older then redis.call('XDEL', stream, older .. '-0') end
      redis.call('HSET', meta, 'k:' .. key, offset)
      redis.call('XADD', stream, offset .. '-0', 'd', ARGV[1], 'k', key)
    end
    while redis.call('XLEN', stream) > window do
      local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
      local at = string.match(oldest[1], '^(%d+)')
      redis.call('XDEL', stream, oldest[1])
      redis.call('HSET', meta, 'floor', at)
      local fields = oldest[2]
      if fields[3] == 'k' and redis.call('HGET', meta, 'k:' .. fields[4]) == at then
        redis.call('HDEL', meta, 'k:' .. fields[4])
      end
    end
    redis.call('PEXPIRE', meta, ARGV[4])
    redis.call('PEXPIRE', stream, ARGV[4])
    table.insert(written, epoch .. ':' .. offset)
  end
  redis.call('SET', KEYS[1], table.concat(written, ','), 'PX', ARGV[5])
end
for k = 1, n do
  redis.call('PUBLISH', ARGV[6 + k], written[k] .. ' ' .. ARGV[1])
end
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[5])
return n
";

/// Reads a stream after an offset, making it (empty, new epoch) when missing.
/// KEYS: meta, stream. ARGV: after, limit, epoch candidate, ttl ms.
/// Returns { epoch, top, entries, floor } (floor nil for a stream written before
/// floors were kept).
pub const HISTORY: &str = r"
if redis.call('HGET', KEYS[1], 'run') ~= run then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'run', run)
end
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[3]) == 1 then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'offset', 0, 'floor', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local top = redis.call('HGET', KEYS[1], 'offset') or '0'
local entries = {}
if tonumber(ARGV[2]) > 0 then
  entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
end
return { epoch, top, entries, redis.call('HGET', KEYS[1], 'floor') }
";

/// Starts streams anew: a new epoch, nothing kept, and a live frame at offset 0 of
/// it, so that live readers and readers resuming later are told `ResyncRequired`.
/// KEYS: (meta, stream) per stream. ARGV: epoch, ttl ms, then one channel per stream.
pub const RESTART: &str = r"
local n = #KEYS / 2
for k = 1, n do
  local meta, stream = KEYS[2 * k - 1], KEYS[2 * k]
  redis.call('DEL', meta, stream)
  redis.call('HSET', meta, 'run', run, 'epoch', ARGV[1], 'offset', 0, 'floor', 0)
  redis.call('PEXPIRE', meta, ARGV[2])
  redis.call('PUBLISH', ARGV[2 + k], ARGV[1] .. ':0 ')
end
return n
";

/// A script with the run-id lines before `body`.
pub fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{RUN_ID}{body}"))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Reads what [`HISTORY`] returns, read after `after`.
pub fn history(value: Value, after: u64) -> Option<History> {
    let Value::Array(parts) = value else {
        return None;
    };
    let epoch = text(parts.first()?)?;
    let top: u64 = text(parts.get(1)?)?.parse().ok()?;
    let mut entries = Vec::new();
    if let Some(Value::Array(items)) = parts.get(2) {
        for item in items {
            let Value::Array(pair) = item else { continue };
            let id = text(pair.first()?)?;
            let offset: u64 = id.split('-').next()?.parse().ok()?;
            let Some(Value::Array(fields)) = pair.get(1) else {
                continue;
            };
            let data = text(fields.get(1)?)?;
            entries.push(Entry { offset, data });
        }
    }
    let floor = parts.get(3).and_then(text).and_then(|f| f.parse().ok());
    Some(History::read(epoch, top, after, entries, floor))
}
