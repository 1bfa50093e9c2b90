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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::testing::round_trips;

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
        round_trips(ProfileUpdated {
            user_id: a,
            display_name: "Ann".into(),
            bio: None,
            location: Some("Lisbon".into()),
            website: Some("https://ann.example".into()),
        });
    }
}
