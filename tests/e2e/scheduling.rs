//! Scheduled messages through the gateway: listed, edited and cancelled while they
//! wait; sent once at their time, with the sending rules asked again then; kept
//! across a crash; sent once with two instances sharing the services.

use std::time::Duration;

use chrono::{DateTime, Utc};
use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, direct_conversation, friends, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;

const SCHEDULE: &str = "mutation S($c: ID!, $b: String!, $at: DateTime!) { scheduleMessage(input: { conversationId: $c, body: $b, sendAt: $at }) { \
    id body sendAt state } }";
const EDIT: &str = "mutation E($id: ID!, $b: String, $at: DateTime) { editScheduledMessage(id: $id, body: $b, sendAt: $at) { id body sendAt state } }";
const CANCEL: &str = "mutation C($id: ID!) { cancelScheduledMessage(id: $id) { id state } }";
const LIST: &str = "query L($c: ID) { scheduledMessages(conversationId: $c) { id body state failure message { id body } } }";
const HISTORY: &str = "query H($id: ID!) { conversation(id: $id) { messages(last: 100) { edges { node { body createdAt } } } } }";
const WAIT: Duration = Duration::from_secs(30);

fn in_secs(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339()
}

/// The bodies of `id`'s history as `who` reads it, with when each was sent.
async fn history(p: &Platform, who: &Person, id: &str) -> Vec<(String, DateTime<Utc>)> {
    let found = data(&p.gateway, HISTORY, json!({ "id": id }), Some(&who.token)).await;
    found["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let node = &e["node"];
            (
                node["body"].as_str().unwrap_or("").to_string(),
                node["createdAt"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

async fn scheduled(p: &Platform, who: &Person, conversation: &str, body: &str, secs: i64) -> Value {
    data(
        &p.gateway,
        SCHEDULE,
        json!({ "c": conversation, "b": body, "at": in_secs(secs) }),
        Some(&who.token),
    )
    .await["scheduleMessage"]
        .clone()
}

async fn scheduled_messages_wait_then_go_out_once_checked_again(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;

    // Waiting: listed; edited; cancelled.
    let later = scheduled(&p, &ann, &id, "see you soon", 5).await;
    assert_eq!(later["state"], "PENDING");
    let moved = scheduled(&p, &ann, &id, "draft", 600).await;
    let edited = data(
        &p.gateway,
        EDIT,
        json!({ "id": moved["id"], "b": "see you sooner", "at": in_secs(5) }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(edited["editScheduledMessage"]["body"], "see you sooner");
    let dropped = scheduled(&p, &ann, &id, "never mind", 600).await;
    let cancelled = data(
        &p.gateway,
        CANCEL,
        json!({ "id": dropped["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(cancelled["cancelScheduledMessage"]["state"], "CANCELLED");
    let listed = data(&p.gateway, LIST, json!({ "c": id }), Some(&ann.token)).await;
    let bodies: Vec<&str> = listed["scheduledMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 2, "{listed}");
    assert!(bodies.contains(&"see you soon") && bodies.contains(&"see you sooner"));

    // Refused: a time past, someone else's schedule, a conversation not mine.
    let past = post(
        &p.gateway,
        SCHEDULE,
        json!({ "c": id, "b": "x", "at": in_secs(-5) }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&past), "BAD_USER_INPUT", "{past}");
    let theirs = post(
        &p.gateway,
        CANCEL,
        json!({ "id": later["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");
    let cat = signed_up(&p, "cat").await;
    let stranger = post(
        &p.gateway,
        SCHEDULE,
        json!({ "c": id, "b": "x", "at": in_secs(5) }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(error_code(&stranger), "NOT_FOUND", "{stranger}");

    // At their time: each sent once, not before it.
    let sent = eventually("both scheduled messages to be sent", WAIT, || async {
        let now = history(&p, &bob, &id).await;
        (now.len() >= 2).then_some(now)
    })
    .await;
    let at: DateTime<Utc> = later["sendAt"].as_str().unwrap().parse().unwrap();
    for (body, created) in &sent {
        assert!(
            *created >= at - chrono::Duration::milliseconds(1),
            "{body} went early"
        );
        println!(
            "{body}: sent {} ms after its time",
            (*created - at).num_milliseconds()
        );
    }
    let mut bodies: Vec<&str> = sent.iter().map(|(b, _)| b.as_str()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["see you soon", "see you sooner"]);
    let listed = data(&p.gateway, LIST, json!({ "c": id }), Some(&ann.token)).await;
    assert_eq!(
        listed["scheduledMessages"],
        json!([]),
        "sent ones leave the list"
    );
    let too_late = post(
        &p.gateway,
        CANCEL,
        json!({ "id": later["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&too_late), "CONFLICT", "{too_late}");

    // Checked again when it goes: blocked meanwhile, it fails, and says why.
    let blocked = scheduled(&p, &ann, &id, "are you there?", 600).await;
    data(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": ann.id }),
        Some(&bob.token),
    )
    .await;
    // Chat learns of the block through the event log: once it refuses bob's own
    // writes there, the scheduled message is moved to now.
    eventually("chat to learn the block", WAIT, || async {
        let probe = post(
            &p.gateway,
            "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
            json!({ "input": { "conversationId": id, "body": "probe", "idempotencyKey": uuid::Uuid::now_v7().to_string() } }),
            Some(&bob.token),
        )
        .await;
        (probe["errors"][0]["extensions"]["code"] == "FORBIDDEN").then_some(())
    })
    .await;
    data(
        &p.gateway,
        EDIT,
        json!({ "id": blocked["id"], "at": in_secs(1) }),
        Some(&ann.token),
    )
    .await;
    let failed = eventually("the blocked message to fail", WAIT, || async {
        let listed = data(&p.gateway, LIST, json!({}), Some(&ann.token)).await;
        listed["scheduledMessages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == blocked["id"] && s["state"] == "FAILED")
            .cloned()
    })
    .await;
    assert!(
        failed["failure"].as_str().unwrap().contains("blocked"),
        "{failed}"
    );
    assert!(
        history(&p, &ann, &id)
            .await
            .iter()
            .all(|(body, _)| body != "are you there?"),
        "nothing sent"
    );
}

async fn a_scheduled_message_survives_a_crash(profile: Profile) {
    let mut p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    scheduled(&p, &ann, &id, "still here", 3).await;
    p.crash_and_restart().await;
    let sent = eventually("the message scheduled before the crash", WAIT, || async {
        let now = history(&p, &bob, &id).await;
        (!now.is_empty()).then_some(now)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(history(&p, &bob, &id).await, sent, "sent once");
    assert_eq!(sent[0].0, "still here");
}

on_both_profiles!(
    scheduled_messages_wait_then_go_out_once_checked_again,
    a_scheduled_message_survives_a_crash,
);

/// Services only: two instances share one database; every scheduled message goes
/// out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_scheduled_message_once_services() {
    let first = crate::start(Profile::Services).await;
    let second = first.another_instance().await;
    let (ann, bob) = friends(&first).await;
    let id = direct_conversation(&first, &ann, &bob).await;
    for n in 0..20 {
        let via = if n % 2 == 0 { &first } else { &second };
        scheduled(via, &ann, &id, &format!("batch {n}"), 2).await;
    }
    eventually("all twenty to be sent", WAIT, || async {
        (history(&first, &bob, &id).await.len() >= 20).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut bodies: Vec<String> = history(&second, &bob, &id)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..20).map(|n| format!("batch {n}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "each exactly once");
}
