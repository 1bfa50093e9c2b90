//! Sessions: one per signed-in device, each holding the hash of its current refresh
//! token.
//!
//! A refresh token works once: using it rotates the session to a new one and records
//! the old hash as spent. Presenting a spent token again means it was copied, so the
//! whole session (the token family) is revoked. Revoking a session also marks it in
//! the pub/sub store, so its access tokens stop working everywhere at once.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use echostream_contracts::auth::SessionRevoked;
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use echostream_service::token::end_session;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::{session, spent_refresh_token, user};
use crate::{Auth, limits, passwords, users};

/// Tokens handed to a signed-in client.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: user::Model,
}

/// Where a request comes from.
pub struct Client<'a> {
    pub ip: &'a str,
    pub device_id: Option<&'a str>,
    pub device_name: Option<&'a str>,
}

/// Hash under which an opaque refresh token is stored.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest)
}

fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Signs in with email or username and password, opening a session for the device.
pub async fn login(
    auth: &Auth,
    login: &str,
    password: &str,
    client: Client<'_>,
) -> Result<Tokens, Error> {
    // No account has a longer login or password: refused before any work.
    if login.len() > 254 || password.chars().count() > 128 {
        return Err(Error::bad_input(
            "login is at most 254 characters and password at most 128",
        ));
    }
    let pubsub = auth.ports.pubsub.as_ref();
    let refused = |err: Error| {
        if err.code() == "RATE_LIMITED" {
            echostream_service::metrics::sign_in_failed("rate_limited");
        }
        err
    };
    limits::hit(
        pubsub,
        limits::login_per_ip(&auth.ports.config.auth),
        client.ip,
    )
    .await
    .map_err(refused)?;
    let subject = login.trim().to_lowercase();
    // Counted before the password is checked (atomically), so that parallel guesses
    // cannot all pass a check made before any of them is counted; and per address,
    // so that a stranger's wrong guesses lock out only the stranger.
    let from_here = format!("{subject}|{}", client.ip);
    limits::hit(pubsub, limits::LOGIN_FAILURES, &from_here)
        .await
        .map_err(refused)?;
    let known = known_address(pubsub, &subject, client.ip).await?;
    if !known {
        limits::hit(pubsub, limits::LOGIN_ATTEMPTS_FROM_NEW_ADDRESSES, &subject)
            .await
            .map_err(refused)?;
    }
    let found = users::by_login(&auth.db, login).await?;
    // Unknown logins are checked against a dummy hash: the same cost, so timing does
    // not tell which accounts exist.
    // Accounts made through a provider have no password: they take the same path.
    let has_password = found.as_ref().is_some_and(|u| !u.password_hash.is_empty());
    let stored = found.as_ref().filter(|_| has_password).map_or_else(
        || passwords::DUMMY_HASH.clone(),
        |u| u.password_hash.clone(),
    );
    let matches = passwords::verify(password.to_string(), stored).await? && has_password;
    let account = match found {
        Some(account) if matches => account,
        _ => {
            echostream_service::metrics::sign_in_failed("wrong_credentials");
            return Err(Error::Unauthenticated("wrong login or password".into()));
        }
    };
    limits::clear(pubsub, limits::LOGIN_FAILURES, &from_here).await?;
    pubsub
        .set(
            &limits::known_address_key(&subject, client.ip),
            "1",
            Some(limits::KNOWN_ADDRESS_TTL),
        )
        .await?;
    if account.email_verified_at.is_none() {
        echostream_service::metrics::sign_in_failed("unverified");
        return Err(Error::forbidden(
            "verify your email address before signing in",
        ));
    }
    open(auth, account, client).await
}

/// Whether `account` (a login as typed) has signed in from `address` lately.
async fn known_address(
    pubsub: &dyn echostream_ports::pubsub::PubSub,
    account: &str,
    address: &str,
) -> Result<bool, Error> {
    Ok(pubsub
        .get(&limits::known_address_key(account, address))
        .await?
        .is_some())
}

/// Opens a session for an authenticated account (password or OAuth sign-in).
pub async fn open(auth: &Auth, account: user::Model, client: Client<'_>) -> Result<Tokens, Error> {
    let device_id = client
        .device_id
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_string);
    if device_id.len() > 128 {
        return Err(Error::bad_input("deviceId is at most 128 characters"));
    }
    let device_name: String = client
        .device_name
        .unwrap_or("unknown device")
        .chars()
        .take(128)
        .collect();
    let refresh = new_refresh_token();
    let now = Utc::now();
    let config = &auth.ports.config.auth;
    let saved = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(account.id),
        device_id: Set(device_id),
        device_name: Set(device_name),
        refresh_hash: Set(token_hash(&refresh)),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + Duration::seconds(config.refresh_token_ttl_secs as i64)),
        revoked_at: Set(None),
        ip: Set(client.ip.to_string()),
    }
    .insert(&auth.db)
    .await?;
    let access = auth
        .keys
        .issue(config, account.id, saved.id, &saved.device_id)?;
    Ok(Tokens {
        access_token: access,
        refresh_token: refresh,
        expires_in: config.access_token_ttl_secs as i64,
        user: account,
    })
}

