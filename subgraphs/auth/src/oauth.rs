//! Sign-in with OpenID Connect providers (Google, any certified issuer by config).
//!
//! Web and app-redirect flows: `start` hands the client an authorization URL with
//! PKCE (S256), a `state` and a `nonce`, and keeps the verifier server-side under the
//! state for ten minutes; `complete` takes the code the provider sent to the client's
//! redirect URI, exchanges it (with the verifier, using the oauth2 crate), verifies
//! the ID token (signature by the provider's JWKS, issuer, audience, expiry, nonce)
//! and signs the person in. Native flow: the app asks for a nonce
//! (`issue_nonce`, single use, ten minutes), puts it in its own request to the
//! provider, and `sign_in_with_id_token` verifies the ID token it got back, with
//! that nonce: a leaked ID token cannot be replayed, since its nonce is spent.
//!
//! Every one-time value (`state`, nonce) is taken from the store in one atomic step,
//! so two requests racing with one value cannot both pass. An ID token signed by a
//! key the provider's JWKS does not list makes us fetch the JWKS again at most once
//! per [`JWKS_REFETCH`].
//!
//! A first sign-in creates a verified account. An email that already belongs to a
//! password account is never linked automatically (that would hand the account to
//! whoever controls the provider account): the owner links it while signed in.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use echostream_config::OidcProviderConfig;
use echostream_contracts::auth::{UserRegistered, UserVerified, email_digest};
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use jsonwebtoken::{DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::entities::{identity, user};
use crate::sessions::{self, Client as DeviceClient, Tokens};
use crate::{Auth, accounts, users};

/// How long a started sign-in may take.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// The `id_token` the token endpoint returns beside the access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

/// The client before its endpoints are set.
type NewClient = Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// The client with authorization and token endpoints.
type OidcClient = Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    /// Empty for plain OAuth 2 providers.
    #[serde(default)]
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

const GITHUB_AUTHORIZE: &str = "https://github.com/login/oauth/authorize";
const GITHUB_TOKEN: &str = "https://github.com/login/oauth/access_token";
const GITHUB_USER: &str = "https://api.github.com/user";
const GITHUB_EMAILS: &str = "https://api.github.com/user/emails";

fn is_github(config: &OidcProviderConfig) -> bool {
    config.preset.as_deref() == Some("github")
}

/// Whether a provider speaks OpenID Connect (else plain OAuth 2 with user info).
fn is_oidc(config: &OidcProviderConfig) -> bool {
    !config.issuer.is_empty()
}

/// One configured provider, with its discovery document and keys once fetched.
struct Provider {
    config: OidcProviderConfig,
    metadata: RwLock<Option<Metadata>>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// When the JWKS was last fetched (bounds refetches for unknown key ids).
    fetched_at: RwLock<Option<std::time::Instant>>,
}

/// The configured providers.
pub struct Providers {
    http: reqwest::Client,
    list: Vec<Provider>,
}

/// A sign-in waiting for the provider's answer, kept under its `state`.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    verifier: String,
    nonce: String,
    redirect_uri: String,
    /// Set when a signed-in user is linking the provider to their account.
    link_user: Option<Uuid>,
}

/// What the provider says about the person.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    preferred_username: Option<String>,
    name: Option<String>,
}

/// The outcome of a completed provider round trip.
pub enum Completed {
    SignedIn(Tokens),
    Linked(user::Model),
}

fn pending_key(state: &str) -> String {
    format!("oauth-pending:{state}")
}

fn nonce_key(nonce: &str) -> String {
    format!("oauth-nonce:{nonce}")
}

/// How often a provider's JWKS may be fetched again for an unknown key id.
pub const JWKS_REFETCH: Duration = Duration::from_secs(30);

fn random_token() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

impl Providers {
    /// The providers of the configuration; nothing is fetched until first use.
    pub fn new(configs: &[OidcProviderConfig]) -> Providers {
        Providers {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("reqwest client"),
            list: configs
                .iter()
                .map(|c| Provider {
                    config: c.clone(),
                    metadata: RwLock::new(None),
                    keys: RwLock::new(HashMap::new()),
                    fetched_at: RwLock::new(None),
                })
                .collect(),
        }
    }

    /// The names clients may ask for.
    pub fn names(&self) -> Vec<String> {
        self.list.iter().map(|p| p.config.name.clone()).collect()
    }

    fn provider(&self, name: &str) -> Result<&Provider, Error> {
        self.list
            .iter()
            .find(|p| p.config.name == name)
            .ok_or_else(|| Error::bad_input(format!("unknown sign-in provider {name:?}")))
    }

