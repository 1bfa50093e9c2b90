//! The event log port: every state change is an [`Envelope`] on a domain topic.
//!
//! One topic per domain (`auth`, `profile`, `chat`, `presence`, `notification`), keyed
//! so that all events of one aggregate (a conversation, a user) land on one partition
//! and stay ordered. Writers never publish directly: they enqueue into their outbox
//! in the same transaction as the state change ([`outbox`]), and a relay publishes.

pub mod consumer;
pub mod dead_letters;
pub mod embedded;
pub mod kafka;
pub mod outbox;
pub mod shares;

use async_trait::async_trait;

pub use echostream_contracts::{DecodeError, Envelope};

/// The topics EchoStream writes: one per domain, named as its subgraph.
pub fn topics() -> [&'static str; 5] {
    echostream_config::Subgraph::ALL.map(echostream_config::Subgraph::name)
}

/// One event as a consumer receives it, with its place on the log.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: Envelope,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Where a new subscription starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// After the group's last committed offset (or the beginning for a new group).
    Committed,
    /// From the first retained event, ignoring commits: replays a projection.
    Earliest,
}

/// Failures of the event log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    #[error("undecodable event: {0}")]
    Decode(String),
    /// A message on the log that is not an event envelope at all; the delivery
    /// carries its place and, as the payload, its raw text.
    #[error("not an event envelope: {1}")]
    Undecodable(Box<Delivery>, String),
    #[error("event log closed")]
    Closed,
}

impl From<DecodeError> for LogError {
    fn from(err: DecodeError) -> Self {
        LogError::Decode(err.0)
    }
}

impl From<DecodeError> for crate::Error {
    fn from(err: DecodeError) -> Self {
        crate::Error::internal(LogError::from(err))
    }
}

impl From<LogError> for crate::Error {
    fn from(err: LogError) -> Self {
        crate::Error::internal(err)
    }
}

/// The event log port: Kafka in the services profile, a SQLite file otherwise.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends an event to its topic; returns once the log has accepted it.
    async fn publish(&self, event: &Envelope) -> Result<(), LogError>;
    /// Opens a consumer in `group` on `topic` that reads every partition (a lone
    /// reader: a replay, a tool, a test).
    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        start: StartAt,
    ) -> Result<Box<dyn LogConsumer>, LogError>;
    /// Opens a consumer in `group` on `topic`, from the group's committed offsets,
    /// that shares the partitions with the group's other consumers (every instance
    /// of the subgraph runs one) through leases in `shares` ([`shares`]). The
    /// in-process log has one process and splits a group among its consumers itself.
    async fn subscribe_shared(
        &self,
        topic: &str,
        group: &str,
        shares: shares::Shares,
    ) -> Result<Box<dyn LogConsumer>, LogError> {
        let _ = shares;
        self.subscribe(topic, group, StartAt::Committed).await
    }
    /// Whether the log answers now (`/ready`); the in-process log always does.
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Events on `topic` that consumer group `group` has not committed yet, summed
    /// over the partitions (`/metrics`).
    async fn lag(&self, topic: &str, group: &str) -> Result<i64, LogError>;
}

/// A consumer in a group: receives events in partition order, commits after processing.
#[async_trait]
pub trait LogConsumer: Send {
    /// Waits for the next event.
    async fn next(&mut self) -> Result<Delivery, LogError>;
    /// Marks `delivery` and everything before it on its partition as processed.
    async fn commit(&mut self, delivery: &Delivery) -> Result<(), LogError>;
}

/// Partition of `key` among `partitions`, stable across processes and restarts.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    // FNV-1a: tiny, stable, and good enough to spread UUID keys.
    let mut hash: u32 = 0x811c9dc5;
    for byte in key.as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x01000193);
    }
    (hash % partitions.max(1) as u32) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_in_range() {
        // Pinned values (FNV-1a 32 of "a" is 0xe40c292c, its published test vector):
        // a build that partitioned differently would send a key's new events to
        // another partition than its old ones, out of order across a deploy.
        for (key, of_3, of_8) in [
            ("a", 1, 4),
            ("conversation-1", 1, 0),
            ("0192f0c0-0000-7000-8000-000000000000", 0, 7),
        ] {
            assert_eq!(partition_for(key, 3), of_3, "{key}");
            assert_eq!(partition_for(key, 8), of_8, "{key}");
        }
        assert_eq!(
            partition_for("anything", 0),
            0,
            "no partitions count as one"
        );
    }
}
