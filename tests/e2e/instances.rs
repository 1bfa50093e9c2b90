//! Two of every process: two gateways and two instances of each subgraph, each its
//! own process, on one PostgreSQL, Redis and broker (services profile), with
//! clients spread over both gateways.

use std::time::Duration;

use echostream_testkit::client::{Subscription, data, error_code, eventually, post, try_post};
use echostream_testkit::platform::Platform;
use echostream_testkit::scenario::{
    PASSWORD, Person, WAIT, befriend, group, send_to, signed_up, wait_for_presence,
};
use serde_json::json;

use crate::stream::{EVENTS, position};

/// One instance of every process, split, with small caps to count over both.
async fn first_instance() -> Platform {
    Platform::start_split(
        env!("CARGO_BIN_EXE_echostream"),
        &[
            (
                "ECHOSTREAM_GATEWAY__LIMITS__MAX_SUBSCRIPTIONS_PER_USER",
                "3",
            ),
            ("ECHOSTREAM_RATE_LIMITS__EMAIL_CHANGES_PER_HOUR", "2"),
            ("ECHOSTREAM_GATEWAY__LIMITS__MAX_WEBSOCKETS_PER_USER", "5"),
            // A process serves one subgraph: a small pool each keeps twelve processes
            // within the database's connections.
            ("ECHOSTREAM_DATABASE__MAX_CONNECTIONS", "4"),
            // A killed instance's partitions move to the other within three seconds.
            ("ECHOSTREAM_KAFKA__PARTITION_LEASE_MS", "3000"),
        ],
    )
    .await
}

/// `who`'s `chatEvents` from their current position, through `via`'s gateway.
async fn events(via: &Platform, who: &Person) -> Subscription {
    let since = position(via, who).await;
    Subscription::start(&via.gateway, EVENTS, json!({ "since": since }), &who.token).await
}

