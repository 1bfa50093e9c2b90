//! The chat subgraph: conversations, members and messages.
//!
//! Where a message goes when it is sent: `graphql.rs` (`sendMessage`) →
//! `messages.rs` (`send`: row + seq + outbox event in one transaction) → the outbox
//! relay (shared `events/outbox.rs`) → `fanout.rs` (consumer that publishes to each
//! member's channel, where `messageAdded` subscriptions listen).

pub mod conversations;
pub mod entities;
pub mod fanout;
pub mod graphql;
pub mod loaders;
pub mod messages;

use std::sync::Arc;

use axum::Router;
use echostream_migrations::{MigratorTrait, chat::Migrator};
use echostream_shared::config::Subgraph;
use echostream_shared::events::consumer;
use echostream_shared::events::outbox::Relay;
use echostream_shared::service::{Ports, StartError, serve};
use sea_orm::DatabaseConnection;

/// Everything the chat resolvers need.
pub struct Chat {
    pub ports: Ports,
    pub db: DatabaseConnection,
    pub relay: Relay,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    graphql::schema(None).sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .federation()
            .compose_directive(),
    )
}

/// Migrates, starts the relay and consumers, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = echostream_shared::db::connect(&ports.config, Subgraph::Chat).await?;
    Migrator::up(&db, None).await?;
    let relay = Relay::new();
    relay.spawn(
        db.clone(),
        Arc::clone(&ports.events),
        ports.shutdown.clone(),
    );
    {
        let db = db.clone();
        consumer::spawn(
            Arc::clone(&ports.events),
            "profile",
            "chat".into(),
            ports.shutdown.clone(),
            move |delivery| {
                let db = db.clone();
                async move { fanout::apply_profile_event(&db, delivery).await }
            },
        );
    }
    {
        let pubsub = Arc::clone(&ports.pubsub);
        consumer::spawn(
            Arc::clone(&ports.events),
            "chat",
            "chat-fanout".into(),
            ports.shutdown.clone(),
            move |delivery| {
                let pubsub = Arc::clone(&pubsub);
                async move { fanout::fan_out(pubsub.as_ref(), delivery).await }
            },
        );
    }
    let app = Arc::new(Chat {
        ports: ports.clone(),
        db: db.clone(),
        relay,
    });
    serve(
        Subgraph::Chat,
        ports,
        db,
        graphql::schema(Some(app)),
        Router::new(),
    )
    .await
}
