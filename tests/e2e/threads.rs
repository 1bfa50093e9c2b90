//! Threads through the gateway on both profiles: replies to a message kept out of
//! the conversation's timeline, its unread count and `lastItem` (unless also sent
//! to the conversation); the thread's own history, reply count, last reply and
//! participants; a read position and unread count per thread, shared by a member's
//! devices; the stream saying which thread a message is in (issue 22, item 5).

use std::time::Duration;

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{Person, befriend, direct_conversation, group, send, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;
use crate::stream::{next_of, position, subscribe};

const REPLY: &str = "mutation R($c: ID!, $b: String!, $k: String!, $t: ID, $also: Boolean) { \
    sendMessage(input: { conversationId: $c, body: $b, idempotencyKey: $k, threadRootId: $t, alsoSendToConversation: $also }) { \
    id seq threadRootId alsoSentToConversation } }";
const THREAD: &str = "query T($id: ID!) { message(id: $id) { id thread { replyCount lastReplyAt \
    participants { id } lastReadSeq unreadCount replies(first: 10) { edges { node { id body threadRootId } } \
    pageInfo { hasNextPage } } } } }";
const TIMELINE: &str = "query H($id: ID!) { conversation(id: $id) { unreadCount lastItem { id body } \
    messages(last: 20) { edges { node { id body } } } } }";
const READ_THREAD: &str = "mutation M($id: ID!, $s: Int!) { markThreadRead(messageId: $id, upToSeq: $s) { \
    id thread { lastReadSeq unreadCount } } }";

async fn reply(
    p: &echostream_testkit::platform::Platform,
    who: &Person,
    conversation: &str,
    root: &Value,
    body: &str,
    also: bool,
) -> Value {
    let out = data(
        &p.gateway,
        REPLY,
        json!({ "c": conversation, "b": body, "k": format!("t-{body}"), "t": root, "also": also }),
        Some(&who.token),
    )
    .await;
    out["sendMessage"].clone()
}

fn bodies(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("a connection: {connection}"))
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn a_thread_keeps_its_replies_and_its_own_reading(profile: Profile) {
    let p = crate::start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &bob).await;
    befriend(&p, &ann, &cat).await;
    let team = group(&p, &ann, "team", &[&bob, &cat]).await;
    let root = send(&p, &ann, &team, "lunch plans?", "root").await;
    let root_id = root["id"].clone();

    // Bob's devices: one listening live.
    let since = position(&p, &bob).await;
    let mut bobs = subscribe(&p, &bob, &since).await;

    // Two replies kept in the thread, one also sent to the conversation.
    let first = reply(&p, &bob, &team, &root_id, "pizza", false).await;
    assert_eq!(first["threadRootId"], root_id);
    assert_eq!(first["alsoSentToConversation"], false);
    let second = reply(&p, &cat, &team, &root_id, "sushi", false).await;
    // Answering a reply answers its root's thread.
    let third = reply(&p, &cat, &team, &first["id"], "or both", true).await;
    assert_eq!(third["threadRootId"], root_id);
    assert_eq!(third["alsoSentToConversation"], true);

    // The stream says which thread each reply is in.
    // (The root itself may come first: fan-out runs after it was sent.)
    let heard = loop {
        let heard = next_of(&mut bobs, "MessageAdded", Duration::from_secs(20)).await;
        if heard["message"]["id"] == first["id"] {
            break heard;
        }
        assert!(
            heard["message"]["threadRootId"].is_null(),
            "before the reply: {heard}"
        );
    };
    assert_eq!(heard["message"]["threadRootId"], root_id, "{heard}");

    // The thread, from its root.
    let thread = data(
        &p.gateway,
        THREAD,
        json!({ "id": root_id }),
        Some(&ann.token),
    )
    .await;
    let thread = &thread["message"]["thread"];
    assert_eq!(thread["replyCount"], 3, "{thread}");
    assert_eq!(bodies(&thread["replies"]), ["pizza", "sushi", "or both"]);
    let participants: Vec<&str> = thread["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        participants,
        [cat.id.as_str(), bob.id.as_str()],
        "the latest first"
    );
    assert!(thread["lastReplyAt"].is_string());
    // Ann wrote none of them: all three unread in the thread.
    assert_eq!(
        (
            thread["lastReadSeq"].as_i64(),
            thread["unreadCount"].as_i64()
        ),
        (Some(0), Some(3))
    );

    // The conversation's timeline, unread count and last item leave out what stayed
    // in the thread: the root and the reply also sent are there.
    let timeline = data(
        &p.gateway,
        TIMELINE,
        json!({ "id": team }),
        Some(&ann.token),
    )
    .await;
    let conversation = &timeline["conversation"];
    let shown = bodies(&conversation["messages"]);
    assert!(
        shown.contains(&"lunch plans?".to_string()) && shown.contains(&"or both".to_string()),
        "{shown:?}"
    );
    assert!(
        !shown.contains(&"pizza".to_string()) && !shown.contains(&"sushi".to_string()),
        "{shown:?}"
    );
    assert_eq!(conversation["unreadCount"], 1, "only the reply also sent");
    assert_eq!(conversation["lastItem"]["body"], "or both");
    let kept = reply(&p, &bob, &team, &root_id, "kept in", false).await;
    let timeline = data(
        &p.gateway,
        TIMELINE,
        json!({ "id": team }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        timeline["conversation"]["lastItem"]["body"], "or both",
        "not the reply kept in the thread"
    );
    assert_eq!(timeline["conversation"]["unreadCount"], 1);

    // A reply kept in its thread is read in the thread: reading the conversation
    // does not make it READ for its sender.
    let status = "query S($id: ID!) { message(id: $id) { status } }";
    data(
        &p.gateway,
        "mutation R($c: ID!) { markRead(conversationId: $c, upToSeq: 1000000) { id } }",
        json!({ "c": team }),
        Some(&ann.token),
    )
    .await;
    let pizza = data(
        &p.gateway,
        status,
        json!({ "id": first["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_ne!(pizza["message"]["status"], "READ", "{pizza}");

    // Reading the thread: up to the second reply, then past the newest (clamped);
    // positions never move back.
    let read = data(
        &p.gateway,
        READ_THREAD,
        json!({ "id": root_id, "s": second["seq"] }),
        Some(&ann.token),
    )
    .await;
    let mine = &read["markThreadRead"]["thread"];
    assert_eq!(
        (mine["lastReadSeq"].clone(), mine["unreadCount"].clone()),
        (second["seq"].clone(), json!(2))
    );
    // Cat replied after it, Ann read past it: Bob's reply is READ.
    let pizza = data(
        &p.gateway,
        status,
        json!({ "id": first["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(pizza["message"]["status"], "READ", "{pizza}");
    let back = data(
        &p.gateway,
        READ_THREAD,
        json!({ "id": root_id, "s": 1 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        back["markThreadRead"]["thread"]["lastReadSeq"],
        second["seq"]
    );
    let all = data(
        &p.gateway,
        READ_THREAD,
        json!({ "id": root_id, "s": 1_000_000 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(all["markThreadRead"]["thread"]["lastReadSeq"], kept["seq"]);
    assert_eq!(all["markThreadRead"]["thread"]["unreadCount"], 0);

    // Replying reads the thread up to the reply, and the member's devices hear it.
    let mine = reply(&p, &bob, &team, &root_id, "see you", false).await;
    // (Bob's earlier replies moved it first: each is told, in order.)
    let mut told_seqs = Vec::new();
    loop {
        let told = next_of(&mut bobs, "ThreadReadChanged", Duration::from_secs(20)).await;
        assert_eq!(told["rootId"], root_id);
        told_seqs.push(told["readSeq"].as_i64().unwrap());
        if told["readSeq"] == mine["seq"] {
            break;
        }
    }
    assert_eq!(
        told_seqs,
        [
            first["seq"].as_i64().unwrap(),
            kept["seq"].as_i64().unwrap(),
            mine["seq"].as_i64().unwrap()
        ]
    );
    let bobs_view = data(
        &p.gateway,
        THREAD,
        json!({ "id": root_id }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(bobs_view["message"]["thread"]["unreadCount"], 0);

    // A reply deleted for everyone leaves the count; paging the thread works.
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }",
        json!({ "m": second["id"] }),
        Some(&cat.token),
    )
    .await;
    let page = data(
        &p.gateway,
        "query P($id: ID!) { message(id: $id) { thread { replyCount replies(first: 2) { edges { node { body } } pageInfo { hasNextPage } } } } }",
        json!({ "id": root_id }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(page["message"]["thread"]["replyCount"], 4);
    assert_eq!(
        page["message"]["thread"]["replies"]["pageInfo"]["hasNextPage"],
        true
    );

    // Refusals: a root of another conversation, a system item's thread, no thread
    // to read from a reply, and nothing for someone outside.
    let outsider = signed_up(&p, "eve").await;
    let peek = post(
        &p.gateway,
        THREAD,
        json!({ "id": root_id }),
        Some(&outsider.token),
    )
    .await;
    assert!(peek["data"]["message"].is_null(), "{peek}");
    let wrong = post(
        &p.gateway,
        READ_THREAD,
        json!({ "id": first["id"], "s": 5 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    let other = direct_conversation(&p, &ann, &bob).await;
    let across = post(
        &p.gateway,
        REPLY,
        json!({ "c": other, "b": "x", "k": "across", "t": root_id, "also": false }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&across), "BAD_USER_INPUT");
}

on_both_profiles!(a_thread_keeps_its_replies_and_its_own_reading);
