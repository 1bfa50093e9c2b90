//! Replies and forwards through the gateway: a reply's quote follows the original's
//! edits and deletion; forwarded copies after a comment, once per target however
//! often retried, naming the original sender only to those who read the original.

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    befriend, direct_conversation, friends, group, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const REPLY: &str = "mutation R($c: ID!, $b: String!, $k: String!, $r: ID) { sendMessage(input: { conversationId: $c, body: $b, idempotencyKey: $k, replyTo: $r }) { \
    id replyTo { id body deletedAt sender { id } } } }";
const QUOTE: &str =
    "query Q($id: ID!) { message(id: $id) { replyTo { id body editedAt deletedAt } } }";
const FORWARD: &str = "mutation F($i: ForwardMessagesInput!) { forwardMessages(input: $i) { \
    id conversationId body forwarded { original { id sender { id } } } } }";
const LATEST: &str = "query H($id: ID!) { conversation(id: $id) { messages(last: 20) { edges { node { id body \
    forwarded { original { id sender { id } } } } } } } }";

fn latest(answer: &Value) -> Vec<Value> {
    answer["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn a_reply_quotes_the_original_as_it_is_now(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&cat]).await;
    let question = send(&p, &bob, &direct, "what time?", "q").await;
    let reply = data(
        &p.gateway,
        REPLY,
        json!({ "c": direct, "b": "at nine", "k": "r1", "r": question["id"] }),
        Some(&ann.token),
    )
    .await;
    let reply = &reply["sendMessage"];
    assert_eq!(reply["replyTo"]["id"], question["id"]);
    assert_eq!(reply["replyTo"]["sender"]["id"], bob.id.as_str());

    // The quote follows the original: its edit, then its deletion.
    data(
        &p.gateway,
        "mutation E($m: ID!) { editMessage(messageId: $m, body: \"what time tomorrow?\") { id } }",
        json!({ "m": question["id"] }),
        Some(&bob.token),
    )
    .await;
    let quoted = data(
        &p.gateway,
        QUOTE,
        json!({ "id": reply["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(quoted["message"]["replyTo"]["body"], "what time tomorrow?");
    assert!(quoted["message"]["replyTo"]["editedAt"].is_string());
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }",
        json!({ "m": question["id"] }),
        Some(&bob.token),
    )
    .await;
    let quoted = data(
        &p.gateway,
        QUOTE,
        json!({ "id": reply["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(quoted["message"]["replyTo"]["body"], Value::Null);
    assert!(quoted["message"]["replyTo"]["deletedAt"].is_string());

    // Refused: a deleted original, and one of another conversation.
    let deleted = post(
        &p.gateway,
        REPLY,
        json!({ "c": direct, "b": "?", "k": "r2", "r": question["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&deleted), "CONFLICT", "{deleted}");
    let elsewhere = send(&p, &ann, &direct, "elsewhere", "e").await;
    let across = post(
        &p.gateway,
        REPLY,
        json!({ "c": team, "b": "?", "k": "r3", "r": elsewhere["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&across), "BAD_USER_INPUT", "{across}");
}

async fn forwards_copy_once_per_target_and_keep_the_sender_private(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&cat]).await;
    let plan = send(&p, &bob, &direct, "see you at 9", "b1").await;
    let ropes = send(&p, &ann, &direct, "bring ropes", "a1").await;
    let forward = json!({ "i": {
        "messageIds": [ropes["id"], plan["id"]],
        "conversationIds": [team],
        "comment": "from bob:",
        "idempotencyKey": "fw1",
    } });
    let sent = data(&p.gateway, FORWARD, forward.clone(), Some(&ann.token)).await;
    let copies = sent["forwardMessages"].as_array().unwrap().clone();
    let bodies: Vec<&str> = copies.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies,
        ["from bob:", "see you at 9", "bring ropes"],
        "the comment, then the copies in the order written"
    );
    assert!(copies[0]["forwarded"].is_null(), "the comment is ann's own");
    assert_eq!(copies[1]["forwarded"]["original"]["id"], plan["id"]);
    assert_eq!(
        copies[1]["forwarded"]["original"]["sender"]["id"],
        bob.id.as_str(),
        "ann reads the original"
    );

    // A retry sends nothing twice.
    let again = data(&p.gateway, FORWARD, forward, Some(&ann.token)).await;
    let ids = |list: &Value| -> Vec<Value> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].clone())
            .collect()
    };
    assert_eq!(
        ids(&again["forwardMessages"]),
        ids(&sent["forwardMessages"])
    );
    let cats = latest(&data(&p.gateway, LATEST, json!({ "id": team }), Some(&cat.token)).await);
    assert_eq!(
        cats.iter().filter(|m| m["body"] == "see you at 9").count(),
        1
    );

    // Cat, outside the direct conversation, sees a forward without its sender; a copy
    // of the copy still names the first message.
    let copy = cats.iter().find(|m| m["body"] == "see you at 9").unwrap();
    assert!(copy["forwarded"].is_object(), "{copy}");
    assert_eq!(copy["forwarded"]["original"], Value::Null);
    let recopy = data(
        &p.gateway,
        FORWARD,
        json!({ "i": { "messageIds": [copy["id"]], "conversationIds": [team], "idempotencyKey": "fw2" } }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        recopy["forwardMessages"][0]["forwarded"]["original"]["id"],
        plan["id"]
    );

    // A target the forwarder is not in: nothing is sent anywhere.
    let dan = signed_up(&p, "dan").await;
    befriend(&p, &bob, &dan).await;
    let elsewhere = direct_conversation(&p, &bob, &dan).await;
    let before =
        latest(&data(&p.gateway, LATEST, json!({ "id": team }), Some(&ann.token)).await).len();
    let refused = post(
        &p.gateway,
        FORWARD,
        json!({ "i": { "messageIds": [plan["id"]], "conversationIds": [team, elsewhere], "idempotencyKey": "fw3" } }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
    let after =
        latest(&data(&p.gateway, LATEST, json!({ "id": team }), Some(&ann.token)).await).len();
    assert_eq!(before, after);
    let empty = post(
        &p.gateway,
        FORWARD,
        json!({ "i": { "messageIds": [], "conversationIds": [team], "idempotencyKey": "fw4" } }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT", "{empty}");
}

on_both_profiles!(
    a_reply_quotes_the_original_as_it_is_now,
    forwards_copy_once_per_target_and_keep_the_sender_private,
);
