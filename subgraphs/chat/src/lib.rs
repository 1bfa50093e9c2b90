//! The chat subgraph: conversations, members and messages.
//!
//! Where a message goes when it is sent: `graphql/mod.rs` (`sendMessage`) →
//! `messages/mod.rs` (`send`: row + seq via `timeline.rs` + outbox event in one
//! transaction) → the outbox relay (shared `events/outbox.rs`) → `fanout.rs`
//! (consumer that appends it to each member's stream, where `stream.rs` follows it
//! for `chatEvents` subscriptions).
//!
//! Rooms by name: `conversations/` (direct, groups, permissions, the list),
//! `timeline.rs` (items and their `seq`), `history.rs` (paging), `receipts.rs`
//! (delivered and read), `unread.rs` (counts derived from read positions),
//! `stream.rs` (each user's resumable stream of events), `typing.rs`,
//! `messages/` (sending, replies, forwards, edits, deletions, reactions, pins),
//! `attachments/` (the files messages carry: uploads, real types, thumbnails,
//! durations, shared by forwards),
//! `threads.rs` (replies to one message, kept out of the timeline, read apart),
//! `search.rs`, `scheduling.rs` (messages sent later), `exports.rs` (a user's data
//! export and a conversation's, written to storage in parts), `erasure.rs` (an
//! account deleted).

pub mod attachments;
pub mod conversations;
pub mod entities;
pub mod erasure;
pub mod exports;
pub mod fanout;
pub mod graphql;
pub mod history;
pub mod loaders;
pub mod messages;
pub mod mutes;
pub mod receipts;
pub mod scheduling;
pub mod search;
pub mod senders;
pub mod stream;
pub mod threads;
pub mod timeline;
pub mod typing;
pub mod unread;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use echostream_config::Subgraph;
use echostream_contracts::auth::UserDeleted;
use echostream_media::cleanup::Cleanup;
use echostream_migrations::chat::Migrator;
use echostream_ports::events::outbox::Relay;
use echostream_service::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the chat resolvers need.
pub struct Chat {
    pub ports: Ports,
    pub db: DatabaseConnection,
    pub relay: Relay,
    /// Deletes replaced group avatars and abandoned uploads.
    pub cleanup: Arc<Cleanup>,
    /// Sends scheduled messages when they are due.
    pub scheduler: scheduling::Scheduler,
}

impl Chat {
    /// Chat's uploads and images (`echostream_media`): group avatars and
    /// attachments, in chat's own `media` table.
    pub fn media(&self) -> echostream_media::Images<'_> {
        echostream_media::Images {
            db: &self.db,
            objects: self.ports.objects.as_ref(),
            limits: &self.ports.config.media,
        }
    }
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates, starts the relay and consumers, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Chat).await?;
    let relay = ports.relay(&db);
    ports.consume(
        "profile",
        "chat",
        &db,
        db.clone(),
        |db, delivery| async move { fanout::apply_profile_event(&db, delivery).await },
    );
    let fanout = fanout::Fanout {
        pubsub: Arc::clone(&ports.pubsub),
        db: db.clone(),
        keep: echostream_ports::pubsub::Retention::of_chat(&ports.config.chat),
    };
    let told = fanout.clone();
    let on_parked: echostream_ports::events::consumer::OnParked = Arc::new(move |delivery| {
        let told = told.clone();
        Box::pin(async move { fanout::parked(&told, delivery).await })
    });
    ports.consume_telling(
        "chat",
        "chat-fanout",
        &db,
        fanout,
        Some(on_parked),
        |fanout, delivery| async move { fanout::fan_out(&fanout, delivery).await },
    );
    let app = Arc::new(Chat {
        ports: ports.clone(),
        db: db.clone(),
        relay,
        cleanup: Cleanup::new(
            db.clone(),
            Arc::clone(&ports.objects),
            Duration::from_secs(ports.config.media.unconfirmed_after_secs),
        ),
        scheduler: scheduling::Scheduler::default(),
    });
    app.cleanup.spawn(ports.shutdown.clone());
    scheduling::Scheduler::spawn(Arc::clone(&app), ports.shutdown.clone());
    ports.consume(
        "auth",
        "chat",
        &db,
        Arc::clone(&app),
        |app, delivery| async move {
            if let Some(deleted) = delivery.event.decode::<UserDeleted>()? {
                erasure::erase(&app, deleted.user_id).await?;
            }
            messages::mentions::apply_auth_event(&app.db, &delivery).await?;
            fanout::apply_auth_event(&app.db, delivery).await
        },
    );
    serve(
        Subgraph::Chat,
        ports,
        db,
        graphql::schema(Some(app)),
        Router::new(),
    )
    .await
}
