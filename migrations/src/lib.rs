//! SeaORM migrations, one set per subgraph schema.
//!
//! Each subgraph owns its tables and runs only its own migrator, against its own
//! SQLite file (embedded) or PostgreSQL schema (services). Every set starts with the
//! tables the event machinery needs: `outbox` and `processed_events`.

pub mod auth;
pub mod chat;
mod common;
pub mod notification;
pub mod presence;
pub mod profile;

pub use sea_orm_migration::MigratorTrait;
