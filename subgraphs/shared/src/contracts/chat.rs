//! The chat domain's events (topic `chat`, keyed by conversation) and the frames it
//! pushes to each member's channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Channel, Event};

/// A message was stored with its `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSent {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Every member at the time of sending, the sender included.
    pub member_ids: Vec<Uuid>,
}

impl Event for MessageSent {
    const TYPE: &'static str = "chat.message.sent";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A conversation was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationCreated {
    pub conversation_id: Uuid,
    /// `direct` or `group`.
    pub kind: String,
    pub member_ids: Vec<Uuid>,
}

impl Event for ConversationCreated {
    const TYPE: &'static str = "chat.conversation.created";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// What chat pushes on a user's channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatFrame {
    /// A message in one of the user's conversations.
    Message { message: MessageSent },
}

/// The channel of everything chat addresses to one user.
pub fn user_channel(user: Uuid) -> Channel<ChatFrame> {
    Channel::named(format!("user:{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::testing::round_trips;

    fn message() -> MessageSent {
        MessageSent {
            message_id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            seq: 7,
            sender_id: Uuid::now_v7(),
            body: "hi".into(),
            created_at: Utc::now(),
            member_ids: vec![Uuid::now_v7()],
        }
    }

    #[test]
    fn every_chat_event_round_trips() {
        round_trips(message());
        round_trips(ConversationCreated {
            conversation_id: Uuid::now_v7(),
            kind: "direct".into(),
            member_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
        });
    }

    #[test]
    fn chat_frames_round_trip_on_their_channel() {
        let channel = user_channel(Uuid::now_v7());
        assert!(channel.name().starts_with("user:"));
        let frame = ChatFrame::Message { message: message() };
        let text = channel.encode(&frame);
        assert!(text.contains(r#""type":"message""#), "{text}");
        assert_eq!(channel.decode(&text), Some(frame));
        assert_eq!(channel.decode(r#"{"type":"nonsense"}"#), None);
    }
}
