//! The notification subgraph: a stored, live notification feed built from the
//! other domains' events (`feed/`), written with the names it keeps (`people.rs`).

pub mod entities;
pub mod feed;
pub mod graphql;
pub mod people;

use std::sync::Arc;

use axum::Router;
use echostream_config::Subgraph;
use echostream_migrations::notification::Migrator;
use echostream_service::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the notification resolvers need.
pub struct Notifications {
    pub ports: Ports,
    pub db: DatabaseConnection,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates, starts the consumers, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Notification).await?;
    for topic in ["chat", "profile"] {
        let state = (db.clone(), Arc::clone(&ports.pubsub));
        ports.consume(topic, "notification", &db, state, |(db, pubsub), delivery| async move {
            feed::apply(&db, pubsub.as_ref(), delivery).await
        });
    }
    ports.consume(
        "auth",
        "notification",
        &db,
        db.clone(),
        |db, delivery| async move { feed::apply_auth_event(&db, delivery).await },
    );
    feed::retention::spawn(
        db.clone(),
        ports.config.notifications.clone(),
        ports.shutdown.clone(),
    );
    let app = Arc::new(Notifications {
        ports: ports.clone(),
        db: db.clone(),
    });
    serve(
        Subgraph::Notification,
        ports,
        db,
        graphql::schema(Some(app)),
        Router::new(),
    )
    .await
}
