//! The one way a subgraph serves a live subscription: a slot counted against the
//! viewer's caps, presence kept while it is open, and an end when its session ends.
//!
//! Caps are per signed-in session (each client socket carries its own session's
//! token, so this is the cap per socket; a socket lives in one process, so this is
//! counted here) and per user (over all sessions and sockets, on every instance:
//! each subscription holds a leased place in the pub/sub store,
//! [`echostream_ports::pubsub::places`], renewed while it lives, so the places of an
//! instance that died free themselves within a minute). The gateway runs every subscription as
//! its own upstream stream (no de-duplication), so each one is counted exactly once.
//!
//! Authority is checked for as long as it is used, not only when the socket opened:
//! a subscription ends with `UNAUTHENTICATED` when its access token expires, and
//! within moments of its session ending (logout, revocation, a password change or
//! reset, account deletion). Auth announces an ended session on
//! [`crate::token::SESSIONS_ENDED`]; each process listens there once
//! ([`SubscriptionSlots::watch_ended_sessions`]) and ends that session's streams. If
//! the listener may have missed an announcement (its connection was lost), it asks
//! the store about every session it holds.
//!
//! **Memory of an idle subscription.** async-graphql keeps each subscription's
//! stream in one box for its whole life, and that box is as large as the largest
//! future the stream can hold: the resolver's opening future (async-graphql keeps its
//! space beside the stream), and the pending future of every `then`, `filter_map`
//! or `unfold` in it. So the futures a stream runs only now and then (its opening,
//! a membership or visibility check, a history read) are boxed where they are
//! awaited: an idle subscription then carries pointers, not their state (18.8 KB
//! less per `chatEvents` in a debug build; `docs/sizing.md`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::token::{SESSIONS_ENDED, Viewer, session_ended};
use echostream_ports::Error;
use echostream_ports::pubsub::places::{Place, Places};
use echostream_ports::pubsub::{Heard, PubSub};
use echostream_presence_tracking::Tracker;

/// Live subscriptions by session and by user, with their caps.
pub struct SubscriptionSlots {
    per_session: usize,
    per_user: usize,
    counts: Mutex<Counts>,
    /// Where the user cap is counted over every instance; `None` counts it in this
    /// process alone (unit tests).
    shared: Option<Arc<Places>>,
}

#[derive(Default)]
struct Counts {
    sessions: HashMap<Uuid, Session>,
    users: HashMap<Uuid, usize>,
}

/// The key of a user's places in the shared count.
fn places_key(user: Uuid) -> String {
    format!("subscriptions:{user}")
}

/// A session with live subscriptions in this process.
struct Session {
    live: usize,
    /// Cancelled when the session ends: every one of its streams ends.
    ended: CancellationToken,
}

/// One live subscription's place; released when dropped (the stream ended or the
/// client went away).
pub struct Slot {
    slots: Arc<SubscriptionSlots>,
    user: Uuid,
    session: Uuid,
    ended: CancellationToken,
    /// This slot's place in the shared count, once taken (given back when dropped).
    place: Option<Place>,
}

impl SubscriptionSlots {
    /// Caps of `per_session` and `per_user` live subscriptions.
    pub fn new(per_session: usize, per_user: usize) -> Arc<SubscriptionSlots> {
        Arc::new(SubscriptionSlots {
            per_session,
            per_user,
            counts: Mutex::new(Counts::default()),
            shared: None,
        })
    }

    /// Caps as [`SubscriptionSlots::new`], the user cap counted in `pubsub` over every
    /// instance; the places this process holds are renewed until `shutdown`.
    pub fn shared(
        per_session: usize,
        per_user: usize,
        pubsub: Arc<dyn PubSub>,
        shutdown: CancellationToken,
    ) -> Arc<SubscriptionSlots> {
        Arc::new(SubscriptionSlots {
            per_session,
            per_user,
            counts: Mutex::new(Counts::default()),
            shared: Some(Places::new(pubsub, shutdown)),
        })
    }

    fn user_cap_reached(&self, held: usize) -> Error {
        Error::TooMany(format!(
            "you already have {held} live subscriptions over all your devices \
             (gateway.limits.max_subscriptions_per_user); complete one first"
        ))
    }

