//! The contracts between domains: every event on the log and every frame on a pub/sub
//! channel is one serde type here, shared by the domain that writes it and every
//! domain that reads it, so the two can never drift apart.
//!
//! An event type names itself and its payload version ([`Event`]); decoding checks
//! both ([`crate::events::Envelope::decode`]). To change a payload's shape, add a new
//! version beside the old one and keep reading the old one until the log holds no
//! more of it. A frame channel is typed by its frame ([`Channel`]).

pub mod auth;
pub mod chat;
pub mod notification;
pub mod presence;
pub mod profile;

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One kind of event: its `type` on the envelope, the payload version this code
/// writes and reads, and the key that keeps one aggregate's events in order.
pub trait Event: Serialize + DeserializeOwned {
    /// `domain.entity.verb`; the first segment is the topic.
    const TYPE: &'static str;
    /// The payload version this type describes.
    const VERSION: u32;
    /// The partition key: the aggregate whose events must stay in order.
    fn key(&self) -> String;
}

/// A pub/sub channel that carries frames of type `F`.
pub struct Channel<F> {
    name: String,
    frame: PhantomData<fn() -> F>,
}

impl<F> Channel<F> {
    pub(crate) fn named(name: String) -> Channel<F> {
        Channel {
            name,
            frame: PhantomData,
        }
    }

    /// The channel's name on the pub/sub port.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<F: Serialize + DeserializeOwned> Channel<F> {
    /// `frame` as the channel carries it.
    pub fn encode(&self, frame: &F) -> String {
        serde_json::to_string(frame).expect("frames serialize")
    }

    /// A frame read from the channel; `None` (logged) when it is not one.
    pub fn decode(&self, text: &str) -> Option<F> {
        serde_json::from_str(text)
            .inspect_err(|err| tracing::warn!(channel = %self.name, %err, "undecodable frame"))
            .ok()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Event;
    use crate::events::Envelope;

    /// Asserts that `event` survives the trip through an envelope and JSON, and that
    /// its type and version are checked on the way back.
    pub fn round_trips<E: Event + PartialEq + std::fmt::Debug>(event: E) {
        assert!(E::TYPE.starts_with(&format!("{}.", E::TYPE.split('.').next().unwrap())));
        let envelope = Envelope::of(&event, None);
        assert_eq!(envelope.kind, E::TYPE);
        assert_eq!(envelope.version, E::VERSION);
        assert_eq!(envelope.key, event.key());
        let json = serde_json::to_string(&envelope).unwrap();
        let back: Envelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back.decode::<E>().unwrap(), Some(event));
        let mut newer = back.clone();
        newer.version = E::VERSION + 1;
        assert!(
            newer.decode::<E>().is_err(),
            "an unknown version is refused"
        );
        let mut other = back;
        other.kind = "other.thing.happened".into();
        assert_eq!(other.decode::<E>().unwrap(), None);
    }
}
