//! A poison event on the platform's own log: parked by each consumer after its
//! retries while its partition goes on, listed and replayed with the operator's
//! command (`echostream dead-letters`). Services profile: the test publishes to the
//! platform's Kafka topics from outside (the embedded log lives inside the process;
//! `crates/ports/tests/ports.rs` parks and replays on it).

use std::time::Duration;

use echostream_config::KafkaConfig;
use echostream_ports::events::kafka::KafkaLog;
use echostream_ports::events::{Envelope, EventLog};
use echostream_testkit::client::eventually;
use echostream_testkit::platform::{Platform, Profile, service_env};
use echostream_testkit::scenario::{direct_conversation, friends};
use serde_json::{Value, json};

fn parked(p: &Platform) -> Vec<Value> {
    p.cli(&["dead-letters", "list"])
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// The platform's own Kafka topics, to publish to from outside.
async fn platform_log(p: &Platform, partitions: i32) -> KafkaLog {
    KafkaLog::connect(&KafkaConfig {
        brokers: service_env("TEST_ECHOSTREAM_KAFKA"),
        topic_prefix: p
            .config_value("ECHOSTREAM_KAFKA__TOPIC_PREFIX")
            .expect("a topic prefix")
            .to_string(),
        partitions,
        ..KafkaConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_parked_listed_and_replayed_services() {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        Profile::Services,
        &[
            // One partition: the good events below queue behind the poison one.
            ("ECHOSTREAM_KAFKA__PARTITIONS", "1"),
            ("ECHOSTREAM_KAFKA__CONSUMER_BACKOFF_MS", "20"),
        ],
    )
    .await;
    let log = platform_log(&p, 1).await;
    let poison = Envelope {
        kind: "profile.friendship.created".into(),
        ..Envelope::new("", None, "poison", json!({ "userIds": "not two ids" }))
    };
    log.publish(&poison).await.unwrap();

    // Chat and presence keep friendships, notification tells of them: each parks
    // the event after 5 attempts.
    let listed = eventually(
        "every reader to park it",
        Duration::from_secs(60),
        || async {
            let rows = parked(&p);
            (rows.len() == 3).then_some(rows)
        },
    )
    .await;
    let mut consumers: Vec<&str> = listed
        .iter()
        .map(|r| r["consumer"].as_str().unwrap())
        .collect();
    consumers.sort();
    assert_eq!(
        consumers,
        ["chat:profile", "notification:profile", "presence:profile"]
    );
    for row in &listed {
        assert_eq!(row["event"]["id"], poison.id.to_string(), "{row}");
        assert_eq!(row["attempts"], 5, "{row}");
        assert!(row["error"].as_str().unwrap().contains("payload"), "{row}");
    }

    // The partition went on: a friendship made after it reaches chat.
    let (ann, bob) = friends(&p).await;
    direct_conversation(&p, &ann, &bob).await;

    // Replayed on request; still malformed, so parked again with more attempts.
    let marked = p.cli(&["dead-letters", "replay", "--all"]);
    assert!(marked.contains("3 parked event(s) marked"), "{marked}");
    eventually("the replays to run", Duration::from_secs(60), || async {
        let rows = parked(&p);
        (rows.len() == 3 && rows.iter().all(|r| r["attempts"] == 10)).then_some(())
    })
    .await;
}

/// A chat event the fan-out can never apply (a payload version this build does not
/// read) is parked, and the members it names are told: their streams start anew,
/// so a live subscriber gets `ResyncRequired` instead of silently missing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_chat_event_tells_its_members_to_resync_services() {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        Profile::Services,
        &[("ECHOSTREAM_KAFKA__CONSUMER_BACKOFF_MS", "20")],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let mut bobs =
        crate::stream::subscribe(&p, &bob, &crate::stream::position(&p, &bob).await).await;
    let log = platform_log(&p, KafkaConfig::default().partitions).await;
    // A message sent by a newer build: version 2 of `chat.message.sent`.
    let from_the_future = Envelope {
        kind: "chat.message.sent".into(),
        version: 2,
        ..Envelope::new(
            "",
            Some(ann.id.parse().unwrap()),
            id.as_str(),
            json!({ "conversationId": id, "memberIds": [ann.id, bob.id], "seq": 99 }),
        )
    };
    log.publish(&from_the_future).await.unwrap();
    let told = crate::stream::next_of(&mut bobs, "ResyncRequired", Duration::from_secs(60)).await;
    assert!(told["position"].is_string(), "{told}");
    let rows = parked(&p);
    assert!(
        rows.iter().any(|r| r["consumer"] == "chat-fanout:chat"
            && r["event"]["id"] == from_the_future.id.to_string()),
        "{rows:?}"
    );
}