    /// Takes a slot for `viewer`, or refuses with `RATE_LIMITED` naming the cap.
    pub fn acquire(self: &Arc<Self>, viewer: &Viewer) -> Result<Slot, Error> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let session = counts
            .sessions
            .get(&viewer.session_id)
            .map_or(0, |s| s.live);
        if session >= self.per_session {
            return Err(Error::TooMany(format!(
                "this connection already has {session} live subscriptions \
                 (gateway.limits.max_subscriptions_per_session); complete one first"
            )));
        }
        let user = counts.users.get(&viewer.user_id).copied().unwrap_or(0);
        if user >= self.per_user {
            return Err(self.user_cap_reached(user));
        }
        let entry = counts
            .sessions
            .entry(viewer.session_id)
            .or_insert_with(|| Session {
                live: 0,
                ended: CancellationToken::new(),
            });
        entry.live += 1;
        let ended = entry.ended.clone();
        *counts.users.entry(viewer.user_id).or_default() += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            user: viewer.user_id,
            session: viewer.session_id,
            ended,
            place: None,
        })
    }

    /// Takes a slot for `viewer` as [`SubscriptionSlots::acquire`] does, then makes
    /// sure its session has not ended meanwhile (an end announced before the slot
    /// was taken would otherwise go unheard): `UNAUTHENTICATED` if it has, or if the
    /// token has expired.
    pub async fn open(
        self: &Arc<Self>,
        viewer: &Viewer,
        pubsub: &dyn PubSub,
    ) -> Result<Slot, Error> {
        if viewer.authority_ends_at() <= chrono::Utc::now().timestamp() {
            return Err(expired());
        }
        let mut slot = self.acquire(viewer)?;
        if let Some(shared) = &self.shared {
            let key = places_key(viewer.user_id);
            match shared.take(&key, self.per_user).await? {
                Some(place) => slot.place = Some(place),
                None => return Err(self.user_cap_reached(self.per_user)),
            }
        }
        if session_ended(pubsub, viewer.session_id).await? {
            return Err(ended());
        }
        Ok(slot)
    }

    /// Live subscriptions of one session now.
    pub fn of_session(&self, session: Uuid) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.sessions.get(&session).map_or(0, |s| s.live)
    }

    /// Ends every live subscription of `session` in this process.
    pub fn end(&self, session: Uuid) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = counts.sessions.get(&session) {
            s.ended.cancel();
        }
    }

    fn live_sessions(&self) -> Vec<Uuid> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.sessions.keys().copied().collect()
    }

    /// Listens for ended sessions on `pubsub` until `shutdown` and ends their
    /// subscriptions. Whenever the listener may have missed an announcement (it
    /// could not listen, or its connection was lost and made again), it asks the
    /// store about each session with live subscriptions here.
    pub fn watch_ended_sessions(
        self: &Arc<Self>,
        pubsub: Arc<dyn PubSub>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let slots = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let heard = pubsub.listen(&[SESSIONS_ENDED.to_string()]).await;
                // Listening (or not) from here: what was announced before is asked.
                slots.recheck(pubsub.as_ref()).await;
                let mut heard = match heard {
                    Ok(heard) => heard,
                    Err(err) => {
                        tracing::warn!(%err, "cannot hear ended sessions yet; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                loop {
                    let next = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        next = heard.next() => next,
                    };
                    match next {
                        Some(Heard::Frame(text)) => match Uuid::parse_str(text.trim()) {
                            Ok(session) => slots.end(session),
                            Err(_) => tracing::warn!(%text, "not a session id"),
                        },
                        Some(Heard::Lagged) => slots.recheck(pubsub.as_ref()).await,
                        None => break,
                    }
                }
            }
        })
    }

    /// Ends the live sessions that the store says have ended.
    async fn recheck(&self, pubsub: &dyn PubSub) {
        for session in self.live_sessions() {
            match session_ended(pubsub, session).await {
                Ok(true) => self.end(session),
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%err, "cannot ask whether sessions ended");
                    return;
                }
            }
        }
    }
}

fn ended() -> Error {
    Error::Unauthenticated("this session has ended; sign in again".into())
}

fn expired() -> Error {
    Error::Unauthenticated("the access token has expired; refresh it and subscribe again".into())
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = counts.sessions.get_mut(&self.session) {
            s.live -= 1;
            if s.live == 0 {
                counts.sessions.remove(&self.session);
            }
        }
        release(&mut counts.users, self.user);
    }
}

