//! The pub/sub and ephemeral-state port: Redis in the services profile, in-process
//! otherwise.
//!
//! Channels carry the real-time fan-out (`user:{id}`, `conversation:{id}`); keys hold
//! state that may vanish without harm (rate-limit counters, presence, typing).

pub mod hub;
pub mod memory;
pub mod places;
pub mod redis;
pub mod redis_streams;
pub mod registry;
pub mod stream;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub use registry::Heard;
pub use stream::{History, Retention};

/// Failures of the pub/sub port.
#[derive(Debug, thiserror::Error)]
#[error("pub/sub unavailable: {0}")]
pub struct PubSubError(pub String);

/// The store did not answer (down, restarting, or slower than
/// `redis.response_timeout_ms`): the request may be retried shortly.
impl From<PubSubError> for crate::Error {
    fn from(err: PubSubError) -> Self {
        crate::Error::Unavailable(err.into())
    }
}

/// Publish/subscribe plus short-lived keys.
#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    /// Whether the store answers now (`/ready`); the in-process one always does.
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Sends `message` to every current listener of `channel`, on every instance.
    async fn publish(&self, channel: &str, message: &str) -> Result<(), PubSubError>;
    /// Hears what is published on any of `channels` once this returns. All of a
    /// process's listeners share one connection (one Redis pub/sub connection in
    /// all); a listener that falls behind, or whose connection was lost and made
    /// again, hears [`Heard::Lagged`] instead of silently missing frames.
    async fn listen(&self, channels: &[String]) -> Result<BoxStream<'static, Heard>, PubSubError>;

    /// Appends `data` to each of the replayable `streams` (see [`stream`]): the next
    /// offset of each, kept as `keep` says, and published live on the channel of the
    /// same name. A repeat with the same `dedupe` within [`stream::DEDUPE_TTL`] does
    /// nothing (consumers may apply an event twice). With `supersedes`, the entry
    /// replaces each stream's earlier entry of that key in the window (see
    /// [`stream`]).
    async fn append(
        &self,
        streams: &[String],
        dedupe: &str,
        data: &str,
        supersedes: Option<&str>,
        keep: Retention,
    ) -> Result<(), PubSubError>;
    /// Starts each of `streams` anew: a new epoch with nothing kept, announced live,
    /// so that every reader, live or resuming, is told to resync (for when entries
    /// they should have had can never be appended).
    async fn restart_streams(&self, streams: &[String], keep: Retention)
    -> Result<(), PubSubError>;
    /// Up to `limit` entries of `stream` after offset `after`, with its epoch and
    /// newest offset; a missing stream is made, empty, with a new epoch.
    async fn history(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
        keep: Retention,
    ) -> Result<History, PubSubError>;

    /// Sets `key`, expiring after `ttl` when given.
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), PubSubError>;
    /// Reads `key`.
    async fn get(&self, key: &str) -> Result<Option<String>, PubSubError>;
    /// Sets `key` and returns what it held before, in one atomic step (so of two
    /// instances announcing the same change, exactly one sees the old value).
    async fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, PubSubError>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<(), PubSubError>;
    /// Reads and removes `key` in one atomic step: of two callers, one gets it (a
    /// single-use token).
    async fn take(&self, key: &str) -> Result<Option<String>, PubSubError>;
    /// Adds one to a counter, starting its `window` when it is created; returns the new
    /// count and the seconds left in the window (the basis of fixed-window rate limits).
    async fn increment(&self, key: &str, window: Duration) -> Result<(i64, u64), PubSubError>;

    /// Sets one field of a hash, (re)arming the whole hash's expiry.
    async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), PubSubError>;
    /// Removes one field of a hash.
    async fn hash_delete(&self, key: &str, field: &str) -> Result<(), PubSubError>;
    /// Reads a whole hash (empty when missing or expired).
    async fn hash_get_all(&self, key: &str) -> Result<HashMap<String, String>, PubSubError>;
    /// Reads several whole hashes in one round trip, in the order of `keys`.
    async fn hash_get_all_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<HashMap<String, String>>, PubSubError>;

    /// Takes a place for `holder` among at most `cap` under `key`, leased for
    /// `lease` (holding it again renews it); `false` when `cap` other live places are
    /// held. A cap counted this way holds over every instance, and the places of an
    /// instance that died free themselves when their leases run out.
    async fn hold(
        &self,
        key: &str,
        holder: &str,
        cap: usize,
        lease: Duration,
    ) -> Result<bool, PubSubError>;
    /// Extends the leases of places held (`(key, holder)`), in one round trip; a
    /// place that has lapsed meanwhile is taken again regardless of its cap.
    async fn renew(&self, places: &[(String, String)], lease: Duration) -> Result<(), PubSubError>;
    /// Gives up `holder`'s place under `key`.
    async fn release(&self, key: &str, holder: &str) -> Result<(), PubSubError>;
}
