//! The ports: each one small trait with exactly two implementations, one embedded
//! (files and in-process, the default) and one for the services profile. Domain code
//! sees only the trait.
//!
//! | port | embedded | services |
//! |---|---|---|
//! | [`db`] | SQLite file per subgraph | PostgreSQL, a schema per subgraph |
//! | [`events`] | SQLite log file | Kafka |
//! | [`pubsub`] | in-process | Redis |
//! | [`objects`] | local directory | S3 |
//! | [`mail`] | local outbox file | SMTP |
//!
//! [`Error`] is what every port and every domain function returns.

pub mod db;
pub mod error;
pub mod events;
pub mod mail;
pub mod objects;
pub mod pubsub;

pub use error::{Error, Result};
