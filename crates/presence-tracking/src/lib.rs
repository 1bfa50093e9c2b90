//! Who is present: online, away or offline, with last seen, across devices and
//! server instances.
//!
//! A user's presence is one hash in the pub/sub port's store (Redis in production),
//! `presence:{user}`, so every instance reads and writes the same state:
//!
//! - `c:{connection}` → `{expiry_ms} {session}`: a device's live subscriptions in
//!   one process, refreshed by that process's heartbeat (see [`connection`]); a
//!   crashed instance's entries simply expire;
//! - `a:{session}` → `{active_ms} {live_until_ms}`: a device's last activity (any
//!   request it made, or a subscription it opened), which keeps it present for
//!   [`ENTRY_TTL`] even with no subscription open;
//! - `d:{session}` → `away`: the device said it is away (`setPresence(AWAY)`);
//! - `seen` → when the last connection ended.
//!
//! A device is present while any of its entries lives; it is away when it said so or
//! has been inactive for `presence.away_after_secs`. The user is the most present of
//! their devices ([`summarise`]). So presence depends on the device, not on which of
//! its subscriptions happen to be open.
//!
//! Changes are announced on the user's presence channel by [`Tracker::settle`],
//! which every write calls; an atomic swap of the last announced state makes one of
//! several instances announce each change once. Changes that only time makes (a
//! device going quiet) are found by [`Tracker::sweep`], which the presence subgraph
//! runs on every instance over the users last announced present.

pub mod connection;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

pub use self::connection::{Connection, track};
use echostream_contracts::presence::{PresenceFrame, PresenceState, channel};
use echostream_ports::pubsub::{PubSub, PubSubError};

/// One signed-in device: whose it is and the session it holds. A user is present
/// while any of their devices is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Device {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// How often each process refreshes the entries of the devices live in it.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// How long an entry outlives its last refresh (or a device its last request).
pub const ENTRY_TTL: Duration = Duration::from_secs(60);
/// How often one device's requests are recorded as activity (at most).
pub const TOUCH_EVERY: Duration = Duration::from_secs(15);
/// How long a user's presence hash (and so their last seen) is kept after its last
/// write.
pub const MEMORY: Duration = Duration::from_secs(30 * 24 * 3600);

/// The users last announced present: the ones [`Tracker::sweep`] looks at.
const LIVE_KEY: &str = "presence-live";

fn hash_key(user: Uuid) -> String {
    format!("presence:{user}")
}

fn announced_key(user: Uuid) -> String {
    format!("presence-announced:{user}")
}

fn millis(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// A user's presence.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: PresenceState,
    /// Now while present; when last present otherwise (None: never seen).
    pub last_seen: Option<DateTime<Utc>>,
    /// Devices present right now.
    pub devices: usize,
    /// Devices with a live subscription open right now (an app that hears things as
    /// they happen); the rest are present by their recent requests only.
    pub connected: usize,
}

/// What one device's entries say.
#[derive(Default)]
struct DeviceState {
    live: bool,
    connected: bool,
    active_ms: Option<i64>,
    said_away: bool,
}

/// A `c:` entry's value: the connection's expiry (ms) and its device's session.
fn connection_entry(value: &str) -> Option<(i64, &str)> {
    let (expiry, session) = value.split_once(' ')?;
    Some((expiry.parse().ok()?, session))
}

/// Reads a user's presence hash as of `now_ms` (see the module's description).
pub fn summarise(fields: &HashMap<String, String>, now_ms: i64, away_after: Duration) -> Status {
    let mut devices: HashMap<&str, DeviceState> = HashMap::new();
    let mut seen: Option<i64> = fields.get("seen").and_then(|v| v.parse().ok());
    let mut saw = |at: i64| seen = Some(seen.map_or(at, |s| s.max(at)));
    for (field, value) in fields {
        let mut parts = value.split(' ');
        let mut number = || parts.next().and_then(|p| p.parse::<i64>().ok());
        if field.starts_with("c:") {
            let Some((expiry, session)) = connection_entry(value) else {
                continue;
            };
            let device = devices.entry(session).or_default();
            device.live |= expiry > now_ms;
            device.connected |= expiry > now_ms;
            saw((expiry - millis(ENTRY_TTL)).min(now_ms));
        } else if let Some(session) = field.strip_prefix("a:") {
            let (Some(active), Some(live_until)) = (number(), number()) else {
                continue;
            };
            let device = devices.entry(session).or_default();
            device.active_ms = Some(active);
            device.live |= live_until > now_ms;
            saw(active);
        } else if let Some(session) = field.strip_prefix("d:") {
            // The entry is there only while the device says it is away.
            devices.entry(session).or_default().said_away = true;
        }
    }
    let present: Vec<&DeviceState> = devices.values().filter(|d| d.live).collect();
    let active = |d: &&DeviceState| {
        !d.said_away
            && d.active_ms
                .is_none_or(|at| now_ms - at <= millis(away_after))
    };
    let state = if present.iter().any(active) {
        PresenceState::Online
    } else if !present.is_empty() {
        PresenceState::Away
    } else {
        PresenceState::Offline
    };
    let at = |ms: i64| Utc.timestamp_millis_opt(ms).single();
    Status {
        state,
        last_seen: if state == PresenceState::Offline {
            seen.and_then(at)
        } else {
            at(now_ms)
        },
        devices: present.len(),
        connected: present.iter().filter(|d| d.connected).count(),
    }
}