    async fn metadata(&self, provider: &Provider) -> Result<Metadata, Error> {
        if let Some(m) = provider.metadata.read().await.clone() {
            return Ok(m);
        }
        let c = &provider.config;
        if !is_oidc(c) {
            let github = is_github(c);
            let pick = |explicit: &Option<String>, preset: &str| {
                explicit
                    .clone()
                    .or_else(|| github.then(|| preset.to_string()))
            };
            let missing = || Error::internal(format!("provider {} has no endpoints", c.name));
            return Ok(Metadata {
                issuer: String::new(),
                authorization_endpoint: pick(&c.authorization_endpoint, GITHUB_AUTHORIZE)
                    .ok_or_else(missing)?,
                token_endpoint: pick(&c.token_endpoint, GITHUB_TOKEN).ok_or_else(missing)?,
                jwks_uri: String::new(),
                userinfo_endpoint: Some(
                    pick(&c.userinfo_endpoint, GITHUB_USER).ok_or_else(missing)?,
                ),
            });
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            provider.config.issuer.trim_end_matches('/')
        );
        let fetched: Metadata = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(Error::internal)?
            .json()
            .await
            .map_err(Error::internal)?;
        *provider.metadata.write().await = Some(fetched.clone());
        Ok(fetched)
    }

    async fn key(&self, provider: &Provider, kid: &str) -> Result<DecodingKey, Error> {
        if let Some(key) = provider.keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        let unknown = || Error::Unauthenticated("the ID token's key is not the provider's".into());
        {
            // A stream of made-up key ids must not make us fetch the JWKS each time.
            let mut fetched_at = provider.fetched_at.write().await;
            if fetched_at.is_some_and(|at| at.elapsed() < JWKS_REFETCH) {
                return Err(unknown());
            }
            *fetched_at = Some(std::time::Instant::now());
        }
        let metadata = self.metadata(provider).await?;
        let fetched = echostream_service::token::fetch_jwks(&self.http, &metadata.jwks_uri).await?;
        let mut keys = provider.keys.write().await;
        keys.extend(fetched);
        keys.get(kid).cloned().ok_or_else(unknown)
    }

    /// Who an access token belongs to, from the provider's user-info endpoint, read
    /// through the configured field names (GitHub: its primary verified email).
    async fn user_info(
        &self,
        provider: &Provider,
        endpoint: &str,
        access_token: &str,
    ) -> Result<IdClaims, Error> {
        let get = |url: String| {
            self.http
                .get(url)
                .bearer_auth(access_token)
                .header("accept", "application/json")
                .header("user-agent", "EchoStream")
                .send()
        };
        let info: serde_json::Value = get(endpoint.to_string())
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| {
                tracing::info!(error = %e, "user info refused");
                Error::Unauthenticated("the provider refused the access token".into())
            })?
            .json()
            .await
            .map_err(Error::internal)?;
        let fields = &provider.config.fields;
        let (subject, username, email_field) = if is_github(&provider.config) {
            ("id", "login", "email")
        } else {
            (
                fields.subject.as_str(),
                fields.username.as_str(),
                fields.email.as_str(),
            )
        };
        let sub = match &info[subject] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(Error::Unauthenticated(
                    "the provider did not say who this is".into(),
                ));
            }
        };
        let text = |field: &str| info[field].as_str().map(str::to_string);
        let (email, email_verified) = if is_github(&provider.config) {
            // GitHub lists addresses with their verification state separately.
            let emails: Vec<serde_json::Value> = get(GITHUB_EMAILS.to_string())
                .await
                .and_then(|r| r.error_for_status())
                .map_err(Error::internal)?
                .json()
                .await
                .map_err(Error::internal)?;
            let primary = emails
                .iter()
                .find(|e| e["primary"] == true && e["verified"] == true)
                .and_then(|e| e["email"].as_str().map(str::to_string));
            (primary.clone(), Some(primary.is_some()))
        } else {
            let verified = (!fields.email_verified.is_empty())
                .then(|| info[fields.email_verified.as_str()].as_bool())
                .flatten();
            (text(email_field), verified)
        };
        Ok(IdClaims {
            sub,
            nonce: None,
            email,
            email_verified,
            preferred_username: text(username),
            name: text("name"),
        })
    }

    /// Verifies an ID token: the provider's signature, issuer, audience, expiry, and
    /// the nonce this sign-in chose.
    async fn verify(
        &self,
        provider: &Provider,
        token: &str,
        audiences: &[String],
        nonce: &str,
    ) -> Result<IdClaims, Error> {
        let bad = || Error::Unauthenticated("the ID token is not valid".into());
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad())?;
        let kid = header.kid.ok_or_else(bad)?;
        let key = self.key(provider, &kid).await?;
        let metadata = self.metadata(provider).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&metadata.issuer]);
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        // Only asymmetric algorithms: an HS256 token would be "signed" with a public key.
        if !matches!(
            header.alg,
            jsonwebtoken::Algorithm::RS256
                | jsonwebtoken::Algorithm::RS384
                | jsonwebtoken::Algorithm::RS512
                | jsonwebtoken::Algorithm::PS256
                | jsonwebtoken::Algorithm::ES256
                | jsonwebtoken::Algorithm::ES384
                | jsonwebtoken::Algorithm::EdDSA
        ) {
            return Err(bad());
        }
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|_| bad())?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(Error::Unauthenticated(
                "the ID token's nonce does not match".into(),
            ));
        }
        Ok(claims)
    }
}

