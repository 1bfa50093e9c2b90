//! Authority lasts as long as the session: a live subscription ends when its session
//! does (logout, revocation, password change or reset, account deletion) or when its
//! access token expires, and the connection can no longer subscribe.

use std::time::Duration;

use serde_json::json;

use echostream_testkit::client::{Received, Subscription, data, post};
use echostream_testkit::mail::{mails_to, new_code_sent_to};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{PASSWORD, Person, login_on, signed_up};

use crate::on_both_profiles;

const EVENTS: &str = "subscription { chatEvents { __typename position } }";
const PRESENCE: &str = "subscription { friendsPresenceChanged { status } }";

/// How long an ended session's streams may take to end here: generous for a loaded
/// machine; the platform ends them as soon as the end is announced.
const ENDS_WITHIN: Duration = Duration::from_secs(15);

/// Opens a `chatEvents` subscription for `person` and makes sure it is live (a
/// stream opened after its session ended would prove nothing).
async fn live_events(p: &Platform, person: &Person) -> Subscription {
    let mut sub = Subscription::start(&p.gateway, EVENTS, json!({}), &person.token).await;
    assert!(
        matches!(
            sub.receive(Duration::from_millis(500)).await,
            Received::Silent
        ),
        "the stream is open and quiet"
    );
    sub
}

/// Asserts that `sub` ends with `UNAUTHENTICATED` by itself, then that its connection
/// cannot subscribe again.
async fn ends_and_cannot_subscribe_again(mut sub: Subscription, what: &str) {
    let asked = std::time::Instant::now();
    assert_eq!(
        sub.error(ENDS_WITHIN).await,
        "UNAUTHENTICATED",
        "{what}: the open stream ends with a coded error"
    );
    println!(
        "{what}: the stream ended {:?} after the call returned",
        asked.elapsed()
    );
    sub.subscribe("2", PRESENCE, json!({})).await;
    match sub.receive(ENDS_WITHIN).await {
        Received::Message(m) if m["type"] == "complete" => {
            // The first stream's completion; the refusal follows.
            assert_eq!(sub.error(ENDS_WITHIN).await, "UNAUTHENTICATED", "{what}");
        }
        Received::Message(m) => {
            let code = if m["type"] == "error" {
                &m["payload"][0]["extensions"]["code"]
            } else {
                &m["payload"]["errors"][0]["extensions"]["code"]
            };
            assert_eq!(code, "UNAUTHENTICATED", "{what}: refused, {m}");
        }
        Received::Closed(code) => assert!(
            code.is_some_and(|c| (4400..4500).contains(&c)),
            "{what}: a closed connection says why ({code:?})"
        ),
        Received::Silent => panic!("{what}: the connection took a new subscription"),
    }
}

