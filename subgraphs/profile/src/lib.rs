//! The profile subgraph: public profiles, user search and the friend system.
//!
//! Extends the `User` entity with profile fields and where the viewer stands with
//! that user. Profiles are a projection of auth's events (`auth.user.verified`).

pub mod blocks;
pub mod details;
pub mod entities;
pub mod friends;
pub mod graphql;
pub mod media;
pub mod privacy;
pub mod profiles;

use std::sync::Arc;
use std::time::Duration;

use echostream_config::Subgraph;
use echostream_media::cleanup::Cleanup;
use echostream_migrations::profile::Migrator;
use echostream_ports::events::outbox::Relay;
use echostream_ports::objects;
use echostream_service::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the profile resolvers need.
pub struct Profile {
    pub ports: Ports,
    pub db: DatabaseConnection,
    pub relay: Relay,
    /// Deletes replaced images and abandoned uploads (`echostream_media`).
    pub cleanup: Arc<Cleanup>,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates, starts the relay and consumers, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Profile).await?;
    let relay = ports.relay(&db);
    ports.consume(
        "auth",
        "profile",
        &db,
        db.clone(),
        |db, delivery| async move { profiles::apply_auth_event(&db, delivery).await },
    );
    let app = Arc::new(Profile {
        ports: ports.clone(),
        db: db.clone(),
        relay,
        cleanup: Cleanup::new(
            db.clone(),
            Arc::clone(&ports.objects),
            Duration::from_secs(ports.config.media.unconfirmed_after_secs),
        ),
    });
    app.cleanup.spawn(ports.shutdown.clone());
    // The local object store's presigned URLs carry this subgraph's address.
    let max_upload = ports.config.max_upload_bytes() as usize;
    let objects = objects::local::routes(Arc::clone(&ports.objects), max_upload);
    serve(
        Subgraph::Profile,
        ports,
        db,
        graphql::schema(Some(app)),
        objects,
    )
    .await
}
