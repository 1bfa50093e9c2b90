//! The presence subgraph's GraphQL edge.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, Object, Result, Schema, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use echostream_contracts::presence::{PresenceFrame, PresenceState, channel};
use echostream_presence_tracking::{Status, Tracker};
use echostream_service::Error;
use echostream_service::resolver::{RequestExt, parse_id};
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::Presence;
use crate::visibility::{friends_of, visible, visible_friends};

/// The presence subgraph's schema type.
pub type PresenceSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with its context and loader.
pub fn schema(app: Option<Arc<Presence>>) -> PresenceSchema {
    let mut builder = Schema::build(Query, Mutation, Subscription)
        .enable_federation()
        .enable_subscription_in_federation();
    if let Some(app) = app {
        let loader = PresenceLoader {
            db: app.db.clone(),
            tracker: Arc::clone(&app.ports.presence),
        };
        builder = builder
            .extension(echostream_service::metrics::Observe::new(
                echostream_config::Subgraph::Presence,
            ))
            .extension(app.ports.request_checks())
            .data(DataLoader::new(loader, tokio::spawn))
            .data(app);
    }
    builder.finish()
}

fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Presence>, Error> {
    ctx.state()
}

/// Online (active on some device), away (every present device idle or said so), or
/// offline.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

impl From<PresenceState> for PresenceStatus {
    fn from(state: PresenceState) -> Self {
        match state {
            PresenceState::Online => PresenceStatus::Online,
            PresenceState::Away => PresenceStatus::Away,
            PresenceState::Offline => PresenceStatus::Offline,
        }
    }
}

/// What a device may say of itself.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DeviceStatus {
    /// In use.
    Online,
    /// Open but not in use (e.g. the app went to the background).
    Away,
}

/// A user's presence as the viewer may see it.
#[derive(SimpleObject, Clone)]
pub struct UserPresence {
    status: PresenceStatus,
    /// When the user was last present (now, unless offline); null if never.
    last_seen_at: Option<DateTime<Utc>>,
}

impl From<&Status> for UserPresence {
    fn from(status: &Status) -> Self {
        UserPresence {
            status: status.state.into(),
            last_seen_at: status.last_seen,
        }
    }
}

/// Loads presence for (viewer, user) pairs: per viewer, three database queries for
/// the rules and one pub/sub round trip for the states, however many users.
pub struct PresenceLoader {
    db: DatabaseConnection,
    tracker: Arc<Tracker>,
}

impl Loader<(Uuid, Uuid)> for PresenceLoader {
    type Value = UserPresence;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let by_viewer = echostream_service::resolver::by_viewer(keys);
        let mut found = HashMap::new();
        for (viewer, users) in by_viewer {
            let shown: Vec<Uuid> = visible(&self.db, viewer, &users)
                .await
                .map_err(Arc::new)?
                .into_iter()
                .collect();
            let statuses = self
                .tracker
                .statuses(&shown)
                .await
                .map_err(|e| Arc::new(e.into()))?;
            for (user, status) in shown.iter().zip(&statuses) {
                found.insert((viewer, *user), status.into());
            }
        }
        Ok(found)
    }
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

    /// The user's presence, if the viewer may see it: their own always; anyone
    /// else's only when neither blocked the other and both privacy settings admit
    /// the other (see `privacySettings.presence`). Null otherwise, and when signed
    /// out.
    async fn presence(&self, ctx: &Context<'_>) -> Result<Option<UserPresence>> {
        let Some(me) = ctx.viewer_opt() else {
            return Ok(None);
        };
        let loader = ctx.loader_of::<PresenceLoader, (Uuid, Uuid)>()?;
        Ok(loader.load_one((me.user_id, self.id)).await?)
    }
}

/// A user's presence, with the user.
#[derive(SimpleObject)]
pub struct PresenceChange {
    user: User,
    status: PresenceStatus,
    /// When the user was last present (now, unless offline); null if never.
    last_seen_at: Option<DateTime<Utc>>,
    /// When it changed (or was read).
    at: DateTime<Utc>,
}

impl PresenceChange {
    fn of(user: Uuid, status: &Status) -> PresenceChange {
        PresenceChange {
            user: User { id: user },
            status: status.state.into(),
            last_seen_at: status.last_seen,
            at: Utc::now(),
        }
    }