/// Reads, records and announces presence; one per process, shared by every
/// subgraph in it.
pub struct Tracker {
    pubsub: Arc<dyn PubSub>,
    away_after: Duration,
    /// When each session's activity was last recorded by this process.
    touched: Mutex<HashMap<Uuid, Instant>>,
    /// Sessions that ended here, and when: a request of theirs still in flight
    /// records no activity after the end (see [`Tracker::forget`]).
    forgotten: Mutex<HashMap<Uuid, Instant>>,
    /// The devices with a live subscription here ([`connection`]).
    live: Mutex<connection::LiveDevices>,
    /// Whether the heartbeat task runs.
    beating: AtomicBool,
    /// Held by a heartbeat round, and by an entry's removal.
    beat: tokio::sync::Mutex<()>,
}

impl Tracker {
    /// A tracker over `pubsub`; devices inactive for `away_after` count as away.
    pub fn new(pubsub: Arc<dyn PubSub>, away_after: Duration) -> Arc<Tracker> {
        Arc::new(Tracker {
            pubsub,
            away_after,
            touched: Mutex::new(HashMap::new()),
            forgotten: Mutex::new(HashMap::new()),
            live: Mutex::default(),
            beating: AtomicBool::new(false),
            beat: tokio::sync::Mutex::new(()),
        })
    }

    /// How often [`Tracker::sweep`] should run: often enough that going away is
    /// seen within half the away time, and at least every [`TOUCH_EVERY`].
    pub fn sweep_every(&self) -> Duration {
        (self.away_after / 2).clamp(Duration::from_millis(500), TOUCH_EVERY)
    }

    /// One user's presence.
    pub async fn status(&self, user: Uuid) -> Result<Status, PubSubError> {
        let fields = self.pubsub.hash_get_all(&hash_key(user)).await?;
        Ok(summarise(
            &fields,
            Utc::now().timestamp_millis(),
            self.away_after,
        ))
    }

    /// Several users' presence in one round trip, in the order of `users`.
    pub async fn statuses(&self, users: &[Uuid]) -> Result<Vec<Status>, PubSubError> {
        let keys: Vec<String> = users.iter().map(|u| hash_key(*u)).collect();
        let now = Utc::now().timestamp_millis();
        Ok(self
            .pubsub
            .hash_get_all_many(&keys)
            .await?
            .iter()
            .map(|fields| summarise(fields, now, self.away_after))
            .collect())
    }

    /// Records in the background that `device` did something, at most once
    /// per [`TOUCH_EVERY`] per session and process (the check costs no task and no
    /// I/O, so every request may call it); failures are logged (presence must never
    /// fail a request).
    pub fn touch(self: &Arc<Self>, device: &Device) {
        if !self.due(device.session_id) {
            return;
        }
        let (tracker, device) = (Arc::clone(self), *device);
        tokio::spawn(async move {
            if let Err(err) = tracker.record_activity(&device).await {
                tracing::warn!(user = %device.user_id, %err, "activity not recorded");
            }
        });
    }

    fn due(&self, session: Uuid) -> bool {
        let now = Instant::now();
        let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        if touched
            .get(&session)
            .is_some_and(|at| now.duration_since(*at) < TOUCH_EVERY)
        {
            return false;
        }
        if touched.len() > 10_000 {
            touched.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
        }
        touched.insert(session, now);
        true
    }

