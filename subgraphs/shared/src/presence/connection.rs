//! A device's live subscription keeps it present: [`track`] wraps every
//! subscription stream in a [`Connection`], which registers itself in the user's
//! presence hash, refreshes that entry on a heartbeat and removes it when dropped.

use std::sync::Arc;

use chrono::Utc;
use futures::Stream;
use uuid::Uuid;

use super::{ENTRY_TTL, HEARTBEAT, MEMORY, Tracker, connection_entry, hash_key, millis};
use crate::pubsub::PubSubError;
use crate::token::Viewer;

/// Keeps a device present while it lives; dropping it ends the connection.
pub struct Connection {
    tracker: Arc<Tracker>,
    viewer: Viewer,
    id: String,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Connection {
    /// Registers a live connection of `viewer`'s device; opening it is activity.
    pub async fn open(tracker: Arc<Tracker>, viewer: Viewer) -> Result<Connection, PubSubError> {
        let id = Uuid::now_v7().to_string();
        refresh(&tracker, &viewer, &id).await?;
        tracker.record_activity(&viewer).await?;
        let heartbeat = {
            let tracker = Arc::clone(&tracker);
            let viewer = viewer.clone();
            let id = id.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    let beat = async {
                        refresh(&tracker, &viewer, &id).await?;
                        // Also the moment to notice this user going quiet.
                        tracker.settle(viewer.user_id).await
                    };
                    if let Err(err) = beat.await {
                        tracing::warn!(user = %viewer.user_id, %err, "presence heartbeat failed");
                    }
                }
            })
        };
        Ok(Connection {
            tracker,
            viewer,
            id,
            heartbeat: Some(heartbeat),
        })
    }
}

async fn refresh(tracker: &Tracker, viewer: &Viewer, id: &str) -> Result<(), PubSubError> {
    let expiry = Utc::now().timestamp_millis() + millis(ENTRY_TTL);
    let value = format!("{expiry} {}", viewer.session_id);
    tracker
        .pubsub
        .hash_set(
            &hash_key(viewer.user_id),
            &format!("c:{id}"),
            &value,
            MEMORY,
        )
        .await
}

async fn close(
    tracker: Arc<Tracker>,
    user: Uuid,
    session: String,
    id: String,
    heartbeat: tokio::task::JoinHandle<()>,
) {
    // A refresh already sent must land before the removal, or it would bring the
    // entry back for a whole TTL: wait until the aborted heartbeat has stopped.
    let _ = heartbeat.await;
    let result = async {
        let key = hash_key(user);
        let now = Utc::now().timestamp_millis();
        // Last seen first, so a reader never sees "offline, never seen".
        let seen = now.to_string();
        tracker.pubsub.hash_set(&key, "seen", &seen, MEMORY).await?;
        // A device whose last connection closes is gone now, not when its last
        // activity would expire: the app was closed.
        let fields = tracker.pubsub.hash_get_all(&key).await?;
        let mine = format!("c:{id}");
        let others = fields.iter().any(|(field, value)| {
            field.starts_with("c:")
                && *field != mine
                && connection_entry(value).is_some_and(|(expiry, of)| of == session && expiry > now)
        });
        let activity = format!("a:{session}");
        if !others && let Some(value) = fields.get(&activity) {
            let active = value.split(' ').next().unwrap_or("0");
            let ended = format!("{active} {now}");
            tracker
                .pubsub
                .hash_set(&key, &activity, &ended, MEMORY)
                .await?;
        }
        tracker.pubsub.hash_delete(&key, &format!("c:{id}")).await?;
        tracker.settle(user).await
    };
    if let Err(err) = result.await {
        tracing::warn!(%user, %err, "presence not cleared; the entry will expire");
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(heartbeat) = self.heartbeat.take() else {
            return;
        };
        heartbeat.abort();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(close(
                Arc::clone(&self.tracker),
                self.viewer.user_id,
                self.viewer.session_id.to_string(),
                self.id.clone(),
                heartbeat,
            ));
        }
    }
}

/// Wraps a subscription stream so its device counts as present while it is open.
pub fn track<S>(tracker: Arc<Tracker>, viewer: Viewer, stream: S) -> impl Stream<Item = S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send,
{
    async_stream::stream! {
        let user = viewer.user_id;
        let _connection = match Connection::open(tracker, viewer).await {
            Ok(c) => Some(c),
            Err(err) => {
                tracing::warn!(%user, %err, "presence not recorded");
                None
            }
        };
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = futures::StreamExt::next(&mut stream).await {
            yield item;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::presence::PresenceState;
    use crate::pubsub::PubSub;
    use crate::pubsub::memory::MemoryPubSub;
    use std::time::Duration;

    fn device(user: Uuid) -> Viewer {
        Viewer {
            user_id: user,
            session_id: Uuid::now_v7(),
            device_id: "d".into(),
        }
    }

    #[tokio::test]
    async fn present_while_any_device_connects_then_last_seen() {
        let pubsub: Arc<dyn PubSub> = Arc::new(MemoryPubSub::new());
        let tracker = Tracker::new(Arc::clone(&pubsub), Duration::from_secs(300));
        let user = Uuid::now_v7();
        assert_eq!(tracker.status(user).await.unwrap().last_seen, None);

        let phone = Connection::open(Arc::clone(&tracker), device(user))
            .await
            .unwrap();
        let laptop = Connection::open(Arc::clone(&tracker), device(user))
            .await
            .unwrap();
        let now = tracker.status(user).await.unwrap();
        assert_eq!(now.state, PresenceState::Online);
        assert_eq!(now.devices, 2);

        // Closing runs in the background: wait for it, not for a guessed time.
        let settled = |want: usize| {
            let tracker = Arc::clone(&tracker);
            let pubsub = Arc::clone(&pubsub);
            async move {
                for _ in 0..1_000 {
                    let now = tracker.status(user).await.unwrap();
                    let connections = pubsub
                        .hash_get_all(&hash_key(user))
                        .await
                        .unwrap()
                        .keys()
                        .filter(|k| k.starts_with("c:"))
                        .count();
                    if connections == want {
                        return now;
                    }
                    tokio::task::yield_now().await;
                }
                panic!("presence never settled at {want} connections");
            }
        };
        drop(phone);
        assert_eq!(settled(1).await.state, PresenceState::Online);
        drop(laptop);
        let after = settled(0).await;
        assert_eq!(
            after.state,
            PresenceState::Offline,
            "a device whose last connection closed is gone at once"
        );
        assert!(after.last_seen.is_some());
    }
}
