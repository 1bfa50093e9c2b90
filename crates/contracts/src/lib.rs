//! The contracts between domains: every event on the log and every frame on a pub/sub
//! channel is one serde type here, shared by the domain that writes it and every
//! domain that reads it, so the two can never drift apart.
//!
//! An event type names itself and its payload version ([`Event`]); decoding checks
//! both ([`Envelope::decode`]). To change a payload's shape, add a new
//! version beside the old one and keep reading the old one until the log holds no
//! more of it. A frame channel is typed by its frame ([`Channel`]).

pub mod auth;
pub mod chat;
pub mod notification;
pub mod presence;
pub mod profile;

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One kind of event: its `type` on the envelope, the payload version this code
/// writes and reads, and the key that keeps one aggregate's events in order.
pub trait Event: Serialize + DeserializeOwned {
    /// `domain.entity.verb`; the first segment is the topic.
    const TYPE: &'static str;
    /// The payload version this type describes (and writes).
    const VERSION: u32;
    /// Earlier versions this type also reads: ones whose payloads are a subset of
    /// this one's, every field added since having a serde default. A consumer reads
    /// them side by side with the current one until the log holds no more of them.
    const READS: &'static [u32] = &[];
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

/// A frame kept in a replayable stream: a channel whose entries are numbered, kept
/// for a window and replayed after a reconnect (the pub/sub port's `stream`; read
/// through `echostream_service::stream`).
pub trait StreamFrame: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// What names an ephemeral frame that holds until refreshed or ended (who types
    /// where); `()` for streams without any.
    type Lease: Copy + Eq + std::hash::Hash + Send + Sync + 'static;

    /// The key under which the frame takes the place of the stream's earlier frame
    /// of the same key: a frame read as the current state of what it names carries
    /// everything an earlier one of the same thing did.
    fn supersedes(&self) -> Option<String> {
        None
    }

    /// For an ephemeral frame that holds until refreshed: its lease, and whether it
    /// starts (or refreshes) it or ends it.
    fn lease(&self) -> Option<(Self::Lease, bool)> {
        None
    }

    /// The frame a reader hands out by itself when a lease lapsed unrefreshed (the
    /// writer may have gone without ending it).
    fn lapsed(lease: Self::Lease) -> Option<Self> {
        let _ = lease;
        None
    }
}

/// One event, as stored on the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique and time-ordered (UUIDv7); consumers deduplicate on it.
    pub id: Uuid,
    /// What happened, `domain.entity.verb` (e.g. `chat.message.sent`).
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    /// The user who caused it, when there is one.
    pub actor: Option<Uuid>,
    /// Partition key: the aggregate whose events must stay in order.
    pub key: String,
    /// Version of the payload's shape for this `type`.
    pub version: u32,
    pub payload: serde_json::Value,
    /// W3C `traceparent` of the span that wrote the event, then of the relay span
    /// that published it (on Kafka, also the message's `traceparent` header); absent
    /// when not traced. The outbox fills it in when it takes the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

impl Envelope {
    /// `event`, happening now, caused by `actor`: the one way domain code makes an
    /// envelope (its type, version and key come from the contract).
    pub fn of<E: Event>(event: &E, actor: Option<Uuid>) -> Envelope {
        Envelope {
            id: Uuid::now_v7(),
            kind: E::TYPE.to_string(),
            occurred_at: Utc::now(),
            actor,
            key: event.key(),
            version: E::VERSION,
            payload: serde_json::to_value(event).expect("events serialize"),
            trace: None,
        }
    }

    /// The payload as `E` when this is an `E` event; `None` when it is another type.
    /// A version this code does not know, or a payload that does not match, is an
    /// error: the consumer parks the event rather than guess.
    pub fn decode<E: Event>(&self) -> Result<Option<E>, DecodeError> {
        if self.kind != E::TYPE {
            return Ok(None);
        }
        if self.version != E::VERSION && !E::READS.contains(&self.version) {
            return Err(DecodeError(format!(
                "{} version {} (this build reads version {})",
                self.kind,
                self.version,
                E::VERSION
            )));
        }
        serde_json::from_value(self.payload.clone())
            .map(Some)
            .map_err(|e| DecodeError(format!("{} payload: {e}", self.kind)))
    }

    /// A version-1 event of any type with any payload, happening now: for tests and
    /// tools that must write what no contract describes (domain code uses [`Envelope::of`]).
    pub fn new(
        kind: impl Into<String>,
        actor: Option<Uuid>,
        key: impl Into<String>,
        payload: serde_json::Value,
    ) -> Envelope {
        Envelope {
            id: Uuid::now_v7(),
            kind: kind.into(),
            occurred_at: Utc::now(),
            actor,
            key: key.into(),
            version: 1,
            payload,
            trace: None,
        }
    }

    /// The topic an event belongs on: its type's first segment.
    pub fn topic(&self) -> &str {
        self.kind.split('.').next().unwrap_or("")
    }
}

/// An event that does not decode as the type asked for: another version of it, or
/// a payload of another shape. The consumer parks it rather than guess.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

#[cfg(test)]
pub(crate) mod testing {
    use super::Envelope;
    use super::Event;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state enum keeps the spelling that events already in the log, and rows
    /// already stored, carry; the stored spelling is the wire spelling.
    #[test]
    fn state_enums_keep_their_spellings() {
        use chat::ConversationKind;
        use notification::NotificationKind;
        use profile::{Audience, ImageKind};
        fn wire<T: serde::Serialize>(value: T) -> String {
            serde_json::to_value(value)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        }
        let spellings = [
            (wire(ConversationKind::Direct), "direct"),
            (wire(ConversationKind::Group), "group"),
            (wire(Audience::Everyone), "everyone"),
            (wire(Audience::Friends), "friends"),
            (wire(Audience::Nobody), "nobody"),
            (wire(ImageKind::Avatar), "avatar"),
            (wire(ImageKind::Cover), "cover"),
            (wire(NotificationKind::Message), "message"),
            (wire(NotificationKind::FriendRequest), "friend_request"),
            (
                wire(NotificationKind::FriendRequestAccepted),
                "friend_request_accepted",
            ),
        ];
        for (got, want) in spellings {
            assert_eq!(got, want);
        }
        #[cfg(feature = "sea-orm")]
        {
            use sea_orm::{ActiveEnum, Iterable};
            fn stored_as_sent<T: ActiveEnum<Value = String> + Iterable + serde::Serialize>() {
                for value in T::iter() {
                    assert_eq!(value.to_value(), wire(&value));
                }
            }
            stored_as_sent::<ConversationKind>();
            stored_as_sent::<Audience>();
            stored_as_sent::<NotificationKind>();
        }
    }

    #[test]
    fn topic_is_the_domain_of_the_type() {
        let e = Envelope::new("chat.message.sent", None, "c1", serde_json::json!({}));
        assert_eq!(e.topic(), "chat");
    }

    #[test]
    fn envelopes_round_trip_as_json_with_a_type_field() {
        let e = Envelope::new(
            "auth.user.registered",
            Some(Uuid::now_v7()),
            "k",
            serde_json::json!({"a": 1}),
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "auth.user.registered");
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