/// Starts a provider sign-in (or, with `link_user`, a linking); returns the URL to
/// send the person to and the `state` that comes back with the code.
pub async fn start(
    auth: &Auth,
    provider_name: &str,
    redirect_uri: &str,
    link_user: Option<Uuid>,
) -> Result<(String, String), Error> {
    let provider = auth.oauth.provider(provider_name)?;
    if !provider
        .config
        .redirect_uris
        .iter()
        .any(|u| u == redirect_uri)
    {
        return Err(Error::bad_input(
            "redirectUri is not registered for this provider",
        ));
    }
    let metadata = auth.oauth.metadata(provider).await?;
    let client = oidc_client(&provider.config, &metadata, redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = random_token();
    let nonce = random_token();
    let scopes: Vec<String> = if !provider.config.scopes.is_empty() {
        provider.config.scopes.clone()
    } else if is_github(&provider.config) {
        vec!["read:user".into(), "user:email".into()]
    } else {
        vec!["openid".into(), "email".into(), "profile".into()]
    };
    let mut request = client
        .authorize_url(|| CsrfToken::new(state.clone()))
        .add_scopes(scopes.into_iter().map(Scope::new))
        .set_pkce_challenge(challenge);
    if is_oidc(&provider.config) {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    let (url, _) = request.url();
    let pending = Pending {
        provider: provider_name.to_string(),
        verifier: verifier.secret().clone(),
        nonce,
        redirect_uri: redirect_uri.to_string(),
        link_user,
    };
    let value = serde_json::to_string(&pending).map_err(Error::internal)?;
    auth.ports
        .pubsub
        .set(&pending_key(&state), &value, Some(PENDING_TTL))
        .await?;
    Ok((url.to_string(), state))
}

fn oidc_client(
    config: &OidcProviderConfig,
    metadata: &Metadata,
    redirect_uri: &str,
) -> Result<OidcClient, Error> {
    let bad = |e: oauth2::url::ParseError| Error::internal(e.to_string());
    let mut client: OidcClient = NewClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(AuthUrl::new(metadata.authorization_endpoint.clone()).map_err(bad)?)
        .set_token_uri(TokenUrl::new(metadata.token_endpoint.clone()).map_err(bad)?)
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_string())
                .map_err(|_| Error::bad_input("redirectUri is not a URL"))?,
        );
    if let Some(secret) = &config.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

/// Completes a provider round trip with the `code` that came back with `state`;
/// `linking` is the signed-in user when the client completes a linking.
pub async fn complete(
    auth: &Auth,
    state: &str,
    code: &str,
    linking: Option<Uuid>,
    device: DeviceClient<'_>,
) -> Result<Completed, Error> {
    let invalid = || Error::bad_input("this sign-in is unknown, used or expired; start again");
    // One use, atomically: a replayed (or raced) state finds nothing.
    let raw = auth
        .ports
        .pubsub
        .take(&pending_key(state))
        .await?
        .ok_or_else(invalid)?;
    let pending: Pending = serde_json::from_str(&raw).map_err(|_| invalid())?;
    if pending.link_user != linking {
        return Err(Error::bad_input(if pending.link_user.is_some() {
            "this is a linking: complete it with completeOAuthLink while signed in as its user"
        } else {
            "this is a sign-in: complete it with completeOAuth"
        }));
    }
    let provider = auth.oauth.provider(&pending.provider)?;
    let metadata = auth.oauth.metadata(provider).await?;
    let client = oidc_client(&provider.config, &metadata, &pending.redirect_uri)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&auth.oauth.http)
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "authorization code refused by the provider");
            Error::Unauthenticated("the provider refused the authorization code".into())
        })?;
    let access_token = oauth2::TokenResponse::access_token(&response)
        .secret()
        .clone();
    let claims = if is_oidc(&provider.config) {
        let id_token = response
            .extra_fields()
            .id_token
            .clone()
            .ok_or_else(|| Error::Unauthenticated("the provider sent no ID token".into()))?;
        let audiences = vec![provider.config.client_id.clone()];
        let mut claims = auth
            .oauth
            .verify(provider, &id_token, &audiences, &pending.nonce)
            .await?;
        // Providers that keep claims out of the ID token serve them as user info.
        if claims.email.is_none()
            && let Some(endpoint) = &metadata.userinfo_endpoint
        {
            let info = auth
                .oauth
                .user_info(provider, endpoint, &access_token)
                .await?;
            if info.sub != claims.sub {
                return Err(Error::Unauthenticated(
                    "user info is for another subject".into(),
                ));
            }
            claims.email = info.email;
            claims.email_verified = info.email_verified;
            claims.preferred_username = claims.preferred_username.or(info.preferred_username);
        }
        claims
    } else {
        let endpoint = metadata
            .userinfo_endpoint
            .clone()
            .ok_or_else(|| Error::internal("no user-info endpoint"))?;
        auth.oauth
            .user_info(provider, &endpoint, &access_token)
            .await?
    };
    match pending.link_user {
        Some(user_id) => Ok(Completed::Linked(
            link(auth, user_id, &pending.provider, &claims).await?,
        )),
        None => Ok(Completed::SignedIn(
            sign_in(auth, &pending.provider, claims, device).await?,
        )),
    }
}

