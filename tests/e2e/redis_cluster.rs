//! The platform on a Redis Cluster (three local primaries, `redis.cluster`): each
//! user's stream keys and channel on one slot, channels sharded. Live delivery,
//! presence, typing and resuming work as on one Redis (every subscription and
//! socket also takes its leased place there; the port's conformance suite covers
//! places on the cluster one by one).

use std::time::Duration;

use echostream_testkit::client::Subscription;
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, befriend, group, send_to, signed_up, wait_for_presence,
};
use serde_json::json;

use crate::stream::{EVENTS, next_of, position};

#[tokio::test]
async fn on_a_redis_cluster_messages_presence_and_resuming_work() {
    let cluster = std::env::var("TEST_ECHOSTREAM_REDIS_CLUSTER")
        .expect("TEST_ECHOSTREAM_REDIS_CLUSTER is not set: scripts/services.sh starts the cluster");
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        Profile::Services,
        &[
            ("ECHOSTREAM_REDIS__URL", cluster.as_str()),
            ("ECHOSTREAM_REDIS__CLUSTER", "true"),
        ],
    )
    .await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    befriend(&p, &ann, &bob).await;
    let team = group(&p, &ann, "sharded", &[&bob]).await;

    let since = position(&p, &bob).await;
    let mut live =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": since }), &bob.token).await;
    // Presence and typing travel over sharded channels too.
    wait_for_presence(&p, &ann, &bob, "ONLINE").await;
    echostream_testkit::client::data(
        &p.gateway,
        "mutation T($c: ID!) { setTyping(conversationId: $c, typing: true) }",
        json!({ "c": team }),
        Some(&ann.token),
    )
    .await;
    let typing = next_of(&mut live, "TypingChanged", WAIT).await;
    assert_eq!(typing["user"]["id"], ann.id.as_str(), "{typing}");

    // Live: every message, in order.
    let sent = send_many(&p, &ann, &team, "live", 10).await;
    let mut heard = Vec::new();
    let mut last = None;
    while heard.len() < sent.len() {
        let event = next_of(&mut live, "MessageAdded", WAIT).await;
        last = event["position"].as_str().map(str::to_string);
        let seq = event["message"]["seq"].as_i64().expect("a seq");
        // The group's creation item reaches bob's stream through the fan-out
        // consumer, which may be after `since` was taken: it comes first, then these.
        if seq < sent[0] {
            continue;
        }
        heard.push(seq);
    }
    assert_eq!(heard, sent, "live, once each, in order");
    live.close().await;

    // Away: what was sent meanwhile comes on resuming, and nothing before it.
    let missed = send_many(&p, &ann, &team, "away", 5).await;
    let since = last.expect("a position");
    let mut resumed =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": since }), &bob.token).await;
    let mut caught_up = Vec::new();
    while caught_up.len() < missed.len() {
        let event = next_of(&mut resumed, "MessageAdded", WAIT).await;
        caught_up.push(event["message"]["seq"].as_i64().expect("a seq"));
    }
    assert_eq!(caught_up, missed, "resumed with exactly what was missed");
    let more = resumed.next(Duration::from_millis(500)).await;
    assert!(
        more.is_none_or(|p| p["data"]["chatEvents"]["__typename"] != "MessageAdded"),
        "nothing twice"
    );
}

/// Sends `count` messages `{label}.{i}` as `who`; their seqs.
async fn send_many(p: &Platform, who: &Person, team: &str, label: &str, count: usize) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(count);
    for i in 0..count {
        let body = format!("{label}.{i}");
        let message = send_to(&p.gateway, &who.token, team, &body, &body).await;
        seqs.push(message["seq"].as_i64().expect("a seq"));
    }
    seqs
}
