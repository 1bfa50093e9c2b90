//! Pins through the gateway: who may pin follows the roles table, the limit per
//! conversation, pinned messages as a list, and a system item in every member's
//! timeline and stream naming the message.

use std::time::Duration;

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{befriend, friends, group, send, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;
use crate::stream::{position, subscribe};

const PIN: &str =
    "mutation P($m: ID!) { pinMessage(messageId: $m) { id pinned { pinnedBy { id } pinnedAt } } }";
const UNPIN: &str =
    "mutation U($m: ID!) { unpinMessage(messageId: $m) { id pinned { pinnedAt } } }";
const PINNED: &str = "query P($id: ID!) { conversation(id: $id) { pinnedMessages { id body pinned { pinnedBy { id } } } \
    messages(last: 50) { edges { node { kind system { action message { id } } } } } } }";
const ADMINS_ONLY: &str = "mutation G($id: ID!) { updateGroup(input: { conversationId: $id, onlyAdminsSend: true }) { id } }";
const DELETE_ALL: &str = "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }";

fn pinned_ids(answer: &Value) -> Vec<Value> {
    answer["conversation"]["pinnedMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect()
}

fn system_items(answer: &Value) -> Vec<(String, Value)> {
    answer["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["kind"] == "SYSTEM")
        .map(|e| {
            let system = &e["node"]["system"];
            (
                system["action"].as_str().unwrap().to_string(),
                system["message"]["id"].clone(),
            )
        })
        .collect()
}

async fn pins_follow_the_roles_table_and_the_limit(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CHAT__MAX_PINS_PER_CONVERSATION", "2")],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let id = group(&p, &ann, "climbing", &[&bob, &cat]).await;
    let since = position(&p, &cat).await;
    let mut cats = subscribe(&p, &cat, &since).await;
    let m1 = send(&p, &bob, &id, "meet at 9", "b1").await["id"].clone();
    let m2 = send(&p, &bob, &id, "bring ropes", "b2").await["id"].clone();
    let third = send(&p, &bob, &id, "and snacks", "b3").await;
    let m3 = third["id"].clone();

    // A member pins in a group open to all; pinning again changes nothing.
    let pinned = data(&p.gateway, PIN, json!({ "m": m1 }), Some(&bob.token)).await;
    assert_eq!(
        pinned["pinMessage"]["pinned"]["pinnedBy"]["id"],
        bob.id.as_str()
    );
    data(&p.gateway, PIN, json!({ "m": m1 }), Some(&bob.token)).await;
    // Every member's stream carries the system item, naming the message.
    let within = Duration::from_secs(20);
    let item = loop {
        let payload = cats.next(within).await.expect("the pin reaches cat live");
        let event = payload["data"]["chatEvents"].clone();
        // (The group's own system items may still be on their way: skip them.)
        if event["__typename"] == "MessageAdded"
            && event["message"]["seq"] == third["seq"].as_i64().unwrap() + 1
        {
            break event;
        }
    };
    assert_eq!(item["message"]["conversationId"], id.as_str());
    assert!(item["message"]["body"].is_null(), "a system item: {item}");
    data(&p.gateway, PIN, json!({ "m": m2 }), Some(&ann.token)).await;

    // The limit: a third pin is refused until one is unpinned.
    let third = post(&p.gateway, PIN, json!({ "m": m3 }), Some(&ann.token)).await;
    assert_eq!(error_code(&third), "CONFLICT", "{third}");
    let list = data(&p.gateway, PINNED, json!({ "id": id }), Some(&cat.token)).await;
    assert_eq!(
        pinned_ids(&list),
        [m2.clone(), m1.clone()],
        "newest pin first"
    );
    assert_eq!(
        system_items(&list)
            .into_iter()
            .filter(|(action, _)| action.starts_with("MESSAGE_"))
            .collect::<Vec<_>>(),
        [
            ("MESSAGE_PINNED".to_string(), m1.clone()),
            ("MESSAGE_PINNED".to_string(), m2.clone()),
        ],
        "one system item per pin, none for the repeat: {list}"
    );

    // In a group set to admins only, members neither pin nor unpin.
    data(
        &p.gateway,
        ADMINS_ONLY,
        json!({ "id": id }),
        Some(&ann.token),
    )
    .await;
    let refused = post(&p.gateway, UNPIN, json!({ "m": m1 }), Some(&cat.token)).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let unpinned = data(&p.gateway, UNPIN, json!({ "m": m1 }), Some(&ann.token)).await;
    assert_eq!(unpinned["unpinMessage"]["pinned"], Value::Null);
    data(&p.gateway, PIN, json!({ "m": m3 }), Some(&ann.token)).await;

    // A message deleted for everyone leaves the pins; system items are not pinned;
    // strangers see nothing.
    data(&p.gateway, DELETE_ALL, json!({ "m": m2 }), Some(&bob.token)).await;
    let list = data(&p.gateway, PINNED, json!({ "id": id }), Some(&bob.token)).await;
    assert_eq!(pinned_ids(&list), std::slice::from_ref(&m3));
    let actions: Vec<String> = system_items(&list).into_iter().map(|(a, _)| a).collect();
    assert!(actions.contains(&"MESSAGE_UNPINNED".to_string()), "{list}");
    let first_item = list["conversation"]["messages"]["edges"][0]["node"].clone();
    assert_eq!(first_item["kind"], "SYSTEM");
    let created = data(
        &p.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages(first: 1) { edges { node { id } } } } }",
        json!({ "id": id }),
        Some(&ann.token),
    )
    .await;
    let system_id = created["conversation"]["messages"]["edges"][0]["node"]["id"].clone();
    let not_a_message = post(&p.gateway, PIN, json!({ "m": system_id }), Some(&ann.token)).await;
    assert_eq!(
        error_code(&not_a_message),
        "BAD_USER_INPUT",
        "{not_a_message}"
    );
    let dan = signed_up(&p, "dan").await;
    let stranger = post(&p.gateway, PIN, json!({ "m": m3 }), Some(&dan.token)).await;
    assert_eq!(error_code(&stranger), "NOT_FOUND", "{stranger}");
    cats.close().await;
}

on_both_profiles!(pins_follow_the_roles_table_and_the_limit);
