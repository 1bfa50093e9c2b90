//! The profile domain's events (topic `profile`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;

/// A friend request was sent; keyed by its recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendRequestSent {
    pub request_id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
}

impl Event for FriendRequestSent {
    const TYPE: &'static str = "profile.friend_request.sent";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.to_user_id.to_string()
    }
}

/// A friend request was accepted: the two are friends. Keyed by the requester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendshipCreated {
    pub request_id: Uuid,
    /// The requester first.
    pub user_ids: [Uuid; 2],
}

impl Event for FriendshipCreated {
    const TYPE: &'static str = "profile.friendship.created";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_ids[0].to_string()
    }
}

/// A friend request was declined. Keyed by the requester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendRequestDeclined {
    pub request_id: Uuid,
    /// The requester first.
    pub user_ids: [Uuid; 2],
}

impl Event for FriendRequestDeclined {
    const TYPE: &'static str = "profile.friend_request.declined";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_ids[0].to_string()
    }
}

/// A user changed their public profile; carries what anyone may see of it. Keyed by
/// the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdated {
    pub user_id: Uuid,
    pub display_name: String,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
}

impl Event for ProfileUpdated {
    const TYPE: &'static str = "profile.updated";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}

/// The sender took back a pending friend request. Keyed by the requester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendRequestCancelled {
    pub request_id: Uuid,
    /// The requester first.
    pub user_ids: [Uuid; 2],
}

impl Event for FriendRequestCancelled {
    const TYPE: &'static str = "profile.friend_request.cancelled";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_ids[0].to_string()
    }
}

/// Two users are no longer friends. Keyed by the one who ended it (first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendshipEnded {
    /// The one who ended it first.
    pub user_ids: [Uuid; 2],
}

impl Event for FriendshipEnded {
    const TYPE: &'static str = "profile.friendship.ended";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_ids[0].to_string()
    }
}

/// A user blocked another: friendship and pending requests between them are gone
/// (their own events say so), and the blocked one may no longer reach the blocker.
/// Keyed by the blocker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserBlocked {
    pub blocker_id: Uuid,
    pub blocked_id: Uuid,
}

impl Event for UserBlocked {
    const TYPE: &'static str = "profile.blocked";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.blocker_id.to_string()
    }
}

/// A user lifted a block. Keyed by the blocker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserUnblocked {
    pub blocker_id: Uuid,
    pub blocked_id: Uuid,
}

impl Event for UserUnblocked {
    const TYPE: &'static str = "profile.unblocked";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.blocker_id.to_string()
    }
}

/// A user's avatar or cover image changed (a new one, or none). Keyed by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileMediaChanged {
    pub user_id: Uuid,
    pub kind: ImageKind,
    /// The image's key prefix in object storage; None when removed.
    pub key: Option<String>,
}

/// Which of a profile's images (on the wire: `avatar`, `cover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    Avatar,
    Cover,
}

impl Event for ProfileMediaChanged {
    const TYPE: &'static str = "profile.media_changed";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}

/// Who a privacy setting lets in (stored as its serde spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(feature = "sea-orm", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "everyone"))]
    Everyone,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "friends"))]
    Friends,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "nobody"))]
    Nobody,
}

impl Audience {
    /// Whether someone who is (or is not) a friend is let in.
    pub fn admits(self, friend: bool) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Friends => friend,
            Audience::Nobody => false,
        }
    }
}

/// A user's privacy settings, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacySettings {
    /// Who may send me direct messages (within the instance's policy).
    pub direct_messages: Audience,
    /// Who sees my online status and last seen; reciprocal.
    pub presence: Audience,
    /// Whether I send read receipts; reciprocal (off: I see none either).
    pub read_receipts: bool,
    /// Who may add me to groups (`everyone` or `friends`).
    pub group_adds: Audience,
}

impl Default for PrivacySettings {
    /// The defaults: friends may message me and see my presence, and may add me to
    /// groups; read receipts are on.
    fn default() -> Self {
        PrivacySettings {
            direct_messages: Audience::Friends,
            presence: Audience::Friends,
            read_receipts: true,
            group_adds: Audience::Friends,
        }
    }
}

/// A user changed their privacy settings; carries all of them, so a projection
/// needs only the latest event. Keyed by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyChanged {
    pub user_id: Uuid,
    pub settings: PrivacySettings,
}

impl Event for PrivacyChanged {
    const TYPE: &'static str = "profile.privacy_changed";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::round_trips;

    #[test]
    fn every_profile_event_round_trips() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        round_trips(FriendRequestSent {
            request_id: Uuid::now_v7(),
            from_user_id: a,
            to_user_id: b,
        });
        round_trips(FriendshipCreated {
            request_id: Uuid::now_v7(),
            user_ids: [a, b],
        });
        round_trips(FriendRequestDeclined {
            request_id: Uuid::now_v7(),
            user_ids: [a, b],
        });
        round_trips(FriendRequestCancelled {
            request_id: Uuid::now_v7(),
            user_ids: [a, b],
        });
        round_trips(FriendshipEnded { user_ids: [a, b] });
        round_trips(UserBlocked {
            blocker_id: a,
            blocked_id: b,
        });
        round_trips(UserUnblocked {
            blocker_id: a,
            blocked_id: b,
        });
        round_trips(ProfileMediaChanged {
            user_id: a,
            kind: ImageKind::Avatar,
            key: Some(format!("media/{a}/x")),
        });
        round_trips(PrivacyChanged {
            user_id: a,
            settings: PrivacySettings {
                direct_messages: Audience::Nobody,
                ..PrivacySettings::default()
            },
        });
        round_trips(ProfileUpdated {
            user_id: a,
            display_name: "Ann".into(),
            bio: None,
            location: Some("Lisbon".into()),
            website: Some("https://ann.example".into()),
        });
    }
}
