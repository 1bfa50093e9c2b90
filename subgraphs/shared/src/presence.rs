//! Who is online: every live subscription marks its user present.
//!
//! Each open subscription stream registers a connection id in the user's presence
//! hash (`presence:{user}` → `{connection: expiry}`) and refreshes it on a heartbeat;
//! the user is online while any entry has not expired. Because the hash lives in the
//! pub/sub port's store (Redis in production), several devices and several server
//! instances count together, and a crashed instance's entries simply expire.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::Stream;
use uuid::Uuid;

use crate::contracts::presence::PresenceFrame;
use crate::pubsub::{PubSub, PubSubError};

/// How often a live connection refreshes its entry.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// How long an entry outlives its last heartbeat.
pub const ENTRY_TTL: Duration = Duration::from_secs(60);

fn hash_key(user: Uuid) -> String {
    format!("presence:{user}")
}

fn last_seen_key(user: Uuid) -> String {
    format!("presence-last-seen:{user}")
}

/// A user's current presence.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub online: bool,
    /// Now when online; the end of the last connection otherwise (None: never seen).
    pub last_seen: Option<DateTime<Utc>>,
    /// Live connections (devices/tabs) right now.
    pub connections: usize,
}

/// Reads a user's presence.
pub async fn status(pubsub: &dyn PubSub, user: Uuid) -> Result<Presence, PubSubError> {
    let now = Utc::now().timestamp_millis();
    let live = pubsub
        .hash_get_all(&hash_key(user))
        .await?
        .values()
        .filter(|v| v.parse::<i64>().is_ok_and(|exp| exp > now))
        .count();
    if live > 0 {
        return Ok(Presence {
            online: true,
            last_seen: Some(Utc::now()),
            connections: live,
        });
    }
    let last_seen = pubsub
        .get(&last_seen_key(user))
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    Ok(Presence {
        online: false,
        last_seen,
        connections: 0,
    })
}

/// Keeps a user present while it lives; dropping it ends the connection.
pub struct Connection {
    pubsub: Arc<dyn PubSub>,
    user: Uuid,
    id: String,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Connection {
    /// Registers a live connection of `user`.
    pub async fn open(pubsub: Arc<dyn PubSub>, user: Uuid) -> Result<Connection, PubSubError> {
        let id = Uuid::now_v7().to_string();
        let was_online = status(pubsub.as_ref(), user).await?.online;
        refresh(pubsub.as_ref(), user, &id).await?;
        if !was_online {
            announce(pubsub.as_ref(), user, true).await;
        }
        let heartbeat = {
            let pubsub = Arc::clone(&pubsub);
            let id = id.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    if let Err(err) = refresh(pubsub.as_ref(), user, &id).await {
                        tracing::warn!(%user, %err, "presence heartbeat failed");
                    }
                }
            })
        };
        Ok(Connection {
            pubsub,
            user,
            id,
            heartbeat: Some(heartbeat),
        })
    }
}

async fn refresh(pubsub: &dyn PubSub, user: Uuid, id: &str) -> Result<(), PubSubError> {
    let expiry = Utc::now().timestamp_millis() + ENTRY_TTL.as_millis() as i64;
    pubsub
        .hash_set(&hash_key(user), id, &expiry.to_string(), ENTRY_TTL)
        .await
}

async fn announce(pubsub: &dyn PubSub, user: Uuid, online: bool) {
    let channel = crate::contracts::presence::channel(user);
    let frame = PresenceFrame {
        user_id: user,
        online,
        at: Utc::now(),
    };
    if let Err(err) = pubsub
        .publish(channel.name(), &channel.encode(&frame))
        .await
    {
        tracing::warn!(%user, %err, "presence change not announced");
    }
}

async fn close(
    pubsub: Arc<dyn PubSub>,
    user: Uuid,
    id: String,
    heartbeat: tokio::task::JoinHandle<()>,
) {
    // A refresh already sent must land before the removal, or it would bring the
    // entry back for a whole TTL: wait until the aborted heartbeat has stopped.
    let _ = heartbeat.await;
    let result = async {
        // Last seen first, so a reader never sees "offline, never seen".
        pubsub
            .set(
                &last_seen_key(user),
                &Utc::now().timestamp_millis().to_string(),
                None,
            )
            .await?;
        pubsub.hash_delete(&hash_key(user), &id).await?;
        if !status(pubsub.as_ref(), user).await?.online {
            announce(pubsub.as_ref(), user, false).await;
        }
        Ok::<_, PubSubError>(())
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
                Arc::clone(&self.pubsub),
                self.user,
                self.id.clone(),
                heartbeat,
            ));
        }
    }
}

/// Wraps a subscription stream so its user counts as online while it is open.
pub fn track<S>(pubsub: Arc<dyn PubSub>, user: Uuid, stream: S) -> impl Stream<Item = S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send,
{
    async_stream::stream! {
        let _connection = match Connection::open(pubsub, user).await {
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
    use crate::pubsub::memory::MemoryPubSub;

    #[tokio::test]
    async fn online_while_any_connection_lives_then_last_seen() {
        let pubsub: Arc<dyn PubSub> = Arc::new(MemoryPubSub::new());
        let user = Uuid::now_v7();
        assert_eq!(status(pubsub.as_ref(), user).await.unwrap().last_seen, None);

        let phone = Connection::open(Arc::clone(&pubsub), user).await.unwrap();
        let laptop = Connection::open(Arc::clone(&pubsub), user).await.unwrap();
        let now = status(pubsub.as_ref(), user).await.unwrap();
        assert!(now.online);
        assert_eq!(now.connections, 2);

        // Closing runs in the background: wait for it, not for a guessed time.
        let settled = |want: usize| {
            let pubsub = Arc::clone(&pubsub);
            async move {
                for _ in 0..1_000 {
                    let now = status(pubsub.as_ref(), user).await.unwrap();
                    if now.connections == want {
                        return now;
                    }
                    tokio::task::yield_now().await;
                }
                panic!("presence never settled at {want} connections");
            }
        };
        drop(phone);
        assert!(
            settled(1).await.online,
            "the laptop still holds the user online"
        );

        let before = Utc::now();
        drop(laptop);
        let after = settled(0).await;
        assert!(!after.online);
        assert!(after.last_seen.unwrap() >= before - chrono::Duration::seconds(1));
    }
}
