//! A device's live subscriptions keep it present: [`track`] wraps every
//! subscription stream in a [`Connection`].
//!
//! The subscriptions one device (one session) holds in one process share a single
//! entry `c:{id}` in the user's presence hash: the first to open writes it, the last
//! to close removes it, and one heartbeat per process refreshes every entry the
//! process holds. So a device costs the same whether it holds one subscription or
//! fifty, and an idle subscription costs no task, no timer and no I/O of its own.
//! Each time a device's first subscription opens here its entry gets a new id, so a
//! late removal of the previous one never takes the new one with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use futures::Stream;
use uuid::Uuid;

use super::{ENTRY_TTL, HEARTBEAT, MEMORY, Tracker, connection_entry, hash_key, millis};
use crate::Device;
use echostream_ports::pubsub::PubSubError;

/// The devices with a live subscription in this process, by (user, session).
#[derive(Default)]
pub(super) struct LiveDevices(HashMap<(Uuid, Uuid), LiveDevice>);

struct LiveDevice {
    subscriptions: usize,
    /// The id of the device's `c:` entry.
    entry: String,
}

/// One live subscription of a device; dropping it ends it.
pub struct Connection {
    tracker: Arc<Tracker>,
    device: Device,
}

impl Connection {
    /// Registers a live subscription of `device`; opening it is activity.
    pub async fn open(tracker: Arc<Tracker>, device: Device) -> Result<Connection, PubSubError> {
        let first = tracker.join(&device);
        tracker.start_heartbeat();
        let connection = Connection {
            tracker: Arc::clone(&tracker),
            device,
        };
        match first {
            Some(entry) => {
                refresh(&tracker, device.user_id, device.session_id, &entry).await?;
                tracker.record_activity(&device).await?;
            }
            // The device is present already; the subscription is still activity.
            None => tracker.touch(&device),
        }
        Ok(connection)
    }
}

impl Tracker {
    /// Counts a subscription of `device` in; the new entry's id when it is
    /// the device's first here.
    fn join(&self, device: &Device) -> Option<String> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let device = live
            .0
            .entry((device.user_id, device.session_id))
            .or_insert_with(|| LiveDevice {
                subscriptions: 0,
                entry: Uuid::now_v7().to_string(),
            });
        device.subscriptions += 1;
        (device.subscriptions == 1).then(|| device.entry.clone())
    }

    /// Counts a subscription out; the entry to remove when it was the device's last.
    fn leave(&self, device: &Device) -> Option<String> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let key = (device.user_id, device.session_id);
        let device = live.0.get_mut(&key)?;
        device.subscriptions -= 1;
        if device.subscriptions > 0 {
            return None;
        }
        live.0.remove(&key).map(|d| d.entry)
    }

    /// Starts this process's heartbeat once; it ends with the tracker.
    fn start_heartbeat(self: &Arc<Self>) {
        if self.beating.swap(true, Ordering::AcqRel) {
            return;
        }
        let tracker = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(HEARTBEAT);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(tracker) = tracker.upgrade() else {
                    return;
                };
                tracker.heartbeat().await;
            }
        });
    }

    /// Refreshes the entry of every device live here, then settles their users
    /// (the moment to notice one going quiet).
    async fn heartbeat(&self) {
        // Held through the round: a removal waits for it, so a refresh already
        // under way never brings a removed entry back for a whole TTL.
        let _round = self.beat.lock().await;
        let devices: Vec<((Uuid, Uuid), String)> = {
            let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.0.iter().map(|(k, d)| (*k, d.entry.clone())).collect()
        };
        let mut users: Vec<Uuid> = Vec::with_capacity(devices.len());
        for ((user, session), entry) in &devices {
            if let Err(err) = refresh(self, *user, *session, entry).await {
                tracing::warn!(%user, %err, "presence heartbeat failed");
            }
            users.push(*user);
        }
        users.sort_unstable();
        users.dedup();
        for user in users {
            if let Err(err) = self.settle(user).await {
                tracing::warn!(%user, %err, "presence not settled");
            }
        }
    }
}

/// Writes (or refreshes) the entry of `user`'s device `session`.
async fn refresh(
    tracker: &Tracker,
    user: Uuid,
    session: Uuid,
    entry: &str,
) -> Result<(), PubSubError> {
    let expiry = Utc::now().timestamp_millis() + millis(ENTRY_TTL);
    let value = format!("{expiry} {session}");
    tracker
        .pubsub
        .hash_set(&hash_key(user), &format!("c:{entry}"), &value, MEMORY)
        .await
}

