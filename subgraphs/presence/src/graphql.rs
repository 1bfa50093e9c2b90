//! The presence subgraph's GraphQL edge.

use std::sync::Arc;

use async_graphql::{
    Context, EmptyMutation, Enum, ID, Object, Result, ResultExt, Schema, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use echostream_shared::Error;
use echostream_shared::presence::{self, channel};
use echostream_shared::projections::friendships;
use echostream_shared::token::viewer;
use futures::{Stream, StreamExt};
use uuid::Uuid;

use crate::Presence;

/// The presence subgraph's schema type.
pub type PresenceSchema = Schema<Query, EmptyMutation, Subscription>;

/// Builds the schema with its context.
pub fn schema(app: Option<Arc<Presence>>) -> PresenceSchema {
    let mut builder = Schema::build(Query, EmptyMutation, Subscription)
        .enable_federation()
        .enable_subscription_in_federation();
    if let Some(app) = app {
        builder = builder.extension(app.ports.request_checks()).data(app);
    }
    builder.finish()
}

fn app<'a>(ctx: &'a Context<'_>) -> &'a Arc<Presence> {
    ctx.data_unchecked::<Arc<Presence>>()
}

/// Online or offline.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PresenceStatus {
    Online,
    Offline,
}

/// A user's presence as the viewer may see it.
#[derive(SimpleObject)]
pub struct UserPresence {
    status: PresenceStatus,
    /// When the user was last online (now, while online); null if never.
    last_seen_at: Option<DateTime<Utc>>,
}

/// A user, as far as presence goes.
pub struct User {
    id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Online while the user has a live subscription on any device. Only the user and
    /// their friends see it; for anyone else (and when signed out) it is null.
    async fn presence(&self, ctx: &Context<'_>) -> Result<Option<UserPresence>> {
        let Ok(me) = viewer(ctx) else {
            return Ok(None);
        };
        if !may_see(app(ctx), me.user_id, self.id).await.extend()? {
            return Ok(None);
        }
        let now = presence::status(app(ctx).ports.pubsub.as_ref(), self.id)
            .await
            .map_err(Error::from)
            .extend()?;
        Ok(Some(UserPresence {
            status: if now.online {
                PresenceStatus::Online
            } else {
                PresenceStatus::Offline
            },
            last_seen_at: now.last_seen,
        }))
    }
}

/// Whether `viewer` may see `user`'s presence: their own, and their friends'.
async fn may_see(app: &Presence, viewer: Uuid, user: Uuid) -> Result<bool, Error> {
    Ok(viewer == user || friendships::are_friends(&app.db, viewer, user).await?)
}

/// A change of a user's presence.
#[derive(SimpleObject)]
pub struct PresenceChange {
    user: User,
    status: PresenceStatus,
    at: DateTime<Utc>,
}

/// Reads.
pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(&id).ok().map(|id| User { id })
    }
}

/// Live updates.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Online/offline changes of one user: oneself or a friend (else `FORBIDDEN`).
    async fn presence_changed(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> Result<impl Stream<Item = PresenceChange> + use<>> {
        let viewer = viewer(ctx).extend()?;
        let me = viewer.user_id;
        let watched = Uuid::parse_str(&user_id)
            .map_err(|_| Error::bad_input("userId is not a valid id"))
            .extend()?;
        if !may_see(app(ctx), me, watched).await.extend()? {
            return Err(Error::forbidden(
                "only friends may watch each other's presence",
            ))
            .extend();
        }
        let slot = app(ctx).ports.subscription_slot(viewer).extend()?;
        let pubsub = Arc::clone(&app(ctx).ports.pubsub);
        let frames = pubsub
            .subscribe(&channel(watched))
            .await
            .map_err(Error::from)
            .extend()?;
        let changes = frames.filter_map(move |frame| {
            let change = serde_json::from_str::<serde_json::Value>(&frame)
                .ok()
                .and_then(|v| {
                    Some(PresenceChange {
                        user: User { id: watched },
                        status: if v["online"].as_bool()? {
                            PresenceStatus::Online
                        } else {
                            PresenceStatus::Offline
                        },
                        at: serde_json::from_value(v["at"].clone()).ok()?,
                    })
                });
            futures::future::ready(change)
        });
        Ok(app(ctx).ports.live(slot, changes))
    }
}
