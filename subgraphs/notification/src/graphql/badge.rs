//! What an app icon shows: `badge` and its live value `badgeChanged`. The
//! `Badge` entity is shared with chat, which counts the conversations with unread
//! messages (`unreadConversations`, its own count, muted ones left out); this
//! subgraph adds the notifications chat does not count and the total, which
//! requires chat's part (`@requires`), so the gateway fetches both.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Object, Result, Subscription};
use echostream_contracts::chat::{ChatFrame, user_channel};
use echostream_ports::pubsub::Retention;
use echostream_service::resolver::RequestExt;
use echostream_service::stream::Event;
use futures::{FutureExt, Stream, StreamExt};
use uuid::Uuid;

use super::app;
use crate::feed;

/// How long a change waits for the ones right behind it before the badge is sent:
/// a burst of messages moves it once.
const COALESCE: Duration = Duration::from_millis(200);

/// What an app icon shows for the viewer.
pub struct Badge {
    user_id: Uuid,
    /// Chat's part, as the gateway hands it over (`@requires`).
    unread_conversations: Option<i64>,
    /// The feed's part, read once however many fields need it.
    unread_notifications: tokio::sync::OnceCell<u64>,
}

impl Badge {
    fn of(user_id: Uuid, unread_conversations: Option<i64>) -> Self {
        Self {
            user_id,
            unread_conversations,
            unread_notifications: tokio::sync::OnceCell::new(),
        }
    }

    /// The viewer's unread notifications beyond messages, counted once per badge.
    async fn notifications(&self, ctx: &Context<'_>) -> Result<u64> {
        ctx.viewer()?.must_be(self.user_id)?;
        let db = &app(ctx)?.db;
        Ok(*self
            .unread_notifications
            .get_or_try_init(|| feed::unread_beyond_messages(db, self.user_id))
            .await?)
    }
}

#[Object]
impl Badge {
    async fn user_id(&self) -> ID {
        ID(self.user_id.to_string())
    }

    /// Chat's: conversations with unread messages (not the muted ones).
    #[graphql(external)]
    async fn unread_conversations(&self) -> i64 {
        self.unread_conversations.unwrap_or(0)
    }

    /// Unread notifications about anything but messages chat already counts
    /// (friend requests, reactions, group changes): what the feed adds to the icon.
    async fn unread_notifications(&self, ctx: &Context<'_>) -> Result<u64> {
        self.notifications(ctx).await
    }

    /// The number on the icon: `unreadConversations` plus `unreadNotifications`.
    #[graphql(requires = "unreadConversations")]
    async fn total(&self, ctx: &Context<'_>) -> Result<i64> {
        let notifications = self.notifications(ctx).await?;
        Ok(self.unread_conversations.unwrap_or(0) + notifications as i64)
    }
}

/// Reads of the badge.
#[derive(Default)]
pub struct BadgeQuery;

#[Object]
impl BadgeQuery {
    /// What the viewer's app icon shows now.
    async fn badge(&self, ctx: &Context<'_>) -> Result<Badge> {
        Ok(Badge::of(ctx.viewer()?.user_id, None))
    }

    /// Resolves a `Badge` reference for the gateway, with chat's part when the
    /// total is asked for.
    #[graphql(entity)]
    async fn find_badge_by_user_id(
        &self,
        #[graphql(key)] user_id: ID,
        unread_conversations: Option<i64>,
    ) -> Option<Badge> {
        Uuid::parse_str(&user_id)
            .ok()
            .map(|user_id| Badge::of(user_id, unread_conversations))
    }
}

/// The badge's live value.
#[derive(Default)]
pub struct BadgeSubscription;

#[Subscription]
impl BadgeSubscription {
    /// The viewer's badge now, then again whenever it may have changed (a message,
    /// a read on any device, a conversation muted, a notification made or read);
    /// a burst of changes sends it once. Ask for `total` for the icon's number.
    async fn badge_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<Badge, async_graphql::Error>> + use<>> {
        let viewer = ctx.viewer()?;
        let me = viewer.user_id;
        let app = app(ctx)?;
        let ports = &app.ports;
        // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
        let (slot, feed_changes) = Box::pin(super::open_feed(ctx, None)).await?;
        let feed_changes = feed_changes.map(|_| ());
        let chat_changes = Box::pin(echostream_service::stream::follow::<ChatFrame>(
            Arc::clone(&ports.pubsub),
            user_channel(me).name().to_string(),
            None,
            Retention::of_chat(&ports.config.chat),
            Duration::from_secs(ports.config.chat.typing_ttl_secs),
        ))
        .await
        .map_err(echostream_service::Error::from)?
        // Typing moves no count.
        .filter(|event| futures::future::ready(!matches!(event, Event::Passing { .. })))
        .map(|_| ());
        let ticks = futures::stream::select(feed_changes, chat_changes).boxed();
        let badges = futures::stream::unfold((ticks, true), move |(mut ticks, first)| async move {
            if !first {
                ticks.next().await?;
                tokio::time::sleep(COALESCE).await;
                while let Some(Some(())) = ticks.next().now_or_never() {}
            }
            let badge = Badge::of(me, None);
            Some((badge, (ticks, false)))
        });
        Ok(echostream_service::subscriptions::serve(
            slot,
            Arc::clone(&ports.presence),
            viewer.clone(),
            badges,
        ))
    }
}
