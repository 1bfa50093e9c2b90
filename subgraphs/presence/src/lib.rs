//! The presence subgraph: who is online, across devices and server instances.
//!
//! Presence itself is ephemeral state in the pub/sub port (see the shared
//! `presence` module, which every subscription uses to mark its user live); this
//! subgraph extends `User` with it and streams changes.

pub mod graphql;

use std::sync::Arc;

use axum::Router;
use echostream_migrations::presence::Migrator;
use echostream_shared::config::Subgraph;
use echostream_shared::projections::friendships;
use echostream_shared::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the presence resolvers need.
pub struct Presence {
    pub ports: Ports,
    /// Presence's own database: the friendship projection that decides who sees whom.
    pub db: DatabaseConnection,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Presence).await?;
    ports.consume("profile", "presence", &db, db.clone(), |db, delivery| async move {
        friendships::apply_profile_event(&db, "presence", delivery).await
    });
    ports.consume("auth", "presence", &db, db.clone(), |db, delivery| async move {
        friendships::apply_auth_event(&db, "presence", delivery).await
    });
    let app = Arc::new(Presence {
        ports: ports.clone(),
        db: db.clone(),
    });
    serve(
        Subgraph::Presence,
        ports,
        db,
        graphql::schema(Some(app)),
        Router::new(),
    )
    .await
}
