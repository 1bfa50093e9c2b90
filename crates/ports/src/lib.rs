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
//! | [`push`] | local outbox file | Web Push |
//!
//! The [`clock`] is the system's in both (one that tests move, when configured).
//!
//! [`Error`] is what every port and every domain function returns.

pub mod clock;
pub mod db;
pub mod error;
pub mod events;
pub mod mail;
pub mod objects;
pub mod outbox_file;
pub mod pubsub;
pub mod push;

pub use error::{Error, Result};
