//! Per-user rate limits on every write and on the costly reads, counted in the
//! pub/sub port's store (Redis in the services profile, so every instance counts
//! together) in fixed windows, checked by the request checks' extension before the
//! field resolves ([`crate::request_checks`]). A refusal is `RATE_LIMITED` with
//! `extensions.retryAfter` in seconds.
//!
//! | field | per user (`rate_limits.*`, default) |
//! |---|---|
//! | `sendMessage` | `send_message_per_10s`, 30 per 10 s |
//! | `markDelivered`, `markRead` | `marks_per_minute`, 120 per minute each |
//! | `createGroup` | `groups_per_hour`, 20 per hour |
//! | `sendFriendRequest` | `friend_requests_per_hour`, 50 per hour |
//! | `requestEmailChange` | `email_changes_per_hour`, 5 per hour |
//! | `searchUsers` | `searches_per_minute`, 60 per minute |
//! | each export (`accountExport`, `profileExport`, `chatExport`, `notificationExport`) | `exports_per_hour`, 5 per hour |
//! | every other mutation | `other_writes_per_minute`, 120 per minute each |
//!
//! Anonymous calls (sign-up, sign-in, codes) have their own limits per address and
//! per account in auth; `setTyping` has its own per conversation. When the store
//! cannot count (Redis down or refusing writes) the request goes through, logged:
//! an outage of the counter must not stop every write.

use std::time::Duration;

use echostream_config::RateLimitsConfig;
use echostream_ports::Error;
use echostream_ports::pubsub::PubSub;

/// At most `max` calls per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: i64,
    pub window: Duration,
}

const fn per(max: i64, secs: u64) -> Limit {
    Limit {
        max,
        window: Duration::from_secs(secs),
    }
}

/// The limit on `field` of `parent_type` for a signed-in user, if it has one.
pub fn of(limits: &RateLimitsConfig, parent_type: &str, field: &str) -> Option<Limit> {
    match (parent_type, field) {
        ("Mutation", "setTyping") => None,
        ("Mutation", "sendMessage") => Some(per(limits.send_message_per_10s, 10)),
        ("Mutation", "markDelivered" | "markRead") => Some(per(limits.marks_per_minute, 60)),
        ("Mutation", "createGroup") => Some(per(limits.groups_per_hour, 3600)),
        ("Mutation", "sendFriendRequest") => Some(per(limits.friend_requests_per_hour, 3600)),
        ("Mutation", "requestEmailChange") => Some(per(limits.email_changes_per_hour, 3600)),
        ("Mutation", "exportConversation") => Some(per(limits.exports_per_hour, 3600)),
        ("Mutation", _) => Some(per(limits.other_writes_per_minute, 60)),
        ("Query", "searchUsers" | "searchMessages") => Some(per(limits.searches_per_minute, 60)),
        ("User", export) if export.ends_with("Export") => Some(per(limits.exports_per_hour, 3600)),
        _ => None,
    }
}

/// Counts one call of `field` by `user`; `RATE_LIMITED` past its limit.
pub async fn hit(
    pubsub: &dyn PubSub,
    user: uuid::Uuid,
    field: &str,
    limit: Limit,
) -> Result<(), Error> {
    let key = format!("rate:{field}:{user}");
    match pubsub.increment(&key, limit.window).await {
        Ok((count, left)) if count > limit.max => Err(Error::RateLimited {
            retry_after_secs: left.max(1),
        }),
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::warn!(%err, %field, "rate limit not counted: the store is unavailable");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use echostream_ports::pubsub::memory::MemoryPubSub;

    #[test]
    fn every_write_and_the_costly_reads_have_a_limit() {
        let l = RateLimitsConfig::default();
        assert_eq!(of(&l, "Mutation", "sendMessage"), Some(per(30, 10)));
        assert_eq!(of(&l, "Mutation", "blockUser"), Some(per(120, 60)));
        assert_eq!(
            of(&l, "Mutation", "setTyping"),
            None,
            "limited per conversation"
        );
        assert_eq!(of(&l, "Query", "searchUsers"), Some(per(60, 60)));
        assert_eq!(of(&l, "User", "chatExport"), Some(per(5, 3600)));
        assert_eq!(of(&l, "Query", "searchMessages"), Some(per(60, 60)));
        assert_eq!(of(&l, "Mutation", "exportConversation"), Some(per(5, 3600)));
        assert_eq!(of(&l, "Query", "me"), None);
        assert_eq!(of(&l, "User", "displayName"), None);
    }

    #[tokio::test]
    async fn a_user_is_refused_past_the_limit_with_a_retry_after() {
        let pubsub = MemoryPubSub::new();
        let (me, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let limit = per(3, 60);
        for _ in 0..3 {
            hit(&pubsub, me, "sendMessage", limit).await.unwrap();
        }
        let refused = hit(&pubsub, me, "sendMessage", limit).await.unwrap_err();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(
            matches!(refused, Error::RateLimited { retry_after_secs } if retry_after_secs >= 1)
        );
        hit(&pubsub, other, "sendMessage", limit).await.unwrap();
        hit(&pubsub, me, "markRead", limit).await.unwrap();
    }
}
