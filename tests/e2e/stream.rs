//! The resumable stream through the gateway: resume without gap or duplicate across
//! many killed sockets and after a client fell behind, `ResyncRequired` for positions it cannot replay, the HTTP
//! catch-up, receipts, membership, conversation changes and typing live.

use std::time::Duration;

use echostream_testkit::client::{
    Received, Subscription, connect_ws_small, data, error_code, post,
};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, befriend, direct_conversation, friends, group, send, send_to, signed_up,
};
use futures::{StreamExt, stream};
use serde_json::{Value, json};

use crate::on_both_profiles;

/// Every event with what tests check of it.
pub const EVENTS: &str = "subscription E($since: String) { chatEvents(since: $since) { __typename position \
    ... on MessageAdded { message { id seq conversationId body threadRootId sender { id username } } } \
    ... on MessageChanged { messageId current { body editedAt deletedAt reactions { emoji count reactedByMe } } } \
    ... on MessageHidden { messageId } \
    ... on ReceiptChanged { conversationId user { id } deliveredSeq readSeq } \
    ... on MessagesStatusChanged { conversationId deliveredSeq readSeq } \
    ... on ConversationChanged { conversation { id title } } \
    ... on MembersJoined { conversationId users { id } } \
    ... on MembersLeft { conversationId users { id } } \
    ... on TypingChanged { conversationId user { id } typing } \
    ... on ThreadReadChanged { conversationId rootId readSeq } \
    ... on ResyncRequired { reason } } }";
const CHANGES: &str = "query C($p: String!, $first: Int) { changesSince(position: $p, first: $first) { position hasMore \
    events { __typename position ... on MessageAdded { message { seq body } } ... on ResyncRequired { reason } } } }";

