//! History, the conversation list, unread counts and receipts, through the gateway.

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    WAIT, befriend, direct_conversation, friends, group, send, send_to, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const PAGE: &str = "query H($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $around: ID) { \
    conversation(id: $id) { messages(first: $first, after: $after, last: $last, before: $before, around: $around) { \
    edges { cursor node { id seq body } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";
const LIST: &str = "query L($first: Int, $after: String, $filter: ConversationFilter) { \
    conversations(first: $first, after: $after, filter: $filter) { \
    edges { cursor node { id kind myRole unreadCount lastReadSeq lastItem { seq body kind } } } pageInfo { hasNextPage endCursor } } unreadTotal }";
const MARK_READ: &str = "mutation R($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { lastReadSeq unreadCount } }";
const MARK_DELIVERED: &str =
    "mutation D($c: ID!, $s: Int!) { markDelivered(conversationId: $c, upToSeq: $s) { id } }";
const STATUS: &str = "query S($id: ID!, $around: ID!) { conversation(id: $id) { messages(around: $around, first: 1) { \
    edges { node { seq status seenBy { edges { node { user { id } readAt } } } } } } } }";

fn seqs(page: &Value) -> Vec<i64> {
    page["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["seq"].as_i64().unwrap())
        .collect()
}

fn info(page: &Value) -> &Value {
    &page["conversation"]["messages"]["pageInfo"]
}

async fn history_pages_forward_backward_and_around_a_message(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let mut sent = Vec::new();
    for i in 1..=25 {
        sent.push(send(&p, &ann, &id, &format!("m{i}"), &format!("k{i}")).await);
    }
    let page = |vars: Value| {
        let mut vars = vars;
        vars["id"] = json!(id);
        let token = bob.token.clone();
        let url = p.gateway.clone();
        async move { post(&url, PAGE, vars, Some(&token)).await }
    };

    let newest = page(json!({ "last": 10 })).await;
    assert_eq!(seqs(&newest["data"]), (16..=25).collect::<Vec<_>>());
    assert_eq!(info(&newest["data"])["hasPreviousPage"], true);
    assert_eq!(info(&newest["data"])["hasNextPage"], false);
    let default = page(json!({})).await;
    assert_eq!(
        seqs(&default["data"]),
        (1..=25).collect::<Vec<_>>(),
        "the newest 50 by default"
    );

    let older = page(json!({ "last": 10, "before": info(&newest["data"])["startCursor"] })).await;
    assert_eq!(seqs(&older["data"]), (6..=15).collect::<Vec<_>>());
    assert_eq!(info(&older["data"])["hasNextPage"], true);
    let oldest = page(json!({ "last": 10, "before": info(&older["data"])["startCursor"] })).await;
    assert_eq!(seqs(&oldest["data"]), (1..=5).collect::<Vec<_>>());
    assert_eq!(info(&oldest["data"])["hasPreviousPage"], false);

    let start = page(json!({ "first": 10 })).await;
    assert_eq!(seqs(&start["data"]), (1..=10).collect::<Vec<_>>());
    assert_eq!(info(&start["data"])["hasPreviousPage"], false);
    assert_eq!(info(&start["data"])["hasNextPage"], true);
    let next = page(json!({ "first": 10, "after": info(&start["data"])["endCursor"] })).await;
    assert_eq!(seqs(&next["data"]), (11..=20).collect::<Vec<_>>());
    let end = page(json!({ "first": 10, "after": info(&next["data"])["endCursor"] })).await;
    assert_eq!(seqs(&end["data"]), (21..=25).collect::<Vec<_>>());
    assert_eq!(info(&end["data"])["hasNextPage"], false);

    let around = page(json!({ "around": sent[12]["id"], "first": 5 })).await;
    assert_eq!(
        seqs(&around["data"]),
        (11..=15).collect::<Vec<_>>(),
        "centred on seq 13"
    );
    let edge = page(json!({ "around": sent[0]["id"], "first": 5 })).await;
    assert_eq!(
        seqs(&edge["data"]),
        (1..=5).collect::<Vec<_>>(),
        "at the start"
    );
    assert_eq!(info(&edge["data"])["hasPreviousPage"], false);

    // Refusals, each naming what is wrong.
    for (vars, code) in [
        (json!({ "first": 0 }), "BAD_USER_INPUT"),
        (json!({ "last": 101 }), "BAD_USER_INPUT"),
        (json!({ "first": 5, "last": 5 }), "BAD_USER_INPUT"),
        (json!({ "after": "junk" }), "BAD_USER_INPUT"),
        (
            json!({ "around": "0190a000-0000-7000-8000-000000000000" }),
            "NOT_FOUND",
        ),
        (
            json!({ "around": sent[3]["id"], "last": 3 }),
            "BAD_USER_INPUT",
        ),
    ] {
        let body = page(vars.clone()).await;
        assert_eq!(error_code(&body), code, "{vars}: {body}");
    }
    // A cursor of another conversation is not accepted here.
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &bob, &cat).await;
    let other = direct_conversation(&p, &bob, &cat).await;
    send(&p, &cat, &other, "hey", "k").await;
    let foreign = post(
        &p.gateway,
        PAGE,
        json!({ "id": other, "last": 1 }),
        Some(&bob.token),
    )
    .await;
    let cursor = info(&foreign["data"])["startCursor"].clone();
    let body = page(json!({ "last": 5, "before": cursor })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

async fn conversation_list_is_ordered_by_activity_with_unread_and_role(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let room = group(&p, &ann, "Room", &[&bob, &cat]).await;
    send(&p, &bob, &direct, "first", "k1").await;
    send(&p, &bob, &direct, "second", "k2").await;
    send(&p, &cat, &room, "newest", "k3").await;
    send(&p, &ann, &room, "mine", "k4").await;

    let list = data(&p.gateway, LIST, json!({}), Some(&ann.token)).await;
    let edges = list["conversations"]["edges"].as_array().unwrap();
    let ids: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [room.as_str(), direct.as_str()],
        "most recent activity first"
    );
    assert_eq!(edges[0]["node"]["myRole"], "OWNER");
    assert_eq!(
        edges[0]["node"]["unreadCount"], 1,
        "her own message does not count"
    );
    assert_eq!(edges[0]["node"]["lastItem"]["body"], "mine");
    assert_eq!(edges[1]["node"]["myRole"], "MEMBER");
    assert_eq!(edges[1]["node"]["unreadCount"], 2);
    assert_eq!(list["unreadTotal"], 3);

    let only = data(
        &p.gateway,
        LIST,
        json!({ "filter": "DIRECT" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(only["conversations"]["edges"].as_array().unwrap().len(), 1);
    let groups = data(
        &p.gateway,
        LIST,
        json!({ "filter": "GROUPS" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(groups["conversations"]["edges"][0]["node"]["kind"], "GROUP");
    let first = data(&p.gateway, LIST, json!({ "first": 1 }), Some(&ann.token)).await;
    assert_eq!(first["conversations"]["pageInfo"]["hasNextPage"], true);
    let after = first["conversations"]["pageInfo"]["endCursor"].clone();
    let second = data(
        &p.gateway,
        LIST,
        json!({ "first": 1, "after": after }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        second["conversations"]["edges"][0]["node"]["id"],
        direct.as_str()
    );
    assert_eq!(second["conversations"]["pageInfo"]["hasNextPage"], false);

    // Reading moves the count; reading an older position moves nothing back.
    let read = data(
        &p.gateway,
        MARK_READ,
        json!({ "c": direct, "s": 1 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(read["markRead"]["unreadCount"], 1);
    let read = data(
        &p.gateway,
        MARK_READ,
        json!({ "c": direct, "s": 99 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        read["markRead"]["lastReadSeq"], 2,
        "clamped to the newest item"
    );
    assert_eq!(read["markRead"]["unreadCount"], 0);
    let back = data(
        &p.gateway,
        MARK_READ,
        json!({ "c": direct, "s": 1 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(back["markRead"]["lastReadSeq"], 2, "never backwards");
    let list = data(&p.gateway, LIST, json!({}), Some(&ann.token)).await;
    assert_eq!(list["unreadTotal"], 1);
    let bad = post(
        &p.gateway,
        MARK_READ,
        json!({ "c": direct, "s": -1 }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

async fn status_and_seen_by_follow_receipts_and_their_privacy(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let room = group(&p, &ann, "Room", &[&bob, &cat]).await;
    let m = send(&p, &ann, &room, "did you see?", "k").await;
    let seq = m["seq"].as_i64().unwrap();
    let status = |who: &echostream_testkit::scenario::Person| {
        let (url, token, vars) = (
            p.gateway.clone(),
            who.token.clone(),
            json!({ "id": room, "around": m["id"] }),
        );
        async move {
            let body = data(&url, STATUS, vars, Some(&token)).await;
            body["conversation"]["messages"]["edges"][0]["node"].clone()
        }
    };
    let readers = |node: &Value| -> Vec<String> {
        node["seenBy"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["user"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(status(&ann).await["status"], "SENT");
    data(
        &p.gateway,
        MARK_DELIVERED,
        json!({ "c": room, "s": seq }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(
        status(&ann).await["status"],
        "SENT",
        "cat has not got it yet"
    );
    data(
        &p.gateway,
        MARK_DELIVERED,
        json!({ "c": room, "s": seq }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(status(&ann).await["status"], "DELIVERED");
    data(
        &p.gateway,
        MARK_READ,
        json!({ "c": room, "s": seq }),
        Some(&bob.token),
    )
    .await;
    let now = status(&ann).await;
    assert_eq!(now["status"], "DELIVERED");
    assert_eq!(readers(&now), std::slice::from_ref(&bob.id));
    data(
        &p.gateway,
        MARK_READ,
        json!({ "c": room, "s": seq }),
        Some(&cat.token),
    )
    .await;
    let now = status(&ann).await;
    assert_eq!(now["status"], "READ");
    assert_eq!(
        readers(&now),
        [bob.id.clone(), cat.id.clone()],
        "earliest first"
    );
    assert!(now["seenBy"]["edges"][0]["node"]["readAt"].is_string());
    // Only the sender sees a message's status.
    assert_eq!(status(&bob).await["status"], Value::Null);

    // Cat turns read receipts off: her reads no longer show to ann.
    data(
        &p.gateway,
        "mutation { updatePrivacySettings(input: { readReceipts: false }) { readReceipts } }",
        json!({}),
        Some(&cat.token),
    )
    .await;
    eventually("cat's reads hidden", WAIT, || async {
        let now = status(&ann).await;
        (now["status"] == "DELIVERED" && readers(&now) == [bob.id.clone()]).then_some(())
    })
    .await;
    let members = data(
        &p.gateway,
        "query M($id: ID!) { conversation(id: $id) { members { user { id } lastReadSeq deliveredSeq } } }",
        json!({ "id": room }),
        Some(&ann.token),
    )
    .await;
    for m in members["conversation"]["members"].as_array().unwrap() {
        if m["user"]["id"] == cat.id.as_str() {
            assert_eq!(m["lastReadSeq"], Value::Null, "hidden");
            assert_eq!(m["deliveredSeq"], seq, "delivery still shows");
        }
    }
}

async fn unread_counts_match_a_recount_under_concurrent_senders_and_readers(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let room = group(&p, &ann, "Busy", &[&bob, &cat]).await;
    let sender = |who: &echostream_testkit::scenario::Person, tag: &'static str| {
        let (url, token, room) = (p.gateway.clone(), who.token.clone(), room.clone());
        tokio::spawn(async move {
            for i in 0..30 {
                send_to(
                    &url,
                    &token,
                    &room,
                    &format!("{tag}{i}"),
                    &format!("{tag}{i}"),
                )
                .await;
            }
        })
    };
    let reader = {
        let (url, token, room) = (p.gateway.clone(), ann.token.clone(), room.clone());
        tokio::spawn(async move {
            for i in 0..30 {
                // Read up to wherever the conversation is now, or a little behind it.
                let now = data(
                    &url,
                    "query C($id: ID!) { conversation(id: $id) { lastSeq } }",
                    json!({ "id": room }),
                    Some(&token),
                )
                .await;
                let upto = now["conversation"]["lastSeq"].as_i64().unwrap() - (i % 3);
                data(
                    &url,
                    MARK_READ,
                    json!({ "c": room, "s": upto.max(0) }),
                    Some(&token),
                )
                .await;
            }
        })
    };
    let (a, b, c) = tokio::join!(sender(&bob, "b"), sender(&cat, "c"), reader);
    a.unwrap();
    b.unwrap();
    c.unwrap();

    // Recount from the history itself.
    let state = data(
        &p.gateway,
        "query C($id: ID!) { conversation(id: $id) { lastReadSeq unreadCount lastSeq \
         messages(first: 100) { edges { node { seq kind sender { id } } } } } unreadTotal }",
        json!({ "id": room }),
        Some(&ann.token),
    )
    .await;
    let conversation = &state["conversation"];
    let read = conversation["lastReadSeq"].as_i64().unwrap();
    let recount = conversation["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let n = &e["node"];
            n["kind"] == "TEXT"
                && n["seq"].as_i64().unwrap() > read
                && n["sender"]["id"] != ann.id.as_str()
        })
        .count();
    assert_eq!(conversation["lastSeq"], 61, "1 system item and 60 messages");
    assert_eq!(
        conversation["unreadCount"].as_i64().unwrap() as usize,
        recount
    );
    assert_eq!(state["unreadTotal"].as_i64().unwrap() as usize, recount);
    assert!(read > 0);
}

/// An idempotency key belongs to its conversation: the same key from the same device
/// in another conversation sends a message there; repeated in the first, it answers
/// with the first message; and a member removed from a group cannot fetch their old
/// message back with its key.
async fn idempotency_keys_are_scoped_to_their_conversation(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&bob]).await;
    let first = send(&p, &bob, &direct, "hello", "same-key").await;
    let second = send(&p, &bob, &team, "hello", "same-key").await;
    assert_ne!(first["id"], second["id"], "one message per conversation");
    let again = send(&p, &bob, &direct, "hello", "same-key").await;
    assert_eq!(
        again["id"], first["id"],
        "a repeat in one conversation is one message"
    );
    data(
        &p.gateway,
        "mutation R($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) { id } }",
        json!({ "c": team, "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    let resent = post(
        &p.gateway,
        "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id body } }",
        json!({ "input": { "conversationId": team, "body": "hello", "idempotencyKey": "same-key" } }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&resent), "NOT_FOUND", "{resent}");
}

on_both_profiles!(
    idempotency_keys_are_scoped_to_their_conversation,
    history_pages_forward_backward_and_around_a_message,
    conversation_list_is_ordered_by_activity_with_unread_and_role,
    status_and_seen_by_follow_receipts_and_their_privacy,
    unread_counts_match_a_recount_under_concurrent_senders_and_readers,
);