    fn was_forgotten(&self, session: Uuid) -> bool {
        self.forgotten
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&session)
    }

    async fn record_activity(&self, device: &Device) -> Result<Status, PubSubError> {
        if self.was_forgotten(device.session_id) {
            return self.status(device.user_id).await;
        }
        let now = Utc::now().timestamp_millis();
        let value = format!("{now} {}", now + millis(ENTRY_TTL));
        let field = format!("a:{}", device.session_id);
        let key = hash_key(device.user_id);
        self.pubsub.hash_set(&key, &field, &value, MEMORY).await?;
        // The session may have ended while this was written (its last request
        // records activity as it ends it): then the entry goes again.
        if self.was_forgotten(device.session_id) {
            self.pubsub.hash_delete(&key, &field).await?;
        }
        self.settle(device.user_id).await
    }

    /// `device` says it is away (or back); saying so is activity too.
    pub async fn declare(&self, device: &Device, away: bool) -> Result<Status, PubSubError> {
        let key = hash_key(device.user_id);
        let field = format!("d:{}", device.session_id);
        if away {
            self.pubsub.hash_set(&key, &field, "away", MEMORY).await?;
        } else {
            self.pubsub.hash_delete(&key, &field).await?;
        }
        self.record_activity(device).await
    }

    /// `device` is gone (its session ended): its activity and its word about being
    /// away are forgotten at once rather than left to expire, and the change is
    /// announced. A request of the session still in flight here records nothing
    /// after this.
    pub async fn forget(&self, device: &Device) -> Result<Status, PubSubError> {
        // Noted first: activity recorded from now on is taken back (see
        // `record_activity`), then what was recorded goes.
        {
            let now = Instant::now();
            let mut forgotten = self.forgotten.lock().unwrap_or_else(|p| p.into_inner());
            if forgotten.len() > 10_000 {
                forgotten.retain(|_, at| now.duration_since(*at) < ENTRY_TTL);
            }
            forgotten.insert(device.session_id, now);
        }
        let key = hash_key(device.user_id);
        for field in [
            format!("a:{}", device.session_id),
            format!("d:{}", device.session_id),
        ] {
            self.pubsub.hash_delete(&key, &field).await?;
        }
        self.settle(device.user_id).await
    }

    /// Reads `user`'s presence and announces it if it differs from what was last
    /// announced (by any instance).
    pub async fn settle(&self, user: Uuid) -> Result<Status, PubSubError> {
        let status = self.status(user).await?;
        let state = status.state.as_str();
        let before = self
            .pubsub
            .swap(&announced_key(user), state, MEMORY)
            .await?;
        let first_offline = before.is_none() && status.state == PresenceState::Offline;
        if before.as_deref() == Some(state) || first_offline {
            return Ok(status);
        }
        if status.state == PresenceState::Offline {
            self.pubsub.hash_delete(LIVE_KEY, &user.to_string()).await?;
        } else {
            let user = user.to_string();
            self.pubsub.hash_set(LIVE_KEY, &user, "1", MEMORY).await?;
        }
        let channel = channel(user);
        let frame = PresenceFrame {
            user_id: user,
            state: status.state,
            last_seen: status.last_seen,
            at: Utc::now(),
        };
        self.pubsub
            .publish(channel.name(), &channel.encode(&frame))
            .await?;
        Ok(status)
    }

    /// Settles every user last announced present, so that changes only time makes
    /// (away after inactivity, offline once a device's entries expire) are
    /// announced. Returns how many users it looked at.
    pub async fn sweep(&self) -> Result<usize, PubSubError> {
        let live = self.pubsub.hash_get_all(LIVE_KEY).await?;
        let users: Vec<Uuid> = live.keys().filter_map(|k| k.parse().ok()).collect();
        for user in &users {
            self.settle(*user).await?;
        }
        Ok(users.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWAY_AFTER: Duration = Duration::from_secs(300);

    fn hash(fields: &[(&str, String)]) -> HashMap<String, String> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn the_most_present_device_wins() {
        let now = 10_000_000;
        let ttl = millis(ENTRY_TTL);
        // A phone holding a subscription but idle for ten minutes, and a laptop that
        // said it is away.
        let fields = hash(&[
            ("c:1", format!("{} phone", now + ttl)),
            ("a:phone", format!("{} {}", now - 600_000, now - 540_000)),
            ("a:laptop", format!("{} {}", now - 1_000, now + ttl)),
            ("d:laptop", "away".into()),
        ]);
        let status = summarise(&fields, now, AWAY_AFTER);
        assert_eq!(status.state, PresenceState::Away);
        assert_eq!(status.devices, 2);

        // The phone is used again: online.
        let mut fields = fields;
        fields.insert("a:phone".into(), format!("{now} {}", now + ttl));
        assert_eq!(
            summarise(&fields, now, AWAY_AFTER).state,
            PresenceState::Online
        );
    }

    #[test]
    fn offline_once_every_entry_expired_with_the_last_moment_seen() {
        let now = 10_000_000;
        let fields = hash(&[
            ("c:1", format!("{} phone", now - 5_000)),
            ("a:tablet", format!("{} {}", now - 90_000, now - 30_000)),
            ("seen", (now - 200_000).to_string()),
        ]);
        let status = summarise(&fields, now, AWAY_AFTER);
        assert_eq!(status.state, PresenceState::Offline);
        assert_eq!(status.devices, 0);
        // The connection's last refresh was the latest sign of life.
        let last = now - 5_000 - millis(ENTRY_TTL);
        assert_eq!(
            status.last_seen.unwrap().timestamp_millis(),
            last.max(now - 90_000)
        );
        assert_eq!(
            summarise(&HashMap::new(), now, AWAY_AFTER).last_seen,
            None,
            "never seen"
        );
    }

    #[test]
    fn garbage_fields_are_ignored() {
        let fields = hash(&[
            ("c:1", "soon".into()),
            ("a:x", "1".into()),
            ("other", "x".into()),
        ]);
        let status = summarise(&fields, 1_000, AWAY_AFTER);
        assert_eq!(status.state, PresenceState::Offline);
    }
}