fn release(map: &mut HashMap<Uuid, usize>, key: Uuid) {
    if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

/// Serves `stream` as the live subscription that holds `slot` (taken with
/// [`SubscriptionSlots::open`] before anything was subscribed): while open, it
/// keeps the slot and keeps its user online. When the session ends or the token
/// expires, it yields `UNAUTHENTICATED` once and ends.
pub fn serve<S>(
    slot: Slot,
    tracker: Arc<Tracker>,
    viewer: Viewer,
    stream: S,
) -> impl Stream<Item = Result<S::Item, async_graphql::Error>>
where
    S: Stream + Send + 'static,
    S::Item: Send,
{
    let left = (viewer.authority_ends_at() - chrono::Utc::now().timestamp()).max(0) as u64;
    let ending = slot.ended.clone();
    let end = async move {
        tokio::select! {
            _ = ending.cancelled() => ended(),
            _ = tokio::time::sleep(Duration::from_secs(left)) => expired(),
        }
    };
    let items = echostream_presence_tracking::track(tracker, viewer.device(), stream).map(Ok);
    async_stream::stream! {
        // The stream owns the slot, so it is released when the stream is dropped.
        let _held = slot;
        let mut end = std::pin::pin!(end);
        let mut items = std::pin::pin!(items);
        loop {
            tokio::select! {
                biased;
                error = &mut end => {
                    yield Err(async_graphql::ErrorExtensions::extend(&error));
                    break;
                }
                item = items.next() => match item {
                    Some(item) => yield item,
                    None => break,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(user: Uuid, session: Uuid) -> Viewer {
        Viewer {
            user_id: user,
            session_id: session,
            device_id: "d".into(),
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn a_session_gets_its_cap_then_rate_limited_until_one_ends() {
        let slots = SubscriptionSlots::new(2, 10);
        let me = viewer(Uuid::now_v7(), Uuid::now_v7());
        let a = slots.acquire(&me).unwrap();
        let _b = slots.acquire(&me).unwrap();
        let refused = slots.acquire(&me).err().unwrap();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(
            refused
                .to_string()
                .contains("max_subscriptions_per_session")
        );
        drop(a);
        assert_eq!(slots.of_session(me.session_id), 1);
        assert!(slots.acquire(&me).is_ok());
    }

    #[test]
    fn the_user_cap_spans_sessions() {
        let slots = SubscriptionSlots::new(5, 3);
        let user = Uuid::now_v7();
        let held: Vec<Slot> = (0..3)
            .map(|_| slots.acquire(&viewer(user, Uuid::now_v7())).unwrap())
            .collect();
        let refused = slots.acquire(&viewer(user, Uuid::now_v7())).err().unwrap();
        assert!(refused.to_string().contains("max_subscriptions_per_user"));
        // Another user is not affected.
        assert!(
            slots
                .acquire(&viewer(Uuid::now_v7(), Uuid::now_v7()))
                .is_ok()
        );
        drop(held);
        assert!(slots.acquire(&viewer(user, Uuid::now_v7())).is_ok());
    }

    #[tokio::test]
    async fn the_user_cap_spans_instances_sharing_a_store() {
        let store: Arc<dyn PubSub> =
            Arc::new(echostream_ports::pubsub::memory::MemoryPubSub::new());
        let stop = CancellationToken::new();
        let a = SubscriptionSlots::shared(5, 3, Arc::clone(&store), stop.clone());
        let b = SubscriptionSlots::shared(5, 3, Arc::clone(&store), stop.clone());
        let user = Uuid::now_v7();
        let on_a = viewer(user, Uuid::now_v7());
        let on_b = viewer(user, Uuid::now_v7());
        let first = a.open(&on_a, store.as_ref()).await.unwrap();
        let _second = a.open(&on_a, store.as_ref()).await.unwrap();
        let _third = b.open(&on_b, store.as_ref()).await.unwrap();
        // B holds one itself, yet the fourth is refused: the user holds three.
        let refused = b.open(&on_b, store.as_ref()).await.err().unwrap();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(refused.to_string().contains("max_subscriptions_per_user"));
        // One ended on A: B may open one (once A has given its place up).
        drop(first);
        let mut reopened = None;
        for _ in 0..100 {
            if let Ok(slot) = b.open(&on_b, store.as_ref()).await {
                reopened = Some(slot);
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(
            reopened.is_some(),
            "a freed place is free on every instance"
        );
        stop.cancel();
    }
}
