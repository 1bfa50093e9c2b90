//! Abuse limits on the auth operations, counted in the pub/sub port's store (Redis in
//! production, so every instance counts together) in fixed windows.

use std::time::Duration;

use echostream_config::AuthConfig;
use echostream_ports::pubsub::PubSub;
use echostream_service::Error;
use sha2::{Digest, Sha256};

/// One limit: at most `max` hits per `window` per subject (an IP or an account).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window: Duration,
}

const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Sign-ups from one address (`auth.registrations_per_ip` per hour).
pub fn register_per_ip(config: &AuthConfig) -> Limit {
    Limit {
        name: "register-ip",
        max: config.registrations_per_ip,
        window: minutes(60),
    }
}

/// Sign-in attempts from one address (`auth.login_attempts_per_ip` per 5 minutes).
pub fn login_per_ip(config: &AuthConfig) -> Limit {
    Limit {
        name: "login-ip",
        max: config.login_attempts_per_ip,
        window: minutes(5),
    }
}
/// Sign-in attempts on one account from one address before that address is locked
/// out of it for the window; a success clears them. Counted before the password is
/// checked, so parallel guesses cannot slip past, and per address, so a stranger's
/// guesses lock out only the stranger.
pub const LOGIN_FAILURES: Limit = Limit {
    name: "login-failures",
    max: 5,
    window: minutes(15),
};
/// Sign-in attempts on one account from addresses it never signed in from, over
/// all of them: bounds guessing spread over many addresses. The owner signing in
/// from an address they used before is not held back by it.
pub const LOGIN_ATTEMPTS_FROM_NEW_ADDRESSES: Limit = Limit {
    name: "login-new-addresses",
    max: 50,
    window: minutes(15),
};
/// How long an address the account signed in from counts as known.
pub const KNOWN_ADDRESS_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The store key marking `address` as one `account` (a login as typed, lowercased)
/// signed in from.
pub fn known_address_key(account: &str, address: &str) -> String {
    key(
        Limit {
            name: "known-address",
            max: 0,
            window: KNOWN_ADDRESS_TTL,
        },
        &format!("{account}|{address}"),
    )
}
/// Code entries on one account (on top of the per-code attempt limit).
pub const CODE_ENTRIES: Limit = Limit {
    name: "code-entries",
    max: 10,
    window: minutes(15),
};
/// Password-reset requests from one address.
pub const RESET_PER_IP: Limit = Limit {
    name: "reset-ip",
    max: 20,
    window: minutes(60),
};
/// Password-reset requests for one address.
pub const RESET_PER_EMAIL: Limit = Limit {
    name: "reset-email",
    max: 3,
    window: minutes(15),
};
/// Cooldown between two verification mails to one address.
pub const RESEND_COOLDOWN: Limit = Limit {
    name: "resend",
    max: 1,
    window: Duration::from_secs(60),
};

/// The store key of `subject`'s counter. Subjects come from clients (a login as
/// typed), so a long one is stored as its SHA-256: a counter costs the same whatever
/// was sent.
fn key(limit: Limit, subject: &str) -> String {
    let subject = subject.to_lowercase();
    if subject.len() <= MAX_PLAIN_SUBJECT {
        return format!("rate:{}:{subject}", limit.name);
    }
    let digest = Sha256::digest(subject.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("rate:{}:sha256:{hex}", limit.name)
}

/// Longest subject kept as typed in a counter's key (an email address's limit).
const MAX_PLAIN_SUBJECT: usize = 254;

/// Counts a hit; `RATE_LIMITED` (with seconds to wait) once the window is used up.
pub async fn hit(pubsub: &dyn PubSub, limit: Limit, subject: &str) -> Result<(), Error> {
    let (count, left) = pubsub.increment(&key(limit, subject), limit.window).await?;
    if count > limit.max {
        return Err(Error::RateLimited {
            retry_after_secs: left.max(1),
        });
    }
    Ok(())
}

/// Forgets the hits of a subject (a successful sign-in clears its failures).
pub async fn clear(pubsub: &dyn PubSub, limit: Limit, subject: &str) -> Result<(), Error> {
    Ok(pubsub.delete(&key(limit, subject)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use echostream_ports::pubsub::memory::MemoryPubSub;

    #[test]
    fn long_subjects_are_keyed_by_their_digest() {
        let long = "a".repeat(100_000);
        let key = key(LOGIN_FAILURES, &long);
        assert!(key.len() < 100, "{key}");
        assert_eq!(key, super::key(LOGIN_FAILURES, &long.to_uppercase()));
        assert_eq!(
            super::key(LOGIN_FAILURES, "Ann"),
            format!("rate:{}:ann", LOGIN_FAILURES.name)
        );
    }

    #[tokio::test]
    async fn the_hit_after_the_last_allowed_one_is_refused_with_a_wait() {
        let pubsub = MemoryPubSub::new();
        let limit = Limit {
            name: "t",
            max: 2,
            window: Duration::from_secs(30),
        };
        hit(&pubsub, limit, "a").await.unwrap();
        hit(&pubsub, limit, "A").await.unwrap();
        match hit(&pubsub, limit, "a").await {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=30).contains(&retry_after_secs))
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        hit(&pubsub, limit, "b").await.unwrap();
        clear(&pubsub, limit, "a").await.unwrap();
        assert!(hit(&pubsub, limit, "a").await.is_ok(), "cleared");
    }
}
