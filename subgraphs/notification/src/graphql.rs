//! The notification subgraph's GraphQL edge.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use async_graphql::{Context, Enum, ID, Json, Object, Result, Schema, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use echostream_contracts::notification::{NotificationFrame, channel};
use echostream_service::Error;
use echostream_service::resolver::RequestExt;
use futures::Stream;

use crate::entities::notification;
use crate::{Notifications, feed};

/// The notification subgraph's schema type.
pub type NotificationSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with its context.
pub fn schema(app: Option<Arc<Notifications>>) -> NotificationSchema {
    let mut builder = Schema::build(Query, Mutation, Subscription)
        .enable_federation()
        .enable_subscription_in_federation();
    if let Some(app) = app {
        let loader = DataLoader::new(NotificationLoader(app.db.clone()), tokio::spawn);
        builder = builder
            .extension(echostream_service::metrics::Observe::new(
                echostream_config::Subgraph::Notification,
            ))
            .extension(app.ports.request_checks())
            .data(loader)
            .data(app);
    }
    builder.finish()
}

/// Notifications by id, batched.
pub struct NotificationLoader(DatabaseConnection);

impl Loader<Uuid> for NotificationLoader {
    type Value = notification::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = feed::by_ids(&self.0, keys).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|n| (n.id, n)).collect())
    }
}

fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Notifications>, Error> {
    ctx.state()
}

/// What a notification is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "echostream_contracts::notification::NotificationKind")]
pub enum NotificationKind {
    Message,
    FriendRequest,
    /// Someone accepted the viewer's friend request.
    FriendRequestAccepted,
}

/// One entry of the viewer's feed.
#[derive(SimpleObject)]
pub struct Notification {
    id: ID,
    kind: NotificationKind,
    /// Details by kind (conversation and message ids, a preview, who asked).
    payload: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
    read: bool,
}

impl From<notification::Model> for Notification {
    fn from(n: notification::Model) -> Self {
        Notification {
            id: ID(n.id.to_string()),
            kind: n.kind.into(),
            payload: Json(n.payload),
            created_at: n.created_at,
            read: n.read_at.is_some(),
        }
    }
}

/// A user, as far as notifications go.
pub struct User {
    id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Every notification this user has, as JSON; only for its owner.
    async fn notification_export(&self, ctx: &Context<'_>) -> Result<Json<serde_json::Value>> {
        let viewer = ctx.viewer()?;
        viewer.must_be(self.id)?;
        let me = viewer.user_id;
        let all = feed::latest(&app(ctx)?.db, me, 100_000).await?;
        Ok(Json(serde_json::json!(
            all.into_iter()
                .map(|n| serde_json::json!({
                    "id": n.id, "kind": n.kind, "payload": n.payload,
                    "createdAt": n.created_at, "readAt": n.read_at,
                }))
                .collect::<Vec<_>>()
        )))
    }
}

/// Reads.
pub struct Query;

#[Object]
impl Query {
    /// The viewer's newest notifications.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<Notification>> {
        let me = ctx.viewer()?.user_id;
        if !(1..=100).contains(&first) {
            return Err(Error::bad_input("first must be between 1 and 100").into());
        }
        let found = feed::latest(&app(ctx)?.db, me, first as u64).await?;
        Ok(found.into_iter().map(Notification::from).collect())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(&id).ok().map(|id| User { id })
    }

    /// Resolves a `Notification` reference for the gateway; only its owner sees it.
    #[graphql(entity)]
    async fn find_notification_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<Notification>> {
        let me = ctx.viewer()?.user_id;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let loader = ctx.loader::<NotificationLoader>()?;
        let found = loader.load_one(id).await?;
        Ok(found.filter(|n| n.user_id == me).map(Notification::from))
    }

    /// How many of the viewer's notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let me = ctx.viewer()?.user_id;
        Ok(feed::unread_count(&app(ctx)?.db, me).await?)
    }
}

/// Writes.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Marks every notification read; returns how many changed.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> Result<u64> {
        let me = ctx.viewer()?.user_id;
        Ok(feed::mark_all_read(&app(ctx)?.db, me).await?)
    }
}

/// Live updates.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// The viewer's new notifications, as they are made.
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<Notification, async_graphql::Error>> + use<>> {
        let viewer = ctx.viewer()?;
        let me = viewer.user_id;
        let keep = |frame: NotificationFrame| {
            Some(Notification {
                id: ID(frame.id.to_string()),
                kind: frame.kind.into(),
                payload: Json(frame.payload),
                created_at: frame.created_at,
                read: false,
            })
        };
        Ok(app(ctx)?
            .ports
            .live(viewer, vec![channel(me)], keep)
            .await?)
    }
}
