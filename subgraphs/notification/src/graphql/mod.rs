//! The notification subgraph's GraphQL edge: the feed as a connection, its items
//! written when read, marks and dismissals, the unread count, the live feed; the
//! preferences in `preferences.rs`, push registrations in `push.rs`.

mod badge;
mod preferences;
mod push;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, Enum, ID, Interface, Json, MergedObject, MergedSubscription, Object, Result, Schema,
    SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use echostream_service::Error;
use echostream_service::pages::{FromEdges, Page, cursor};
use echostream_service::resolver::{RequestExt, parse_id};
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::Notifications;
use crate::entities::notification;
use crate::feed::live::Change;
use crate::feed::{self, Filter, Which, render};
use echostream_projections::people::PeopleLoader;
use echostream_service::stream::Position;

/// The notification subgraph's schema type.
pub type NotificationSchema = Schema<Query, Mutation, Subscription>;

/// The most ids one mark or dismissal names.
const MAX_IDS: usize = 100;

/// Builds the schema with its context.
pub fn schema(app: Option<Arc<Notifications>>) -> NotificationSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .enable_federation()
    .enable_subscription_in_federation();
    if let Some(app) = app {
        let items = DataLoader::new(NotificationLoader(app.db.clone()), tokio::spawn);
        let names = DataLoader::new(PeopleLoader(app.db.clone()), tokio::spawn);
        builder = builder
            .extension(echostream_service::metrics::Observe::new(
                echostream_config::Subgraph::Notification,
            ))
            .extension(app.ports.request_checks())
            .data(items)
            .data(names)
            .data(app);
    }
    builder.finish()
}

/// Items by id, batched.
pub struct NotificationLoader(DatabaseConnection);

impl Loader<Uuid> for NotificationLoader {
    type Value = notification::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = feed::by_ids(&self.0, keys).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|n| (n.id, n)).collect())
    }
}

pub(crate) fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Notifications>, Error> {
    ctx.state()
}

/// What a notification is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "echostream_contracts::notification::NotificationKind")]
pub enum NotificationKind {
    /// New messages in a conversation: one item per conversation until read.
    Message,
    /// A message mentions the viewer.
    Mention,
    /// Replies to the viewer's message, or in their thread: one item per message.
    Reply,
    /// Reactions to the viewer's message: one item per message.
    Reaction,
    /// Someone asked the viewer to be friends.
    FriendRequest,
    /// Someone accepted the viewer's friend request.
    FriendRequestAccepted,
    /// Someone added the viewer to a group.
    AddedToGroup,
    /// Someone removed the viewer from a group.
    RemovedFromGroup,
    /// The viewer's role in a group changed.
    RoleChanged,
}

/// One item of the viewer's feed. While unread, later events of the same kind and
/// target collapse into it ("3 new messages"): `count` grows, `actors` gains whoever
/// is new, `updatedAt` moves it to the top. It resolves with its cause: reading the
/// conversation reads it, an edit updates its text, a deletion counts its message
/// out, an answered friend request says so.
pub struct Notification(notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> NotificationKind {
        self.0.kind.into()
    }

    /// Who caused it: "ann", "ann and bob", "ann, bob and 3 others".
    async fn title(&self, ctx: &Context<'_>) -> Result<String> {
        let actors = self.0.actors();
        let shown: Vec<Uuid> = actors.iter().copied().take(2).collect();
        let names = ctx
            .data::<DataLoader<PeopleLoader>>()?
            .load_many(shown.iter().copied())
            .await?;
        let names: Vec<&str> = shown
            .iter()
            .filter_map(|id| names.get(id).map(|p| p.name()))
            .collect();
        Ok(render::title(&names, actors.len()))
    }

    /// What happened: a message's preview, "3 new messages", "reacted (an emoji) to your
    /// message", "wants to be your friend".
    async fn text(&self) -> String {
        render::text(&self.0)
    }

    /// Who caused it, in order of first appearance (at most ten).
    async fn actors(&self) -> Vec<User> {
        self.0.actors().into_iter().map(|id| User { id }).collect()
    }

    /// How many events it collapses (messages, replies, reactions); 1 for the rest.
    async fn count(&self) -> i32 {
        self.0.count
    }

    /// The conversation to open, where it is about one.
    async fn conversation_id(&self) -> Option<ID> {
        self.0.conversation_id.map(|id| ID(id.to_string()))
    }

    /// The message to open (the newest it counts), where it is about messages.
    async fn message_id(&self) -> Option<ID> {
        self.0.message_id.map(|id| ID(id.to_string()))
    }

    /// The person to open (who asked to be friends, who accepted).
    async fn user(&self) -> Option<User> {
        self.0.subject_id.map(|id| User { id })
    }

    /// Details by kind: `preview`, `seq` and `senderId` of the newest message,
    /// `threadRootId`, `emoji`, `role`, a friend request's `requestId` and `answer`.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was made or last collapsed into: the feed's order.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }

    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
}

