//! Redis pub/sub and ephemeral keys for the services profile.
//!
//! Commands share one multiplexed, self-reconnecting connection; every listener of
//! the process shares one pub/sub connection ([`Hub`]). Replayable streams are
//! scripts over a hash and a Redis stream each (`redis_streams.rs`).
//!
//! On a Redis Cluster (`redis.cluster`), commands go to the node of their key's
//! slot. Each stream's keys and its channel carry the stream's name as a hash tag
//! (`stream-meta:{user:…}`, `stream:{user:…}`, channel `{user:…}`), so one script
//! writes a stream and publishes its entry on one node; channels are sharded
//! (`SPUBLISH`, `SSUBSCRIBE`), so a message crosses only its own shard. What spans
//! several streams (an append to every member's stream, renewing many places) is
//! one call per stream or key, run together.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands, Cmd, Pipeline, RedisFuture, Value};

use super::hub::Hub;
use super::stream::{DEDUPE_TTL, new_epoch};
use super::{Heard, History, PubSub, PubSubError, Retention, redis_streams};
use echostream_config::RedisConfig;

/// Redis-backed pub/sub; every key and channel carries the configured prefix.
pub struct RedisPubSub {
    hub: Hub,
    commands: Commands,
    names: Names,
    append: redis::Script,
    history: redis::Script,
    restart: redis::Script,
    hold: redis::Script,
    renew: redis::Script,
}

/// Takes a place in a sorted set of holders scored by lease end (Redis's own clock,
/// so instances' clocks need not agree): lapsed places leave first.
const HOLD: &str = r"
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
";

/// Extends leases: each pair of arguments is a holder and its lease in ms.
const RENEW: &str = r"
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for k = 1, #KEYS do
  redis.call('ZADD', KEYS[k], ms + tonumber(ARGV[2 * k]), ARGV[2 * k - 1])
  redis.call('PEXPIRE', KEYS[k], ARGV[2 * k])
end
return #KEYS
";

fn fail(err: redis::RedisError) -> PubSubError {
    PubSubError(err.to_string())
}

/// Where commands go: one Redis, or the nodes of a Redis Cluster by key slot.
#[derive(Clone)]
enum Commands {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Commands::Single(c) => c.req_packed_command(cmd),
            Commands::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Commands::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Commands::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Commands::Single(c) => c.get_db(),
            Commands::Cluster(c) => c.get_db(),
        }
    }
}

/// The names of keys and channels: the prefix, and on a cluster the hash tags that
/// keep a stream's keys and channel on one slot.
#[derive(Clone)]
pub(super) struct Names {
    prefix: String,
    cluster: bool,
}

impl Names {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// A channel's name (a stream's channel is the stream's name).
    pub(super) fn channel(&self, channel: &str) -> String {
        if self.cluster {
            format!("{}{{{channel}}}", self.prefix)
        } else {
            self.key(channel)
        }
    }

    /// A stream's meta hash and Redis stream.
    fn stream(&self, stream: &str) -> (String, String) {
        if self.cluster {
            (
                format!("{}stream-meta:{{{stream}}}", self.prefix),
                format!("{}stream:{{{stream}}}", self.prefix),
            )
        } else {
            (
                self.key(&format!("stream-meta:{stream}")),
                self.key(&format!("stream:{stream}")),
            )
        }
    }

    /// The key recording how far an append got (on a cluster, one per stream).
    fn dedupe(&self, dedupe: &str, stream: &str) -> String {
        if self.cluster {
            format!("{}stream-dedupe:{{{stream}}}:{dedupe}", self.prefix)
        } else {
            self.key(&format!("stream-dedupe:{dedupe}"))
        }
    }
}

/// A stream script's body for `cluster`: its channels are sharded there.
fn stream_script(body: &str, cluster: bool) -> redis::Script {
    if cluster {
        redis_streams::script(&body.replace("redis.call('PUBLISH'", "redis.call('SPUBLISH'"))
    } else {
        redis_streams::script(body)
    }
}

