//! The auth subgraph's GraphQL edge: resolvers translate, `accounts` decides.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, ID, InputObject, Json, Object, Result, Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use echostream_service::Error;
use echostream_service::resolver::{RequestExt, parse_id};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use echostream_service::service::ClientIp;

use crate::entities::{session, user};
use crate::sessions::{self, Client};
use crate::{Auth, accounts, oauth, users};

/// The auth subgraph's schema type.
pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema with its context and loaders.
pub fn schema(auth: Option<Arc<Auth>>) -> AuthSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription).enable_federation();
    if let Some(auth) = auth {
        let loader = DataLoader::new(UserLoader(auth.db.clone()), tokio::spawn);
        builder = builder
            .extension(echostream_service::metrics::Observe::new(
                echostream_config::Subgraph::Auth,
            ))
            .extension(auth.ports.request_checks())
            .data(auth)
            .data(loader);
    }
    builder.finish()
}

fn auth<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Auth>, Error> {
    ctx.state()
}

/// Loads accounts by id in one query per batch.
pub struct UserLoader(DatabaseConnection);

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = users::by_ids(&self.0, keys).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|u| (u.id, u)).collect())
    }
}

async fn load_user(ctx: &Context<'_>, id: Uuid) -> Result<Option<User>> {
    let loader = ctx.loader::<UserLoader>()?;
    // The loader's error keeps its code (`UNAVAILABLE` while the database is down).
    let found = loader.load_one(id).await?;
    Ok(found.map(User))
}

/// An EchoStream account.
pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Unique, case-insensitively.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// The account's email address; visible only to its owner.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let me = ctx.viewer_opt();
        me.filter(|v| v.user_id == self.0.id)
            .map(|_| self.0.email.as_str())
    }

    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Providers linked to this account; only for its owner.
    async fn linked_providers(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let me = ctx.viewer()?;
        me.must_be(self.0.id)?;
        Ok(oauth::linked(auth(ctx)?, me.user_id).await?)
    }

    /// Everything the auth subgraph holds about this user, as JSON; only for its owner.
    /// (Each subgraph adds its own `…Export` field; query them together.)
    async fn account_export(&self, ctx: &Context<'_>) -> Result<Json<serde_json::Value>> {
        let me = ctx.viewer()?;
        me.must_be(self.0.id)?;
        Ok(Json(accounts::export(&auth(ctx)?.db, me.user_id).await?))
    }
}

/// Tokens for a signed-in client.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for the `Authorization: Bearer` header.
    access_token: String,
    /// Opaque token that obtains new access tokens; keep it secret.
    refresh_token: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    user: User,
}

impl From<sessions::Tokens> for AuthPayload {
    fn from(t: sessions::Tokens) -> Self {
        AuthPayload {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: t.expires_in,
            user: User(t.user),
        }
    }
}

/// A new account.
#[derive(InputObject)]
pub struct RegisterInput {
    email: String,
    username: String,
    password: String,
}

/// Signing in.
#[derive(InputObject)]
pub struct LoginInput {
    /// Email address or username.
    login: String,
    password: String,
    /// A stable id of this app installation; keeps idempotency keys valid across
    /// token rotation. Made up by the server when absent.
    device_id: Option<String>,
    /// Shown in the session list ("Pixel 8", "Firefox on Linux").
    device_name: Option<String>,
}

fn client_ip(ctx: &Context<'_>) -> String {
    ctx.data_opt::<ClientIp>()
        .map_or_else(|| "unknown".to_string(), |ip| ip.0.clone())
}

/// Where to send the person to sign in at a provider.
#[derive(SimpleObject)]
pub struct OAuthStart {
    /// Open this URL (browser, or the system browser from an app).
    authorization_url: String,
    /// Comes back with the code on the redirect URI; pass both to `completeOAuth`.
    state: String,
}

/// A nonce for a native app's own sign-in request to a provider.
#[derive(SimpleObject)]
pub struct SignInNonce {
    /// Put it in the provider request (`nonce`), then pass it to `signInWithIdToken`.
    nonce: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// A signed-in device.
pub struct Session {
    model: session::Model,
    current: bool,
}

#[Object]
impl Session {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn device_id(&self) -> &str {
        &self.model.device_id
    }

    async fn device_name(&self) -> &str {
        &self.model.device_name
    }

