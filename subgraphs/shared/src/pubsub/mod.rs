//! The pub/sub and ephemeral-state port: Redis in the services profile, in-process
//! otherwise.
//!
//! Channels carry the real-time fan-out (`user:{id}`, `conversation:{id}`); keys hold
//! state that may vanish without harm (rate-limit counters, presence, typing).

pub mod memory;
pub mod redis;
pub mod registry;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

/// Failures of the pub/sub port.
#[derive(Debug, thiserror::Error)]
#[error("pub/sub unavailable: {0}")]
pub struct PubSubError(pub String);

impl From<PubSubError> for crate::Error {
    fn from(err: PubSubError) -> Self {
        crate::Error::internal(err)
    }
}

/// Publish/subscribe plus short-lived keys.
#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    /// Sends `message` to every current subscriber of `channel`, on every instance.
    async fn publish(&self, channel: &str, message: &str) -> Result<(), PubSubError>;
    /// Receives what is published on `channel` from now on.
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, PubSubError>;
    /// Receives what is published on any of `channels` from now on, over one
    /// subscription (one connection in Redis, however many channels).
    async fn subscribe_many(
        &self,
        channels: &[String],
    ) -> Result<BoxStream<'static, String>, PubSubError>;

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
}
