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
    pub kind: NotificationKind,
    /// What the client shows; its fields depend on `kind`.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// What a notification is about (stored, and on the wire, in snake case:
/// `message`, `friend_request`, `friend_request_accepted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(feature = "sea-orm", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A message in one of the user's conversations.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "message"))]
    Message,
    /// Someone asked the user to be friends.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "friend_request"))]
    FriendRequest,
    /// Someone accepted the user's friend request.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "friend_request_accepted"))]
    FriendRequestAccepted,
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
            kind: NotificationKind::Message,
            payload: serde_json::json!({ "seq": 1 }),
            created_at: Utc::now(),
        };
        assert_eq!(channel.decode(&channel.encode(&frame)), Some(frame));
        assert_eq!(channel.decode("{}"), None);
    }
}