/// The `seq`s of the next `count` messages the test sent (their bodies start with
/// `sent`) that `sub` hears; other events, and the group's own notices, skipped.
async fn message_seqs(sub: &mut Subscription, count: usize, sent: &str) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(count);
    while seqs.len() < count {
        let payload = sub
            .next(WAIT)
            .await
            .unwrap_or_else(|| panic!("only {} of {count} messages arrived: {seqs:?}", seqs.len()));
        let event = &payload["data"]["chatEvents"];
        assert_ne!(event["__typename"], "ResyncRequired", "{payload}");
        let body = event["message"]["body"].as_str().unwrap_or_default();
        if event["__typename"] == "MessageAdded" && body.starts_with(sent) {
            seqs.push(event["message"]["seq"].as_i64().expect("a seq"));
        }
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_every_process_deliver_each_message_once_in_order_and_count_caps_together() {
    let a = first_instance().await;
    let b = a.another_instance().await;
    assert_eq!(
        a.processes().len(),
        6,
        "a gateway and five subgraphs, apart"
    );

    // Four people, two signed up on each instance; ann befriends the others.
    let ann = signed_up(&a, "ann").await;
    let bob = signed_up(&b, "bob").await;
    let cat = signed_up(&a, "cat").await;
    let dan = signed_up(&b, "dan").await;
    for other in [&bob, &cat, &dan] {
        befriend(&a, &ann, other).await;
    }
    let team = group(&b, &ann, "two of everything", &[&bob, &cat, &dan]).await;

    // Each listens through one gateway: ann and cat on A, bob and dan on B.
    let members: [(&Person, &Platform); 4] = [(&ann, &a), (&bob, &b), (&cat, &a), (&dan, &b)];
    let mut listening = Vec::new();
    for (who, via) in members {
        listening.push(events(via, who).await);
    }

    // Presence crosses instances: bob is online through B, seen through A.
    wait_for_presence(&a, &ann, &bob, "ONLINE").await;
    // So does typing: ann types through A, bob hears it through B.
    data(
        &a.gateway,
        "mutation T($c: ID!) { setTyping(conversationId: $c, typing: true) }",
        json!({ "c": team }),
        Some(&ann.token),
    )
    .await;
    let typing = crate::stream::next_of(&mut listening[1], "TypingChanged", WAIT).await;
    assert_eq!(typing["user"]["id"], ann.id.as_str(), "{typing}");

    // Everyone sends ten at once, alternating gateways.
    const EACH: usize = 10;
    let mut senders = Vec::new();
    for (n, (who, _)) in members.iter().enumerate() {
        let gateways = [a.gateway.clone(), b.gateway.clone()];
        let (token, team) = (who.token.clone(), team.clone());
        senders.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let via = &gateways[(n + i) % 2];
                let sent = send_to(
                    via,
                    &token,
                    &team,
                    &format!("t{n}.{i}"),
                    &format!("k{n}.{i}"),
                )
                .await;
                seqs.push(sent["seq"].as_i64().expect("a seq"));
            }
            seqs
        }));
    }
    let mut expected = Vec::new();
    for sender in senders {
        expected.extend(sender.await.expect("every send answered"));
    }
    expected.sort();
    let total = EACH * members.len();
    assert_eq!(
        expected,
        (expected[0]..expected[0] + total as i64).collect::<Vec<_>>(),
        "one seq each, no gaps"
    );
    for (sub, (who, _)) in listening.iter_mut().zip(members) {
        assert_eq!(
            message_seqs(sub, total, "t").await,
            expected,
            "{}: every message once, in order",
            who.username
        );
        // Nothing more comes: no duplicate arrives late.
        let late = sub.next(Duration::from_millis(500)).await;
        assert!(
            late.is_none_or(|p| p["data"]["chatEvents"]["__typename"] != "MessageAdded"),
            "a message arrived twice"
        );
    }

    // The per-user subscription cap (3) counts over both instances: ann holds one on
    // A; two more on B fill it; a fourth on A is refused.
    let _second = events(&b, &ann).await;
    let third = events(&b, &ann).await;
    let mut fourth = events(&a, &ann).await;
    assert_eq!(fourth.error(WAIT).await, "RATE_LIMITED");
    // One closed on B frees a place on A: the new subscription there is live.
    third.close().await;
    let mut again = eventually("a freed place on the other instance", WAIT, || async {
        let mut again = events(&a, &ann).await;
        match again.message(Duration::from_millis(500)).await {
            Some(refused)
                if refused["type"] == "error" || refused["payload"]["errors"].is_array() =>
            {
                None
            }
            Some(other) => panic!("{other}"),
            None => Some(again),
        }
    })
    .await;
    let sent = send_to(&b.gateway, &dan.token, &team, "to the new one", "fresh").await;
    assert_eq!(
        message_seqs(&mut again, 1, "to the new one").await,
        [sent["seq"].as_i64().unwrap()]
    );

    // Rate limits count over both instances: two email changes an hour, wherever
    // asked for.
    let change =
        "mutation C($e: String!, $p: String!) { requestEmailChange(newEmail: $e, password: $p) }";
    let mut codes = Vec::new();
    for (n, via) in [&a, &b, &a].into_iter().enumerate() {
        let email = format!("{}.{n}@example.com", cat.username);
        let vars = json!({ "e": email, "p": PASSWORD });
        let body = post(&via.gateway, change, vars, Some(&cat.token)).await;
        codes.push(if body["errors"].is_array() {
            error_code(&body)
        } else {
            "OK".to_string()
        });
    }
    assert_eq!(codes, ["OK", "OK", "RATE_LIMITED"], "{codes:?}");

    // So does the sockets cap (5): dan holds one on B; four more over A and B fill
    // it, and a sixth on A is refused until one on B closes.
    let mut sockets = Vec::new();
    for via in [&a, &b, &a, &b] {
        let (socket, answer) = me_over_socket(via, &dan).await;
        assert_eq!(
            answer["payload"]["data"]["me"]["id"],
            dan.id.as_str(),
            "{answer}"
        );
        sockets.push(socket);
    }
    let (_refused, answer) = me_over_socket(&a, &dan).await;
    assert_eq!(
        crate::hostile::ws_error_code(&answer).as_deref(),
        Some("RATE_LIMITED"),
        "{answer}"
    );
    assert!(
        answer.to_string().contains("max_websockets_per_user"),
        "{answer}"
    );
    drop(_refused);
    sockets.pop().expect("one on B").close().await;
    eventually("a socket freed on the other gateway", WAIT, || async {
        let (socket, answer) = me_over_socket(&a, &dan).await;
        (answer["payload"]["data"]["me"]["id"] == dan.id.as_str()).then_some(socket)
    })
    .await;
}

/// Opens a socket to `via`'s gateway signed in as `who` and asks `me { id }` on it:
/// the socket and its first answer (`next` or `error`).
async fn me_over_socket(via: &Platform, who: &Person) -> (Subscription, serde_json::Value) {
    let mut socket =
        Subscription::start(&via.gateway, "{ me { id } }", json!({}), &who.token).await;
    let answer = socket.message(WAIT).await.expect("an answer");
    (socket, answer)
}

/// What a listener heard of the test's messages: their seqs in the order they came,
/// and the position of the last event.
#[derive(Default)]
struct Heard {
    seqs: Vec<i64>,
    position: Option<String>,
}

