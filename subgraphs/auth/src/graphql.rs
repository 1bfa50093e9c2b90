//! The auth subgraph's GraphQL edge: resolvers translate, `accounts` decides.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, ID, InputObject, Object, Result, ResultExt,
    Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use echostream_shared::Error;
use echostream_shared::token::viewer;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::Auth;
use crate::accounts;
use crate::entities::user;

/// The auth subgraph's schema type.
pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema with its context and loaders.
pub fn schema(auth: Option<Arc<Auth>>) -> AuthSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription).enable_federation();
    if let Some(auth) = auth {
        let loader = DataLoader::new(UserLoader(auth.db.clone()), tokio::spawn);
        builder = builder.data(auth).data(loader);
    }
    builder.finish()
}

fn auth<'a>(ctx: &'a Context<'_>) -> &'a Arc<Auth> {
    ctx.data_unchecked::<Arc<Auth>>()
}

/// Parses a GraphQL `ID` holding a UUID.
pub fn parse_id(id: &ID, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id).map_err(|_| Error::bad_input(format!("{what} is not a valid id")))
}

/// Loads accounts by id in one query per batch.
pub struct UserLoader(DatabaseConnection);

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = accounts::by_ids(&self.0, keys).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|u| (u.id, u)).collect())
    }
}

async fn load_user(ctx: &Context<'_>, id: Uuid) -> Result<Option<User>> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let found = loader
        .load_one(id)
        .await
        .map_err(|e| Error::internal(e.to_string()))
        .extend()?;
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
        let me = ctx.data_opt::<echostream_shared::token::Viewer>();
        me.filter(|v| v.user_id == self.0.id)
            .map(|_| self.0.email.as_str())
    }

    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
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

impl From<accounts::Tokens> for AuthPayload {
    fn from(t: accounts::Tokens) -> Self {
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

/// Reads.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let me = viewer(ctx).extend()?;
        load_user(ctx, me.user_id)
            .await
            .extend()?
            .ok_or_else(|| Error::Unauthenticated("this account no longer exists".into()).extend())
    }

    /// An account by id.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        load_user(ctx, parse_id(&id, "id").extend()?).await
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
        let saved = accounts::register(auth(ctx), &input.email, &input.username, &input.password)
            .await
            .extend()?;
        Ok(User(saved))
    }

    /// Confirms the email address with the emailed code.
    async fn verify_email(&self, ctx: &Context<'_>, email: String, code: String) -> Result<User> {
        Ok(User(
            accounts::verify_email(auth(ctx), &email, &code)
                .await
                .extend()?,
        ))
    }

    /// Signs in and opens a session for this device.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let tokens = accounts::login(
            auth(ctx),
            &input.login,
            &input.password,
            input.device_id.as_deref(),
            input.device_name.as_deref(),
        )
        .await
        .extend()?;
        Ok(tokens.into())
    }

    /// Ends this device's session.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let me = viewer(ctx).extend()?;
        accounts::logout(auth(ctx), me.session_id).await.extend()?;
        Ok(true)
    }
}