echostream_service::connection!(NotificationConnection, NotificationEdge, Notification);

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
                    "id": n.id, "kind": n.kind, "payload": n.payload, "count": n.count,
                    "actorIds": n.actor_ids, "conversationId": n.conversation_id,
                    "messageId": n.message_id, "userId": n.subject_id,
                    "createdAt": n.created_at, "updatedAt": n.updated_at,
                    "readAt": n.read_at, "dismissedAt": n.dismissed_at,
                }))
                .collect::<Vec<_>>()
        )))
    }
}

fn ids(ids: &[ID]) -> Result<Vec<Uuid>, Error> {
    if ids.len() > MAX_IDS {
        return Err(Error::bad_input(format!("at most {MAX_IDS} ids at once")));
    }
    ids.iter().map(|id| parse_id(id, "ids")).collect()
}

/// Every read of the subgraph.
#[derive(MergedObject, Default)]
pub struct Query(
    FeedQuery,
    preferences::PreferencesQuery,
    push::PushQuery,
    badge::BadgeQuery,
);

/// Every write of the subgraph.
#[derive(MergedObject, Default)]
pub struct Mutation(
    FeedMutation,
    preferences::PreferencesMutation,
    push::PushMutation,
);

/// Reads of the feed.
#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// The viewer's feed, the most recently changed first (dismissed items never
    /// show); `unreadOnly` for unread items only.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] unread_only: bool,
    ) -> Result<NotificationConnection> {
        let me = ctx.viewer()?.user_id;
        let page = Page::new(first, after.as_deref())?;
        let mut rows = feed::page(&app(ctx)?.db, me, Filter { unread_only }, &page).await?;
        let more = rows.len() as u64 > page.first;
        rows.truncate(page.first as usize);
        let edges = rows
            .into_iter()
            .map(|n| (cursor(n.updated_at, n.id), Notification(n)))
            .collect();
        Ok(NotificationConnection::from_edges(
            edges,
            page.after.is_some(),
            more,
        ))
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
        Ok(found
            .filter(|n| n.user_id == me && n.in_app && n.dismissed_at.is_none())
            .map(Notification))
    }

    /// The viewer's notification stream position now: take it before fetching
    /// `notifications`, then subscribe to `notificationEvents(since:)` with it to
    /// miss nothing.
    async fn notification_position(&self, ctx: &Context<'_>) -> Result<String> {
        let me = ctx.viewer()?.user_id;
        Ok(app(ctx)?.feed.streams.head(me).await?.encode())
    }

    /// How many of the viewer's notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let me = ctx.viewer()?.user_id;
        Ok(feed::unread_count(&app(ctx)?.db, me).await?)
    }
}

/// Writes to the feed.
#[derive(Default)]
pub struct FeedMutation;

#[Object]
impl FeedMutation {
    /// Marks the viewer's notifications of `ids` read (others' ids and unknown ones
    /// are passed over); returns how many changed. At most 100 ids.
    async fn mark_notifications_read(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<u64> {
        let me = ctx.viewer()?.user_id;
        let ids = self::ids(&ids)?;
        let app = app(ctx)?;
        Ok(feed::mark_read(&app.db, &app.feed, me, Which::These(&ids)).await?)
    }

    /// Marks every notification read; returns how many changed.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> Result<u64> {
        let me = ctx.viewer()?.user_id;
        let app = app(ctx)?;
        Ok(feed::mark_read(&app.db, &app.feed, me, Which::All).await?)
    }

