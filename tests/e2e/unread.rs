//! Marking unread through the gateway: the member's own read position, counts and
//! devices go back to before a message they read; their read receipts stay; reading
//! on moves the mark and reading past it clears it.

use std::time::Duration;

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{direct_conversation, friends, send, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;
use crate::stream::{next_of, position, subscribe};

const UNREAD: &str =
    "mutation U($m: ID!) { markUnread(messageId: $m) { id lastReadSeq unreadCount } }";
const READ: &str = "mutation R($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id lastReadSeq unreadCount } }";

fn state(answer: &Value, field: &str) -> (i64, i64) {
    (
        answer[field]["lastReadSeq"].as_i64().unwrap(),
        answer[field]["unreadCount"].as_i64().unwrap(),
    )
}

async fn marking_unread_moves_my_reading_back_not_my_receipts(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let mut sent = Vec::new();
    for (i, body) in ["one", "two", "three", "four"].iter().enumerate() {
        sent.push(send(&p, &ann, &id, body, &format!("u{i}")).await);
    }
    let seq = |i: usize| sent[i]["seq"].as_i64().unwrap();
    let last = seq(3);
    let read = data(
        &p.gateway,
        READ,
        json!({ "c": id, "s": last }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(state(&read, "markRead"), (last, 0));
    let since = position(&p, &bob).await;
    let mut devices = subscribe(&p, &bob, &since).await;

    // Back to before the second message: three unread, bob's devices told.
    let marked = data(
        &p.gateway,
        UNREAD,
        json!({ "m": sent[1]["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(state(&marked, "markUnread"), (seq(0), 3));
    // (The markRead's own ReceiptChanged may come first: the stream is asynchronous.)
    loop {
        let told = next_of(&mut devices, "ReceiptChanged", Duration::from_secs(20)).await;
        if told["readSeq"] == seq(0) {
            break;
        }
        assert_eq!(told["readSeq"], last, "only the markRead before: {told}");
    }
    let total = data(&p.gateway, "{ unreadTotal }", json!({}), Some(&bob.token)).await;
    assert_eq!(total["unreadTotal"], 3);
    // What ann sees of bob's reads does not move back.
    let anns = data(
        &p.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { status } } } } }",
        json!({ "id": id }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        anns["conversation"]["messages"]["edges"][0]["node"]["status"],
        "READ"
    );

    // Inside the mark, or not yet read: nothing changes.
    let inside = data(
        &p.gateway,
        UNREAD,
        json!({ "m": sent[2]["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(state(&inside, "markUnread"), (seq(0), 3));

    // Reading on moves the mark; reading to where bob was clears it.
    let on = data(
        &p.gateway,
        READ,
        json!({ "c": id, "s": seq(1) }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(state(&on, "markRead"), (seq(1), 2));
    let caught_up = data(
        &p.gateway,
        READ,
        json!({ "c": id, "s": last }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(state(&caught_up, "markRead"), (last, 0));
    let fifth = send(&p, &ann, &id, "five", "u5").await;
    let unread_already = data(
        &p.gateway,
        UNREAD,
        json!({ "m": fifth["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(state(&unread_already, "markUnread"), (last, 1));

    let cat = signed_up(&p, "cat").await;
    let stranger = post(
        &p.gateway,
        UNREAD,
        json!({ "m": sent[0]["id"] }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(error_code(&stranger), "NOT_FOUND", "{stranger}");
    devices.close().await;
}

on_both_profiles!(marking_unread_moves_my_reading_back_not_my_receipts);
