//! Caps counted over every instance: each thing counted (a subscription, a client
//! socket) holds a leased place under its key in the pub/sub store
//! ([`PubSub::hold`]); one task per process renews every place the process holds, a
//! place is given back when dropped, and the places of an instance that died free
//! themselves when their leases run out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{PubSub, PubSubError};

/// How long a place lasts unless renewed; renewed every third of it.
pub const PLACE_LEASE: Duration = Duration::from_secs(60);

/// The places this process holds in one store.
pub struct Places {
    pubsub: Arc<dyn PubSub>,
    /// Holder id → key.
    held: Mutex<HashMap<Uuid, String>>,
}

/// One place, given back when dropped.
pub struct Place {
    places: Weak<Places>,
    key: String,
    holder: Uuid,
}

impl Places {
    /// Places in `pubsub`, renewed until `shutdown` (or until the last handle to them
    /// is dropped).
    pub fn new(pubsub: Arc<dyn PubSub>, shutdown: CancellationToken) -> Arc<Places> {
        let places = Arc::new(Places {
            pubsub,
            held: Mutex::default(),
        });
        let weak = Arc::downgrade(&places);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PLACE_LEASE / 3);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = every.tick() => {}
                }
                let Some(places) = weak.upgrade() else { return };
                places.renew().await;
            }
        });
        places
    }

    /// Takes a place under `key` if fewer than `cap` are held there, on any instance.
    pub async fn take(
        self: &Arc<Self>,
        key: &str,
        cap: usize,
    ) -> Result<Option<Place>, PubSubError> {
        let holder = Uuid::now_v7();
        if !self
            .pubsub
            .hold(key, &holder.to_string(), cap, PLACE_LEASE)
            .await?
        {
            return Ok(None);
        }
        self.lock().insert(holder, key.to_string());
        Ok(Some(Place {
            places: Arc::downgrade(self),
            key: key.to_string(),
            holder,
        }))
    }

    /// Renews every place held here, in round trips of up to 500.
    async fn renew(&self) {
        let held: Vec<(String, String)> = self
            .lock()
            .iter()
            .map(|(holder, key)| (key.clone(), holder.to_string()))
            .collect();
        for chunk in held.chunks(500) {
            if let Err(err) = self.pubsub.renew(chunk, PLACE_LEASE).await {
                tracing::warn!(%err, "cannot renew places; retrying");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, String>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let Some(places) = self.places.upgrade() else {
            return;
        };
        places.lock().remove(&self.holder);
        // Given up in the background; should that fail, the lease runs out.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (key, holder) = (std::mem::take(&mut self.key), self.holder.to_string());
            runtime.spawn(async move {
                if let Err(err) = places.pubsub.release(&key, &holder).await {
                    tracing::warn!(%err, "cannot give up a place");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::memory::MemoryPubSub;

    #[tokio::test]
    async fn a_cap_holds_over_two_sets_of_places_and_a_dropped_place_frees_one() {
        let store: Arc<dyn PubSub> = Arc::new(MemoryPubSub::new());
        let shutdown = CancellationToken::new();
        let (a, b) = (
            Places::new(Arc::clone(&store), shutdown.clone()),
            Places::new(Arc::clone(&store), shutdown.clone()),
        );
        let first = a.take("k", 2).await.unwrap().expect("first place");
        let _second = b.take("k", 2).await.unwrap().expect("second place");
        assert!(
            a.take("k", 2).await.unwrap().is_none(),
            "cap of 2 over both"
        );
        assert!(a.take("other", 2).await.unwrap().is_some(), "keys apart");
        drop(first);
        let mut again = None;
        for _ in 0..100 {
            again = b.take("k", 2).await.unwrap();
            if again.is_some() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(again.is_some(), "the dropped place is free again");
        shutdown.cancel();
    }
}