impl RedisPubSub {
    /// Connects to the configured Redis (or Redis Cluster).
    pub async fn connect(config: &RedisConfig) -> Result<RedisPubSub, PubSubError> {
        let names = Names {
            prefix: config.key_prefix.clone(),
            cluster: config.cluster,
        };
        let timeout = Duration::from_millis(config.response_timeout_ms);
        let (commands, hub) = if config.cluster {
            let nodes: Vec<String> = config
                .url
                .split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect();
            let client = redis::cluster::ClusterClientBuilder::new(nodes.clone())
                .response_timeout(timeout)
                .build()
                .map_err(fail)?;
            let commands = client.get_async_connection().await.map_err(fail)?;
            (
                Commands::Cluster(commands),
                Hub::start_cluster(nodes, names.clone(), timeout),
            )
        } else {
            let client = redis::Client::open(config.url.as_str()).map_err(fail)?;
            let settings =
                redis::aio::ConnectionManagerConfig::new().set_response_timeout(Some(timeout));
            let commands = ConnectionManager::new_with_config(client.clone(), settings)
                .await
                .map_err(fail)?;
            (
                Commands::Single(commands),
                Hub::start(client, names.clone()),
            )
        };
        Ok(RedisPubSub {
            hub,
            commands,
            names,
            append: stream_script(redis_streams::APPEND, config.cluster),
            history: redis_streams::script(redis_streams::HISTORY),
            restart: stream_script(redis_streams::RESTART, config.cluster),
            hold: redis::Script::new(HOLD),
            renew: redis::Script::new(RENEW),
        })
    }

    fn key(&self, key: &str) -> String {
        self.names.key(key)
    }

    /// Whether commands go to a cluster.
    fn cluster(&self) -> bool {
        self.names.cluster
    }

    /// How a script over several streams or keys is called: once over all of them,
    /// or on a cluster once per stream or key (each on its own slot).
    fn calls_over<'a, T>(&self, items: &'a [T]) -> Vec<&'a [T]> {
        if self.cluster() {
            items.chunks(1).collect()
        } else {
            vec![items]
        }
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().clamp(1, u128::from(u64::MAX)) as u64
}

#[async_trait]
impl PubSub for RedisPubSub {
    async fn check(&self) -> Result<(), String> {
        let mut conn = self.commands.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn publish(&self, channel: &str, message: &str) -> Result<(), PubSubError> {
        let mut conn = self.commands.clone();
        let command = if self.cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        };
        let _: i64 = redis::cmd(command)
            .arg(self.names.channel(channel))
            .arg(message)
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn listen(&self, channels: &[String]) -> Result<BoxStream<'static, Heard>, PubSubError> {
        Ok(self.hub.listen(channels).await?.boxed())
    }

    async fn append(
        &self,
        streams: &[String],
        dedupe: &str,
        data: &str,
        supersedes: Option<&str>,
        keep: Retention,
    ) -> Result<(), PubSubError> {
        if streams.is_empty() {
            return Ok(());
        }
        let groups = self.calls_over(streams);
        let calls = groups.into_iter().map(|group| async move {
            let mut conn = self.commands.clone();
            let mut call = self.append.prepare_invoke();
            call.key(self.names.dedupe(dedupe, &group[0]));
            for stream in group {
                let (meta, entries) = self.names.stream(stream);
                call.key(meta);
                call.key(entries);
            }
            call.arg(data)
                .arg(new_epoch())
                .arg(keep.window)
                .arg(millis(keep.ttl))
                .arg(millis(DEDUPE_TTL))
                .arg(supersedes.unwrap_or(""));
            for stream in group {
                call.arg(self.names.channel(stream));
            }
            call.invoke_async::<i64>(&mut conn).await.map_err(fail)
        });
        futures::future::try_join_all(calls).await?;
        Ok(())
    }

    async fn restart_streams(
        &self,
        streams: &[String],
        keep: Retention,
    ) -> Result<(), PubSubError> {
        if streams.is_empty() {
            return Ok(());
        }
        let groups = self.calls_over(streams);
        let calls = groups.into_iter().map(|group| async move {
            let mut conn = self.commands.clone();
            let mut call = self.restart.prepare_invoke();
            for stream in group {
                let (meta, entries) = self.names.stream(stream);
                call.key(meta);
                call.key(entries);
            }
            call.arg(new_epoch()).arg(millis(keep.ttl));
            for stream in group {
                call.arg(self.names.channel(stream));
            }
            call.invoke_async::<i64>(&mut conn).await.map_err(fail)
        });
        futures::future::try_join_all(calls).await?;
        Ok(())
    }

