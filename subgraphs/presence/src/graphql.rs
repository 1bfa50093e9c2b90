//! The presence subgraph's GraphQL edge.

use std::sync::Arc;

use async_graphql::{
    Context, EmptyMutation, Enum, ID, Object, Result, Schema, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use echostream_shared::Error;
use echostream_shared::contracts::presence::{PresenceFrame, channel};
use echostream_shared::presence;
use echostream_shared::projections::friendships;
use echostream_shared::resolver::{RequestExt, parse_id};
use futures::Stream;
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

fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Presence>, Error> {
    ctx.state()
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
        let Some(me) = ctx.viewer_opt() else {
            return Ok(None);
        };
        if !may_see(app(ctx)?, me.user_id, self.id).await? {
            return Ok(None);
        }
        let now = presence::status(app(ctx)?.ports.pubsub.as_ref(), self.id).await?;
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
        let viewer = ctx.viewer()?;
        let me = viewer.user_id;
        let watched = parse_id(&user_id, "userId")?;
        if !may_see(app(ctx)?, me, watched).await? {
            return Err(Error::forbidden("only friends may watch each other's presence").into());
        }
        let keep = move |frame: PresenceFrame| {
            Some(PresenceChange {
                user: User { id: watched },
                status: if frame.online {
                    PresenceStatus::Online
                } else {
                    PresenceStatus::Offline
                },
                at: frame.at,
            })
        };
        Ok(app(ctx)?.ports.live(viewer, channel(watched), keep).await?)
    }
}
