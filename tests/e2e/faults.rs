//! Faults of the real services mid-traffic (services profile): Redis restarted empty,
//! the Kafka-protocol broker restarted (keeping its log, and without it), and what
//! `/ready` says meanwhile. Each runs
//! its own throwaway server, so the shared ones the other tests use stay up.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use echostream_testkit::client::{data, eventually, post};
use echostream_testkit::platform::{Platform, Profile, service_env};
use echostream_testkit::scenario::{Person, direct_conversation, friends, send, signed_up};
use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::hostile::{acknowledged_socket, next_message, ws_error_code};

use crate::stream::{next_of, position, subscribe};

/// Services only: Redis restarted empty mid-stream. The stream behind every position
/// is gone: the subscriber is told (`ResyncRequired`), refetches cleanly, and goes on
/// live with nothing lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_mid_stream_is_told_then_refetched_cleanly_services() {
    let port = free_port();
    let mut redis = start_redis(port);
    let url = format!("redis://127.0.0.1:{port}");
    let (p, ann, bob, id) = friends_talking_on("ECHOSTREAM_REDIS__URL", &url).await;
    let mut sub = subscribe(&p, &bob, &position(&p, &bob).await).await;
    let mut received: Vec<i64> = Vec::new();
    for i in 1..=5 {
        send(&p, &ann, &id, &format!("before{i}"), &format!("b{i}")).await;
        let e = next_of(&mut sub, "MessageAdded", Duration::from_secs(10)).await;
        received.push(e["message"]["seq"].as_i64().unwrap());
    }
    redis.kill().unwrap();
    redis.wait().unwrap();
    let mut redis = start_redis(port);
    // Messages keep flowing (the outbox holds them while anything is down).
    for i in 1..=5 {
        let vars = json!({ "input": { "conversationId": id, "body": format!("after{i}"), "idempotencyKey": format!("a{i}") } });
        loop {
            let body = post(
                &p.gateway,
                "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { seq } }",
                vars.clone(),
                Some(&ann.token),
            )
            .await;
            if body.get("errors").is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let resync = next_of(&mut sub, "ResyncRequired", Duration::from_secs(30)).await;
    // A clean refetch: the history holds every message once, in order.
    assert_eq!(
        stored_seqs(&p, &bob, &id).await,
        (1..=10).collect::<Vec<_>>()
    );
    // Then live again, from the resync's position, with no duplicate.
    send(&p, &ann, &id, "later", "later").await;
    let mut later = Vec::new();
    loop {
        let e = next_of(&mut sub, "MessageAdded", Duration::from_secs(30)).await;
        let seq = e["message"]["seq"].as_i64().unwrap();
        later.push(seq);
        if seq == 11 {
            break;
        }
    }
    let unique: HashSet<i64> = later.iter().copied().collect();
    assert_eq!(
        unique.len(),
        later.len(),
        "no duplicate after the resync: {later:?}"
    );
    assert!(resync["position"].is_string());
    assert_eq!(received, [1, 2, 3, 4, 5]);
    redis.kill().unwrap();
    let _ = redis.wait();
}

/// Services only: every subgraph's `/ready` answers 200 with each dependency "ok";
/// while Redis is down it answers 503 naming Redis (and only Redis), and 200 again
/// once Redis is back. `/health` stays 200 throughout: the process lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_redis_while_it_is_down_then_recovers_services() {
    let (mut redis, port, p) = platform_on_own_redis(&[]).await;
    let http = reqwest::Client::new();
    let probe = |path: &'static str| {
        let http = http.clone();
        let ports = p.subgraph_ports.clone();
        async move {
            let mut answers = Vec::new();
            for (name, port) in ports {
                let response = http
                    .get(format!("http://127.0.0.1:{port}{path}"))
                    .send()
                    .await
                    .expect("the subgraph answers");
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                answers.push((name, status, body));
            }
            answers
        }
    };
    for (name, status, body) in probe("/ready").await {
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["status"], "ready", "{name}: {body}");
        for service in ["postgresql", "redis", "broker", "s3", "smtp"] {
            assert_eq!(body["checks"][service], "ok", "{name}: {body}");
        }
    }
    redis.kill().unwrap();
    redis.wait().unwrap();
    for (name, status, body) in probe("/ready").await {
        assert_eq!(status, 503, "{name} with Redis down: {body}");
        assert_eq!(body["failing"], json!(["redis"]), "{name}: {body}");
        assert_ne!(body["checks"]["redis"], "ok", "{name}: {body}");
    }
    for (name, status, _) in probe("/health").await {
        assert_eq!(status, 200, "{name} lives while Redis is down");
    }
    // The gateway names every subgraph that is not ready, and what each names.
    let (status, gateway) = gateway_ready(&p).await;
    assert_eq!(status, 503, "the gateway with Redis down: {gateway}");
    let mut failing: Vec<String> =
        serde_json::from_value(gateway["failing"].clone()).unwrap_or_default();
    failing.sort();
    assert_eq!(
        failing,
        ["auth", "chat", "notification", "presence", "profile"],
        "{gateway}"
    );
    for name in &failing {
        assert_eq!(
            gateway["subgraphs"][name]["failing"],
            json!(["redis"]),
            "{name} in {gateway}"
        );
    }
    let mut redis = start_redis(port);
    eventually(
        "every subgraph ready again",
        Duration::from_secs(30),
        || async {
            probe("/ready")
                .await
                .into_iter()
                .all(|(_, status, _)| status == 200)
                .then_some(())
        },
    )
    .await;
    let (status, gateway) = gateway_ready(&p).await;
    assert_eq!(status, 200, "the gateway once Redis is back: {gateway}");
    assert_eq!(gateway["failing"], json!([]), "{gateway}");
    redis.kill().unwrap();
    let _ = redis.wait();
}

