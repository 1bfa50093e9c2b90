//! Web Push as clients see it: the key to subscribe with, registering a device's
//! subscription (it ends with the session), listing and removing them (see `push/`).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_ports::push::Subscription;
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use crate::entities::push_subscription;
use crate::push;

/// A device's push subscription, as the browser's `PushSubscription.toJSON()`
/// gives it.
#[derive(InputObject)]
pub struct PushSubscriptionInput {
    /// The push service's URL for the device (`https`).
    pub endpoint: String,
    /// `keys.p256dh`: the device's P-256 public key, base64url.
    #[graphql(name = "p256dh")]
    pub p256dh: String,
    /// `keys.auth`: the device's 16-byte auth secret, base64url.
    pub auth: String,
}

/// A device registered for Web Push.
#[derive(SimpleObject)]
pub struct PushSubscription {
    pub id: ID,
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
}

impl From<push_subscription::Model> for PushSubscription {
    fn from(s: push_subscription::Model) -> Self {
        PushSubscription {
            id: ID(s.id.to_string()),
            endpoint: s.endpoint,
            created_at: s.created_at,
        }
    }
}

/// Reads of push registrations.
#[derive(Default)]
pub struct PushQuery;

#[Object]
impl PushQuery {
    /// The key to subscribe with (`applicationServerKey` of
    /// `pushManager.subscribe`): this server's VAPID public key, base64url.
    async fn push_public_key(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(app(ctx)?.push_key.public_key())
    }

    /// The viewer's devices registered for push, the newest first.
    async fn push_subscriptions(&self, ctx: &Context<'_>) -> Result<Vec<PushSubscription>> {
        let me = ctx.viewer()?.user_id;
        let found = push::of_user(&app(ctx)?.db, me).await?;
        Ok(found.into_iter().map(PushSubscription::from).collect())
    }
}

/// Registering devices for push.
#[derive(Default)]
pub struct PushMutation;

#[Object]
impl PushMutation {
    /// Registers this device's push subscription: notifications the viewer wants by
    /// push reach it while no device of theirs is open, until they remove it, the
    /// session ends, or the push service says it is gone. A device registering its
    /// endpoint again takes it over. At most 20 per user (a newer one replaces the
    /// oldest).
    async fn register_push_subscription(
        &self,
        ctx: &Context<'_>,
        input: PushSubscriptionInput,
    ) -> Result<PushSubscription> {
        let viewer = ctx.viewer()?;
        let app = app(ctx)?;
        let sub = Subscription {
            endpoint: input.endpoint,
            p256dh: input.p256dh,
            auth: input.auth,
        };
        let saved = push::register(
            &app.db,
            viewer.user_id,
            viewer.session_id,
            sub,
            app.ports.config.push.allow_loopback_endpoints,
            app.ports.clock.now(),
        )
        .await?;
        Ok(saved.into())
    }

    /// Removes one of the viewer's push subscriptions; whether there was one.
    async fn remove_push_subscription(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        Ok(push::remove(&app(ctx)?.db, me, id).await?)
    }
}
