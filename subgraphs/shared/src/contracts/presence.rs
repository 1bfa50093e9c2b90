//! The frames of the presence domain: a user going on- or offline, on that user's
//! presence channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Channel;

/// A user went online or offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceFrame {
    pub user_id: Uuid,
    pub online: bool,
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
            online: true,
            at: Utc::now(),
        };
        assert_eq!(channel.decode(&channel.encode(&frame)), Some(frame));
    }
}