async fn ending_a_session_ends_its_streams(profile: Profile) {
    let p = crate::start(profile).await;

    let ann = signed_up(&p, "ann").await;
    let sub = live_events(&p, &ann).await;
    data(
        &p.gateway,
        "mutation { logout }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    ends_and_cannot_subscribe_again(sub, "logout").await;

    let bob = signed_up(&p, "bob").await;
    let phone = login_on(&p, &bob.username, "phone").await;
    let sub = live_events(&p, &bob).await;
    let kept = live_events(&p, &phone).await;
    data(
        &p.gateway,
        "mutation { revokeOtherSessions }",
        json!({}),
        Some(&phone.token),
    )
    .await;
    ends_and_cannot_subscribe_again(sub, "revokeOtherSessions").await;
    let mut kept = kept;
    assert!(
        matches!(kept.receive(Duration::from_secs(1)).await, Received::Silent),
        "the session that revoked the others keeps its stream"
    );

    let cat = signed_up(&p, "cat").await;
    let laptop = login_on(&p, &cat.username, "laptop").await;
    let sub = live_events(&p, &cat).await;
    data(
        &p.gateway,
        "mutation C($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
        json!({ "c": PASSWORD, "n": "another passphrase" }),
        Some(&laptop.token),
    )
    .await;
    ends_and_cannot_subscribe_again(sub, "changePassword").await;

    let dan = signed_up(&p, "dan").await;
    let email = format!("{}@example.com", dan.username);
    let sub = live_events(&p, &dan).await;
    let seen = mails_to(&p, &email).await;
    data(
        &p.gateway,
        "mutation P($e: String!) { requestPasswordReset(email: $e) }",
        json!({ "e": email }),
        None,
    )
    .await;
    let code = new_code_sent_to(&p, &email, seen).await;
    data(
        &p.gateway,
        "mutation R($e: String!, $c: String!, $p: String!) { resetPassword(email: $e, code: $c, newPassword: $p) }",
        json!({ "e": email, "c": code, "p": "a brand new passphrase" }),
        None,
    )
    .await;
    ends_and_cannot_subscribe_again(sub, "resetPassword").await;

    let eve = signed_up(&p, "eve").await;
    let sub = live_events(&p, &eve).await;
    data(
        &p.gateway,
        "mutation D($p: String!) { deleteAccount(password: $p) }",
        json!({ "p": PASSWORD }),
        Some(&eve.token),
    )
    .await;
    ends_and_cannot_subscribe_again(sub, "deleteAccount").await;
}

async fn a_stream_ends_when_its_access_token_expires(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_AUTH__ACCESS_TOKEN_TTL_SECS", "4")],
    )
    .await;
    let ann = signed_up(&p, "ann").await;
    let mut sub = Subscription::start(&p.gateway, EVENTS, json!({}), &ann.token).await;
    assert!(
        matches!(sub.receive(Duration::from_secs(1)).await, Received::Silent),
        "the stream is open while the token is valid"
    );
    ends_and_cannot_subscribe_again(sub, "expiry").await;
    // Requests keep the verifiers' few seconds of leeway for clock skew; then refused.
    echostream_testkit::client::eventually(
        "the expired token to be refused",
        Duration::from_secs(15),
        || async {
            let answer = post(&p.gateway, "{ me { id } }", json!({}), Some(&ann.token)).await;
            (answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED").then_some(())
        },
    )
    .await;
}

on_both_profiles!(
    ending_a_session_ends_its_streams,
    a_stream_ends_when_its_access_token_expires,
);

/// Revocations are kept in auth's database; the pub/sub store is only where tokens
/// are checked against them. A store that loses them (the embedded process
/// restarted; Redis restarted empty) gets them back, and a signed-out token stays
/// refused.
async fn a_revoked_token_stays_revoked_when_the_store_forgets(profile: Profile) {
    let (mut p, redis) = match profile {
        Profile::Embedded => (crate::start(profile).await, None),
        Profile::Services => {
            let port = crate::faults::free_port();
            let redis = crate::faults::start_redis(port);
            let url = format!("redis://127.0.0.1:{port}");
            let p = Platform::start_with(
                env!("CARGO_BIN_EXE_echostream"),
                profile,
                &[("ECHOSTREAM_REDIS__URL", url.as_str())],
            )
            .await;
            (p, Some((redis, port)))
        }
    };
    let ann = signed_up(&p, "ann").await;
    data(
        &p.gateway,
        "mutation { logout }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    let me = "{ me { id } }";
    assert_eq!(
        echostream_testkit::client::error_code(
            &post(&p.gateway, me, json!({}), Some(&ann.token)).await
        ),
        "UNAUTHENTICATED"
    );
    let mut redis = match redis {
        None => {
            p.crash_and_restart().await;
            None
        }
        Some((mut redis, port)) => {
            redis.kill().unwrap();
            redis.wait().unwrap();
            Some(crate::faults::start_redis(port))
        }
    };
    echostream_testkit::client::eventually(
        "the revocation to be known again",
        Duration::from_secs(30),
        || async {
            let answer = post(&p.gateway, me, json!({}), Some(&ann.token)).await;
            (answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED").then_some(())
        },
    )
    .await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let answer = post(&p.gateway, me, json!({}), Some(&ann.token)).await;
        assert_eq!(
            echostream_testkit::client::error_code(&answer),
            "UNAUTHENTICATED",
            "{answer}"
        );
    }
    if let Some(redis) = redis.as_mut() {
        let _ = redis.kill();
        let _ = redis.wait();
    }
}

on_both_profiles!(a_revoked_token_stays_revoked_when_the_store_forgets);

/// Services only (one machine runs one embedded process): with two instances of the
/// platform sharing one database and store, a session signed out through one
/// instance ends its streams open on the other, and the other refuses its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_instance_ends_its_streams_on_the_other_services() {
    let first = crate::start(Profile::Services).await;
    let second = first.another_instance().await;
    let ann = signed_up(&first, "ann").await;
    let bob = signed_up(&first, "bob").await;
    let on_second = live_events(&second, &ann).await;
    let also_on_second = live_events(&second, &bob).await;
    data(
        &first.gateway,
        "mutation { logout }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    ends_and_cannot_subscribe_again(on_second, "logout on the other instance").await;
    assert_eq!(
        echostream_testkit::client::error_code(
            &post(
                &second.gateway,
                "{ me { id } }",
                json!({}),
                Some(&ann.token)
            )
            .await
        ),
        "UNAUTHENTICATED"
    );
    // Another session's stream on the same instance goes on.
    let mut also_on_second = also_on_second;
    assert!(
        matches!(
            also_on_second.receive(Duration::from_secs(1)).await,
            Received::Silent
        ),
        "bob's stream is untouched"
    );
}