    fn from_frame(frame: PresenceFrame) -> PresenceChange {
        PresenceChange {
            user: User { id: frame.user_id },
            status: frame.state.into(),
            last_seen_at: frame.last_seen,
            at: frame.at,
        }
    }
}

/// Reads.
pub struct Query;

#[Object]
impl Query {
    /// The presence of every friend whose presence the viewer may see, in one
    /// round of reads (three database queries and one pub/sub round trip, however
    /// many friends).
    async fn friends_presence(&self, ctx: &Context<'_>) -> Result<Vec<PresenceChange>> {
        let me = ctx.viewer()?.user_id;
        let app = app(ctx)?;
        let friends = friends_of(&app.db, me).await?;
        let shown: Vec<Uuid> = visible_friends(&app.db, me, &friends)
            .await?
            .into_iter()
            .collect();
        let statuses = app.ports.presence.statuses(&shown).await?;
        Ok(shown
            .iter()
            .zip(&statuses)
            .map(|(user, status)| PresenceChange::of(*user, status))
            .collect())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(&id).ok().map(|id| User { id })
    }
}

/// Writes.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Says whether this device is in use (ONLINE) or not (AWAY); the user shows
    /// as the most present of their devices. Returns the viewer's presence.
    async fn set_presence(&self, ctx: &Context<'_>, status: DeviceStatus) -> Result<UserPresence> {
        let viewer = ctx.viewer()?;
        let away = status == DeviceStatus::Away;
        let now = app(ctx)?
            .ports
            .presence
            .declare(&viewer.device(), away)
            .await?;
        Ok((&now).into())
    }
}

/// Live updates.
pub struct Subscription;

/// Keeps the frames of `stream` whose user `viewer` may see now (privacy and blocks
/// are read again for each change, so a change of either takes effect at once).
fn seen_by(
    db: DatabaseConnection,
    viewer: Uuid,
    stream: impl Stream<Item = Result<PresenceFrame, async_graphql::Error>> + Send + 'static,
) -> impl Stream<Item = Result<PresenceChange, async_graphql::Error>> + Send + 'static {
    // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
    stream.filter_map(move |frame| {
        let db = db.clone();
        Box::pin(async move {
            // The end of the subscription (its session ended) goes through as is.
            let frame = match frame {
                Ok(frame) => frame,
                Err(ended) => return Some(Err(ended)),
            };
            match visible(&db, viewer, &[frame.user_id]).await {
                Ok(shown) if shown.contains(&frame.user_id) => {
                    Some(Ok(PresenceChange::from_frame(frame)))
                }
                Ok(_) => None,
                Err(err) => {
                    tracing::warn!(%err, "presence change withheld: rules unreadable");
                    None
                }
            }
        })
    })
}

#[Subscription]
impl Subscription {
    /// Presence changes of one user whose presence the viewer may see (else
    /// `FORBIDDEN`); changes stop showing while privacy or a block hides them.
    async fn presence_changed(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> Result<impl Stream<Item = Result<PresenceChange, async_graphql::Error>> + use<>> {
        let viewer = ctx.viewer()?;
        let me = viewer.user_id;
        let watched = parse_id(&user_id, "userId")?;
        let app = app(ctx)?;
        // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
        if !Box::pin(visible(&app.db, me, &[watched]))
            .await?
            .contains(&watched)
        {
            return Err(Error::forbidden("you may not see this user's presence").into());
        }
        let frames = Box::pin(app.ports.live(viewer, vec![channel(watched)], Some)).await?;
        Ok(seen_by(app.db.clone(), me, frames))
    }

    /// Presence changes of all the viewer's friends (as of subscribing) that the
    /// viewer may see, on one stream.
    async fn friends_presence_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<PresenceChange, async_graphql::Error>> + use<>> {
        let viewer = ctx.viewer()?;
        let me = viewer.user_id;
        let app = app(ctx)?;
        // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
        let friends = Box::pin(friends_of(&app.db, me)).await?;
        let channels = friends.into_iter().map(channel).collect();
        let frames = Box::pin(app.ports.live(viewer, channels, Some)).await?;
        Ok(seen_by(app.db.clone(), me, frames))
    }
}