    async fn history(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
        keep: Retention,
    ) -> Result<History, PubSubError> {
        let mut conn = self.commands.clone();
        let (meta, entries) = self.names.stream(stream);
        let value: redis::Value = self
            .history
            .key(meta)
            .key(entries)
            .arg(after)
            .arg(limit)
            .arg(new_epoch())
            .arg(millis(keep.ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(fail)?;
        redis_streams::history(value, after)
            .ok_or_else(|| PubSubError(format!("unreadable history of {stream}")))
    }

    async fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, PubSubError> {
        let mut conn = self.commands.clone();
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("GET")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(fail)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), PubSubError> {
        let mut conn = self.commands.clone();
        let key = self.key(key);
        match ttl {
            Some(ttl) => conn.pset_ex::<_, _, ()>(key, value, millis(ttl)).await,
            None => conn.set::<_, _, ()>(key, value).await,
        }
        .map_err(fail)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, PubSubError> {
        let mut conn = self.commands.clone();
        conn.get(self.key(key)).await.map_err(fail)
    }

    async fn delete(&self, key: &str) -> Result<(), PubSubError> {
        let mut conn = self.commands.clone();
        conn.del::<_, ()>(self.key(key)).await.map_err(fail)
    }

    async fn take(&self, key: &str) -> Result<Option<String>, PubSubError> {
        let mut conn = self.commands.clone();
        redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(fail)
    }

    async fn increment(&self, key: &str, window: Duration) -> Result<(i64, u64), PubSubError> {
        let mut conn = self.commands.clone();
        let key = self.key(key);
        // One atomic round trip: create the counter with its window if missing, count,
        // and read how long the window still runs.
        let (count, ttl_ms): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("NX")
            .arg("PX")
            .arg(millis(window))
            .ignore()
            .incr(&key, 1)
            .pttl(&key)
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        let left = if ttl_ms > 0 {
            (ttl_ms as u64).div_ceil(1000)
        } else {
            0
        };
        Ok((count, left))
    }

    async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), PubSubError> {
        let mut conn = self.commands.clone();
        let key = self.key(key);
        redis::pipe()
            .atomic()
            .hset(&key, field, value)
            .ignore()
            .pexpire(&key, millis(ttl) as i64)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(fail)
    }

    async fn hash_delete(&self, key: &str, field: &str) -> Result<(), PubSubError> {
        let mut conn = self.commands.clone();
        conn.hdel::<_, _, ()>(self.key(key), field)
            .await
            .map_err(fail)
    }

    async fn hash_get_all(&self, key: &str) -> Result<HashMap<String, String>, PubSubError> {
        let mut conn = self.commands.clone();
        conn.hgetall(self.key(key)).await.map_err(fail)
    }

    async fn hash_get_all_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<HashMap<String, String>>, PubSubError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if self.cluster() {
            // A pipeline may not cross slots there: one read per key, run together.
            let reads = keys.iter().map(|key| async move {
                let mut conn = self.commands.clone();
                conn.hgetall::<_, HashMap<String, String>>(self.key(key))
                    .await
                    .map_err(fail)
            });
            return futures::future::try_join_all(reads).await;
        }
        let mut conn = self.commands.clone();
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.hgetall(self.key(key));
        }
        pipe.query_async(&mut conn).await.map_err(fail)
    }

    async fn hold(
        &self,
        key: &str,
        holder: &str,
        cap: usize,
        lease: Duration,
    ) -> Result<bool, PubSubError> {
        let mut conn = self.commands.clone();
        let held: i64 = self
            .hold
            .key(self.key(key))
            .arg(holder)
            .arg(cap)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .map_err(fail)?;
        Ok(held == 1)
    }

    async fn renew(&self, places: &[(String, String)], lease: Duration) -> Result<(), PubSubError> {
        if places.is_empty() {
            return Ok(());
        }
        // On a cluster, a few dozen calls at a time.
        let groups = self.calls_over(places);
        let calls: Vec<futures::future::BoxFuture<'_, Result<i64, PubSubError>>> = groups
            .into_iter()
            .map(|group| -> futures::future::BoxFuture<'_, _> {
                Box::pin(async move {
                    let mut conn = self.commands.clone();
                    let mut call = self.renew.prepare_invoke();
                    for (key, holder) in group {
                        call.key(self.key(key)).arg(holder).arg(millis(lease));
                    }
                    call.invoke_async::<i64>(&mut conn).await.map_err(fail)
                })
            })
            .collect();
        let results: Vec<Result<i64, PubSubError>> = futures::stream::iter(calls)
            .buffer_unordered(32)
            .collect()
            .await;
        results.into_iter().try_for_each(|r| r.map(drop))
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), PubSubError> {
        let mut conn = self.commands.clone();
        let _: i64 = conn.zrem(self.key(key), holder).await.map_err(fail)?;
        Ok(())
    }
}