/// The gateway's `GET /ready`: its status and JSON report.
pub(crate) async fn gateway_ready(p: &Platform) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("{}/ready", p.gateway_base()))
        .await
        .expect("the gateway answers /ready");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// The embedded profile's `/ready` reports its in-process parts by their own names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_in_the_embedded_profile_names_its_own_parts() {
    let p = crate::start(Profile::Embedded).await;
    for (name, port) in &p.subgraph_ports {
        let response = reqwest::get(format!("http://127.0.0.1:{port}/ready"))
            .await
            .expect("the subgraph answers");
        assert_eq!(response.status().as_u16(), 200, "{name}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["failing"], json!([]), "{name}: {body}");
        for part in ["sqlite", "pubsub", "event_log", "objects", "mail_outbox"] {
            assert_eq!(body["checks"][part], "ok", "{name}: {body}");
        }
    }
}

/// The `seq`s of the newest 100 items of conversation `id`, as `who` reads them
/// through the gateway.
async fn stored_seqs(p: &Platform, who: &Person, id: &str) -> Vec<i64> {
    let history = data(
        &p.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages(last: 100) { nodes { seq } } } }",
        json!({ "id": id }),
        Some(&who.token),
    )
    .await;
    history["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["seq"].as_i64().unwrap())
        .collect()
}

/// A services platform with `key` set to `value`, two friends and their direct
/// conversation.
/// A services platform on a Redis of its own (so a test may stop or pause it), with
/// `extra` settings: the Redis, its port and the platform.
async fn platform_on_own_redis(extra: &[(&str, &str)]) -> (Child, u16, Platform) {
    let port = free_port();
    let redis = start_redis(port);
    let url = format!("redis://127.0.0.1:{port}");
    let mut env = vec![("ECHOSTREAM_REDIS__URL", url.as_str())];
    env.extend_from_slice(extra);
    let p = Platform::start_with(env!("CARGO_BIN_EXE_echostream"), Profile::Services, &env).await;
    (redis, port, p)
}

async fn friends_talking_on(key: &str, value: &str) -> (Platform, Person, Person, String) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        Profile::Services,
        &[(key, value)],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    (p, ann, bob, id)
}

