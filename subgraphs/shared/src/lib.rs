//! What every EchoStream service needs: typed configuration, the five ports (each
//! with an embedded and a services implementation), the error type, access-token
//! verification, events with their outbox, presence tracking and service bootstrap.

/// The configuration, its own crate (`crates/config`), kept at this path.
pub use echostream_config as config;
pub mod contracts;
pub mod db;
pub mod error;
pub mod events;
pub mod input;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod objects;
pub mod pages;
pub mod presence;
pub mod projections;
pub mod pubsub;
pub mod rate_limits;
pub mod request_checks;
pub mod resolver;
pub mod service;
pub mod subscriptions;
pub mod telemetry;
pub mod token;
pub mod trust;
pub mod ws_handshake;

pub use error::{Error, Result};
