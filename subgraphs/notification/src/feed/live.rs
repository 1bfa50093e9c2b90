//! The live feed: every change of a user's items (made, collapsed into, resolved,
//! read, dismissed) appended to the user's replayable stream, and read back with
//! the same resume contract as chat's stream (see [`echostream_service::stream`]):
//! a subscriber that comes back `since` its last position gets exactly what it
//! missed, or `ResyncRequired` and a position to go on from.
//!
//! A frame names an item; the reader hands the item out as it is *now* (or says it
//! is gone). So each item holds one place in a stream's window, however often it
//! changed: its newest frame supersedes the earlier ones.

use std::sync::Arc;
use std::time::Duration;

use echostream_contracts::notification::{NotificationFrame, channel};
use echostream_ports::pubsub::{PubSub, Retention};
use echostream_service::Error;
use echostream_service::stream::{self, Event, Position};
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::entities::notification;

/// Where the feed tells its changes: each user's stream, kept as
/// `notifications.stream_window` and `notifications.stream_ttl_secs` say.
#[derive(Clone)]
pub struct Streams {
    pub pubsub: Arc<dyn PubSub>,
    pub keep: Retention,
}

impl Streams {
    /// The streams of the configured ports.
    pub fn of(ports: &echostream_service::service::Ports) -> Streams {
        Streams {
            pubsub: Arc::clone(&ports.pubsub),
            keep: Retention::of_notifications(&ports.config.notifications),
        }
    }

    /// Tells each row's owner that it changed, once per `cause` (a repeated
    /// delivery of the same event appends nothing new).
    pub async fn tell(
        &self,
        cause: &str,
        rows: impl IntoIterator<Item = notification::Model>,
    ) -> Result<(), Error> {
        // An item for other channels only never shows in the feed.
        for row in rows.into_iter().filter(|row| row.in_app) {
            let frame = NotificationFrame {
                id: row.id,
                kind: row.kind,
                payload: row.payload,
                created_at: row.created_at,
            };
            let dedupe = format!("{cause}:{}", row.id);
            stream::append(
                self.pubsub.as_ref(),
                &[name(row.user_id)],
                &dedupe,
                &frame,
                self.keep,
            )
            .await?;
        }
        Ok(())
    }

    /// Where `user`'s stream stands now.
    pub async fn head(&self, user: Uuid) -> Result<Position, Error> {
        Ok(stream::head(self.pubsub.as_ref(), &name(user), self.keep).await?)
    }

    /// `user`'s changes after `since` (or from now), then live, each item read as it
    /// is now.
    pub async fn follow(
        &self,
        db: DatabaseConnection,
        user: Uuid,
        since: Option<Position>,
    ) -> Result<impl Stream<Item = Change> + Send + 'static + use<>, Error> {
        let events = stream::follow::<NotificationFrame>(
            Arc::clone(&self.pubsub),
            name(user),
            since,
            self.keep,
            Duration::ZERO,
        )
        .await?;
        // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
        Ok(events.filter_map(move |event| {
            let db = db.clone();
            Box::pin(async move { Change::of(&db, user, event).await })
        }))
    }
}

/// The stream (and channel) name of `user`'s feed.
pub fn name(user: Uuid) -> String {
    channel(user).name().to_string()
}

/// One change of a user's feed, at a position of their stream.
pub enum Change {
    /// An item, as it is now (made, collapsed into, resolved, read).
    Changed {
        position: Position,
        item: Box<notification::Model>,
    },
    /// An item left the feed (dismissed, or pruned, or its account's data erased).
    Removed { position: Position, id: Uuid },
    /// What came before `position` cannot be replayed: refetch, then go on from it.
    ResyncRequired {
        position: Position,
        reason: &'static str,
    },
}

impl Change {
    async fn of(
        db: &DatabaseConnection,
        user: Uuid,
        event: Event<NotificationFrame>,
    ) -> Option<Change> {
        let (position, id) = match event {
            Event::Kept {
                position, frame, ..
            } => (position, frame.id),
            Event::ResyncRequired { position, reason } => {
                return Some(Change::ResyncRequired { position, reason });
            }
            Event::Passing { .. } => return None,
        };
        match super::by_ids(db, &[id]).await {
            Ok(found) => Some(
                match found
                    .into_iter()
                    .find(|n| n.user_id == user && n.in_app && n.dismissed_at.is_none())
                {
                    Some(item) => Change::Changed {
                        position,
                        item: Box::new(item),
                    },
                    None => Change::Removed { position, id },
                },
            ),
            // Never a silent gap: the client refetches, and goes on from here.
            Err(err) => {
                tracing::warn!(%err, "cannot read a changed notification; the reader resyncs");
                Some(Change::ResyncRequired {
                    position,
                    reason: "changes may have been missed",
                })
            }
        }
    }
}
