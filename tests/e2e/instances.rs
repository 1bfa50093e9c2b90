//! Two of every process: two gateways and two instances of each subgraph, each its
//! own process, on one PostgreSQL, Redis and broker (services profile), with
//! clients spread over both gateways.

use std::time::Duration;

use echostream_testkit::client::{Subscription, data, error_code, eventually, post};
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
            // A process serves one subgraph: a small pool each keeps twelve processes
            // within the database's connections.
            ("ECHOSTREAM_DATABASE__MAX_CONNECTIONS", "4"),
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
}