    /// Takes the viewer's notifications of `ids` out of their feed and counts, read
    /// or not; returns how many changed. At most 100 ids.
    async fn dismiss_notifications(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<u64> {
        let me = ctx.viewer()?.user_id;
        let ids = self::ids(&ids)?;
        let app = app(ctx)?;
        Ok(feed::dismiss(&app.db, &app.feed, me, Which::These(&ids)).await?)
    }
}

/// An item of the viewer's feed changed: made, collapsed into, resolved, read.
/// `notification` is the item as it is now.
#[derive(SimpleObject)]
pub struct NotificationChanged {
    pub position: String,
    /// Boxed: the other events are an id or two.
    pub notification: Box<Notification>,
}

/// An item left the viewer's feed (dismissed here or on another device, or
/// removed): drop it.
#[derive(SimpleObject)]
pub struct NotificationRemoved {
    pub position: String,
    pub notification_id: ID,
}

/// What came before `position` cannot be replayed (it is older than the window, or
/// the stream was lost): refetch `notifications`, then go on from `position`.
#[derive(SimpleObject)]
pub struct NotificationsResyncRequired {
    pub position: String,
    pub reason: String,
}

/// A change of the viewer's feed, at a position of their notification stream.
#[derive(Interface)]
#[graphql(field(name = "position", ty = "String"))]
pub enum NotificationEvent {
    NotificationChanged(NotificationChanged),
    NotificationRemoved(NotificationRemoved),
    NotificationsResyncRequired(NotificationsResyncRequired),
}

impl From<Change> for NotificationEvent {
    fn from(change: Change) -> Self {
        match change {
            Change::Changed { position, item } => {
                NotificationEvent::NotificationChanged(NotificationChanged {
                    position: position.encode(),
                    notification: Box::new(Notification(*item)),
                })
            }
            Change::Removed { position, id } => {
                NotificationEvent::NotificationRemoved(NotificationRemoved {
                    position: position.encode(),
                    notification_id: ID(id.to_string()),
                })
            }
            Change::ResyncRequired { position, reason } => {
                NotificationEvent::NotificationsResyncRequired(NotificationsResyncRequired {
                    position: position.encode(),
                    reason: reason.into(),
                })
            }
        }
    }
}

/// The viewer's feed changes from `since` (or from now), then live, for as long as
/// the viewer's session lasts.
async fn events(
    ctx: &Context<'_>,
    since: Option<String>,
) -> Result<impl Stream<Item = Result<NotificationEvent, async_graphql::Error>> + use<>> {
    let since = since.map(|s| Position::decode(&s, "since")).transpose()?;
    let (slot, changes) = open_feed(ctx, since).await?;
    Ok(echostream_service::subscriptions::serve(
        slot,
        Arc::clone(&app(ctx)?.ports.presence),
        ctx.viewer()?.clone(),
        changes.map(NotificationEvent::from),
    ))
}

/// Takes one of the viewer's subscription slots and follows their feed from
/// `since` (or from now): what every live stream of the feed starts with.
pub(crate) async fn open_feed(
    ctx: &Context<'_>,
    since: Option<Position>,
) -> Result<(
    echostream_service::subscriptions::Slot,
    impl Stream<Item = Change> + Send + 'static + use<>,
)> {
    let viewer = ctx.viewer()?;
    let app = app(ctx)?;
    let ports = &app.ports;
    let slot = ports
        .subscriptions
        .open(viewer, ports.pubsub.as_ref())
        .await?;
    let changes = app
        .feed
        .streams
        .follow(app.db.clone(), viewer.user_id, since)
        .await?;
    Ok((slot, changes))
}

/// Every live stream of the subgraph.
#[derive(MergedSubscription, Default)]
pub struct Subscription(FeedSubscription, badge::BadgeSubscription);

/// The live feed.
#[derive(Default)]
pub struct FeedSubscription;

#[Subscription]
impl FeedSubscription {
    /// Every change of the viewer's feed: items made or changed (collapsed into,
    /// read, resolved) as they are now, and items removed. Each event carries an
    /// opaque `position`; after a disconnect, subscribe again with `since: <the last
    /// position seen>` to receive exactly what was missed (each item once, as it is
    /// now), then live changes. If that cannot be done, the first event is
    /// `NotificationsResyncRequired`: refetch `notifications`, then go on from its
    /// position. Take `notificationPosition` before a first fetch to miss nothing.
    async fn notification_events(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
    ) -> Result<impl Stream<Item = Result<NotificationEvent, async_graphql::Error>> + use<>> {
        // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
        Box::pin(events(ctx, since)).await
    }

    /// The viewer's notifications as they are made and as they change, from now on:
    /// `notificationEvents` narrowed to items that are in the feed, without resume.
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<Notification, async_graphql::Error>> + use<>> {
        let events = Box::pin(events(ctx, None)).await?;
        Ok(events.filter_map(|event| {
            futures::future::ready(match event {
                Ok(NotificationEvent::NotificationChanged(changed)) => {
                    Some(Ok(*changed.notification))
                }
                Ok(_) => None,
                Err(ended) => Some(Err(ended)),
            })
        }))
    }
}
