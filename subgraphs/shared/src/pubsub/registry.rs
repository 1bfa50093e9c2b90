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
    tx: mpsc::Sender<String>,
    lagged: Arc<AtomicBool>,
}

/// Called with channels that lost their last listener (to unsubscribe upstream).
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

    /// Adds a listener of `channels`; returns its stream and the channels nobody
    /// listened to before (to subscribe upstream before relying on the stream).
    pub fn listen(self: &Arc<Self>, channels: &[String]) -> (Listening, Vec<String>) {
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
        drop(map);
        let listening = Listening {
            registry: Arc::clone(self),
            id: listener.id,
            channels: channels.to_vec(),
            lagged: listener.lagged,
            rx,
        };
        (listening, fresh)
    }

    /// Hands `message` to every listener of `channel`, never waiting; returns how
    /// many listen.
    pub fn dispatch(&self, channel: &str, message: &str) -> usize {
        let map = self.lock();
        let Some(listeners) = map.get(channel) else {
            return 0;
        };
        for listener in listeners {
            if listener.tx.try_send(message.to_string()).is_err() {
                listener.lagged.store(true, Ordering::Release);
            }
        }
        listeners.len()
    }

    /// Marks every listener lagged (the connection was lost: frames may be gone).
    pub fn lag_all(&self) {
        for listeners in self.lock().values() {
            for listener in listeners {
                listener.lagged.store(true, Ordering::Release);
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
        drop(map);
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
    rx: mpsc::Receiver<String>,
}

impl Stream for Listening {
    type Item = Heard;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Heard>> {
        // What is buffered came before anything missed: hand it out first.
        if let Ok(frame) = self.rx.try_recv() {
            return Poll::Ready(Some(Heard::Frame(frame)));
        }
        if self.lagged.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(Heard::Lagged));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(frame)) => Poll::Ready(Some(Heard::Frame(frame))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
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
        let (mut slow, fresh) = registry.listen(&channels);
        assert_eq!(fresh, channels);
        let (mut quick, fresh) = registry.listen(&channels);
        assert!(fresh.is_empty(), "already subscribed");
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
