//! Editing and deleting messages through the gateway: the sender's edit window, the
//! edit history, delete for me and for everyone (the sender, or a group's admins),
//! tombstones in history, live `MessageChanged` and a replay that ends at the current
//! state (a deleted text is served by neither).

use std::time::Duration;

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    WAIT, befriend, direct_conversation, friends, group, notifications, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;
use crate::stream::{next_of, position, subscribe};

const EDIT: &str = "mutation E($m: ID!, $b: String!) { editMessage(messageId: $m, body: $b) { id body editedAt edits { body writtenAt } } }";
const DELETE_ALL: &str = "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id body deletedAt deletedBy { id } } }";
const DELETE_MINE: &str = "mutation D($m: ID!) { deleteMessageForMe(messageId: $m) }";
const HISTORY: &str = "query H($id: ID!) { conversation(id: $id) { unreadCount lastItem { seq } \
    messages(last: 50) { edges { node { id seq body editedAt deletedAt edits { body } } } } } }";
const CHANGES: &str = "query C($p: String!) { changesSince(position: $p, first: 100) { events { __typename \
    ... on MessageAdded { message { id body deletedAt } } \
    ... on MessageChanged { messageId current { body editedAt deletedAt } } \
    ... on MessageHidden { messageId } } } }";

fn nodes(history: &Value) -> Vec<Value> {
    history["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn edits_and_deletions_reach_history_live_and_replays(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let since = position(&p, &bob).await;
    let mut live = subscribe(&p, &bob, &since).await;
    let first = send(&p, &ann, &id, "helo", "k1").await;
    let second = send(&p, &ann, &id, "a secret", "k2").await;
    let third = send(&p, &ann, &id, "hi bob", "k3").await;
    let within = Duration::from_secs(20);
    for _ in 0..3 {
        next_of(&mut live, "MessageAdded", within).await;
    }
    let (m1, m2, m3) = (
        first["id"].clone(),
        second["id"].clone(),
        third["id"].clone(),
    );

    // Edit: the sender only; the earlier text joins the history.
    let edited = data(
        &p.gateway,
        EDIT,
        json!({ "m": m1, "b": "hello" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(edited["editMessage"]["body"], "hello");
    assert!(edited["editMessage"]["editedAt"].is_string());
    let edits = edited["editMessage"]["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{edited}");
    assert_eq!(edits[0]["body"], "helo");
    let changed = next_of(&mut live, "MessageChanged", within).await;
    assert_eq!(changed["messageId"], m1);
    assert_eq!(changed["current"]["body"], "hello");
    let refused = post(
        &p.gateway,
        EDIT,
        json!({ "m": m1, "b": "mine now" }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let empty = post(
        &p.gateway,
        EDIT,
        json!({ "m": m1, "b": "   " }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT", "{empty}");
    let unknown = post(
        &p.gateway,
        EDIT,
        json!({ "m": "0190a000-0000-7000-8000-000000000000", "b": "x" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");

    // Delete for everyone: a tombstone; the text is gone from every path.
    let refused = post(&p.gateway, DELETE_ALL, json!({ "m": m2 }), Some(&bob.token)).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let gone = data(&p.gateway, DELETE_ALL, json!({ "m": m2 }), Some(&ann.token)).await;
    assert_eq!(gone["deleteMessageForEveryone"]["body"], Value::Null);
    assert_eq!(
        gone["deleteMessageForEveryone"]["deletedBy"]["id"],
        ann.id.as_str()
    );
    let changed = next_of(&mut live, "MessageChanged", within).await;
    assert_eq!(changed["messageId"], m2);
    assert_eq!(changed["current"]["body"], Value::Null);
    assert!(changed["current"]["deletedAt"].is_string());
    let again = data(&p.gateway, DELETE_ALL, json!({ "m": m2 }), Some(&ann.token)).await;
    assert_eq!(
        again["deleteMessageForEveryone"]["deletedAt"],
        gone["deleteMessageForEveryone"]["deletedAt"]
    );
    let cannot = post(
        &p.gateway,
        EDIT,
        json!({ "m": m2, "b": "back" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&cannot), "CONFLICT", "{cannot}");

    // Delete for me: gone from bob's history and counts only.
    let hidden = data(
        &p.gateway,
        DELETE_MINE,
        json!({ "m": m3 }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(hidden["deleteMessageForMe"], m3);
    next_of(&mut live, "MessageHidden", within).await;
    let bobs = data(&p.gateway, HISTORY, json!({ "id": id }), Some(&bob.token)).await;
    let seen = nodes(&bobs);
    assert_eq!(seen.len(), 2, "{bobs}");
    assert_eq!(seen[0]["body"], "hello");
    assert_eq!(seen[0]["edits"], json!([{ "body": "helo" }]));
    assert_eq!(seen[1]["body"], Value::Null);
    assert!(seen[1]["deletedAt"].is_string());
    assert_eq!(
        bobs["conversation"]["unreadCount"], 1,
        "the edited message only"
    );
    assert_eq!(bobs["conversation"]["lastItem"]["seq"], seen[1]["seq"]);
    let anns = data(&p.gateway, HISTORY, json!({ "id": id }), Some(&ann.token)).await;
    assert_eq!(nodes(&anns).len(), 3, "ann still has the third");

    // Notifications follow: the edited preview, none for the deleted message.
    eventually(
        "notifications to follow the edit and the deletion",
        WAIT,
        || async {
            // One item counts ann's messages; the deleted one is counted out.
            let feed = notifications(&p, &bob, "kind count text payload").await;
            let text = json!(feed).to_string();
            let counted = feed
                .iter()
                .find(|n| n["kind"] == "MESSAGE")
                .is_some_and(|n| n["count"] == 2 && n["text"] == "2 new messages");
            (!text.contains("a secret") && counted).then_some(())
        },
    )
    .await;

    // A replay from before it all ends at the current state: no deleted text.
    let replay = data(&p.gateway, CHANGES, json!({ "p": since }), Some(&bob.token)).await;
    let text = replay.to_string();
    assert!(!text.contains("a secret"), "{replay}");
    assert!(!text.contains("helo\""), "{replay}");
    let events = replay["changesSince"]["events"].as_array().unwrap();
    let added: Vec<&Value> = events
        .iter()
        .filter(|e| e["__typename"] == "MessageAdded")
        .collect();
    assert_eq!(added.len(), 3);
    assert_eq!(added[0]["message"]["body"], "hello");
    assert!(added[1]["message"]["deletedAt"].is_string());
    assert_eq!(added[1]["message"]["body"], Value::Null);
    live.close().await;
}

async fn group_admins_delete_anyones_message_members_do_not(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let id = group(&p, &ann, "team", &[&bob, &cat]).await;
    let by_bob = send(&p, &bob, &id, "off topic", "b1").await;
    let refused = post(
        &p.gateway,
        DELETE_ALL,
        json!({ "m": by_bob["id"] }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let gone = data(
        &p.gateway,
        DELETE_ALL,
        json!({ "m": by_bob["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        gone["deleteMessageForEveryone"]["deletedBy"]["id"],
        ann.id.as_str()
    );
    let cats = data(&p.gateway, HISTORY, json!({ "id": id }), Some(&cat.token)).await;
    let last = nodes(&cats).pop().unwrap();
    assert_eq!(last["body"], Value::Null);
    assert!(last["deletedAt"].is_string());
}

on_both_profiles!(
    edits_and_deletions_reach_history_live_and_replays,
    group_admins_delete_anyones_message_members_do_not,
);
