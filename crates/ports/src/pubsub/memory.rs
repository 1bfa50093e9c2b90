//! In-process pub/sub and ephemeral keys for the embedded profile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::registry::Registry;
use super::stream::MemoryStreams;
use super::{Heard, History, PubSub, PubSubError, Retention};

enum Value {
    Text(String),
    Hash(HashMap<String, String>),
}

struct Entry {
    value: Value,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

/// Channels are a [`Registry`] of listeners; keys live in a map and expire lazily on
/// read; streams are [`MemoryStreams`].
pub struct MemoryPubSub {
    channels: Arc<Registry>,
    keys: Mutex<HashMap<String, Entry>>,
    streams: Mutex<MemoryStreams>,
    /// Leased places by key, then holder: when each lease ends.
    places: Mutex<HashMap<String, HashMap<String, Instant>>>,
}

impl Default for MemoryPubSub {
    fn default() -> Self {
        MemoryPubSub {
            channels: Registry::new(|_| {}),
            keys: Mutex::new(HashMap::new()),
            streams: Mutex::new(MemoryStreams::default()),
            places: Mutex::new(HashMap::new()),
        }
    }
}

impl MemoryPubSub {
    /// An empty in-process pub/sub.
    pub fn new() -> MemoryPubSub {
        MemoryPubSub::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        let mut keys = self.keys.lock().expect("pubsub lock poisoned");
        // Sweep now and then so expired keys do not pile up.
        if keys.len() > 10_000 {
            let now = Instant::now();
            keys.retain(|_, e| e.live(now));
        }
        keys
    }
}

fn hash_of(keys: &HashMap<String, Entry>, key: &str, now: Instant) -> HashMap<String, String> {
    match keys.get(key) {
        Some(e) if e.live(now) => match &e.value {
            Value::Hash(map) => map.clone(),
            Value::Text(_) => HashMap::new(),
        },
        _ => HashMap::new(),
    }
}

#[async_trait]
impl PubSub for MemoryPubSub {
    async fn publish(&self, channel: &str, message: &str) -> Result<(), PubSubError> {
        self.channels.dispatch(channel, message);
        Ok(())
    }

    async fn listen(&self, channels: &[String]) -> Result<BoxStream<'static, Heard>, PubSubError> {
        Ok(self.channels.listen(channels, |_| {}).boxed())
    }

    async fn append(
        &self,
        streams: &[String],
        dedupe: &str,
        data: &str,
        supersedes: Option<&str>,
        keep: Retention,
    ) -> Result<(), PubSubError> {
        // Dispatched under the lock, so live frames leave in offset order.
        let mut kept = self.streams.lock().expect("pubsub lock poisoned");
        for (channel, frame) in kept.append(streams, dedupe, data, supersedes, keep) {
            self.channels.dispatch(&channel, &frame);
        }
        Ok(())
    }

    async fn restart_streams(
        &self,
        streams: &[String],
        keep: Retention,
    ) -> Result<(), PubSubError> {
        let mut kept = self.streams.lock().expect("pubsub lock poisoned");
        for (channel, frame) in kept.restart(streams, keep) {
            self.channels.dispatch(&channel, &frame);
        }
        Ok(())
    }

    async fn history(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
        keep: Retention,
    ) -> Result<History, PubSubError> {
        let mut kept = self.streams.lock().expect("pubsub lock poisoned");
        Ok(kept.history(stream, after, limit, keep))
    }