    /// The client address at sign-in or the last token refresh.
    async fn ip(&self) -> &str {
        &self.model.ip
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn last_used_at(&self) -> DateTime<Utc> {
        self.model.last_used_at
    }

    /// Whether this is the session making the request.
    async fn current(&self) -> bool {
        self.current
    }
}

/// Reads.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let me = ctx.viewer()?;
        load_user(ctx, me.user_id)
            .await?
            .ok_or_else(|| Error::Unauthenticated("this account no longer exists".into()).into())
    }

    /// An account by id.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        load_user(ctx, parse_id(&id, "id")?).await
    }

    /// The OpenID Connect providers one can sign in with.
    async fn oauth_providers(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(auth(ctx)?.oauth.names())
    }

    /// The viewer's live sessions (signed-in devices), most recently used first.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let me = ctx.viewer()?;
        let found = sessions::list(&auth(ctx)?.db, me.user_id).await?;
        Ok(found
            .into_iter()
            .map(|model| Session {
                current: model.id == me.session_id,
                model,
            })
            .collect())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        match Uuid::parse_str(&id) {
            Ok(id) => load_user(ctx, id).await,
            Err(_) => Ok(None),
        }
    }
}

/// Writes.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates an account and emails a 6-digit verification code.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<User> {
        let ip = client_ip(ctx);
        let saved = accounts::register(
            auth(ctx)?,
            &input.email,
            &input.username,
            &input.password,
            &ip,
        )
        .await?;
        Ok(User(saved))
    }

    /// Emails a new verification code (at most once a minute). Answers `true` whether
    /// or not the address has an account waiting for verification.
    async fn resend_verification_code(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        accounts::resend_verification(auth(ctx)?, &email).await?;
        Ok(true)
    }

    /// Confirms the email address with the emailed code.
    async fn verify_email(&self, ctx: &Context<'_>, email: String, code: String) -> Result<User> {
        Ok(User(
            accounts::verify_email(auth(ctx)?, &email, &code).await?,
        ))
    }

    /// Signs in and opens a session for this device.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let ip = client_ip(ctx);
        let client = Client {
            ip: &ip,
            device_id: input.device_id.as_deref(),
            device_name: input.device_name.as_deref(),
        };
        let tokens = sessions::login(auth(ctx)?, &input.login, &input.password, client).await?;
        Ok(tokens.into())
    }

    /// Starts signing in with a provider (web callback or app redirect scheme).
    #[graphql(name = "startOAuth")]
    async fn start_oauth(
        &self,
        ctx: &Context<'_>,
        provider: String,
        redirect_uri: String,
    ) -> Result<OAuthStart> {
        let (authorization_url, state) =
            oauth::start(auth(ctx)?, &provider, &redirect_uri, None).await?;
        Ok(OAuthStart {
            authorization_url,
            state,
        })
    }

    /// Completes a provider sign-in with the `code` and `state` the redirect carried.
    /// The first sign-in creates a verified account.
    #[graphql(name = "completeOAuth")]
    async fn complete_oauth(
        &self,
        ctx: &Context<'_>,
        state: String,
        code: String,
        device_id: Option<String>,
        device_name: Option<String>,
    ) -> Result<AuthPayload> {
        let ip = client_ip(ctx);
        let device = Client {
            ip: &ip,
            device_id: device_id.as_deref(),
            device_name: device_name.as_deref(),
        };
        match oauth::complete(auth(ctx)?, &state, &code, None, device).await? {
            oauth::Completed::SignedIn(tokens) => Ok(tokens.into()),
            oauth::Completed::Linked(_) => Err(Error::bad_input("this was a linking").into()),
        }
    }

    /// Native apps: a nonce to put in the app's own request to the provider, then
    /// to pass to `signInWithIdToken` with the ID token it returns. Works once, for
    /// ten minutes.
    async fn request_sign_in_nonce(&self, ctx: &Context<'_>) -> Result<SignInNonce> {
        let (nonce, expires_at) = oauth::issue_nonce(auth(ctx)?).await?;
        Ok(SignInNonce { nonce, expires_at })
    }

    /// Native apps: signs in with an ID token the app got from the provider, and the
    /// nonce from `requestSignInNonce` the app put in that request (once only).
    async fn sign_in_with_id_token(
        &self,
        ctx: &Context<'_>,
        provider: String,
        id_token: String,
        nonce: String,
        device_id: Option<String>,
        device_name: Option<String>,
    ) -> Result<AuthPayload> {
        let ip = client_ip(ctx);
        let device = Client {
            ip: &ip,
            device_id: device_id.as_deref(),
            device_name: device_name.as_deref(),
        };
        let tokens =
            oauth::sign_in_with_id_token(auth(ctx)?, &provider, &id_token, &nonce, device).await?;
        Ok(tokens.into())
    }

    /// Starts linking a provider to the viewer's account.
    #[graphql(name = "startOAuthLink")]
    async fn start_oauth_link(
        &self,
        ctx: &Context<'_>,
        provider: String,
        redirect_uri: String,
    ) -> Result<OAuthStart> {
        let me = ctx.viewer()?;
        let (authorization_url, state) =
            oauth::start(auth(ctx)?, &provider, &redirect_uri, Some(me.user_id)).await?;
        Ok(OAuthStart {
            authorization_url,
            state,
        })
    }

    /// Completes linking a provider to the viewer's account.
    #[graphql(name = "completeOAuthLink")]
    async fn complete_oauth_link(
        &self,
        ctx: &Context<'_>,
        state: String,
        code: String,
    ) -> Result<User> {
        let me = ctx.viewer()?;
        let ip = client_ip(ctx);
        let device = Client {
            ip: &ip,
            device_id: None,
            device_name: None,
        };
        match oauth::complete(auth(ctx)?, &state, &code, Some(me.user_id), device).await? {
            oauth::Completed::Linked(account) => Ok(User(account)),
            oauth::Completed::SignedIn(_) => Err(Error::bad_input("this was a sign-in").into()),
        }
    }

    /// Unlinks a provider from the viewer's account.
    #[graphql(name = "unlinkOAuth")]
    async fn unlink_oauth(&self, ctx: &Context<'_>, provider: String) -> Result<bool> {
        let me = ctx.viewer()?;
        oauth::unlink(auth(ctx)?, me.user_id, &provider).await?;
        Ok(true)
    }

    /// Trades a refresh token for new tokens. The refresh token works once; using a
    /// spent one again ends its session.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        let ip = client_ip(ctx);
        let tokens = sessions::refresh(auth(ctx)?, &refresh_token, &ip).await?;
        Ok(tokens.into())
    }

    /// Ends this device's session.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let me = ctx.viewer()?;
        sessions::revoke(auth(ctx)?, me.session_id, "logout").await?;
        Ok(true)
    }

    /// Ends one of the viewer's sessions.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let me = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        sessions::revoke_own(auth(ctx)?, me.user_id, id).await?;
        Ok(true)
    }

    /// Ends every session of the viewer but this one; returns how many ended.
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> Result<u64> {
        let me = ctx.viewer()?;
        Ok(sessions::revoke_all(
            auth(ctx)?,
            me.user_id,
            Some(me.session_id),
            "revoked_by_user",
        )
        .await?)
    }

    /// Emails a password-reset code if the address has an account. Answers `true`
    /// either way.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        let ip = client_ip(ctx);
        accounts::request_password_reset(auth(ctx)?, &email, &ip).await?;
        Ok(true)
    }

    /// Sets a new password with the emailed reset code; every session ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
        new_password: String,
    ) -> Result<bool> {
        accounts::reset_password(auth(ctx)?, &email, &code, &new_password).await?;
        Ok(true)
    }

    /// Changes the password; every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<bool> {
        let me = ctx.viewer()?;
        accounts::change_password(
            auth(ctx)?,
            me.user_id,
            me.session_id,
            &current_password,
            &new_password,
        )
        .await?;
        Ok(true)
    }

    /// Starts changing the email address: a code goes to the new address.
    async fn request_email_change(
        &self,
        ctx: &Context<'_>,
        new_email: String,
        password: String,
    ) -> Result<bool> {
        let me = ctx.viewer()?;
        accounts::request_email_change(auth(ctx)?, me.user_id, &new_email, &password).await?;
        Ok(true)
    }

    /// Completes the email change with the code sent to the new address.
    async fn confirm_email_change(&self, ctx: &Context<'_>, code: String) -> Result<User> {
        let me = ctx.viewer()?;
        Ok(User(
            accounts::confirm_email_change(auth(ctx)?, me.user_id, &code).await?,
        ))
    }

    /// Deletes the viewer's account for good; the other subgraphs erase their data.
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> Result<bool> {
        let me = ctx.viewer()?;
        accounts::delete_account(auth(ctx)?, me.user_id, &password).await?;
        Ok(true)
    }
}
