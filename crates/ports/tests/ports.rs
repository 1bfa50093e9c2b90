//! The same behaviour asked of both implementations of each port: the embedded one
//! in process, the services one against the real server scripts/services.sh starts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use echostream_config::{
    Config, DatabaseConfig, KafkaConfig, Profile, RedisConfig, S3Config, SmtpConfig, Subgraph,
};
use echostream_contracts::auth::UserDeleted;
use echostream_migrations::MigratorTrait;
use echostream_ports::events::embedded::EmbeddedLog;
use echostream_ports::events::kafka::KafkaLog;
use echostream_ports::events::{Delivery, Envelope, EventLog, StartAt, partition_for};
use echostream_ports::events::{consumer, dead_letters};
use echostream_ports::mail::{Mail, Mailer, SmtpMailer};
use echostream_ports::objects::ObjectStore;
use echostream_ports::objects::local::LocalObjects;
use echostream_ports::objects::s3::S3Objects;
use echostream_ports::pubsub::memory::MemoryPubSub;
use echostream_ports::pubsub::redis::RedisPubSub;
use echostream_ports::pubsub::{Heard, PubSub, Retention};
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio_util::sync::CancellationToken;
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
    let room = |name: &str| vec![name.to_string()];
    let mut first = pubsub.listen(&room("room:1")).await.unwrap();
    let mut second = pubsub.listen(&room("room:1")).await.unwrap();
    let mut other = pubsub.listen(&room("room:2")).await.unwrap();
    // The port's contract: a listener hears everything published once `listen`
    // has returned (no settling time).
    pubsub.publish("room:1", "hello").await.unwrap();
    let within = Duration::from_secs(5);
    assert_eq!(
        tokio::time::timeout(within, first.next())
            .await
            .unwrap()
            .unwrap(),
        Heard::Frame("hello".into())
    );
    assert_eq!(
        tokio::time::timeout(within, second.next())
            .await
            .unwrap()
            .unwrap(),
        Heard::Frame("hello".into())
    );
    drop(second);
    // One leaving does not stop the other hearing.
    pubsub.publish("room:1", "again").await.unwrap();
    assert_eq!(
        tokio::time::timeout(within, first.next()).await.unwrap(),
        Some(Heard::Frame("again".into()))
    );

    // Replayable streams: offsets, live frames with positions, dedupe, the window.
    let keep = Retention {
        window: 3,
        ttl: Duration::from_secs(60),
    };
    let name = format!("stream-{}", Uuid::now_v7().simple());
    let mut live = pubsub.listen(&room(&name)).await.unwrap();
    let head = pubsub.history(&name, 0, 10, keep).await.unwrap();
    assert_eq!((head.top, head.entries.len(), head.complete), (0, 0, true));
    for i in 1..=5 {
        let streams = room(&name);
        pubsub
            .append(
                &streams,
                &format!("{name}-{i}"),
                &format!("e{i}"),
                None,
                keep,
            )
            .await
            .unwrap();
        // A repeated event appends nothing.
        pubsub
            .append(
                &streams,
                &format!("{name}-{i}"),
                &format!("e{i}"),
                None,
                keep,
            )
            .await
            .unwrap();
        let heard = tokio::time::timeout(within, live.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(heard, Heard::Frame(format!("{}:{i} e{i}", head.epoch)));
    }
    let after = pubsub.history(&name, 3, 10, keep).await.unwrap();
    assert_eq!(after.epoch, head.epoch);
    assert_eq!(after.top, 5);
    assert!(after.complete);
    let offsets: Vec<u64> = after.entries.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, [4, 5]);
    assert_eq!(after.entries[0].data, "e4");
    // Offsets 1 and 2 are trimmed (window 3): reading after 1 says there is a hole.
    assert!(!pubsub.history(&name, 1, 10, keep).await.unwrap().complete);
    // A superseding entry takes its predecessor's place: five changes of one item
    // hold one place in the window, and the offsets they left are no gap.
    let changing = format!("superseded-{}", Uuid::now_v7().simple());
    let streams = room(&changing);
    pubsub
        .append(&streams, &format!("{changing}-a"), "added", None, keep)
        .await
        .unwrap();
    for i in 0..5 {
        pubsub
            .append(
                &streams,
                &format!("{changing}-{i}"),
                &format!("changed {i}"),
                Some("m1"),
                keep,
            )
            .await
            .unwrap();
    }
    let kept = pubsub.history(&changing, 0, 10, keep).await.unwrap();
    assert!(kept.complete, "superseded offsets are no gap");
    assert_eq!(kept.top, 6);
    let entries: Vec<(u64, &str)> = kept
        .entries
        .iter()
        .map(|e| (e.offset, e.data.as_str()))
        .collect();
    assert_eq!(entries, [(1, "added"), (6, "changed 4")]);
    for i in 0..3 {
        pubsub
            .append(&streams, &format!("{changing}-n{i}"), "other", None, keep)
            .await
            .unwrap();
    }
    assert!(
        !pubsub
            .history(&changing, 0, 10, keep)
            .await
            .unwrap()
            .complete,
        "trimmed by the window: a real gap"
    );
    assert!(
        pubsub
            .history(&changing, 6, 10, keep)
            .await
            .unwrap()
            .complete
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
    // A single-use token: of many takers at once, exactly one gets it.
    pubsub.set("once", "t", None).await.unwrap();
    let takers = futures::future::join_all((0..8).map(|_| pubsub.take("once"))).await;
    let got: Vec<String> = takers.into_iter().filter_map(|t| t.unwrap()).collect();
    assert_eq!(got, ["t"]);
    assert_eq!(pubsub.get("once").await.unwrap(), None);
    pubsub
        .set("short", "v", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    eventually(|| async { pubsub.get("short").await.unwrap().is_none().then_some(()) }).await;

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
    // Once the window has passed, counting starts again.
    eventually(|| async { pubsub.get("blink").await.unwrap().is_none().then_some(()) }).await;
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
    let many = pubsub
        .hash_get_all_many(&["missing".into(), "h".into()])
        .await
        .unwrap();
    assert_eq!(many.len(), 2, "one map per key, in order");
    assert!(many[0].is_empty());
    assert_eq!(many[1], all);
    assert!(pubsub.hash_get_all_many(&[]).await.unwrap().is_empty());

    // An atomic swap hands back what was there.
    let ttl = Duration::from_secs(30);
    assert_eq!(pubsub.swap("s", "one", ttl).await.unwrap(), None);
    assert_eq!(
        pubsub.swap("s", "two", ttl).await.unwrap().as_deref(),
        Some("one")
    );
    assert_eq!(pubsub.get("s").await.unwrap().as_deref(), Some("two"));

    // One subscription to several channels hears each of them.
    let channels = ["many:1".to_string(), "many:2".to_string()];
    let mut many = pubsub.listen(&channels).await.unwrap();
    pubsub.publish("many:2", "b").await.unwrap();
    pubsub.publish("many:1", "a").await.unwrap();
    pubsub.publish("many:3", "c").await.unwrap();
    let mut heard = Vec::new();
    for _ in 0..2 {
        heard.push(
            tokio::time::timeout(within, many.next())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    heard.sort_by_key(|h| format!("{h:?}"));
    assert_eq!(heard, [Heard::Frame("a".into()), Heard::Frame("b".into())]);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), many.next())
            .await
            .is_err(),
        "not a channel it asked for"
    );

    // Leased places: at most `cap` holders; holding again renews; a lapsed or
    // released place is free for another.
    let lease = Duration::from_millis(300);
    assert!(pubsub.hold("places", "a", 2, lease).await.unwrap());
    assert!(pubsub.hold("places", "b", 2, lease).await.unwrap());
    assert!(!pubsub.hold("places", "c", 2, lease).await.unwrap(), "full");
    assert!(
        pubsub.hold("places", "a", 2, lease).await.unwrap(),
        "a holder renews"
    );
    pubsub.release("places", "b").await.unwrap();
    assert!(
        pubsub.hold("places", "c", 2, lease).await.unwrap(),
        "b's place freed"
    );
    pubsub
        .renew(&[("places".into(), "a".into())], Duration::from_secs(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // c's lease lapsed, a's was renewed: one place is free, not two.
    assert!(pubsub.hold("places", "d", 2, lease).await.unwrap());
    assert!(
        !pubsub.hold("places", "e", 2, lease).await.unwrap(),
        "a still holds one"
    );
}

#[tokio::test]
async fn embedded_pubsub_conforms() {
    pubsub_conformance(Arc::new(MemoryPubSub::new())).await;
}

/// A throwaway Redis that keeps its snapshot (`dump.rdb`) in `dir`.
fn start_redis_in(dir: &std::path::Path, port: u16) -> std::process::Child {
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--appendonly",
            "no",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server");
    let mut child = child;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server did not start on {port}");
}

/// A Redis restored from an older snapshot holds a stream's epoch with a lower
/// offset than was handed out. Appending under it would give new entries the
/// positions of lost ones, and a reader holding a newer position would skip them
/// silently: instead the stream starts a new epoch, and the reader can tell.
#[tokio::test]
async fn services_stream_positions_are_never_reused_after_redis_goes_back_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = start_redis_in(dir.path(), port);
    let config = RedisConfig {
        url: format!("redis://127.0.0.1:{port}"),
        key_prefix: "t:".into(),
        ..RedisConfig::default()
    };
    let pubsub = RedisPubSub::connect(&config).await.unwrap();
    let keep = Retention {
        window: 100,
        ttl: Duration::from_secs(3600),
    };
    let stream = vec!["user:restored".to_string()];
    for n in 1..=3 {
        pubsub
            .append(&stream, &format!("a{n}"), &format!("entry {n}"), None, keep)
            .await
            .unwrap();
    }
    let cli = |args: &[&str]| {
        let status = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    cli(&["SAVE"]);
    for n in 4..=5 {
        pubsub
            .append(&stream, &format!("a{n}"), &format!("entry {n}"), None, keep)
            .await
            .unwrap();
    }
    let before = pubsub.history(&stream[0], 0, 100, keep).await.unwrap();
    assert_eq!(before.top, 5, "a reader has seen up to 5");
    // The server dies and comes back from the snapshot taken at 3.
    redis.kill().unwrap();
    redis.wait().unwrap();
    let mut redis = start_redis_in(dir.path(), port);
    let mut appended = false;
    for n in 6..=9 {
        for _ in 0..50 {
            let dedupe = format!("b{n}");
            if pubsub
                .append(&stream, &dedupe, &format!("entry {n}"), None, keep)
                .await
                .is_ok()
            {
                appended = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(appended, "the connection came back");
    let after = pubsub.history(&stream[0], 5, 100, keep).await.unwrap();
    assert_ne!(
        after.epoch, before.epoch,
        "a store that went back in time starts a new epoch"
    );
    redis.kill().unwrap();
    let _ = redis.wait();
}

#[tokio::test]
async fn services_pubsub_conforms_on_redis() {
    let config = RedisConfig {
        url: env("TEST_ECHOSTREAM_REDIS"),
        key_prefix: format!("{}:", isolation()),
        ..RedisConfig::default()
    };
    pubsub_conformance(Arc::new(RedisPubSub::connect(&config).await.unwrap())).await;
}

#[tokio::test]
async fn services_pubsub_conforms_on_a_redis_cluster() {
    let config = RedisConfig {
        url: env("TEST_ECHOSTREAM_REDIS_CLUSTER"),
        key_prefix: format!("{}:", isolation()),
        cluster: true,
        ..RedisConfig::default()
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
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(
        EmbeddedLog::open(&dir.path().join("events.db"), 3)
            .await
            .unwrap(),
    );
    event_log_conformance(log, "g").await;
}

#[tokio::test]
async fn services_event_log_conforms_on_kafka() {
    let config = KafkaConfig {
        brokers: env("TEST_ECHOSTREAM_KAFKA"),
        topic_prefix: format!("{}.", isolation()),
        partitions: 3,
        ..KafkaConfig::default()
    };
    let log: Arc<dyn EventLog> = Arc::new(KafkaLog::connect(&config).await.unwrap());
    event_log_conformance(log, "g").await;
}

// ---- poison events ----------------------------------------------------------------

/// A consumer that meets an event it cannot apply parks it after its retries and goes
/// on with the partition; a replay asked for later applies it once the cause is gone.
async fn poison_event_conformance(log: Arc<dyn EventLog>, db: DatabaseConnection) {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    let applied: Arc<Mutex<Vec<Uuid>>> = Arc::default();
    let fixed = Arc::new(AtomicBool::new(false));
    // Events of this user fail transiently (a store down) while `outage` holds.
    let flaky_user = Uuid::now_v7();
    let outage = Arc::new(AtomicBool::new(true));
    let shutdown = CancellationToken::new();
    let retries = consumer::Retries {
        attempts: 3,
        backoff: Duration::from_millis(10),
    };
    let parked_told: Arc<Mutex<Vec<Uuid>>> = Arc::default();
    let told = Arc::clone(&parked_told);
    let on_parked: consumer::OnParked = Arc::new(move |delivery: Delivery| {
        let told = Arc::clone(&told);
        Box::pin(async move {
            told.lock().unwrap().push(delivery.event.id);
            Ok(())
        })
    });
    let (seen, cured, down) = (
        Arc::clone(&applied),
        Arc::clone(&fixed),
        Arc::clone(&outage),
    );
    consumer::spawn(
        Arc::clone(&log),
        db.clone(),
        "auth",
        "poison-test".into(),
        retries,
        shutdown.clone(),
        Some(on_parked),
        move |delivery| {
            let (seen, cured, down) = (Arc::clone(&seen), Arc::clone(&cured), Arc::clone(&down));
            async move {
                // As every consumer reads a contract: the malformed payload fails
                // to decode until "fixed" stands for a deployed fix.
                let user_id = match delivery.event.decode::<UserDeleted>() {
                    Ok(Some(event)) => event.user_id,
                    Ok(None) => return Ok(()),
                    Err(_) if cured.load(Ordering::SeqCst) => Uuid::nil(),
                    Err(err) => return Err(err.into()),
                };
                if user_id == flaky_user && down.load(Ordering::SeqCst) {
                    return Err(echostream_ports::Error::internal(
                        "the store is unreachable",
                    ));
                }
                seen.lock().unwrap().push(user_id);
                Ok(())
            }
        },
    );
    // Another key on the same partition: the good event waits behind the bad one.
    let other_key = (0..)
        .map(|n| format!("user-{n}"))
        .find(|k| k != "user-1" && partition_for(k, 3) == partition_for("user-1", 3))
        .unwrap();
    let malformed = |key: &str| Envelope {
        kind: "auth.user.deleted".into(),
        ..Envelope::new("", None, key, json!({ "userId": "not a uuid" }))
    };
    let deleted = |user_id: Uuid, key: &str| Envelope {
        key: key.into(),
        ..Envelope::of(&UserDeleted { user_id }, None)
    };
    let first_bad = malformed("user-1");
    let good_user = Uuid::now_v7();
    log.publish(&first_bad).await.unwrap();
    log.publish(&deleted(good_user, &other_key)).await.unwrap();

    let parked = eventually(|| async {
        let parked = dead_letters::list(&db, Some("poison-test:auth"))
            .await
            .unwrap();
        (!applied.lock().unwrap().is_empty() && parked.len() == 1).then_some(parked)
    })
    .await;
    assert_eq!(
        *applied.lock().unwrap(),
        vec![good_user],
        "the partition went on"
    );
    assert_eq!(parked[0].event_id, first_bad.id);
    assert_eq!(parked[0].attempts, 3);
    assert!(parked[0].error.contains("payload"), "{}", parked[0].error);
    assert_eq!(dead_letters::count(&db).await.unwrap(), 1);
    assert_eq!(
        *parked_told.lock().unwrap(),
        vec![first_bad.id],
        "whoever could have missed it is told"
    );

    // A transient failure is retried until it passes, however long: never parked,
    // and the events behind it wait in order.
    let after_flaky = Uuid::now_v7();
    log.publish(&deleted(flaky_user, "user-1")).await.unwrap();
    log.publish(&deleted(after_flaky, "user-1")).await.unwrap();
    eventually(|| async {
        consumer::retrying_now("poison-test")
            .iter()
            .any(|(topic, _, secs, error)| {
                topic == "auth" && *secs >= 1.0 && error.contains("unreachable")
            })
            .then_some(())
    })
    .await;
    assert_eq!(applied.lock().unwrap().len(), 1, "nothing overtakes it");
    assert_eq!(
        dead_letters::count(&db).await.unwrap(),
        1,
        "and it is not parked"
    );
    outage.store(false, Ordering::SeqCst);
    eventually(|| async { (applied.lock().unwrap().len() == 3).then_some(()) }).await;
    assert_eq!(
        *applied.lock().unwrap(),
        vec![good_user, flaky_user, after_flaky]
    );
    assert!(consumer::retrying_now("poison-test").is_empty());

    // Newer events of "user-1" were applied after the parked one: replaying it
    // would undo them, so the replay is refused and it stays parked.
    fixed.store(true, Ordering::SeqCst);
    assert_eq!(
        dead_letters::request_replay(&db, None).await.unwrap(),
        0,
        "replaying all leaves superseded events alone"
    );
    assert_eq!(
        dead_letters::request_replay(&db, Some(parked[0].id))
            .await
            .unwrap(),
        1
    );
    let refused = eventually(|| async {
        let parked = dead_letters::list(&db, Some("poison-test:auth"))
            .await
            .unwrap();
        parked
            .into_iter()
            .find(|row| row.error.starts_with("replay refused"))
    })
    .await;
    assert_eq!(refused.event_id, first_bad.id);
    assert!(refused.superseded_at.is_some());
    assert_eq!(applied.lock().unwrap().len(), 3, "not applied");

    // One with no newer event of its key is replayed on request: applied once and
    // no longer parked.
    fixed.store(false, Ordering::SeqCst);
    let second_bad = malformed(&other_key.replace("user", "lone"));
    log.publish(&second_bad).await.unwrap();
    eventually(|| async { (dead_letters::count(&db).await.unwrap() == 2).then_some(()) }).await;
    fixed.store(true, Ordering::SeqCst);
    assert_eq!(dead_letters::request_replay(&db, None).await.unwrap(), 1);
    eventually(|| async {
        let left = dead_letters::count(&db).await.unwrap();
        (left == 1 && applied.lock().unwrap().len() == 4).then_some(())
    })
    .await;
    assert_eq!(applied.lock().unwrap()[3], Uuid::nil());
    shutdown.cancel();
}

/// Polls `check` until it gives a value (30 s at most).
async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "not within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- relational ----------------------------------------------------------------

/// What domain code relies on from the database, asked of SQLite and PostgreSQL alike:
/// a change and its events commit together or not at all, a consumer records an event
/// once, and a unique violation is recognised by its constraint.
async fn relational_conformance(db: DatabaseConnection) {
    use echostream_ports::Error;
    use echostream_ports::db::{Unique, conflict};
    use echostream_ports::events::consumer::first_delivery;
    use echostream_ports::events::outbox::{self, Change, Relay};
    use sea_orm::{
        ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement,
    };

    let relay = Relay::new(db.clone());
    let pending = || async { outbox::Entity::find().count(&db).await.unwrap() };
    let before = pending().await;

    // A failed write leaves nothing of what it did before failing.
    let user_id = Uuid::now_v7();
    let failed = relay
        .write(move |txn| {
            Box::pin(async move {
                first_delivery(txn, "conformance", user_id).await?;
                Err::<Change<()>, _>(Error::conflict("changed my mind"))
            })
        })
        .await;
    assert_eq!(failed.unwrap_err().code(), "CONFLICT");
    assert_eq!(pending().await, before, "no event from a rolled-back write");
    assert!(
        first_delivery(&db, "conformance", user_id).await.unwrap(),
        "no change from a rolled-back write"
    );
    assert!(
        !first_delivery(&db, "conformance", user_id).await.unwrap(),
        "a consumer records an event once"
    );

    // A successful write stores its event once, with its contract's type.
    let written = relay
        .write(move |_txn| {
            Box::pin(
                async move { Ok(Change::new(7).emit(&UserDeleted { user_id }, Some(user_id))) },
            )
        })
        .await
        .unwrap();
    assert_eq!(written, 7);
    assert_eq!(pending().await, before + 1);
    let row = outbox::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .next_back()
        .unwrap();
    let stored: Envelope = serde_json::from_value(row.event).unwrap();
    assert_eq!(
        stored.decode::<UserDeleted>().unwrap(),
        Some(UserDeleted { user_id })
    );
    assert_eq!(row.topic, "auth");
    assert!((chrono::Utc::now() - row.created_at).num_seconds().abs() < 60);

    // Two instances relaying one outbox at once publish each event once, in order;
    // what was published is pruned after its retention.
    let log_dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(&log_dir.path().join("events.db"), 1)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..120 {
        let user_id = Uuid::now_v7();
        ids.push(user_id);
        relay
            .write(move |_txn| {
                Box::pin(async move { Ok(Change::new(()).emit(&UserDeleted { user_id }, None)) })
            })
            .await
            .unwrap();
    }
    let unpublished = || async {
        outbox::Entity::find()
            .filter(outbox::Column::PublishedAt.is_null())
            .count(&db)
            .await
            .unwrap()
    };
    let instance = |db: DatabaseConnection, log: Arc<EmbeddedLog>| async move {
        for _ in 0..1000 {
            outbox::publish_pending(&db, &log).await.unwrap();
            let left = outbox::Entity::find()
                .filter(outbox::Column::PublishedAt.is_null())
                .count(&db)
                .await
                .unwrap();
            if left == 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the outbox never emptied");
    };
    tokio::join!(
        instance(db.clone(), Arc::clone(&log)),
        instance(db.clone(), Arc::clone(&log))
    );
    assert_eq!(unpublished().await, 0);
    let mut consumer = log
        .subscribe("auth", "relay-check", StartAt::Earliest)
        .await
        .unwrap();
    let mut heard = Vec::new();
    while let Ok(Ok(delivery)) =
        tokio::time::timeout(Duration::from_millis(300), consumer.next()).await
    {
        if let Some(UserDeleted { user_id }) = delivery.event.decode::<UserDeleted>().unwrap()
            && ids.contains(&user_id)
        {
            heard.push(user_id);
        }
    }
    assert_eq!(heard, ids, "each event once, in the order written");
    let pruned = outbox::prune(&db, Duration::ZERO).await.unwrap();
    assert!(pruned >= 120, "{pruned}");
    assert_eq!(
        pending().await,
        0,
        "published rows are gone after their retention"
    );

    // The same key twice: a unique violation, known by the constraint it broke.
    let backend = db.get_database_backend();
    let insert = |id: Uuid| {
        Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)"
                }
                _ => "INSERT INTO processed_events (consumer, event_id) VALUES (?, ?)",
            },
            ["dup".into(), id.into()],
        )
    };
    let key = Uuid::now_v7();
    db.execute(insert(key)).await.unwrap();
    let err = db.execute(insert(key)).await.unwrap_err();
    const PROCESSED: Unique = Unique {
        name: "processed_events_pkey",
        table: "processed_events",
        columns: &["consumer", "event_id"],
        message: "already processed",
    };
    const ELSEWHERE: Unique = Unique {
        name: "outbox_pkey",
        table: "outbox",
        columns: &["seq"],
        message: "other",
    };
    assert!(PROCESSED.violated_by(&err), "{err}");
    assert!(!ELSEWHERE.violated_by(&err), "{err}");
    match conflict(err, &[&ELSEWHERE, &PROCESSED]) {
        Error::Conflict(message) => assert_eq!(message, "already processed"),
        other => panic!("not a conflict: {other:?}"),
    }
}

#[tokio::test]
async fn embedded_relational_store_conforms_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    relational_conformance(migrated(&config).await).await;
}

#[tokio::test]
async fn services_relational_store_conforms_on_postgres() {
    let config = Config {
        profile: Profile::Services,
        database: DatabaseConfig {
            url: format!("{}/{}", env("TEST_ECHOSTREAM_POSTGRES"), isolation()),
            ..DatabaseConfig::default()
        },
        ..Config::default()
    };
    relational_conformance(migrated(&config).await).await;
}

async fn migrated(config: &Config) -> DatabaseConnection {
    let db = echostream_ports::db::connect(config, Subgraph::Auth)
        .await
        .unwrap();
    echostream_migrations::auth::Migrator::up(&db, None)
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn embedded_consumers_park_poison_events() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let log: Arc<dyn EventLog> = Arc::new(
        EmbeddedLog::open(&dir.path().join("events.db"), 3)
            .await
            .unwrap(),
    );
    poison_event_conformance(log, migrated(&config).await).await;
}

/// A services configuration with a database and topics of its own.
fn isolated_services(kafka: KafkaConfig) -> Config {
    Config {
        profile: Profile::Services,
        database: DatabaseConfig {
            url: format!("{}/{}", env("TEST_ECHOSTREAM_POSTGRES"), isolation()),
            ..DatabaseConfig::default()
        },
        kafka: KafkaConfig {
            brokers: env("TEST_ECHOSTREAM_KAFKA"),
            topic_prefix: format!("{}.", isolation()),
            ..kafka
        },
        ..Config::default()
    }
}

#[tokio::test]
async fn services_consumers_park_poison_events_on_kafka_and_postgres() {
    let config = isolated_services(KafkaConfig::default());
    let log: Arc<dyn EventLog> = Arc::new(KafkaLog::connect(&config.kafka).await.unwrap());
    poison_event_conformance(log, migrated(&config).await).await;
}

/// Two consumers of one group on Kafka share the partitions (none read by both, all
/// read), and when one dies without a word (its runtime dropped: no leave, no commit
/// of what it stored last) the other takes its partitions once their leases run out
/// and reads on from the last commit: nothing is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_consumers_of_one_group_share_partitions_and_take_over_a_dead_ones() {
    use echostream_ports::events::shares::Shares;
    use std::collections::{BTreeMap, BTreeSet};

    let config = isolated_services(KafkaConfig {
        partitions: 4,
        partition_lease_ms: 1_000,
        ..KafkaConfig::default()
    });
    let log: Arc<dyn EventLog> = Arc::new(KafkaLog::connect(&config.kafka).await.unwrap());
    let db = migrated(&config).await;
    // What each consumer read: n → partition, by consumer.
    type Reads = Arc<std::sync::Mutex<Vec<(&'static str, i32, i64)>>>;
    let reads: Reads = Arc::default();
    let read_as = |name: &'static str, runtime: tokio::runtime::Handle| {
        let (log, db, reads) = (Arc::clone(&log), db.clone(), Arc::clone(&reads));
        runtime.spawn(async move {
            let mut consumer = log
                .subscribe_shared("chat", "shared", Shares::in_db(db))
                .await
                .unwrap();
            loop {
                let Ok(delivery) = consumer.next().await else {
                    continue;
                };
                let n = delivery.event.payload["n"].as_i64().unwrap();
                reads.lock().unwrap().push((name, delivery.partition, n));
                consumer.commit(&delivery).await.unwrap();
            }
        })
    };
    let publish = |range: std::ops::Range<i64>| {
        let log = Arc::clone(&log);
        async move {
            for n in range {
                let key = format!("conversation-{}", n % 16);
                let event = Envelope::new("chat.message.sent", None, &key, json!({ "n": n }));
                log.publish(&event).await.unwrap();
            }
        }
    };
    // The one to die runs on a runtime of its own, dropped to kill it.
    let doomed = std::thread::spawn(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
    .join()
    .unwrap();
    read_as("doomed", doomed.handle().clone());
    read_as("survivor", tokio::runtime::Handle::current());

    // Once both hold their share (two partitions each), every event is read by
    // exactly one of them, and each partition by one only.
    eventually(|| async {
        use sea_orm::ConnectionTrait;
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT holder, COUNT(*) AS held FROM partition_leases GROUP BY holder",
            ))
            .await
            .unwrap();
        let held: Vec<i64> = rows
            .iter()
            .map(|row| row.try_get::<i64>("", "held").unwrap())
            .collect();
        (held == [2, 2]).then_some(())
    })
    .await;
    publish(1000..1040).await;
    let readers: BTreeMap<i32, BTreeSet<&str>> = eventually(|| async {
        let reads = reads.lock().unwrap();
        let seen: BTreeSet<i64> = reads.iter().map(|r| r.2).filter(|n| *n >= 1000).collect();
        (seen.len() == 40).then(|| {
            let mut readers: BTreeMap<i32, BTreeSet<&str>> = BTreeMap::new();
            for (name, part, n) in reads.iter() {
                if *n >= 1000 {
                    readers.entry(*part).or_default().insert(*name);
                }
            }
            readers
        })
    })
    .await;
    assert_eq!(readers.len(), 4, "every partition read: {readers:?}");
    for (part, names) in &readers {
        assert_eq!(names.len(), 1, "partition {part} read by both: {names:?}");
    }
    let doomed_parts: BTreeSet<i32> = readers
        .iter()
        .filter(|(_, names)| names.contains("doomed"))
        .map(|(part, _)| *part)
        .collect();
    assert_eq!(doomed_parts.len(), 2, "an even share each: {readers:?}");
    let once = reads.lock().unwrap().iter().filter(|r| r.2 >= 1000).count();
    assert_eq!(once, 40, "each event read once");

    // The doomed one dies; what is published next is all read by the survivor.
    doomed.shutdown_background();
    publish(2000..2040).await;
    eventually(|| async {
        let reads = reads.lock().unwrap();
        let seen: BTreeSet<i64> = reads
            .iter()
            .filter(|(name, _, n)| *name == "survivor" && *n >= 2000)
            .map(|r| r.2)
            .collect();
        (seen.len() == 40).then_some(())
    })
    .await;
    // And commits it: the group's lag comes down to nothing.
    eventually(|| async { (log.lag("chat", "shared").await.ok()? == 0).then_some(()) }).await;
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
            .presign_put("a/../b", "image/png", 1, Duration::from_secs(60))
            .await
            .is_err()
    );
    written_in_parts(store).await;
}