impl Heard {
    /// Listens on `sub` until `count` messages whose bodies start with `sent` are
    /// heard in all, or the subscription ends or stays silent for `quiet`.
    async fn listen(&mut self, sub: &mut Subscription, count: usize, sent: &str, quiet: Duration) {
        while self.seqs.len() < count {
            let Some(payload) = sub.next(quiet).await else {
                return;
            };
            let event = &payload["data"]["chatEvents"];
            if event.is_null() {
                return;
            }
            assert_ne!(event["__typename"], "ResyncRequired", "{payload}");
            if let Some(position) = event["position"].as_str() {
                self.position = Some(position.to_string());
            }
            let body = event["message"]["body"].as_str().unwrap_or_default();
            if event["__typename"] == "MessageAdded" && body.starts_with(sent) {
                self.seqs
                    .push(event["message"]["seq"].as_i64().expect("a seq"));
            }
        }
    }
}

const SEND: &str =
    "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id seq body } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_one_instance_of_each_is_killed_its_clients_resume_on_the_other_with_nothing_lost() {
    let mut a = first_instance().await;
    let b = a.another_instance().await;
    let ann = signed_up(&b, "ann").await;
    let bob = signed_up(&b, "bob").await;
    let cat = signed_up(&b, "cat").await;
    for other in [&bob, &cat] {
        befriend(&b, &ann, other).await;
    }
    let team = group(&b, &ann, "survivors", &[&bob, &cat]).await;
    // bob listens through A, the instance to be killed; cat through B.
    let mut bob_live = events(&a, &bob).await;
    let mut cat_live = events(&b, &cat).await;

    // ann sends through A and B in turn; once A is gone, a send that got no answer
    // is sent again through B with its idempotency key (stored once either way).
    const TOTAL: usize = 60;
    let gateways = [a.gateway.clone(), b.gateway.clone()];
    let (token, conversation) = (ann.token.clone(), team.clone());
    let sender = tokio::spawn(async move {
        let mut seqs = Vec::with_capacity(TOTAL);
        for i in 0..TOTAL {
            let input = json!({ "input": { "conversationId": conversation,
                "body": format!("kill.{i}"), "idempotencyKey": format!("kill-{i}") } });
            let mut seq = None;
            for via in [&gateways[i % 2], &gateways[1]] {
                if let Ok(body) = try_post(via, SEND, input.clone(), Some(&token)).await
                    && body["errors"].is_null()
                {
                    seq = body["data"]["sendMessage"]["seq"].as_i64();
                    break;
                }
            }
            seqs.push(seq.unwrap_or_else(|| panic!("kill.{i} sent through neither gateway")));
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        seqs
    });

    // A third of the way in, every process of A is killed (SIGKILL).
    let mut bob_heard = Heard::default();
    bob_heard
        .listen(&mut bob_live, TOTAL / 3, "kill.", WAIT)
        .await;
    assert_eq!(
        bob_heard.seqs.len(),
        TOTAL / 3,
        "bob heard a third through A"
    );
    a.kill();
    // Whatever was on its way before the socket closed.
    bob_heard
        .listen(&mut bob_live, TOTAL, "kill.", Duration::from_secs(1))
        .await;

    // bob resumes through B from the last position he heard.
    let since = bob_heard.position.clone().expect("a position");
    let mut bob_resumed =
        Subscription::start(&b.gateway, EVENTS, json!({ "since": since }), &bob.token).await;
    let sent = sender.await.expect("every message sent");
    bob_heard
        .listen(&mut bob_resumed, TOTAL, "kill.", WAIT)
        .await;
    let mut cat_heard = Heard::default();
    cat_heard.listen(&mut cat_live, TOTAL, "kill.", WAIT).await;

    let mut expected = sent.clone();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), TOTAL, "one seq per message: {sent:?}");
    assert_eq!(
        bob_heard.seqs, expected,
        "bob: every message once, in order"
    );
    assert_eq!(
        cat_heard.seqs, expected,
        "cat: every message once, in order"
    );
    for (name, sub) in [("bob", &mut bob_resumed), ("cat", &mut cat_live)] {
        let mut late = Heard::default();
        late.listen(sub, 1, "kill.", Duration::from_millis(500))
            .await;
        assert!(
            late.seqs.is_empty(),
            "{name}: a message arrived twice: {:?}",
            late.seqs
        );
    }
    // History holds each once.
    let history = data(
        &b.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages(last: 100) { nodes { body } } } }",
        json!({ "id": team }),
        Some(&bob.token),
    )
    .await;
    let mut bodies: Vec<String> = history["conversation"]["messages"]["nodes"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|node| node["body"].as_str())
        .filter(|body| body.starts_with("kill."))
        .map(str::to_string)
        .collect();
    bodies.sort();
    let mut wanted: Vec<String> = (0..TOTAL).map(|i| format!("kill.{i}")).collect();
    wanted.sort();
    assert_eq!(bodies, wanted, "each message stored once");
}