/// Trades a refresh token for new tokens, rotating it; a reused token revokes its
/// whole session.
pub async fn refresh(auth: &Auth, refresh_token: &str, ip: &str) -> Result<Tokens, Error> {
    let hash = token_hash(refresh_token.trim());
    let now = Utc::now();
    let live = session::Entity::find()
        .filter(session::Column::RefreshHash.eq(&hash))
        .one(&auth.db)
        .await?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > now);
    let Some(current) = live else {
        if let Some(spent) = spent_refresh_token::Entity::find_by_id(hash)
            .one(&auth.db)
            .await?
        {
            tracing::warn!(session = %spent.session_id, "refresh token reuse: revoking the session");
            revoke(auth, spent.session_id, "refresh_token_reuse").await?;
            return Err(Error::Unauthenticated(
                "this refresh token was already used; the session is revoked, sign in again".into(),
            ));
        }
        return Err(Error::Unauthenticated(
            "invalid or expired refresh token".into(),
        ));
    };
    let account = users::existing(&auth.db, current.user_id).await?;
    let next = new_refresh_token();
    let next_hash = token_hash(&next);
    let ip = ip.to_string();
    let rotated = auth
        .db
        .transaction::<_, session::Model, Error>(|txn| {
            Box::pin(async move {
                spent_refresh_token::ActiveModel {
                    hash: Set(current.refresh_hash.clone()),
                    session_id: Set(current.id),
                    spent_at: Set(now),
                }
                .insert(txn)
                .await?;
                let mut active: session::ActiveModel = current.into();
                active.refresh_hash = Set(next_hash);
                active.last_used_at = Set(now);
                active.ip = Set(ip);
                Ok(active.update(txn).await?)
            })
        })
        .await
        // Two refreshes with one token at once: the loser sees the winner's spend.
        .map_err(|_| Error::Unauthenticated("this refresh token was just used".into()))?;
    let config = &auth.ports.config.auth;
    Ok(Tokens {
        access_token: auth
            .keys
            .issue(config, account.id, rotated.id, &rotated.device_id)?,
        refresh_token: next,
        expires_in: config.access_token_ttl_secs as i64,
        user: account,
    })
}

/// Ends a session now: its refresh token stops working, and so do its access tokens.
pub async fn revoke(auth: &Auth, session_id: Uuid, reason: &str) -> Result<(), Error> {
    let Some(found) = session::Entity::find_by_id(session_id)
        .one(&auth.db)
        .await?
    else {
        return Ok(());
    };
    let user_id = found.user_id;
    if found.revoked_at.is_none() {
        let reason = reason.to_string();
        auth.relay
            .write(move |txn| {
                Box::pin(async move {
                    let mut active: session::ActiveModel = found.into();
                    active.revoked_at = Set(Some(Utc::now()));
                    active.update(txn).await?;
                    let event = SessionRevoked {
                        user_id,
                        session_id,
                        reason,
                    };
                    Ok(Change::new(()).emit(&event, Some(user_id)))
                })
            })
            .await?;
    }
    // Remembered as long as any access token of the session can still be valid.
    let ttl = StdDuration::from_secs(auth.ports.config.auth.access_token_ttl_secs + 60);
    end_session(auth.ports.pubsub.as_ref(), session_id, ttl).await?;
    // The device is gone with its session: it no longer counts as present (its
    // live subscriptions end with the session, and their entries with them).
    let device = echostream_presence_tracking::Device {
        user_id,
        session_id,
    };
    if let Err(err) = auth.ports.presence.forget(&device).await {
        tracing::warn!(%err, "an ended session's presence stays until it expires");
    }
    Ok(())
}

/// How often every instance writes the recent revocations to the store again.
pub const RESTORE_REVOCATIONS_EVERY: StdDuration = StdDuration::from_secs(5);

/// Marks again in the pub/sub store every session revoked while one of its access
/// tokens may still be valid: the database is where revocations are kept, the store
/// only where tokens are checked against them, and it may have lost them (a restart,
/// an older snapshot, a failover). Runs at start and every
/// [`RESTORE_REVOCATIONS_EVERY`]; a few rows each time (revocations of the last
/// `auth.access_token_ttl_secs`).
pub async fn restore_revocations(auth: &Auth) -> Result<u64, Error> {
    let ttl = StdDuration::from_secs(auth.ports.config.auth.access_token_ttl_secs + 60);
    let since = Utc::now() - Duration::from_std(ttl).unwrap_or_default();
    let revoked = session::Entity::find()
        .filter(session::Column::RevokedAt.gt(since))
        .all(&auth.db)
        .await?;
    let mut restored = 0;
    for s in revoked {
        let Some(at) = s.revoked_at else { continue };
        let left = (at - since).to_std().unwrap_or_default();
        if left.is_zero() {
            continue;
        }
        let key = echostream_service::token::revoked_session_key(s.id);
        auth.ports.pubsub.set(&key, "1", Some(left)).await?;
        restored += 1;
    }
    Ok(restored)
}

/// Revokes every live session of `user` except `keep`; returns how many ended.
pub async fn revoke_all(
    auth: &Auth,
    user: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> Result<u64, Error> {
    let live = list(&auth.db, user).await?;
    let mut ended = 0;
    for s in live.into_iter().filter(|s| Some(s.id) != keep) {
        revoke(auth, s.id, reason).await?;
        ended += 1;
    }
    Ok(ended)
}

/// Live sessions of a user, most recently used first.
pub async fn list(db: &DatabaseConnection, user: Uuid) -> Result<Vec<session::Model>, Error> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(session::Column::LastUsedAt)
        .all(db)
        .await?)
}

/// Revokes one of `user`'s own sessions.
pub async fn revoke_own(auth: &Auth, user: Uuid, session_id: Uuid) -> Result<(), Error> {
    let owned = session::Entity::find_by_id(session_id)
        .one(&auth.db)
        .await?
        .is_some_and(|s| s.user_id == user);
    if !owned {
        return Err(Error::not_found("no such session"));
    }
    revoke(auth, session_id, "revoked_by_user").await
}