/// Services only: a Redis that does not answer within `redis.response_timeout_ms`
/// (its clients paused) makes requests answer `UNAVAILABLE` and a subgraph refuse
/// the gateway's socket handshake (it cannot check the token): never `INTERNAL`, and
/// never `UNAUTHENTICATED`, which would make a client sign its user out. Once Redis
/// answers again, the same user's requests and new sockets work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_too_slow_to_answer_is_unavailable_not_a_sign_out_services() {
    let (mut redis, port, p) =
        platform_on_own_redis(&[("ECHOSTREAM_REDIS__RESPONSE_TIMEOUT_MS", "300")]).await;
    let ann = signed_up(&p, "ann").await;
    const ME: &str = "{ me { id } }";
    const NOTIFIED: &str = "subscription { notificationAdded { id } }";
    let subscribe = |id: &str| {
        Message::Text(
            json!({ "id": id, "type": "subscribe", "payload": { "query": NOTIFIED } })
                .to_string()
                .into(),
        )
    };
    redis_cli(port, &["CLIENT", "PAUSE", "5000", "ALL"]);
    let body = post(&p.gateway, ME, json!({}), Some(&ann.token)).await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        codes,
        ["UNAVAILABLE"],
        "a request while Redis is silent: {body}"
    );
    let mut ws = acknowledged_socket(&p.gateway, Some(&ann.token)).await;
    ws.send(subscribe("1")).await.unwrap();
    // The subgraph cannot check the token, so it refuses the gateway's handshake
    // (and the gateway says so with its own code), rather than take the
    // connection as signed out.
    let answer = next_message(&mut ws).await;
    assert_eq!(
        ws_error_code(&answer).as_deref(),
        Some("SUBGRAPH_WEBSOCKET_HANDSHAKE_FAILURE"),
        "a subscription while Redis is silent: {answer}"
    );
    drop(ws);
    // Redis answers again: the same token works, over HTTP and on a new socket.
    eventually("requests work again", Duration::from_secs(30), || async {
        let body = post(&p.gateway, ME, json!({}), Some(&ann.token)).await;
        (body["data"]["me"]["id"] == ann.id.as_str()).then_some(())
    })
    .await;
    // The handshake refused earlier left nothing behind: the next socket's
    // subscription is checked again, and stays open.
    eventually(
        "subscriptions work again",
        Duration::from_secs(30),
        || async {
            let mut ws = acknowledged_socket(&p.gateway, Some(&ann.token)).await;
            ws.send(subscribe("2")).await.unwrap();
            match tokio::time::timeout(Duration::from_secs(2), next_message(&mut ws)).await {
                Err(_) => Some(()),
                Ok(answer) => {
                    let code = ws_error_code(&answer);
                    assert_ne!(code.as_deref(), Some("UNAUTHENTICATED"), "{answer}");
                    None
                }
            }
        },
    )
    .await;
    redis.kill().unwrap();
    let _ = redis.wait();
}

/// Services only: Redis refusing every write (out of memory, `noeviction`) for longer
/// than a consumer used to retry before parking. The fan-out waits and retries
/// (`/ready` names the consumer meanwhile), and once Redis accepts writes again the
/// subscriber receives every message, in order, once: nothing is skipped silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_refusing_writes_mid_traffic_delays_but_loses_no_message_services() {
    let port = free_port();
    let mut redis = start_redis(port);
    let url = format!("redis://127.0.0.1:{port}");
    let (p, ann, bob, id) = friends_talking_on("ECHOSTREAM_REDIS__URL", &url).await;
    let mut sub = subscribe(&p, &bob, &position(&p, &bob).await).await;
    for i in 1..=3 {
        send(&p, &ann, &id, &format!("before{i}"), &format!("b{i}")).await;
    }
    let mut received = Vec::new();
    for _ in 1..=3 {
        let e = next_of(&mut sub, "MessageAdded", Duration::from_secs(10)).await;
        received.push(e["message"]["seq"].as_i64().unwrap());
    }
    redis_cli(port, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    redis_cli(port, &["CONFIG", "SET", "maxmemory", "1"]);
    for i in 1..=5 {
        let vars = json!({ "input": { "conversationId": id, "body": format!("during{i}"), "idempotencyKey": format!("d{i}") } });
        let body = post(
            &p.gateway,
            "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { seq } }",
            vars,
            Some(&ann.token),
        )
        .await;
        assert!(
            body.get("errors").is_none(),
            "sending needs no Redis write: {body}"
        );
    }
    // The fan-out is held up and says so, for longer than the old retries lasted.
    let ready = chat_names_failing(&p, "consumers").await;
    let chat = chat_port(&p);
    assert!(
        ready["checks"]["consumers"]
            .as_str()
            .unwrap()
            .contains("chat-fanout on chat"),
        "{ready}"
    );
    eventually(
        "the wait to show in /metrics (3 s and more)",
        Duration::from_secs(30),
        || async {
            let metrics = reqwest::get(format!("http://127.0.0.1:{chat}/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (echostream_testkit::client::metric(
                &metrics,
                "echostream_consumer_retrying_seconds",
                &["group=\"chat-fanout\""],
            ) >= 3.0)
                .then_some(())
        },
    )
    .await;
    redis_cli(port, &["CONFIG", "SET", "maxmemory", "0"]);
    for _ in 1..=5 {
        let e = next_of(&mut sub, "MessageAdded", Duration::from_secs(30)).await;
        received.push(e["message"]["seq"].as_i64().unwrap());
    }
    assert_eq!(
        received,
        (1..=8).collect::<Vec<_>>(),
        "every message, in order, once"
    );
    let dead = p.cli(&["dead-letters", "list"]);
    assert!(!dead.contains("chat-fanout"), "nothing was parked: {dead}");
    redis.kill().unwrap();
    let _ = redis.wait();
}

