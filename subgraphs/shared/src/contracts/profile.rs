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
    }
}
