//! The one way a subgraph serves a live subscription: a slot counted against the
//! viewer's caps, and presence kept while it is open.
//!
//! Caps are per signed-in session (each client socket carries its own session's
//! token, so this is the cap per socket) and per user (over all sessions and
//! sockets), counted in this process. The gateway runs every subscription as its own
//! upstream stream (no de-duplication), so each one is counted here exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use uuid::Uuid;

use crate::Error;
use crate::presence::{self, Tracker};
use crate::token::Viewer;

/// Live subscriptions by session and by user, with their caps.
pub struct SubscriptionSlots {
    per_session: usize,
    per_user: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    sessions: HashMap<Uuid, usize>,
    users: HashMap<Uuid, usize>,
}

/// One live subscription's place; released when dropped (the stream ended or the
/// client went away).
pub struct Slot {
    slots: Arc<SubscriptionSlots>,
    user: Uuid,
    session: Uuid,
}

impl SubscriptionSlots {
    /// Caps of `per_session` and `per_user` live subscriptions.
    pub fn new(per_session: usize, per_user: usize) -> Arc<SubscriptionSlots> {
        Arc::new(SubscriptionSlots {
            per_session,
            per_user,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// Takes a slot for `viewer`, or refuses with `RATE_LIMITED` naming the cap.
    pub fn acquire(self: &Arc<Self>, viewer: &Viewer) -> Result<Slot, Error> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let session = counts
            .sessions
            .get(&viewer.session_id)
            .copied()
            .unwrap_or(0);
        if session >= self.per_session {
            return Err(Error::TooMany(format!(
                "this connection already has {session} live subscriptions \
                 (gateway.max_subscriptions_per_session); complete one first"
            )));
        }
        let user = counts.users.get(&viewer.user_id).copied().unwrap_or(0);
        if user >= self.per_user {
            return Err(Error::TooMany(format!(
                "you already have {user} live subscriptions over all your devices \
                 (gateway.max_subscriptions_per_user); complete one first"
            )));
        }
        *counts.sessions.entry(viewer.session_id).or_default() += 1;
        *counts.users.entry(viewer.user_id).or_default() += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            user: viewer.user_id,
            session: viewer.session_id,
        })
    }

    /// Live subscriptions of one session now.
    pub fn of_session(&self, session: Uuid) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.sessions.get(&session).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(|p| p.into_inner());
        release(&mut counts.sessions, self.session);
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
/// [`SubscriptionSlots::acquire`] before anything was subscribed): while open, it
/// keeps the slot and keeps its user online.
pub fn serve<S>(
    slot: Slot,
    tracker: Arc<Tracker>,
    viewer: Viewer,
    stream: S,
) -> impl Stream<Item = S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send,
{
    // The closure owns the slot, so it is released when the stream is dropped.
    presence::track(tracker, viewer, stream).map(move |item| {
        let _held = &slot;
        item
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(user: Uuid, session: Uuid) -> Viewer {
        Viewer {
            user_id: user,
            session_id: session,
            device_id: "d".into(),
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
}
