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
use echostream_shared::service::{Ports, StartError, federation_sdl, serve};

/// Everything the presence resolvers need.
pub struct Presence {
    pub ports: Ports,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Presence).await?;
    let app = Arc::new(Presence {
        ports: ports.clone(),
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
