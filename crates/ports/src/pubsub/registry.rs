//! Local listeners of pub/sub channels: how one process shares one subscription per
//! channel (one Redis connection in all) among all its live streams.
//!
//! Each listener has a bounded buffer. Dispatching never waits: a listener whose
//! buffer is full misses the frame and is marked lagged, and hears [`Heard::Lagged`]
//! once it has drained what it holds. So a slow client never holds up another, and
//! is never skipped silently: streams with positions catch up from their history;
//! others end (see `Ports::live`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

/// Frames a listener may hold before it counts as lagging.
pub const BUFFER: usize = 256;

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A message published on one of its channels.
    Frame(String),
    /// Messages may have been missed since the last frame: the buffer overflowed, or
    /// the connection to the broker was lost and made again.
    Lagged,
}

#[derive(Clone)]
struct Listener {
    id: u64,
    tx: mpsc::Sender<Heard>,
    lagged: Arc<AtomicBool>,
}

impl Listener {
    /// Hands `heard` over, or marks the listener lagged when its buffer is full (it
    /// then holds frames, so it is awake and will see the mark once they are read).
    fn hand(&self, heard: Heard) {
        if self.tx.try_send(heard).is_err() {
            self.lagged.store(true, Ordering::Release);
        }
    }
}

/// Called, under the registry's lock, with channels that lost their last listener
/// (to unsubscribe upstream).
type OnEmpty = Box<dyn Fn(Vec<String>) + Send + Sync>;

/// Channels and their local listeners.
pub struct Registry {
    channels: Mutex<HashMap<String, Vec<Listener>>>,
    next: AtomicU64,
    on_empty: OnEmpty,
}

impl Registry {
    /// A registry that calls `on_empty` with channels nobody listens to any more.
    pub fn new(on_empty: impl Fn(Vec<String>) + Send + Sync + 'static) -> Arc<Registry> {
        Arc::new(Registry {
            channels: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            on_empty: Box::new(on_empty),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Listener>>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a listener of `channels` and returns its stream. `upstream` is called,
    /// under the registry's lock (so subscribing and unsubscribing upstream keep
    /// their order), with the channels nobody listened to before.
    pub fn listen(
        self: &Arc<Self>,
        channels: &[String],
        upstream: impl FnOnce(Vec<String>),
    ) -> Listening {
        let (tx, rx) = mpsc::channel(BUFFER);
        let listener = Listener {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            tx,
            lagged: Arc::new(AtomicBool::new(false)),
        };
        let mut fresh = Vec::new();
        let mut map = self.lock();
        for channel in channels {
            let entry = map.entry(channel.clone()).or_default();
            if entry.is_empty() {
                fresh.push(channel.clone());
            }
            if !entry.iter().any(|l| l.id == listener.id) {
                entry.push(listener.clone());
            }
        }
        upstream(fresh);
        drop(map);
        Listening {
            registry: Arc::clone(self),
            id: listener.id,
            channels: channels.to_vec(),
            lagged: listener.lagged,
            rx,
        }
    }

    /// Hands `message` to every listener of `channel`, never waiting; returns how
    /// many listen.
    pub fn dispatch(&self, channel: &str, message: &str) -> usize {
        let map = self.lock();
        let Some(listeners) = map.get(channel) else {
            return 0;
        };
        for listener in listeners {
            listener.hand(Heard::Frame(message.to_string()));
        }
        listeners.len()
    }

    /// Marks every listener lagged (the connection was lost: frames may be gone).
    pub fn lag_all(&self) {
        let mut told = std::collections::HashSet::new();
        for listeners in self.lock().values() {
            for listener in listeners {
                // Through the buffer, so a listener waiting on it wakes up.
                if told.insert(listener.id) {
                    listener.hand(Heard::Lagged);
                }
            }
        }
    }

    /// Every channel someone listens to (to subscribe again after a reconnect).
    pub fn channels(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn remove(&self, id: u64, channels: &[String]) {
        let mut emptied = Vec::new();
        let mut map = self.lock();
        for channel in channels {
            if let Some(listeners) = map.get_mut(channel) {
                listeners.retain(|l| l.id != id);
                if listeners.is_empty() {
                    map.remove(channel);
                    emptied.push(channel.clone());
                }
            }
        }
        if !emptied.is_empty() {
            (self.on_empty)(emptied);
        }
    }
}

/// One listener's stream; leaves the registry when dropped.
pub struct Listening {
    registry: Arc<Registry>,
    id: u64,
    channels: Vec<String>,
    lagged: Arc<AtomicBool>,
    rx: mpsc::Receiver<Heard>,
}

impl Stream for Listening {
    type Item = Heard;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Heard>> {
        // What is buffered came before anything missed: hand it out first.
        if let Ok(heard) = self.rx.try_recv() {
            return Poll::Ready(Some(heard));
        }
        if self.lagged.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(Heard::Lagged));
        }
        self.rx.poll_recv(cx)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.registry.remove(self.id, &self.channels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_full_listener_is_told_it_lagged_and_others_are_not_held_up() {
        let emptied = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&emptied);
        let registry = Registry::new(move |c| {
            counter.fetch_add(c.len(), Ordering::SeqCst);
        });
        let channels = vec!["a".to_string()];
        let mut slow = registry.listen(&channels, |fresh| assert_eq!(fresh, ["a"]));
        let mut quick = registry.listen(&channels, |fresh| {
            assert!(fresh.is_empty(), "already subscribed")
        });
        for i in 0..BUFFER + 10 {
            assert_eq!(registry.dispatch("a", &i.to_string()), 2);
            // The quick one keeps up.
            assert_eq!(quick.next().await, Some(Heard::Frame(i.to_string())));
        }
        for i in 0..BUFFER {
            assert_eq!(slow.next().await, Some(Heard::Frame(i.to_string())));
        }
        assert_eq!(slow.next().await, Some(Heard::Lagged), "told, not skipped");
        registry.dispatch("a", "next");
        assert_eq!(slow.next().await, Some(Heard::Frame("next".into())));
        drop(slow);
        assert_eq!(emptied.load(Ordering::SeqCst), 0, "quick still listens");
        drop(quick);
        assert_eq!(emptied.load(Ordering::SeqCst), 1);
        assert!(registry.channels().is_empty());
    }
}