/// How long an issued nonce waits to be used.
pub const NONCE_TTL: Duration = Duration::from_secs(600);

/// Native apps: a nonce to put in the app's own request to the provider; it works
/// once, within [`NONCE_TTL`].
pub async fn issue_nonce(auth: &Auth) -> Result<(String, chrono::DateTime<chrono::Utc>), Error> {
    let nonce = random_token();
    auth.ports
        .pubsub
        .set(&nonce_key(&nonce), "issued", Some(NONCE_TTL))
        .await?;
    let expires = chrono::Utc::now() + chrono::Duration::from_std(NONCE_TTL).unwrap_or_default();
    Ok((nonce, expires))
}

/// Native apps: signs in with an ID token the app obtained from the provider itself,
/// carrying a nonce this server issued and nobody has used.
pub async fn sign_in_with_id_token(
    auth: &Auth,
    provider_name: &str,
    id_token: &str,
    nonce: &str,
    device: DeviceClient<'_>,
) -> Result<Tokens, Error> {
    if nonce.is_empty() || nonce.len() > 128 {
        return Err(Error::bad_input("nonce is not one this server issued"));
    }
    let provider = auth.oauth.provider(provider_name)?;
    if !is_oidc(&provider.config) {
        return Err(Error::bad_input("this provider does not issue ID tokens"));
    }
    if auth.ports.pubsub.take(&nonce_key(nonce)).await?.is_none() {
        return Err(Error::Unauthenticated(
            "this nonce is unknown, used or expired: ask for one with requestSignInNonce".into(),
        ));
    }
    let mut audiences = provider.config.native_client_ids.clone();
    audiences.push(provider.config.client_id.clone());
    let claims = auth
        .oauth
        .verify(provider, id_token, &audiences, nonce)
        .await?;
    sign_in(auth, provider_name, claims, device).await
}

async fn sign_in(
    auth: &Auth,
    provider: &str,
    claims: IdClaims,
    device: DeviceClient<'_>,
) -> Result<Tokens, Error> {
    let linked = identity::Entity::find_by_id((provider.to_string(), claims.sub.clone()))
        .one(&auth.db)
        .await?;
    let account = match linked {
        Some(found) => users::existing(&auth.db, found.user_id).await?,
        None => create_account(auth, provider, &claims).await?,
    };
    sessions::open(auth, account, device).await
}