fn redis_cli(port: u16, args: &[&str]) {
    let status = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("redis-cli");
    assert!(status.success(), "redis-cli {args:?}");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn start_redis(port: u16) -> Child {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/test.sh installs it)");
    wait_for_port(&mut child, port, "redis-server");
    child
}

/// Waits until `child` listens on `port`; kills it and panics if it never does.
fn wait_for_port(child: &mut Child, port: u16, name: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{name} did not start on {port}");
}

/// Services only: the Kafka-protocol broker killed mid-traffic and started again on
/// its log (kept in the object store). Messages sent meanwhile wait in the outbox;
/// the relay and the consumers reconnect, and the subscriber receives every message
/// once and in order, with no resync (its stream lives in Redis).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_broker_mid_traffic_loses_and_doubles_nothing_services() {
    let port = free_port();
    let log = Storage::Durable(format!("t{}", uuid::Uuid::now_v7().simple()));
    let mut broker = start_broker(port, &log);
    let brokers = format!("127.0.0.1:{port}");
    let (p, ann, bob, id) = friends_talking_on("ECHOSTREAM_KAFKA__BROKERS", &brokers).await;
    let mut sub = subscribe(&p, &bob, &position(&p, &bob).await).await;
    const MESSAGES: i64 = 30;
    let sender = {
        let (gateway, token, id) = (p.gateway.clone(), ann.token.clone(), id.clone());
        tokio::spawn(async move {
            for i in 1..=MESSAGES {
                let vars = json!({ "input": { "conversationId": id, "body": format!("m{i}"), "idempotencyKey": format!("k{i}") } });
                let body = post(
                    &gateway,
                    "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { seq } }",
                    vars,
                    Some(&token),
                )
                .await;
                assert!(body.get("errors").is_none(), "a send failed: {body}");
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    // Mid-traffic: a few messages through, then the broker is gone for a while.
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let e = next_of(&mut sub, "MessageAdded", Duration::from_secs(30)).await;
        seqs.push(e["message"]["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, [1, 2, 3]);
    broker.kill().unwrap();
    broker.wait().unwrap();
    // Down until the platform sees it so, then back.
    chat_names_failing(&p, "broker").await;
    let mut broker = start_broker(port, &log);
    let sent = sender.await;
    assert!(
        sent.is_ok(),
        "sending failed; the platform's log:\n{}",
        p.log_tail()
    );

    while seqs.len() < MESSAGES as usize {
        let payload = sub
            .next(Duration::from_secs(60))
            .await
            .unwrap_or_else(|| panic!("messages stopped after {seqs:?}"));
        let event = &payload["data"]["chatEvents"];
        assert_ne!(event["__typename"], "ResyncRequired", "{event}");
        if event["__typename"] == "MessageAdded" {
            seqs.push(event["message"]["seq"].as_i64().unwrap());
        }
    }
    assert_eq!(
        seqs,
        (1..=MESSAGES).collect::<Vec<_>>(),
        "every message once, in order"
    );
    // Nothing more comes: no late duplicate of what the relay published twice.
    send(&p, &ann, &id, "after", "after").await;
    let next = next_of(&mut sub, "MessageAdded", Duration::from_secs(30)).await;
    assert_eq!(next["message"]["seq"], MESSAGES + 1);
    let stored = stored_seqs(&p, &bob, &id).await.len();
    assert_eq!(stored as i64, MESSAGES + 1);
    broker.kill().unwrap();
    let _ = broker.wait();
}

/// Services only: the broker killed and started again with nothing, as one that
/// keeps its log in memory does (or a cluster rebuilt from scratch). Its consumers
/// fetch topics it no longer knows; that used to kill the whole process with
/// SIGSEGV inside librdkafka (vendor/README.md). Now the platform stays up and
/// answers, and its topics are created again. (What the broker had acknowledged
/// before it lost its log is gone with it; see docs/architecture.md on the event log.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_back_without_its_log_does_not_kill_the_platform_services() {
    let port = free_port();
    let mut broker = start_broker(port, &Storage::Memory);
    let brokers = format!("127.0.0.1:{port}");
    let (mut p, ann, bob, id) = friends_talking_on("ECHOSTREAM_KAFKA__BROKERS", &brokers).await;
    send(&p, &ann, &id, "before", "before").await;
    broker.kill().unwrap();
    broker.wait().unwrap();
    let mut broker = start_broker(port, &Storage::Memory);
    // The topics come back (from the relay and the consumers that miss them)…
    let prefix = p
        .config_value("ECHOSTREAM_KAFKA__TOPIC_PREFIX")
        .unwrap()
        .to_string();
    eventually(
        "the topics created again",
        Duration::from_secs(60),
        || async {
            let listed = Command::new(service_env("TEST_ECHOSTREAM_TANSU"))
                .args(["topic", "list", "--broker", &format!("tcp://{brokers}")])
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&listed.stdout).into_owned();
            let ours = ["auth", "profile", "chat", "presence", "notification"]
                .iter()
                .all(|t| text.contains(&format!("\"{prefix}{t}\"")));
            ours.then_some(())
        },
    )
    .await;
    // …and the platform lives through its consumers fetching what the broker
    // forgot, and still serves.
    eventually(
        "every consumer back on the broker",
        Duration::from_secs(60),
        || async {
            let body: serde_json::Value =
                reqwest::get(format!("http://127.0.0.1:{}/ready", chat_port(&p)))
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
            (body["status"] == "ready").then_some(())
        },
    )
    .await;
    assert!(p.is_running(), "{}", p.log_tail());
    send(&p, &ann, &id, "after", "after").await;
    assert!(!position(&p, &bob).await.is_empty());
    assert!(p.is_running(), "{}", p.log_tail());
    broker.kill().unwrap();
    let _ = broker.wait();
}

/// Where a throwaway broker keeps its log.
enum Storage {
    /// In memory: a restart loses it.
    Memory,
    /// In the S3 store under this cluster id: a restart keeps it.
    Durable(String),
}

/// A throwaway tansu broker on `port` (scripts/services.sh builds the binary and
/// names it in `TEST_ECHOSTREAM_TANSU`).
fn start_broker(port: u16, storage: &Storage) -> Child {
    let listener = format!("tcp://127.0.0.1:{port}");
    let mut command = Command::new(service_env("TEST_ECHOSTREAM_TANSU"));
    command.args([
        "broker",
        "--listener-url",
        &listener,
        "--advertised-listener-url",
        &listener,
    ]);
    match storage {
        Storage::Memory => {
            command.args(["--storage-engine", "memory://tansu/"]);
        }
        Storage::Durable(cluster) => {
            command
                .args(["--cluster-id", cluster])
                .args(["--storage-engine", "s3://echostream-e2e/"])
                .env("AWS_ENDPOINT", service_env("TEST_ECHOSTREAM_S3"))
                .env(
                    "AWS_ACCESS_KEY_ID",
                    service_env("TEST_ECHOSTREAM_S3_ACCESS_KEY"),
                )
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    service_env("TEST_ECHOSTREAM_S3_SECRET_KEY"),
                )
                .env("AWS_ALLOW_HTTP", "true")
                .env("AWS_DEFAULT_REGION", "us-east-1");
        }
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu (scripts/services.sh builds it)");
    wait_for_port(&mut child, port, "tansu");
    child
}

fn chat_port(p: &Platform) -> u16 {
    p.subgraph_ports
        .iter()
        .find(|(name, _)| *name == "chat")
        .unwrap()
        .1
}

/// Chat's `/ready` body once it lists `what` among what fails (within 30 s).
async fn chat_names_failing(p: &Platform, what: &str) -> serde_json::Value {
    let chat = chat_port(p);
    eventually(
        &format!("chat to name {what}"),
        Duration::from_secs(30),
        || async {
            let body: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{chat}/ready"))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            body["failing"]
                .as_array()?
                .iter()
                .any(|f| f == what)
                .then_some(body)
        },
    )
    .await
}

/// A throwaway PostgreSQL cluster of its own (so stopping it stops nothing another
/// test uses): `initdb` into a temporary directory, served on one port of loopback.
/// Run as the `postgres` user when the tests run as root (PostgreSQL refuses root).
struct PrivatePostgres {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries (scripts/services.sh installs them)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max_by_key(|bin| {
                bin.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .expect("a PostgreSQL version under /usr/lib/postgresql");
        let dir = tempfile::Builder::new()
            .prefix("echostream-pg")
            .tempdir()
            .unwrap();
        let cluster = PrivatePostgres {
            bin,
            dir,
            port: free_port(),
        };
        if as_root() {
            let chown = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .unwrap();
            assert!(chown.success(), "chown the cluster's directory");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        cluster.up();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// One of the server's programs, to run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        }
    }

    /// Runs one of the server's programs; panics when it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// A fast shutdown: every connection is cut, and new ones are refused.
    fn down(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/echostream?sslmode=disable",
            self.port
        )
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Services only: the database stopped for several seconds mid-traffic, then started
/// again. Sends meanwhile are refused with `UNAVAILABLE` and no internal detail (a
/// client retries them with the same idempotency key); the relay, the consumers and
/// the session checks wait and retry; `/ready` names PostgreSQL meanwhile. After it,
/// the subscriber has every stored message once and in order (or was told, by a
/// resync or an event coded UNAVAILABLE, and the history then holds them all), and
/// nothing was parked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_database_mid_traffic_loses_nothing_services() {
    let pg = PrivatePostgres::start();
    let (p, ann, bob, id) = friends_talking_on("ECHOSTREAM_DATABASE__URL", &pg.url()).await;
    let mut sub = subscribe(&p, &bob, &position(&p, &bob).await).await;
    // The subscriber reads all along, as a client does (it answers the gateway's
    // pings while it reads): every message once, in order, or a resync.
    let reader = tokio::spawn(async move {
        let mut received = Vec::new();
        while received.last() != Some(&40) {
            let e = match sub.receive(Duration::from_secs(120)).await {
                echostream_testkit::client::Received::Message(m) if m["type"] == "next" => {
                    m["payload"].clone()
                }
                other => panic!("the stream goes on, after {received:?}: {other:?}"),
            };
            // An event whose fields could not be resolved while the database was
            // down (the sender's name, from auth) comes with UNAVAILABLE: the
            // client is told, and refetches as after a resync.
            if let Some(errors) = e["errors"].as_array() {
                assert!(
                    errors
                        .iter()
                        .all(|err| err["extensions"]["code"] == "UNAVAILABLE"),
                    "{e}"
                );
                return (received, true);
            }
            let event = &e["data"]["chatEvents"];
            match event["__typename"].as_str() {
                Some("MessageAdded") => received.push(event["message"]["seq"].as_i64().unwrap()),
                Some("ResyncRequired") => return (received, true),
                _ => {}
            }
        }
        (received, false)
    });
    let (gateway, token, conversation) = (p.gateway.clone(), ann.token.clone(), id.clone());
    let send_once = move |n: usize| {
        let (gateway, token, id) = (gateway.clone(), token.clone(), conversation.clone());
        async move {
            let vars = json!({ "input": { "conversationId": id, "body": format!("m{n}"), "idempotencyKey": format!("k{n}") } });
            post(
                &gateway,
                "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { seq } }",
                vars,
                Some(&token),
            )
            .await
        }
    };
    // A client sending one message every 100 ms, retrying each until it is stored.
    let (refusals_tx, mut refusals) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let sender = tokio::spawn(async move {
        let mut stored = Vec::new();
        for n in 1..=40 {
            loop {
                let body = send_once(n).await;
                if let Some(seq) = body["data"]["sendMessage"]["seq"].as_i64() {
                    stored.push(seq);
                    break;
                }
                let _ = refusals_tx.send(body);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stored
    });
    eventually("traffic to flow", Duration::from_secs(30), || async {
        (stored_seqs(&p, &bob, &id).await.len() >= 5).then_some(())
    })
    .await;
    pg.down();
    let ready = chat_names_failing(&p, "postgresql").await;
    // Down for longer than a request waits for a connection (10 s), so that some
    // sends are refused, not only delayed: a duration is the fault here.
    tokio::time::sleep(Duration::from_secs(12)).await;
    pg.up();
    let stored = tokio::time::timeout(Duration::from_secs(120), sender)
        .await
        .expect("every send is stored once the database is back")
        .unwrap();
    assert_eq!(stored, (1..=40).collect::<Vec<_>>(), "one seq per message");
    let mut refused = 0;
    while let Ok(body) = refusals.try_recv() {
        refused += 1;
        let code = echostream_testkit::client::error_code(&body);
        assert!(code == "UNAVAILABLE", "a refused send is coded: {body}");
        let text = body.to_string().to_lowercase();
        assert!(
            !text.contains("sqlx")
                && !text.contains("connection refused")
                && !text.contains("5432"),
            "no internal detail: {body}"
        );
    }
    assert!(
        refused > 0,
        "sends were refused while the database was down"
    );
    // Every message reaches the stream once, in order, or the client is told.
    let (received, resynced) = reader.await.unwrap();
    if resynced {
        assert_eq!(
            stored_seqs(&p, &bob, &id).await,
            (1..=40).collect::<Vec<_>>()
        );
    } else {
        assert_eq!(
            received,
            (1..=40).collect::<Vec<_>>(),
            "every message, once, in order"
        );
    }
    assert!(
        ready["checks"]["postgresql"]
            .as_str()
            .is_some_and(|c| c != "ok"),
        "/ready says what is wrong: {ready}"
    );
    let dead = p.cli(&["dead-letters", "list"]);
    assert!(
        !dead.contains("chat") && !dead.contains("notification"),
        "nothing was parked: {dead}"
    );
    println!(
        "database stop: {refused} sends refused while it was down; told to refetch: {resynced}"
    );
}

/// Services only: a live notification whose push fails (Redis refusing `PUBLISH`,
/// here by ACL) after it was stored is pushed when the delivery is retried, not lost
/// because the retry finds it stored already.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_whose_push_failed_is_pushed_on_retry_services() {
    let port = free_port();
    let mut redis = start_redis(port);
    let url = format!("redis://127.0.0.1:{port}");
    let (p, ann, bob, id) = friends_talking_on("ECHOSTREAM_REDIS__URL", &url).await;
    let mut live = echostream_testkit::client::Subscription::start(
        &p.gateway,
        "subscription { notificationAdded { id kind payload } }",
        json!({}),
        &bob.token,
    )
    .await;
    redis_cli(port, &["ACL", "SETUSER", "default", "-publish"]);
    send(&p, &ann, &id, "are you there?", "n1").await;
    // Stored, and its push refused: the notification consumer retries.
    let notification = p
        .subgraph_ports
        .iter()
        .find(|(name, _)| *name == "notification")
        .unwrap()
        .1;
    eventually(
        "the notification consumer to retry its push",
        Duration::from_secs(30),
        || async {
            let body: serde_json::Value =
                reqwest::get(format!("http://127.0.0.1:{notification}/ready"))
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
            body["checks"]["consumers"]
                .as_str()?
                .contains("notification on chat")
                .then_some(())
        },
    )
    .await;
    redis_cli(port, &["ACL", "SETUSER", "default", "+publish"]);
    let got = loop {
        match live.receive(Duration::from_secs(30)).await {
            echostream_testkit::client::Received::Message(m) if m["type"] == "next" => {
                let n = m["payload"]["data"]["notificationAdded"].clone();
                if n["kind"] == "MESSAGE" {
                    break n;
                }
            }
            other => panic!("the live notification arrives: {other:?}"),
        }
    };
    assert_eq!(got["payload"]["preview"], "are you there?");
    redis.kill().unwrap();
    let _ = redis.wait();
}
