//! Access-token claims and their verification against the auth subgraph's JWKS.
//!
//! The gateway verifies every token; a subgraph takes the identity the gateway
//! vouches for in its signed header (`crate::trust`), or verifies the token itself
//! when none is vouched for: it trusts no unsigned header, so reaching its port
//! directly grants nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use uuid::Uuid;

use echostream_ports::Error;
use echostream_ports::pubsub::PubSub;
use echostream_presence_tracking::Device;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The session (one per signed-in device) the token belongs to.
    pub sid: Uuid,
    /// The client's device id, stable across token rotation.
    pub did: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The signed-in caller of a request, as resolvers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub device_id: String,
    /// When the access token the caller presented expires (Unix seconds): a live
    /// subscription opened with it ends then.
    pub expires_at: i64,
}

impl Viewer {
    /// The device this viewer signed in on, as presence counts it.
    pub fn device(&self) -> Device {
        Device {
            user_id: self.user_id,
            session_id: self.session_id,
        }
    }
}

impl From<Claims> for Viewer {
    fn from(c: Claims) -> Self {
        Viewer {
            user_id: c.sub,
            session_id: c.sid,
            device_id: c.did,
            expires_at: c.exp,
        }
    }
}

/// Seconds a token is still accepted past its `exp` by a request (clocks differ a
/// little between the issuer and the verifiers). A live subscription does not get
/// it: it ends at `exp` by its own process's clock.
pub const LEEWAY_SECS: i64 = 5;

impl Viewer {
    /// When the caller's live subscriptions end (Unix seconds): the token's expiry,
    /// with no leeway (within a second of it, by this process's clock).
    pub fn authority_ends_at(&self) -> i64 {
        self.expires_at
    }
}

/// Why a WebSocket connection's token was refused; its subscriptions answer with it.
#[derive(Debug, Clone)]
pub struct TokenRejected(pub String);

/// The key under which an ended session is remembered until its last access token
/// has expired.
pub fn revoked_session_key(session: Uuid) -> String {
    format!("revoked-session:{session}")
}

/// The pub/sub channel on which an ended session's id is announced, so that every
/// instance ends that session's live subscriptions at once (see
/// [`crate::subscriptions`]).
pub const SESSIONS_ENDED: &str = "sessions:ended";

/// Marks `session` as ended for `ttl` (as long as any of its access tokens can still
/// be valid) and announces it on [`SESSIONS_ENDED`]: its tokens stop working and its
/// open subscriptions end, on every instance.
pub async fn end_session(
    pubsub: &dyn PubSub,
    session: Uuid,
    ttl: Duration,
) -> Result<(), echostream_ports::pubsub::PubSubError> {
    pubsub
        .set(&revoked_session_key(session), "1", Some(ttl))
        .await?;
    pubsub.publish(SESSIONS_ENDED, &session.to_string()).await
}

/// Whether `session` has been ended (see [`end_session`]).
pub async fn session_ended(
    pubsub: &dyn PubSub,
    session: Uuid,
) -> Result<bool, echostream_ports::pubsub::PubSubError> {
    Ok(pubsub.get(&revoked_session_key(session)).await?.is_some())
}

/// Fetches a JWKS document and returns its usable keys by `kid` (keys without a
/// `kid` or of an unsupported type are skipped).
pub async fn fetch_jwks(
    http: &reqwest::Client,
    url: &str,
) -> Result<HashMap<String, DecodingKey>, Error> {
    let set: JwkSet = http
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(Error::internal)?
        .json()
        .await
        .map_err(Error::internal)?;
    Ok(set
        .keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
        })
        .collect())
}

/// Verifies access tokens with keys fetched from a JWKS URL and cached by `kid`, and
/// refuses tokens of sessions that have ended (signed out, revoked, password changed).
pub struct TokenVerifier {
    revocations: Arc<dyn PubSub>,
    jwks_url: String,
    issuer: String,
    audience: String,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: RwLock<Option<Instant>>,
}

/// Refetching on an unknown `kid` is how rotated keys arrive; this bounds how often a
/// stream of forged `kid`s can make us do it.
const MIN_REFETCH: Duration = Duration::from_secs(5);

impl TokenVerifier {
    /// A verifier for tokens of `issuer`/`audience` signed by keys at `jwks_url`.
    pub fn new(
        jwks_url: String,
        issuer: String,
        audience: String,
        revocations: Arc<dyn PubSub>,
    ) -> Arc<TokenVerifier> {
        Arc::new(TokenVerifier {
            revocations,
            jwks_url,
            issuer,
            audience,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("reqwest client"),
            keys: RwLock::new(HashMap::new()),
            last_fetch: RwLock::new(None),
        })
    }

    async fn refresh(&self) -> Result<(), Error> {
        {
            let last = self.last_fetch.read().await;
            if last.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
                return Ok(());
            }
        }
        *self.last_fetch.write().await = Some(Instant::now());
        *self.keys.write().await = fetch_jwks(&self.http, &self.jwks_url).await?;
        Ok(())
    }

    /// Verifies a bare token (no `Bearer `): signature by a published key, EdDSA only,
    /// issuer, audience and expiry.
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let bad = || Error::Unauthenticated("invalid or expired access token".into());
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad())?;
        if header.alg != Algorithm::EdDSA {
            return Err(bad());
        }
        let kid = header.kid.ok_or_else(bad)?;
        if !self.keys.read().await.contains_key(&kid) {
            self.refresh().await?;
        }
        let keys = self.keys.read().await;
        let key = keys.get(&kid).ok_or_else(bad)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = LEEWAY_SECS as u64;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| bad())?;
        drop(keys);
        self.still_open(claims.sid).await?;
        Ok(claims)
    }

    /// The viewer of a request: the one the gateway vouches for in its signature
    /// (`vouched`: the gateway verified the token; no second signature check here),
    /// else the one the `Authorization` header's token names, verified here.
    pub async fn viewer_for(
        &self,
        vouched: Option<Viewer>,
        authorization: Option<&str>,
    ) -> Result<Option<Viewer>, Error> {
        match vouched {
            Some(viewer) => self.vouched(viewer).await.map(Some),
            None => self.viewer_from_authorization(authorization).await,
        }
    }

    /// A viewer the gateway vouches for, while their token has not expired and their
    /// session has not ended.
    pub async fn vouched(&self, viewer: Viewer) -> Result<Viewer, Error> {
        if viewer.expires_at + LEEWAY_SECS < chrono::Utc::now().timestamp() {
            return Err(Error::Unauthenticated(
                "invalid or expired access token".into(),
            ));
        }
        self.still_open(viewer.session_id).await?;
        Ok(viewer)
    }

    /// A signed-out session's tokens stop working at once, not at expiry.
    async fn still_open(&self, session: Uuid) -> Result<(), Error> {
        if session_ended(self.revocations.as_ref(), session).await? {
            return Err(Error::Unauthenticated(
                "this session has ended; sign in again".into(),
            ));
        }
        Ok(())
    }

    /// Verifies an `Authorization` header value. No header is an anonymous caller
    /// (`Ok(None)`); a header with a bad token is an error, never anonymity.
    pub async fn viewer_from_authorization(
        &self,
        value: Option<&str>,
    ) -> Result<Option<Viewer>, Error> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Error::Unauthenticated("expected a Bearer token".into()))?;
        Ok(Some(self.verify(token.trim()).await?.into()))
    }
}
