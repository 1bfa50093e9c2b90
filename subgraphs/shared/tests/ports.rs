//! The same behaviour asked of both implementations of each port: the embedded one
//! in process, the services one against the real server scripts/services.sh starts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use echostream_shared::config::{KafkaConfig, RedisConfig, S3Config, SmtpConfig};
use echostream_shared::events::kafka::KafkaLog;
use echostream_shared::events::memory::MemoryLog;
use echostream_shared::events::{Envelope, EventLog, StartAt};
use echostream_shared::mail::{Mail, Mailer, SmtpMailer};
use echostream_shared::objects::ObjectStore;
use echostream_shared::objects::local::LocalObjects;
use echostream_shared::objects::s3::S3Objects;
use echostream_shared::pubsub::PubSub;
use echostream_shared::pubsub::memory::MemoryPubSub;
use echostream_shared::pubsub::redis::RedisPubSub;
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: services tests need the real services that scripts/test.sh starts"
        )
    })
}

fn isolation() -> String {
    format!("t{}", Uuid::now_v7().simple())
}

// ---- pub/sub -------------------------------------------------------------------

async fn pubsub_conformance(pubsub: Arc<dyn PubSub>) {
    // Delivery to every subscriber of a channel, none to others.
    let mut first = pubsub.subscribe("room:1").await.unwrap();
    let mut second = pubsub.subscribe("room:1").await.unwrap();
    let mut other = pubsub.subscribe("room:2").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    pubsub.publish("room:1", "hello").await.unwrap();
    let within = Duration::from_secs(5);
    assert_eq!(
        tokio::time::timeout(within, first.next())
            .await
            .unwrap()
            .unwrap(),
        "hello"
    );
    assert_eq!(
        tokio::time::timeout(within, second.next())
            .await
            .unwrap()
            .unwrap(),
        "hello"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), other.next())
            .await
            .is_err()
    );

    // Keys, with and without expiry.
    pubsub.set("k", "v", None).await.unwrap();
    assert_eq!(pubsub.get("k").await.unwrap().as_deref(), Some("v"));
    pubsub.delete("k").await.unwrap();
    assert_eq!(pubsub.get("k").await.unwrap(), None);
    pubsub
        .set("short", "v", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(pubsub.get("short").await.unwrap(), None);

    // Fixed-window counters.
    let (one, left) = pubsub
        .increment("counter", Duration::from_secs(30))
        .await
        .unwrap();
    let (two, _) = pubsub
        .increment("counter", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!((one, two), (1, 2));
    assert!((1..=30).contains(&left), "{left}");
    pubsub
        .increment("blink", Duration::from_millis(150))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        pubsub
            .increment("blink", Duration::from_secs(5))
            .await
            .unwrap()
            .0,
        1,
        "a new window"
    );

    // Hashes.
    pubsub
        .hash_set("h", "a", "1", Duration::from_secs(30))
        .await
        .unwrap();
    pubsub
        .hash_set("h", "b", "2", Duration::from_secs(30))
        .await
        .unwrap();
    pubsub.hash_delete("h", "a").await.unwrap();
    let all = pubsub.hash_get_all("h").await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all["b"], "2");
    assert!(pubsub.hash_get_all("missing").await.unwrap().is_empty());
}

#[tokio::test]
async fn embedded_pubsub_conforms() {
    pubsub_conformance(Arc::new(MemoryPubSub::new())).await;
}

#[tokio::test]
async fn services_pubsub_conforms_on_redis() {
    let config = RedisConfig {
        url: env("TEST_ECHOSTREAM_REDIS"),
        key_prefix: format!("{}:", isolation()),
    };
    pubsub_conformance(Arc::new(RedisPubSub::connect(&config).await.unwrap())).await;
}

// ---- event log -----------------------------------------------------------------

async fn event_log_conformance(log: Arc<dyn EventLog>, group: &str) {
    let keys = ["conversation-a", "conversation-b"];
    for n in 0..6 {
        let event = Envelope::new("chat.message.sent", None, keys[n % 2], json!({ "n": n }));
        log.publish(&event).await.unwrap();
    }
    let mut consumer = log
        .subscribe("chat", group, StartAt::Committed)
        .await
        .unwrap();
    let mut seen: Vec<(String, i64)> = Vec::new();
    let mut last = None;
    while seen.len() < 6 {
        let delivery = tokio::time::timeout(Duration::from_secs(30), consumer.next())
            .await
            .expect("events within 30 s")
            .unwrap();
        seen.push((
            delivery.event.key.clone(),
            delivery.event.payload["n"].as_i64().unwrap(),
        ));
        consumer.commit(&delivery).await.unwrap();
        last = Some(delivery);
    }
    // Per key, in publication order.
    for key in keys {
        let order: Vec<i64> = seen
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "{key} out of order: {seen:?}");
        assert_eq!(order.len(), 3);
    }
    assert!(last.is_some());

    // A replay reads everything again, whatever the group committed.
    let mut replay = log
        .subscribe("chat", group, StartAt::Earliest)
        .await
        .unwrap();
    let mut replayed = 0;
    while replayed < 6 {
        tokio::time::timeout(Duration::from_secs(30), replay.next())
            .await
            .expect("replay")
            .unwrap();
        replayed += 1;
    }
}

