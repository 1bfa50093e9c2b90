//! Receipts are sent where they matter and cost the replay window little: a reader's
//! own devices follow their read state, a sender hears when their messages are
//! delivered to and read by everyone, nobody else hears anything. Hidden reads
//! leave no trace.

use std::time::Duration;

use echostream_testkit::client::{Subscription, data};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, direct_conversation, friends, send, signed_up};
use serde_json::{Value, json};

use crate::groups::open_to_groups;
use crate::on_both_profiles;
use crate::stream::{position, subscribe};

const MARK: &str = "mutation M($c: ID!, $s: Int!) { markDelivered(conversationId: $c, upToSeq: $s) { id } markRead(conversationId: $c, upToSeq: $s) { id } }";

/// Five busy groups, an offline member: while they are away every message is
/// delivered to and read by everyone else, one by one. Resuming, the offline member
/// gets exactly the messages, with no `ResyncRequired`, from a window (100 here)
/// that a receipt per member per move (400 moves) would have overrun many times.
async fn an_offline_member_of_busy_groups_resumes_without_resync(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CHAT__STREAM_WINDOW", "100")],
    )
    .await;
    let away = signed_up(&p, "away").await;
    let mut others: Vec<Person> = Vec::new();
    for name in ["ann", "bob", "cat", "dan"] {
        others.push(signed_up(&p, name).await);
    }
    open_to_groups(&p, &away).await;
    for o in &others[1..] {
        open_to_groups(&p, o).await;
    }
    let mut rooms = Vec::new();
    for n in 0..5 {
        let ids: Vec<&str> = std::iter::once(away.id.as_str())
            .chain(others[1..].iter().map(|o| o.id.as_str()))
            .collect();
        // Until chat has the members' `groupAdds` setting, they cannot be added.
        let created = echostream_testkit::client::eventually(
            "chat to allow the group",
            Duration::from_secs(30),
            || async {
                let out = echostream_testkit::client::post(
                    &p.gateway,
                    "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                    json!({ "i": { "title": format!("busy {n}"), "memberIds": ids } }),
                    Some(&others[0].token),
                )
                .await;
                out["data"]["createGroup"]["id"]
                    .as_str()
                    .map(str::to_string)
            },
        )
        .await;
        rooms.push(created);
    }
    let since = position(&p, &away).await;
    for (r, room) in rooms.iter().enumerate() {
        for m in 0..10 {
            let sender = &others[m % others.len()];
            let sent = send(&p, sender, room, &format!("{r}.{m}"), &format!("k{r}.{m}")).await;
            let seq = sent["seq"].as_i64().unwrap();
            for reader in others.iter().filter(|o| o.id != sender.id) {
                data(
                    &p.gateway,
                    MARK,
                    json!({ "c": room, "s": seq }),
                    Some(&reader.token),
                )
                .await;
            }
        }
    }
    // Everything the others did has reached the streams once the last message has.
    let mut seen = Vec::new();
    let mut cursor = since.clone();
    for _ in 0..100 {
        let changes = data(
            &p.gateway,
            "query C($p: String!) { changesSince(position: $p, first: 500) { position hasMore events { __typename ... on MessageAdded { message { body kind } } } } }",
            json!({ "p": cursor }),
            Some(&away.token),
        )
        .await;
        let page = &changes["changesSince"];
        for event in page["events"].as_array().unwrap() {
            assert_ne!(
                event["__typename"], "ResyncRequired",
                "resumed without resync"
            );
            seen.push(event.clone());
        }
        cursor = page["position"].as_str().unwrap().to_string();
        if seen
            .iter()
            .filter(|e| e["message"]["kind"] == "TEXT")
            .count()
            == 50
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let messages: Vec<&Value> = seen
        .iter()
        .filter(|e| e["message"]["kind"] == "TEXT")
        .collect();
    assert_eq!(messages.len(), 50, "every message once: {seen:?}");
    assert!(
        seen.len() <= 60,
        "the others' receipts cost the away member's stream nothing: {} events",
        seen.len()
    );
}

/// The next event of any kind on `sub`, or `None` after `within`.
async fn next_event(sub: &mut Subscription, within: Duration) -> Option<Value> {
    sub.next(within)
        .await
        .map(|payload| payload["data"]["chatEvents"].clone())
}

/// With read receipts off, reading tells nothing: no raised delivery, no status for
/// the sender, no "seen by", and nothing that reappears once they are on again.
async fn hidden_reads_leave_no_trace(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    data(
        &p.gateway,
        "mutation { updatePrivacySettings(input: { readReceipts: false }) { readReceipts } }",
        json!({}),
        Some(&bob.token),
    )
    .await;
    let mut anns = subscribe(&p, &ann, &position(&p, &ann).await).await;
    let sent = send(&p, &ann, &id, "are you there?", "q").await;
    let seq = sent["seq"].as_i64().unwrap();
    assert_eq!(
        next_event(&mut anns, Duration::from_secs(10))
            .await
            .unwrap()["__typename"],
        "MessageAdded"
    );
    // Chat learns bob's setting from profile's event: until then a read may show.
    let status_query = "query S($id: ID!, $m: ID!) { conversation(id: $id) { members { user { id } deliveredSeq lastReadSeq } \
        messages(around: $m, first: 1) { edges { node { status seenBy { edges { node { user { id } } } } } } } } }";
    echostream_testkit::client::eventually(
        "chat to hide bob's reads",
        Duration::from_secs(30),
        || async {
            let out = data(
                &p.gateway,
                status_query,
                json!({ "id": id, "m": sent["id"] }),
                Some(&ann.token),
            )
            .await;
            let members = out["conversation"]["members"].as_array()?.clone();
            members
                .iter()
                .any(|m| m["user"]["id"] == bob.id.as_str() && m["lastReadSeq"].is_null())
                .then_some(())
        },
    )
    .await;
    data(
        &p.gateway,
        "mutation R($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { unreadCount } }",
        json!({ "c": id, "s": seq }),
        Some(&bob.token),
    )
    .await;
    assert!(
        next_event(&mut anns, Duration::from_secs(2))
            .await
            .is_none(),
        "the sender hears nothing of a hidden read"
    );
    let out = data(
        &p.gateway,
        status_query,
        json!({ "id": id, "m": sent["id"] }),
        Some(&ann.token),
    )
    .await;
    let bobs = out["conversation"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == bob.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        bobs["deliveredSeq"], 0,
        "reading did not raise delivery: {bobs}"
    );
    let node = &out["conversation"]["messages"]["edges"][0]["node"];
    assert_eq!(node["status"], "SENT", "{node}");
    // Receipts on again: the read made while hidden left no time to show.
    data(
        &p.gateway,
        "mutation { updatePrivacySettings(input: { readReceipts: true }) { readReceipts } }",
        json!({}),
        Some(&bob.token),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let out = data(
        &p.gateway,
        status_query,
        json!({ "id": id, "m": sent["id"] }),
        Some(&ann.token),
    )
    .await;
    let node = &out["conversation"]["messages"]["edges"][0]["node"];
    assert_eq!(
        node["seenBy"]["edges"].as_array().map(Vec::len),
        Some(0),
        "no read mark was kept: {node}"
    );
}

on_both_profiles!(
    an_offline_member_of_busy_groups_resumes_without_resync,
    hidden_reads_leave_no_trace,
);
