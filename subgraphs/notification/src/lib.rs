//! The notification subgraph: a stored, live notification feed built from the
//! other domains' events.

pub mod entities;
pub mod feed;
pub mod graphql;

use std::sync::Arc;

use axum::Router;
use echostream_migrations::{MigratorTrait, notification::Migrator};
use echostream_shared::config::Subgraph;
use echostream_shared::events::consumer;
use echostream_shared::service::{Ports, StartError, serve};
use sea_orm::DatabaseConnection;

/// Everything the notification resolvers need.
pub struct Notifications {
    pub ports: Ports,
    pub db: DatabaseConnection,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    graphql::schema(None).sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .federation()
            .compose_directive(),
    )
}

/// Migrates, starts the consumers, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = echostream_shared::db::connect(&ports.config, Subgraph::Notification).await?;
    Migrator::up(&db, None).await?;
    for topic in ["chat", "profile"] {
        let db = db.clone();
        let pubsub = Arc::clone(&ports.pubsub);
        consumer::spawn(
            Arc::clone(&ports.events),
            topic,
            "notification".into(),
            ports.shutdown.clone(),
            move |delivery| {
                let db = db.clone();
                let pubsub = Arc::clone(&pubsub);
                async move { feed::apply(&db, pubsub.as_ref(), delivery).await }
            },
        );
    }
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
