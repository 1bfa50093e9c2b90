//! The notification domain's frames (a user's live feed) and events (topic
//! `notification`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Channel, Event};

/// An email digest of a user's unseen notifications is due. Auth, which alone holds
/// addresses, mails it to the user's verified address, once per `digest_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestDue {
    pub digest_id: Uuid,
    pub user_id: Uuid,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The signed one-click unsubscribe link (RFC 8058): it needs no sign-in.
    pub unsubscribe_url: String,
}

impl Event for DigestDue {
    const TYPE: &'static str = "notification.digest.due";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}

/// A notification of the user's was made or changed (collapsed into, resolved,
/// read): subscribers read it as it is now by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationFrame {
    pub id: Uuid,
    pub kind: NotificationKind,
    /// What the client shows; its fields depend on `kind`.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl crate::StreamFrame for NotificationFrame {
    type Lease = ();

    /// A reader reads an item as it is now, so an item's newest change tells all
    /// its earlier ones did: each item holds one place in a feed's window.
    fn supersedes(&self) -> Option<String> {
        Some(format!("notification:{}", self.id))
    }
}

/// What a notification is about (stored, and on the wire, in snake case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(feature = "sea-orm", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// New messages in one of the user's conversations: one item per conversation
    /// until read, counting them.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "message"))]
    Message,
    /// A message mentions the user (`@username`, or `@all` in a group).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "mention"))]
    Mention,
    /// Replies to the user's message, or in a thread the user started: one item per
    /// message replied to until read.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "reply"))]
    Reply,
    /// Reactions to the user's message: one item per message until read.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "reaction"))]
    Reaction,
    /// Someone asked the user to be friends.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "friend_request"))]
    FriendRequest,
    /// Someone accepted the user's friend request.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "friend_request_accepted"))]
    FriendRequestAccepted,
    /// Someone added the user to a group.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "added_to_group"))]
    AddedToGroup,
    /// Someone removed the user from a group.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "removed_from_group"))]
    RemovedFromGroup,
    /// The user's role in a group changed.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "role_changed"))]
    RoleChanged,
}

impl NotificationKind {
    /// Every kind, in the order settings list them.
    pub const ALL: [NotificationKind; 9] = [
        NotificationKind::Message,
        NotificationKind::Mention,
        NotificationKind::Reply,
        NotificationKind::Reaction,
        NotificationKind::FriendRequest,
        NotificationKind::FriendRequestAccepted,
        NotificationKind::AddedToGroup,
        NotificationKind::RemovedFromGroup,
        NotificationKind::RoleChanged,
    ];
}

/// The replayable stream (and live channel) of a user's notification changes.
pub fn channel(user: Uuid) -> Channel<NotificationFrame> {
    Channel::named(format!("notifications:{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_events_round_trip() {
        crate::testing::round_trips(DigestDue {
            digest_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            subject: "2 new notifications".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            unsubscribe_url: "http://127.0.0.1:4000/unsubscribe?token=x".into(),
        });
    }

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