/// An object written in parts appears whole only when finished (larger than one S3
/// part: a multipart upload), and one dropped unfinished never appears.
async fn written_in_parts(store: &dyn ObjectStore) {
    let key = format!("exports/{}.json", uuid::Uuid::now_v7());
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut writer = store.writer(&key, "application/json").await.unwrap();
    for i in 0..9u8 {
        let mut part = chunk.clone();
        part[0] = i;
        writer.write(&part).await.unwrap();
        assert!(store.get(&key).await.unwrap().is_none(), "not yet visible");
    }
    writer.write(b"tail").await.unwrap();
    let size = writer.finish().await.unwrap();
    assert_eq!(size, 9 * 1024 * 1024 + 4);
    let stored = store
        .get(&key)
        .await
        .unwrap()
        .expect("finished: it is there");
    assert_eq!(stored.len() as u64, size);
    for i in 0..9usize {
        assert_eq!(stored[i * 1024 * 1024], i as u8, "parts in order");
        assert_eq!(
            stored[i * 1024 * 1024 + 1..(i + 1) * 1024 * 1024],
            chunk[1..]
        );
    }
    assert!(stored.ends_with(b"tail"));
    store.delete(&key).await.unwrap();

    let abandoned = format!("exports/{}.json", uuid::Uuid::now_v7());
    let mut writer = store.writer(&abandoned, "application/json").await.unwrap();
    for _ in 0..9 {
        writer.write(&chunk).await.unwrap();
    }
    drop(writer);
    assert!(
        store.get(&abandoned).await.unwrap().is_none(),
        "an unfinished object never appears"
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
    let key = format!("media/{}.png", isolation());
    let put = store
        .presign_put(&key, "image/png", 9, Duration::from_secs(60))
        .await
        .unwrap();
    // The signed length binds: a larger (or smaller) body is refused by the store.
    for body in [
        b"\x89PNG fake and then a gigabyte".to_vec(),
        b"\x89PNG".to_vec(),
    ] {
        let refused = http
            .put(&put)
            .header("content-type", "image/png")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 403, "a body of another length");
    }
    assert!(store.size(&key).await.unwrap().is_none());
    let uploaded = http
        .put(&put)
        .header("content-type", "image/png")
        .body(b"\x89PNG fake".to_vec())
        .send()
        .await
        .unwrap();
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    let get = store
        .presign_get(&key, Duration::from_secs(60))
        .await
        .unwrap();
    let downloaded = http.get(&get).send().await.unwrap();
    assert!(downloaded.status().is_success());
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), b"\x89PNG fake");
    // Read with a cap: no more than one byte past it.
    assert_eq!(store.get_at_most(&key, 4).await.unwrap().unwrap().len(), 5);
    assert_eq!(
        store
            .get_at_most(&key, 100)
            .await
            .unwrap()
            .unwrap()
            .as_ref(),
        b"\x89PNG fake"
    );
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
        html: Some("<p>body <b>424242</b></p>".into()),
        headers: vec![
            (
                "List-Unsubscribe".into(),
                "<https://example.com/u?t=1>".into(),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ],
    };
    mailer.send(&mail).await.unwrap();
    let api = env("TEST_ECHOSTREAM_MAILDEV");
    let mut found = None;
    for _ in 0..50 {
        let mails: Vec<serde_json::Value> = reqwest::get(format!("{api}/api/email"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found = mails
            .into_iter()
            .find(|m| m["to"][0]["address"] == to.as_str() && m["subject"] == "port test");
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = found.expect("the mail did not arrive at the SMTP server");
    // Both parts, and the list headers as sent (read from the source: the
    // catcher's parsed headers leave them out).
    assert!(
        found["text"].as_str().unwrap().contains("424242"),
        "{found}"
    );
    assert!(
        found["html"].as_str().unwrap().contains("<b>424242</b>"),
        "{found}"
    );
    let id = found["id"].as_str().unwrap();
    let source = reqwest::get(format!("{api}/api/email/{id}/source"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        source.contains("List-Unsubscribe: <https://example.com/u?t=1>"),
        "{source}"
    );
    assert!(source.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
}

#[tokio::test]
async fn a_header_outside_the_allowed_few_is_refused() {
    let mailer = SmtpMailer::new(&SmtpConfig::default()).unwrap();
    let mail = Mail {
        to: "a@example.com".into(),
        subject: "x".into(),
        text: "x".into(),
        headers: vec![("Bcc".into(), "b@example.com".into())],
        ..Mail::default()
    };
    assert!(mailer.send(&mail).await.is_err());
}

#[tokio::test]
async fn a_bad_recipient_is_refused_before_sending() {
    let mailer = SmtpMailer::new(&SmtpConfig::default()).unwrap();
    let mail = Mail {
        to: "not an address".into(),
        subject: "x".into(),
        text: "x".into(),
        ..Mail::default()
    };
    assert!(matches!(
        mailer.send(&mail).await,
        Err(echostream_ports::mail::MailError::Address(_))
    ));
}
