//! Per-user rate limits on writes, search and exports (`rate_limits.*`): past one, a
//! call is refused with `RATE_LIMITED` and a `retryAfter`, for that user only.

use echostream_testkit::client::{error_code, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{direct_conversation, friends, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;

/// Calls `query` as `token` until it is refused; returns how many went through and
/// the refusal.
async fn until_refused(
    p: &Platform,
    query: &str,
    vars: impl Fn(usize) -> Value,
    token: &str,
) -> (usize, Value) {
    for n in 0..20 {
        let body = post(&p.gateway, query, vars(n), Some(token)).await;
        if body.get("errors").is_some() {
            return (n, body);
        }
    }
    panic!("never refused: {query}");
}

async fn writes_searches_and_exports_are_limited_per_user(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[
            ("ECHOSTREAM_RATE_LIMITS__SEND_MESSAGE_PER_10S", "3"),
            ("ECHOSTREAM_RATE_LIMITS__SEARCHES_PER_MINUTE", "2"),
            ("ECHOSTREAM_RATE_LIMITS__EXPORTS_PER_HOUR", "1"),
            ("ECHOSTREAM_RATE_LIMITS__EMAIL_CHANGES_PER_HOUR", "1"),
        ],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let send = "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
    let (sent, refused) = until_refused(
        &p,
        send,
        |n| json!({ "input": { "conversationId": id, "body": format!("m{n}"), "idempotencyKey": format!("k{n}") } }),
        &ann.token,
    )
    .await;
    assert_eq!(sent, 3, "{refused}");
    assert_eq!(error_code(&refused), "RATE_LIMITED");
    let retry = refused["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=10).contains(&retry), "{refused}");
    // Another user is not held back by ann's sending.
    let other = post(
        &p.gateway,
        send,
        json!({ "input": { "conversationId": id, "body": "hi", "idempotencyKey": "b" } }),
        Some(&bob.token),
    )
    .await;
    assert!(other.get("errors").is_none(), "{other}");

    // A fresh user for the rest, whose counters nothing else has touched.
    let cat = signed_up(&p, "cat").await;
    let search = "query S($q: String!) { searchUsers(query: $q) { edges { node { id } } } }";
    let (searched, refused) =
        until_refused(&p, search, |_| json!({ "q": bob.username }), &cat.token).await;
    assert_eq!(
        (searched, error_code(&refused).as_str()),
        (2, "RATE_LIMITED")
    );

    let export = "{ me { chatExport { byteSize } } }";
    let (exported, refused) = until_refused(&p, export, |_| json!({}), &cat.token).await;
    assert_eq!(
        (exported, error_code(&refused).as_str()),
        (1, "RATE_LIMITED")
    );

    // Searching messages and exporting a conversation count like their neighbours.
    let search = "query S($q: String!) { searchMessages(query: $q) { edges { cursor } } }";
    let (searched, refused) = until_refused(&p, search, |_| json!({ "q": "m1" }), &bob.token).await;
    assert_eq!(
        (searched, error_code(&refused).as_str()),
        (2, "RATE_LIMITED")
    );
    let export =
        "mutation X($c: ID!) { exportConversation(conversationId: $c, format: CSV) { byteSize } }";
    let (exported, refused) = until_refused(&p, export, |_| json!({ "c": id }), &bob.token).await;
    assert_eq!(
        (exported, error_code(&refused).as_str()),
        (1, "RATE_LIMITED")
    );

    let change =
        "mutation E($e: String!, $p: String!) { requestEmailChange(newEmail: $e, password: $p) }";
    let (asked, refused) = until_refused(
        &p,
        change,
        |n| json!({ "e": format!("cat{n}@example.org"), "p": echostream_testkit::scenario::PASSWORD }),
        &cat.token,
    )
    .await;
    assert_eq!(
        (asked, error_code(&refused).as_str()),
        (1, "RATE_LIMITED"),
        "{refused}"
    );
}

on_both_profiles!(writes_searches_and_exports_are_limited_per_user);
