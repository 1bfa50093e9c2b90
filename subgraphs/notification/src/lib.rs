//! The notification subgraph: a stored, live notification feed built from the
//! other domains' events (`feed/`), sent where each user's preferences and mutes
//! say (`preferences/`): in app, by email digest to people who are away
//! (`digests/`), by Web Push to their devices (`push/`); written with the names it
//! keeps (`people.rs`).

pub mod digests;
pub mod entities;
pub mod feed;
pub mod graphql;
pub mod preferences;
pub mod push;

use std::sync::Arc;

use echostream_config::Subgraph;
use echostream_migrations::notification::Migrator;
use echostream_service::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the notification resolvers need.
pub struct Notifications {
    pub ports: Ports,
    pub db: DatabaseConnection,
    /// The users' live feeds, the clock, the push sender's wake-up.
    pub feed: feed::Feed,
    /// The key browsers subscribe to pushes with (`applicationServerKey`).
    pub push_key: echostream_ports::push::VapidKey,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// Migrates, starts the consumers, and serves the subgraph.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Notification).await?;
    let feed = feed::Feed {
        streams: feed::live::Streams::of(ports),
        clock: Arc::clone(&ports.clock),
        pushes: Arc::new(tokio::sync::Notify::new()),
    };
    for topic in ["chat", "profile"] {
        let state = (db.clone(), feed.clone());
        ports.consume(
            topic,
            "notification",
            &db,
            state,
            |(db, feed), delivery| async move { feed::apply(&db, &feed, delivery).await },
        );
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
    let key = digests::links::LinkKey::load(&db).await?;
    digests::Digests {
        db: db.clone(),
        relay: ports.relay(&db),
        presence: Arc::clone(&ports.presence),
        clock: Arc::clone(&ports.clock),
        config: ports.config.notifications.clone(),
        key: key.clone(),
        public_url: ports.config.gateway.public_url(),
        after: Arc::default(),
    }
    .spawn(ports.shutdown.clone());
    let unsubscribe = digests::route(
        db.clone(),
        key,
        Arc::clone(&ports.clock),
        echostream_service::trust::GatewayTrust::new(
            &ports.config.gateway.subgraph_secret,
            Subgraph::Notification.name(),
            true,
        ),
    );
    let push_key = echostream_ports::push::VapidKey::from_secret(
        &digests::links::stored_secret(&db, "vapid").await?,
    )
    .map_err(|e| StartError::Database(sea_orm::DbErr::Custom(e.to_string())))?;
    let pusher: Arc<dyn echostream_ports::push::Pusher> = match ports.config.profile {
        echostream_config::Profile::Embedded => Arc::new(
            echostream_ports::push::OutboxPusher::new(ports.config.data_dir.join("push")),
        ),
        echostream_config::Profile::Services => Arc::new(echostream_ports::push::WebPusher::new(
            push_key.clone(),
            ports.config.push.contact.clone(),
        )),
    };
    push::sender::Sender {
        db: db.clone(),
        pusher,
        presence: Arc::clone(&ports.presence),
        clock: Arc::clone(&ports.clock),
        config: ports.config.push.clone(),
        wake: Arc::clone(&feed.pushes),
    }
    .spawn(ports.shutdown.clone());
    let app = Arc::new(Notifications {
        ports: ports.clone(),
        db: db.clone(),
        feed,
        push_key,
    });
    serve(
        Subgraph::Notification,
        ports,
        db,
        graphql::schema(Some(app)),
        unsubscribe,
    )
    .await
}