/// A free username from what the provider says.
async fn pick_username(auth: &Auth, claims: &IdClaims) -> Result<String, Error> {
    let wanted = claims
        .preferred_username
        .clone()
        .or_else(|| {
            claims
                .email
                .as_ref()
                .and_then(|e| e.split('@').next().map(str::to_string))
        })
        .or_else(|| claims.name.clone())
        .unwrap_or_else(|| "user".into());
    let mut base: String = wanted
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    if base.len() < 3 {
        base = format!("user_{base}");
    }
    for attempt in 0..20 {
        let candidate = if attempt == 0 {
            base.clone()
        } else {
            format!(
                "{base}_{}",
                &random_token()[..4].to_lowercase().replace(['-', '_'], "x")
            )
        };
        if accounts::validate_username(&candidate).is_ok()
            && users::by_username(&auth.db, &candidate).await?.is_none()
        {
            return Ok(candidate);
        }
    }
    Err(Error::conflict(
        "no free username could be made; register with a password",
    ))
}

async fn create_account(
    auth: &Auth,
    provider: &str,
    claims: &IdClaims,
) -> Result<user::Model, Error> {
    let email = claims
        .email
        .clone()
        .filter(|_| claims.email_verified.unwrap_or(false))
        .ok_or_else(|| Error::forbidden("the provider did not share a verified email address"))?;
    if user::Entity::find()
        .filter(user::Column::EmailKey.eq(email.to_lowercase()))
        .one(&auth.db)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            "an account with this email exists: sign in to it and link this provider",
        ));
    }
    let username = pick_username(auth, claims).await?;
    let now = Utc::now();
    let model = user::Model {
        id: Uuid::now_v7(),
        email: email.clone(),
        email_key: users::key(&email),
        username,
        username_key: String::new(),
        // No password: sign-in is through the provider until one is set by reset.
        password_hash: String::new(),
        email_verified_at: Some(now),
        created_at: now,
    };
    let provider = provider.to_string();
    let subject = claims.sub.clone();
    auth.relay
        .write(move |txn| {
            Box::pin(async move {
                let mut model = model;
                model.username_key = users::key(&model.username);
                let saved = user::ActiveModel::from(model).insert(txn).await?;
                identity::ActiveModel {
                    provider: Set(provider.clone()),
                    subject: Set(subject),
                    user_id: Set(saved.id),
                    email: Set(Some(saved.email.clone())),
                    created_at: Set(now),
                }
                .insert(txn)
                .await?;
                let (user_id, username) = (saved.id, saved.username.clone());
                let registered = UserRegistered {
                    user_id,
                    username: username.clone(),
                    provider: Some(provider.clone()),
                };
                let verified = UserVerified {
                    user_id,
                    username,
                    provider: Some(provider),
                    email_digest: Some(email_digest(&saved.email)),
                };
                Ok(Change::new(saved)
                    .emit(&registered, Some(user_id))
                    .emit(&verified, Some(user_id)))
            })
        })
        .await
}

async fn link(
    auth: &Auth,
    user_id: Uuid,
    provider: &str,
    claims: &IdClaims,
) -> Result<user::Model, Error> {
    let account = users::existing(&auth.db, user_id).await?;
    match identity::Entity::find_by_id((provider.to_string(), claims.sub.clone()))
        .one(&auth.db)
        .await?
    {
        Some(existing) if existing.user_id == user_id => return Ok(account),
        Some(_) => {
            return Err(Error::conflict(
                "this provider account is linked to another user",
            ));
        }
        None => {}
    }
    identity::ActiveModel {
        provider: Set(provider.to_string()),
        subject: Set(claims.sub.clone()),
        user_id: Set(user_id),
        email: Set(claims.email.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&auth.db)
    .await?;
    Ok(account)
}

/// The providers linked to a user.
pub async fn linked(auth: &Auth, user_id: Uuid) -> Result<Vec<String>, Error> {
    Ok(identity::Entity::find()
        .filter(identity::Column::UserId.eq(user_id))
        .all(&auth.db)
        .await?
        .into_iter()
        .map(|i| i.provider)
        .collect())
}

/// Unlinks a provider; refused when it is the account's only way to sign in.
pub async fn unlink(auth: &Auth, user_id: Uuid, provider: &str) -> Result<(), Error> {
    let account = users::existing(&auth.db, user_id).await?;
    let identities = linked(auth, user_id).await?;
    if !identities.iter().any(|p| p == provider) {
        return Err(Error::not_found("this provider is not linked"));
    }
    if account.password_hash.is_empty() && identities.len() == 1 {
        return Err(Error::forbidden(
            "this is the only way to sign in: set a password (password reset) first",
        ));
    }
    identity::Entity::delete_many()
        .filter(identity::Column::UserId.eq(user_id))
        .filter(identity::Column::Provider.eq(provider))
        .exec(&auth.db)
        .await?;
    Ok(())
}
