//! The auth domain's events (topic `auth`), keyed by user.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;

macro_rules! user_event {
    ($name:ident, $type:literal) => {
        impl Event for $name {
            const TYPE: &'static str = $type;
            const VERSION: u32 = 1;
            fn key(&self) -> String {
                self.user_id.to_string()
            }
        }
    };
}

/// An account was made (by sign-up or a first OpenID Connect sign-in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub username: String,
    /// The OpenID Connect provider it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}
user_event!(UserRegistered, "auth.user.registered");

/// An account's email was verified: it may now be found and befriended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserVerified {
    pub user_id: Uuid,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// [`email_digest`] of the address, so the account can be found by its exact
    /// address (and never by part of it) without the address leaving auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_digest: Option<String>,
}

/// The hex SHA-256 of an email address, trimmed and lower-cased: what other domains
/// may hold to match an exact address.
pub fn email_digest(email: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(email.trim().to_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
user_event!(UserVerified, "auth.user.verified");

/// An account's password changed (every other session ended with it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChanged {
    pub user_id: Uuid,
}
user_event!(PasswordChanged, "auth.user.password_changed");

/// An account's email address changed (and was verified).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailChanged {
    pub user_id: Uuid,
    /// [`email_digest`] of the new address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_digest: Option<String>,
}
user_event!(EmailChanged, "auth.user.email_changed");

/// An account was deleted: every domain erases what it holds of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub user_id: Uuid,
}
user_event!(UserDeleted, "auth.user.deleted");

/// A session ended (signed out, revoked, replaced refresh token reused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRevoked {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub reason: String,
}
user_event!(SessionRevoked, "auth.session.revoked");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::round_trips;

    #[test]
    fn every_auth_event_round_trips() {
        let user_id = Uuid::now_v7();
        round_trips(UserRegistered {
            user_id,
            username: "ann".into(),
            provider: None,
        });
        round_trips(UserVerified {
            user_id,
            username: "ann".into(),
            provider: Some("google".into()),
            email_digest: Some(email_digest("Ann@Example.com")),
        });
        round_trips(PasswordChanged { user_id });
        round_trips(EmailChanged {
            user_id,
            email_digest: None,
        });
        assert_eq!(
            email_digest(" ANN@example.com"),
            email_digest("ann@example.com")
        );
        assert_eq!(email_digest("a@b.c").len(), 64);
        round_trips(UserDeleted { user_id });
        round_trips(SessionRevoked {
            user_id,
            session_id: Uuid::now_v7(),
            reason: "logout".into(),
        });
    }
}
