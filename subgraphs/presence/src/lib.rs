//! The presence subgraph: who is online, away or offline, across devices and server
//! instances, as privacy and blocks let each viewer see it.
//!
//! Presence itself is ephemeral state in the pub/sub port (see the shared `presence`
//! module: every subscription and request of a device keeps it present); this
//! subgraph extends `User` with it, lets a device say it is away, streams changes,
//! and sweeps for changes that only time makes.

pub mod graphql;
pub mod visibility;

use std::sync::Arc;

use axum::Router;
use echostream_config::Subgraph;
use echostream_migrations::presence::Migrator;
use echostream_projections::{blocks, friendships, privacy};
use echostream_service::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the presence resolvers need.
pub struct Presence {
    pub ports: Ports,
    /// Presence's own database: the friendship, block and privacy projections that
    /// decide who sees whom.
    pub db: DatabaseConnection,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates, starts the consumers and the sweeper, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Presence).await?;
    ports.consume(
        "profile",
        "presence",
        &db,
        db.clone(),
        |db, delivery| async move {
            blocks::apply_profile_event(&db, "presence-blocks", &delivery).await?;
            privacy::apply_profile_event(&db, "presence-privacy", &delivery).await?;
            friendships::apply_profile_event(&db, "presence", delivery).await
        },
    );
    ports.consume(
        "auth",
        "presence",
        &db,
        db.clone(),
        |db, delivery| async move {
            blocks::apply_auth_event(&db, "presence-blocks", &delivery).await?;
            privacy::apply_auth_event(&db, "presence-privacy", &delivery).await?;
            friendships::apply_auth_event(&db, "presence", delivery).await
        },
    );
    sweep(ports);
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

/// Announces the changes only time makes (a device going quiet or expiring), on
/// every instance; the tracker's atomic swap announces each change once.
fn sweep(ports: &Ports) {
    let tracker = Arc::clone(&ports.presence);
    let shutdown = ports.shutdown.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tracker.sweep_every());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(err) = tracker.sweep().await {
                tracing::warn!(%err, "presence sweep failed");
            }
        }
    });
}
