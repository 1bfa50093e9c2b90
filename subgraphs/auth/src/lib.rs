//! The auth subgraph: accounts, email verification, sign-in and token signing.
//!
//! Owns the `User` entity's identity (id, username, email) and publishes the JWKS that
//! the gateway and every subgraph verify access tokens with.

pub mod accounts;
pub mod codes;
pub mod entities;
pub mod graphql;
pub mod keys;
pub mod limits;
pub mod mails;
pub mod oauth;
pub mod passwords;
pub mod sessions;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use echostream_config::Subgraph;
use echostream_migrations::auth::Migrator;
use echostream_ports::events::outbox::Relay;
use echostream_service::service::{Ports, StartError, federation_sdl, serve};
use sea_orm::DatabaseConnection;

/// Everything the auth resolvers need.
pub struct Auth {
    pub ports: Ports,
    pub db: DatabaseConnection,
    pub relay: Relay,
    pub keys: keys::Keys,
    pub oauth: oauth::Providers,
}

/// The subgraph's SDL for composition.
pub fn sdl() -> String {
    federation_sdl(&graphql::schema(None))
}

/// How often each instance reloads the keys (and rotates them when due).
const KEY_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// Migrates, starts the outbox relay and key rotation, and serves the subgraph;
/// returns once listening.
pub async fn start(ports: &Ports) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let db = ports.database::<Migrator>(Subgraph::Auth).await?;
    let policy = keys::RotationPolicy::from_config(&ports.config.auth);
    let sealer = keys::Sealer::from_config(&ports.config)
        .map_err(|e| StartError::Database(sea_orm::DbErr::Custom(e.to_string())))?;
    let keys = keys::Keys::load(&db, sealer, policy)
        .await
        .map_err(|e| StartError::Database(sea_orm::DbErr::Custom(e.to_string())))?;
    let relay = ports.relay(&db);
    let auth = Arc::new(Auth {
        ports: ports.clone(),
        db: db.clone(),
        relay,
        keys,
        oauth: oauth::Providers::new(&ports.config.auth.oidc),
    });
    {
        let auth = Arc::clone(&auth);
        let shutdown = ports.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(KEY_REFRESH) => {}
                }
                if let Err(err) = auth.keys.refresh(&auth.db, policy).await {
                    tracing::warn!(error = ?err, "signing keys not refreshed");
                }
            }
        });
    }
    {
        // Revocations live in the database; the pub/sub store is their cache, and
        // a store that restarted empty (or came back from an older snapshot) would
        // let revoked sessions' tokens work again until they expire.
        let auth = Arc::clone(&auth);
        let shutdown = ports.shutdown.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = sessions::restore_revocations(&auth).await {
                    tracing::warn!(%err, "revocations not restored to the store yet");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(sessions::RESTORE_REVOCATIONS_EVERY) => {}
                }
            }
        });
    }
    // Other domains' mail to a user: auth alone holds the address.
    ports.consume(
        "notification",
        "auth",
        &db,
        Arc::clone(&auth),
        |auth, delivery| async move { mails::send_digest(&auth, delivery).await },
    );
    let jwks_auth = Arc::clone(&auth);
    let extra = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let jwks = jwks_auth.keys.jwks();
            async move { axum::Json(jwks) }
        }),
    );
    serve(
        Subgraph::Auth,
        ports,
        db,
        graphql::schema(Some(auth)),
        extra,
    )
    .await
}