#[tokio::test]
async fn embedded_event_log_conforms() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new(3));
    event_log_conformance(log, "g").await;
}

#[tokio::test]
async fn services_event_log_conforms_on_kafka() {
    let config = KafkaConfig {
        brokers: env("TEST_ECHOSTREAM_KAFKA"),
        topic_prefix: format!("{}.", isolation()),
        partitions: 3,
    };
    let log: Arc<dyn EventLog> = Arc::new(KafkaLog::connect(&config).await.unwrap());
    event_log_conformance(log, "g").await;
}

// ---- object storage ------------------------------------------------------------

async fn object_conformance(store: &dyn ObjectStore) {
    store
        .put("avatars/u1/a.txt", Bytes::from_static(b"one"), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        store.get("avatars/u1/a.txt").await.unwrap().unwrap(),
        Bytes::from_static(b"one")
    );
    store
        .put("avatars/u1/a.txt", Bytes::from_static(b"two"), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        store.get("avatars/u1/a.txt").await.unwrap().unwrap(),
        Bytes::from_static(b"two")
    );
    store.delete("avatars/u1/a.txt").await.unwrap();
    assert!(store.get("avatars/u1/a.txt").await.unwrap().is_none());
    store.delete("avatars/u1/a.txt").await.unwrap();
    assert!(
        store
            .put("../escape", Bytes::new(), "text/plain")
            .await
            .is_err()
    );
    assert!(
        store
            .presign_put("a/../b", "image/png", Duration::from_secs(60))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn embedded_objects_conform() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalObjects::new(dir.path().to_path_buf(), "http://x".into(), b"k".to_vec());
    object_conformance(&store).await;
}

#[tokio::test]
async fn services_objects_conform_on_s3_with_presigned_urls() {
    let config = S3Config {
        endpoint: env("TEST_ECHOSTREAM_S3"),
        region: "us-east-1".into(),
        bucket: "echostream-ports".into(),
        access_key: env("TEST_ECHOSTREAM_S3_ACCESS_KEY"),
        secret_key: env("TEST_ECHOSTREAM_S3_SECRET_KEY"),
    };
    let store = S3Objects::connect(&config).await.unwrap();
    object_conformance(&store).await;

    // A client uploads and downloads straight from storage with presigned URLs.
    let http = reqwest::Client::new();
    let put = store
        .presign_put("media/p.png", "image/png", Duration::from_secs(60))
        .await
        .unwrap();
    let uploaded = http
        .put(&put)
        .header("content-type", "image/png")
        .body(b"\x89PNG fake".to_vec())
        .send()
        .await
        .unwrap();
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    let get = store
        .presign_get("media/p.png", Duration::from_secs(60))
        .await
        .unwrap();
    let downloaded = http.get(&get).send().await.unwrap();
    assert!(downloaded.status().is_success());
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), b"\x89PNG fake");
    // A tampered signature is refused.
    let tampered = get.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let refused = http.get(&tampered).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}

// ---- mail ------------------------------------------------------------------------

#[tokio::test]
async fn services_mail_reaches_the_smtp_server() {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port: env("TEST_ECHOSTREAM_SMTP_PORT").parse().unwrap(),
        from: "EchoStream <no-reply@echostream.local>".into(),
    };
    let mailer = SmtpMailer::new(&config).unwrap();
    let to = format!("{}@example.com", isolation());
    let mail = Mail {
        to: to.clone(),
        subject: "port test".into(),
        text: "body 424242".into(),
    };
    mailer.send(&mail).await.unwrap();
    let api = env("TEST_ECHOSTREAM_MAILDEV");
    let mut found = false;
    for _ in 0..50 {
        let mails: Vec<serde_json::Value> = reqwest::get(format!("{api}/api/email"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if mails.iter().any(|m| {
            m["to"][0]["address"] == to.as_str()
                && m["subject"] == "port test"
                && m["text"].as_str().unwrap_or("").contains("424242")
        }) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "the mail did not arrive at the SMTP server");
}

#[tokio::test]
async fn a_bad_recipient_is_refused_before_sending() {
    let mailer = SmtpMailer::new(&SmtpConfig::default()).unwrap();
    let mail = Mail {
        to: "not an address".into(),
        subject: "x".into(),
        text: "x".into(),
    };
    assert!(matches!(
        mailer.send(&mail).await,
        Err(echostream_shared::mail::MailError::Address(_))
    ));
}