    async fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, PubSubError> {
        let now = Instant::now();
        let entry = Entry {
            value: Value::Text(value.to_string()),
            expires: Some(now + ttl),
        };
        let before = self.keys().insert(key.to_string(), entry);
        Ok(before.and_then(|e| match e.value {
            Value::Text(v) if e.live(now) => Some(v),
            _ => None,
        }))
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), PubSubError> {
        let entry = Entry {
            value: Value::Text(value.to_string()),
            expires: ttl.map(|t| Instant::now() + t),
        };
        self.keys().insert(key.to_string(), entry);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, PubSubError> {
        let now = Instant::now();
        Ok(self.keys().get(key).and_then(|e| match &e.value {
            Value::Text(v) if e.live(now) => Some(v.clone()),
            _ => None,
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), PubSubError> {
        self.keys().remove(key);
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<String>, PubSubError> {
        let now = Instant::now();
        Ok(self.keys().remove(key).and_then(|e| match e.value {
            Value::Text(v) if e.live(now) => Some(v),
            _ => None,
        }))
    }

    async fn increment(&self, key: &str, window: Duration) -> Result<(i64, u64), PubSubError> {
        let now = Instant::now();
        let mut keys = self.keys();
        let entry = keys
            .entry(key.to_string())
            .and_modify(|e| {
                if !e.live(now) {
                    e.value = Value::Text("0".into());
                    e.expires = Some(now + window);
                }
            })
            .or_insert_with(|| Entry {
                value: Value::Text("0".into()),
                expires: Some(now + window),
            });
        let count = match &entry.value {
            Value::Text(v) => v.parse::<i64>().unwrap_or(0) + 1,
            Value::Hash(_) => return Err(PubSubError(format!("{key} is not a counter"))),
        };
        entry.value = Value::Text(count.to_string());
        let left = entry
            .expires
            .map(|at| at.saturating_duration_since(now).as_secs_f64().ceil() as u64)
            .unwrap_or(0);
        Ok((count, left))
    }

    async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), PubSubError> {
        let now = Instant::now();
        let mut keys = self.keys();
        let entry = keys.entry(key.to_string()).or_insert_with(|| Entry {
            value: Value::Hash(HashMap::new()),
            expires: None,
        });
        if !entry.live(now) || !matches!(entry.value, Value::Hash(_)) {
            entry.value = Value::Hash(HashMap::new());
        }
        entry.expires = Some(now + ttl);
        if let Value::Hash(map) = &mut entry.value {
            map.insert(field.to_string(), value.to_string());
        }
        Ok(())
    }

    async fn hash_delete(&self, key: &str, field: &str) -> Result<(), PubSubError> {
        if let Some(Entry {
            value: Value::Hash(map),
            ..
        }) = self.keys().get_mut(key)
        {
            map.remove(field);
        }
        Ok(())
    }

    async fn hash_get_all(&self, key: &str) -> Result<HashMap<String, String>, PubSubError> {
        let now = Instant::now();
        Ok(hash_of(&self.keys(), key, now))
    }

    async fn hash_get_all_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<HashMap<String, String>>, PubSubError> {
        let now = Instant::now();
        let all = self.keys();
        Ok(keys.iter().map(|key| hash_of(&all, key, now)).collect())
    }

    async fn hold(
        &self,
        key: &str,
        holder: &str,
        cap: usize,
        lease: Duration,
    ) -> Result<bool, PubSubError> {
        let now = Instant::now();
        let mut places = self.places.lock().expect("pubsub lock poisoned");
        let held = places.entry(key.to_string()).or_default();
        held.retain(|_, until| *until > now);
        if held.contains_key(holder) || held.len() < cap {
            held.insert(holder.to_string(), now + lease);
            return Ok(true);
        }
        Ok(false)
    }

    async fn renew(&self, places: &[(String, String)], lease: Duration) -> Result<(), PubSubError> {
        let until = Instant::now() + lease;
        let mut all = self.places.lock().expect("pubsub lock poisoned");
        for (key, holder) in places {
            all.entry(key.clone())
                .or_default()
                .insert(holder.clone(), until);
        }
        Ok(())
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), PubSubError> {
        let mut places = self.places.lock().expect("pubsub lock poisoned");
        if let Some(held) = places.get_mut(key) {
            held.remove(holder);
            if held.is_empty() {
                places.remove(key);
            }
        }
        Ok(())
    }
}
