//! The frames of the presence domain: a user's presence changing, on that user's
//! presence channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Channel;

/// How present a user is: the most present of their devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    Offline,
    Away,
    Online,
}

impl PresenceState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceState::Offline => "offline",
            PresenceState::Away => "away",
            PresenceState::Online => "online",
        }
    }
}

/// A user's presence changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceFrame {
    pub user_id: Uuid,
    pub state: PresenceState,
    /// When the user was last present (now, unless offline).
    pub last_seen: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// The channel where a user's presence changes are announced.
pub fn channel(user: Uuid) -> Channel<PresenceFrame> {
    Channel::named(format!("presence-changes:{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_frames_round_trip_on_their_channel() {
        let user = Uuid::now_v7();
        let channel = channel(user);
        let frame = PresenceFrame {
            user_id: user,
            state: PresenceState::Away,
            last_seen: Some(Utc::now()),
            at: Utc::now(),
        };
        assert_eq!(channel.decode(&channel.encode(&frame)), Some(frame));
    }
}
