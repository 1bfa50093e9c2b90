//! The frames the notification domain pushes to a user's notification channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Channel;

/// A notification just stored for its user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationFrame {
    pub id: Uuid,
    /// `message` or `friend_request`.
    pub kind: String,
    /// What the client shows; its fields depend on `kind`.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The channel a user's new notifications are pushed on.
pub fn channel(user: Uuid) -> Channel<NotificationFrame> {
    Channel::named(format!("notifications:{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_frames_round_trip_on_their_channel() {
        let channel = channel(Uuid::now_v7());
        let frame = NotificationFrame {
            id: Uuid::now_v7(),
            kind: "message".into(),
            payload: serde_json::json!({ "seq": 1 }),
            created_at: Utc::now(),
        };
        assert_eq!(channel.decode(&channel.encode(&frame)), Some(frame));
        assert_eq!(channel.decode("{}"), None);
    }
}