/// Removes a device's entry once its last subscription here closed.
async fn close(tracker: Arc<Tracker>, user: Uuid, session: String, entry: String) {
    let _round = tracker.beat.lock().await;
    let result = async {
        let key = hash_key(user);
        let now = Utc::now().timestamp_millis();
        // Last seen first, so a reader never sees "offline, never seen".
        let seen = now.to_string();
        tracker.pubsub.hash_set(&key, "seen", &seen, MEMORY).await?;
        // A device whose last connection closes is gone now, not when its last
        // activity would expire: the app was closed.
        let fields = tracker.pubsub.hash_get_all(&key).await?;
        let mine = format!("c:{entry}");
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
        tracker.pubsub.hash_delete(&key, &mine).await?;
        tracker.settle(user).await
    };
    if let Err(err) = result.await {
        tracing::warn!(%user, %err, "presence not cleared; the entry will expire");
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(entry) = self.tracker.leave(&self.device) else {
            return;
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(close(
                Arc::clone(&self.tracker),
                self.device.user_id,
                self.device.session_id.to_string(),
                entry,
            ));
        }
    }
}

/// Wraps a subscription stream so its device counts as present while it is open.
pub fn track<S>(tracker: Arc<Tracker>, device: Device, stream: S) -> impl Stream<Item = S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send,
{
    async_stream::stream! {
        let user = device.user_id;
        let _connection = match Connection::open(tracker, device).await {
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
    use echostream_contracts::presence::PresenceState;
    use echostream_ports::pubsub::PubSub;
    use echostream_ports::pubsub::memory::MemoryPubSub;
    use std::time::Duration;

    fn device(user: Uuid) -> Device {
        Device {
            user_id: user,
            session_id: Uuid::now_v7(),
        }
    }

    /// The user's status once `want` connection entries remain (closing runs in the
    /// background: wait for it, not for a guessed time).
    async fn settled(
        tracker: &Tracker,
        pubsub: &Arc<dyn PubSub>,
        user: Uuid,
        want: usize,
    ) -> crate::Status {
        for _ in 0..1_000 {
            let now = tracker.status(user).await.unwrap();
            if entries(pubsub, user).await == want {
                return now;
            }
            tokio::task::yield_now().await;
        }
        panic!("presence never settled at {want} connections");
    }

    async fn entries(pubsub: &Arc<dyn PubSub>, user: Uuid) -> usize {
        pubsub
            .hash_get_all(&hash_key(user))
            .await
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("c:"))
            .count()
    }

    #[tokio::test]
    async fn a_device_s_subscriptions_share_one_entry_until_the_last_closes() {
        let pubsub: Arc<dyn PubSub> = Arc::new(MemoryPubSub::new());
        let tracker = Tracker::new(Arc::clone(&pubsub), Duration::from_secs(300));
        let user = Uuid::now_v7();
        let phone = device(user);
        let mut subscriptions = Vec::new();
        for _ in 0..5 {
            let opened = Connection::open(Arc::clone(&tracker), phone).await;
            subscriptions.push(opened.unwrap());
        }
        assert_eq!(entries(&pubsub, user).await, 1, "one entry per device");
        assert_eq!(tracker.status(user).await.unwrap().devices, 1);
        let last = subscriptions.pop().unwrap();
        drop(subscriptions);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let now = tracker.status(user).await.unwrap();
        assert_eq!(entries(&pubsub, user).await, 1, "kept while one is open");
        assert_eq!(now.state, PresenceState::Online);
        drop(last);
        let after = settled(&tracker, &pubsub, user, 0).await;
        assert_eq!(after.state, PresenceState::Offline);

        // Opening again after the last closed is a new entry, not the old one.
        let again = Connection::open(Arc::clone(&tracker), phone).await.unwrap();
        assert_eq!(
            settled(&tracker, &pubsub, user, 1).await.state,
            PresenceState::Online
        );
        drop(again);
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

        drop(phone);
        assert_eq!(
            settled(&tracker, &pubsub, user, 1).await.state,
            PresenceState::Online
        );
        drop(laptop);
        let after = settled(&tracker, &pubsub, user, 0).await;
        assert_eq!(
            after.state,
            PresenceState::Offline,
            "a device whose last connection closed is gone at once"
        );
        assert!(after.last_seen.is_some());
    }
}