pub async fn position(p: &Platform, who: &Person) -> String {
    data(
        &p.gateway,
        "{ streamPosition }",
        json!({}),
        Some(&who.token),
    )
    .await["streamPosition"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn subscribe(p: &Platform, who: &Person, since: &str) -> Subscription {
    Subscription::start(&p.gateway, EVENTS, json!({ "since": since }), &who.token).await
}

/// The next event of `kind` (skipping others), or panics after `within`.
pub async fn next_of(sub: &mut Subscription, kind: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let payload = sub
            .next(left)
            .await
            .unwrap_or_else(|| panic!("no {kind} within {within:?}"));
        let event = payload["data"]["chatEvents"].clone();
        assert!(!event.is_null(), "{payload}");
        if event["__typename"] == kind {
            return event;
        }
    }
}

async fn a_client_killed_mid_stream_many_times_misses_nothing_and_sees_nothing_twice(
    profile: Profile,
) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let mut since = position(&p, &bob).await;
    const TOTAL: i64 = 80;
    let sender = {
        let (url, token, id) = (p.gateway.clone(), ann.token.clone(), id.clone());
        tokio::spawn(async move {
            for i in 1..=TOTAL {
                send_to(&url, &token, &id, &format!("m{i}"), &format!("k{i}")).await;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };
    let mut seen: Vec<i64> = Vec::new();
    let mut reconnects = 0;
    while seen.len() < TOTAL as usize {
        let mut sub = subscribe(&p, &bob, &since).await;
        reconnects += 1;
        // Read a few events (or for a moment), then drop the socket without a word.
        let take = 3 + reconnects % 5;
        for _ in 0..take {
            let Some(payload) = sub.next(Duration::from_millis(400)).await else {
                break;
            };
            let event = &payload["data"]["chatEvents"];
            assert_ne!(event["__typename"], "ResyncRequired", "{event}");
            if event["__typename"] == "MessageAdded" {
                seen.push(event["message"]["seq"].as_i64().unwrap());
            }
            since = event["position"].as_str().unwrap().to_string();
        }
        drop(sub);
        assert!(reconnects < 500, "no progress: {seen:?}");
    }
    sender.await.unwrap();
    assert_eq!(
        seen,
        (1..=TOTAL).collect::<Vec<_>>(),
        "0 lost, 0 duplicated, order kept"
    );
    assert!(reconnects >= 10, "the socket was killed {reconnects} times");
}

async fn a_position_beyond_the_window_gets_resync_required_then_goes_on(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CHAT__STREAM_WINDOW", "5")],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let old = position(&p, &bob).await;
    // A client that keeps up hears all twelve; the one that comes back later cannot.
    let mut watcher = subscribe(&p, &bob, &old).await;
    for i in 1..=12 {
        send(&p, &ann, &id, &format!("m{i}"), &format!("k{i}")).await;
    }
    let mut head = String::new();
    for i in 1..=12 {
        let event = next_of(&mut watcher, "MessageAdded", Duration::from_secs(10)).await;
        assert_eq!(event["message"]["seq"], i);
        head = event["position"].as_str().unwrap().to_string();
    }
    drop(watcher);
    let changes = data(
        &p.gateway,
        CHANGES,
        json!({ "p": old, "first": 100 }),
        Some(&bob.token),
    )
    .await;
    let events = changes["changesSince"]["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "a resync, and nothing after it in the same page"
    );
    assert_eq!(events[0]["__typename"], "ResyncRequired");
    assert_eq!(changes["changesSince"]["hasMore"], false);
    assert_eq!(changes["changesSince"]["position"], head.as_str());
    let again = data(&p.gateway, CHANGES, json!({ "p": head }), Some(&bob.token)).await;
    assert!(
        again["changesSince"]["events"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let mut sub = subscribe(&p, &bob, &old).await;
    let first = sub.next(Duration::from_secs(10)).await.unwrap();
    let first = &first["data"]["chatEvents"];
    assert_eq!(first["__typename"], "ResyncRequired", "{first}");
    assert!(
        first["reason"].as_str().unwrap().contains("window"),
        "{first}"
    );
    assert_eq!(first["position"], head.as_str());
    // After the resync, live events follow from the new position.
    send(&p, &ann, &id, "after", "k-after").await;
    let next = next_of(&mut sub, "MessageAdded", Duration::from_secs(10)).await;
    assert_eq!(next["message"]["body"], "after");
    assert_eq!(next["message"]["seq"], 13);

    let bad = post(
        &p.gateway,
        CHANGES,
        json!({ "p": "junk" }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let mut refused =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": "junk" }), &bob.token).await;
    assert_eq!(
        refused.error(Duration::from_secs(10)).await,
        "BAD_USER_INPUT"
    );
}

async fn changes_since_pages_what_was_missed_in_order(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let start = position(&p, &bob).await;
    for i in 1..=7 {
        send(&p, &ann, &id, &format!("m{i}"), &format!("k{i}")).await;
    }
    let mut bodies: Vec<String> = Vec::new();
    let mut at = start;
    for _ in 0..100 {
        let changes = data(
            &p.gateway,
            CHANGES,
            json!({ "p": at, "first": 3 }),
            Some(&bob.token),
        )
        .await;
        let page = &changes["changesSince"];
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        for e in events {
            assert_eq!(e["__typename"], "MessageAdded", "{e}");
            bodies.push(e["message"]["body"].as_str().unwrap().to_string());
        }
        at = page["position"].as_str().unwrap().to_string();
        if bodies.len() == 7 {
            assert_eq!(page["hasMore"], false);
            break;
        }
        if page["hasMore"] == false {
            tokio::time::sleep(Duration::from_millis(100)).await; // the fan-out is behind
        }
    }
    assert_eq!(bodies, (1..=7).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

async fn receipts_membership_changes_and_typing_reach_members_live(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CHAT__TYPING_TTL_SECS", "1")],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    let dan = signed_up(&p, "dan").await;
    befriend(&p, &ann, &cat).await;
    befriend(&p, &ann, &dan).await;
    let room = group(&p, &ann, "Live", &[&bob, &cat]).await;
    let mut anns = subscribe(&p, &ann, &position(&p, &ann).await).await;
    let mut cats = subscribe(&p, &cat, &position(&p, &cat).await).await;
    let m = send(&p, &ann, &room, "hello", "k").await;
    let seq = m["seq"].as_i64().unwrap();

    // Reads reach the sender live as the status of their message: read by all
    // once the last member has read it.
    let mut bobs = subscribe(&p, &bob, &position(&p, &bob).await).await;
    for reader in [&bob, &cat] {
        data(
            &p.gateway,
            "mutation R($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }",
            json!({ "c": room, "s": seq }),
            Some(&reader.token),
        )
        .await;
    }
    let status = next_of(&mut anns, "MessagesStatusChanged", Duration::from_secs(10)).await;
    assert_eq!(status["conversationId"], room.as_str());
    assert_eq!(status["readSeq"], seq, "{status}");
    assert_eq!(status["deliveredSeq"], seq);
    // The reader's own devices follow their read position.
    let own = next_of(&mut bobs, "ReceiptChanged", Duration::from_secs(10)).await;
    assert_eq!(own["user"]["id"], bob.id.as_str());
    assert_eq!(own["readSeq"], seq);

    // A rename and a new member.
    data(
        &p.gateway,
        "mutation U($i: UpdateGroupInput!) { updateGroup(input: $i) { id } }",
        json!({ "i": { "conversationId": room, "title": "Renamed" } }),
        Some(&ann.token),
    )
    .await;
    let changed = next_of(&mut cats, "ConversationChanged", Duration::from_secs(10)).await;
    assert_eq!(changed["conversation"]["title"], "Renamed");
    data(&p.gateway, "mutation A($c: ID!, $u: [ID!]!) { addGroupMembers(conversationId: $c, userIds: $u) { id } }", json!({ "c": room, "u": [dan.id] }), Some(&ann.token)).await;
    let joined = next_of(&mut cats, "MembersJoined", Duration::from_secs(10)).await;
    assert_eq!(joined["users"][0]["id"], dan.id.as_str());

    // Typing: seen by the others, and ended by itself when not refreshed.
    data(
        &p.gateway,
        "mutation T($c: ID!) { setTyping(conversationId: $c, typing: true) }",
        json!({ "c": room }),
        Some(&bob.token),
    )
    .await;
    let typing = next_of(&mut cats, "TypingChanged", Duration::from_secs(10)).await;
    assert_eq!(
        (typing["user"]["id"].as_str(), typing["typing"].as_bool()),
        (Some(bob.id.as_str()), Some(true))
    );
    let stopped = next_of(&mut cats, "TypingChanged", Duration::from_secs(5)).await;
    assert_eq!(stopped["typing"], false, "expired without a refresh");

    // Cat blocks bob: bob's typing no longer reaches her (ann still sees it).
    data(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": bob.id }),
        Some(&cat.token),
    )
    .await;
    let mut hidden = false;
    for _ in 0..50 {
        // Until chat's projection has the block, cat may still see one.
        data(
            &p.gateway,
            "mutation T($c: ID!) { setTyping(conversationId: $c, typing: false) }",
            json!({ "c": room }),
            Some(&bob.token),
        )
        .await;
        let quiet = cats.next(Duration::from_millis(500)).await;
        if quiet.is_none() {
            hidden = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(hidden, "cat still hears bob typing after blocking him");
    let _ = next_of(&mut anns, "TypingChanged", Duration::from_secs(10)).await;

    // Rate limited, and only for members.
    let mut limited = false;
    for _ in 0..30 {
        let body = post(
            &p.gateway,
            "mutation T($c: ID!) { setTyping(conversationId: $c, typing: true) }",
            json!({ "c": room }),
            Some(&ann.token),
        )
        .await;
        if body.get("errors").is_some() {
            assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
            limited = true;
            break;
        }
    }
    assert!(limited, "typing is rate limited");
    let stranger = signed_up(&p, "str").await;
    let body = post(
        &p.gateway,
        "mutation T($c: ID!) { setTyping(conversationId: $c, typing: true) }",
        json!({ "c": room }),
        Some(&stranger.token),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    // Cat leaves: everyone, cat included, hears it.
    data(
        &p.gateway,
        "mutation L($c: ID!) { leaveGroup(conversationId: $c) }",
        json!({ "c": room }),
        Some(&cat.token),
    )
    .await;
    let left = next_of(&mut cats, "MembersLeft", Duration::from_secs(10)).await;
    assert_eq!(left["users"][0]["id"], cat.id.as_str());
    let left = next_of(&mut anns, "MembersLeft", Duration::from_secs(10)).await;
    assert_eq!(left["conversationId"], room.as_str());
}

/// A client that stops reading while its conversation is busy is not skipped past:
/// what it is sent has no hole, then it is told it fell behind — the gateway ends
/// its subscription with `SUBSCRIPTION_LAGGED`, or, when it has not answered the
/// gateway's WebSocket pings for 10 s (a busy machine makes the sending that long),
/// closes the connection — and resuming from the last position it handled brings
/// the rest, nothing lost, nothing twice.
async fn a_client_that_stops_reading_is_told_it_fell_behind_and_resumes_losing_nothing(
    profile: Profile,
) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let since = position(&p, &bob).await;
    let socket = connect_ws_small(&p.gateway, 4096)
        .await
        .expect("ws connect");
    let mut sub =
        Subscription::start_on(socket, EVENTS, json!({ "since": since }), &bob.token).await;
    // Bob's client reads nothing while Ann sends large messages: its socket, the
    // kernel's send buffer on the gateway's side (it grows to about 3.9 MB here), the
    // gateway's write buffer (16 KB) and the subscription's queue (32 events) fill up.
    const TOTAL: usize = 1_200;
    let filler = "x".repeat(3_990);
    stream::iter(1..=TOTAL)
        .for_each_concurrent(4, |i| {
            let (p, ann, id, filler) = (&p, &ann, &id, &filler);
            async move {
                send_to(
                    &p.gateway,
                    &ann.token,
                    id,
                    &format!("{i} {filler}"),
                    &format!("k{i}"),
                )
                .await;
            }
        })
        .await;
    // Then it reads what it was sent: an unbroken run, then why it ended.
    let mut seen: Vec<i64> = Vec::new();
    let mut last = since;
    let told = loop {
        match sub.receive(Duration::from_secs(20)).await {
            Received::Message(message) if message["type"] == "next" => {
                let event = &message["payload"]["data"]["chatEvents"];
                assert_eq!(event["__typename"], "MessageAdded", "{message}");
                seen.push(event["message"]["seq"].as_i64().unwrap());
                last = event["position"].as_str().unwrap().to_string();
            }
            Received::Message(message) if message["type"] == "error" => {
                break message["payload"][0]["extensions"]["code"].clone();
            }
            Received::Closed(Some(code)) => break json!(format!("closed {code}")),
            other => panic!(
                "after {} of {TOTAL} events, the gateway must say why they stopped: {other:?}",
                seen.len()
            ),
        }
        assert!(
            seen.len() < TOTAL,
            "all {TOTAL} were held for a client that read nothing"
        );
    };
    assert!(
        told == json!("SUBSCRIPTION_LAGGED") || told == json!("closed 1002"),
        "told {told} after {} events",
        seen.len()
    );
    assert_eq!(
        seen,
        (1..=seen.len() as i64).collect::<Vec<_>>(),
        "what came before the notice has no hole"
    );
    // Resuming from the last event handled brings exactly the rest.
    let mut again = subscribe(&p, &bob, &last).await;
    while seen.len() < TOTAL {
        // A generous bound: on a machine busy with the rest of the suite, the replay
        // of a thousand 4 KB events has been seen to pause for more than 20 s.
        let event = next_of(&mut again, "MessageAdded", Duration::from_secs(60)).await;
        seen.push(event["message"]["seq"].as_i64().unwrap());
    }
    assert_eq!(
        seen,
        (1..=TOTAL as i64).collect::<Vec<_>>(),
        "0 lost, 0 duplicated, order kept"
    );
}

on_both_profiles!(
    a_client_that_stops_reading_is_told_it_fell_behind_and_resumes_losing_nothing,
    a_client_killed_mid_stream_many_times_misses_nothing_and_sees_nothing_twice,
    a_position_beyond_the_window_gets_resync_required_then_goes_on,
    changes_since_pages_what_was_missed_in_order,
    receipts_membership_changes_and_typing_reach_members_live,
);
