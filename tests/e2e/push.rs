//! Web Push through the gateway. Services profile: a push service inside the test
//! receives real Web Push requests (RFC 8030) and, as the browser would, decrypts
//! them with the subscription's keys (RFC 8291) and checks their VAPID signature's
//! key (RFC 8292); a subscription whose endpoint answers 410 is removed; with two
//! instances each push is sent once. Embedded profile: the same pushes, read from
//! the local outbox. Both: pushed only while no app is connected and outside
//! do-not-disturb, withdrawn when read elsewhere, ended with the session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use echostream_testkit::client::{Subscription, data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, direct_conversation, friends, login_on, notifications, quiet_device, send,
    wait_for_presence,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

/// One push as the device received it: its headers and its decrypted payload.
#[derive(Debug, Clone)]
struct Received {
    device: String,
    topic: Option<String>,
    urgency: Option<String>,
    vapid_key: Option<String>,
    payload: Value,
}

/// A browser: its push keys, and what reached it.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Browser {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                return Browser {
                    secret,
                    auth: rand::random(),
                };
            }
        }
    }

    fn keys(&self) -> (String, String) {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = self.secret.public_key().to_encoded_point(false);
        (
            URL_SAFE_NO_PAD.encode(point.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.auth),
        )
    }

    fn decrypt(&self, body: &[u8]) -> Value {
        let auth = web_push_native::Auth::clone_from_slice(&self.auth);
        let plain = web_push_native::decrypt(body.to_vec(), &self.secret, &auth)
            .expect("the push decrypts with the subscription's keys");
        serde_json::from_slice(&plain).expect("a JSON payload")
    }
}

/// The push service inside the test (services profile): `/push/{device}` takes
/// pushes for the device, `/gone/{device}` answers 410 as a service does for an
/// unsubscribed one.
struct PushService {
    base: String,
    browsers: Arc<Mutex<Vec<(String, Browser)>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

type Shared = (
    Arc<Mutex<Vec<(String, Browser)>>>,
    Arc<Mutex<Vec<Received>>>,
);

async fn take(
    State((browsers, received)): State<Shared>,
    Path(device): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("content-encoding").as_deref(), Some("aes128gcm"));
    assert!(header("ttl").is_some(), "a TTL");
    let vapid_key = header("authorization").and_then(|a| {
        a.strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .map(|(_, k)| k.to_string())
    });
    let payload = {
        let browsers = browsers.lock().unwrap();
        let (_, browser) = browsers
            .iter()
            .find(|(d, _)| *d == device)
            .expect("a known device");
        browser.decrypt(&body)
    };
    received.lock().unwrap().push(Received {
        device,
        topic: header("topic"),
        urgency: header("urgency"),
        vapid_key,
        payload,
    });
    StatusCode::CREATED
}

impl PushService {
    async fn start() -> PushService {
        let browsers: Arc<Mutex<Vec<(String, Browser)>>> = Arc::default();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let app = axum::Router::new()
            .route("/push/{device}", axum::routing::post(take))
            .route(
                "/gone/{device}",
                axum::routing::post(|| async { StatusCode::GONE }),
            )
            .with_state((Arc::clone(&browsers), Arc::clone(&received)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        PushService {
            base,
            browsers,
            received,
        }
    }
}

/// Where the pushes of a test are seen: the service above, or the outbox.
enum Pushes {
    Service(PushService),
    Outbox(std::path::PathBuf),
}

impl Pushes {
    async fn of(p: &Platform) -> Pushes {
        match p.profile {
            Profile::Services => Pushes::Service(PushService::start().await),
            Profile::Embedded => Pushes::Outbox(p.data_dir.join("push/outbox.jsonl")),
        }
    }

    /// A new device's endpoint and keys (`gone`: one whose service answers 410).
    fn device(&self, name: &str, gone: bool) -> Value {
        let browser = Browser::new();
        let (p256dh, auth) = browser.keys();
        let endpoint = match self {
            Pushes::Service(service) => {
                service
                    .browsers
                    .lock()
                    .unwrap()
                    .push((name.to_string(), browser));
                let path = if gone { "gone" } else { "push" };
                format!("{}/{path}/{name}", service.base)
            }
            Pushes::Outbox(_) => format!("https://push.example.com/{name}"),
        };
        json!({ "endpoint": endpoint, "p256dh": p256dh, "auth": auth })
    }

    /// Everything pushed so far, oldest first.
    fn all(&self) -> Vec<Received> {
        match self {
            Pushes::Service(service) => service.received.lock().unwrap().clone(),
            Pushes::Outbox(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .map(|line| Received {
                    device: line["endpoint"]
                        .as_str()
                        .and_then(|e| e.rsplit('/').next())
                        .unwrap_or_default()
                        .to_string(),
                    topic: line["topic"].as_str().map(str::to_string),
                    urgency: line["urgency"].as_str().map(str::to_string),
                    vapid_key: None,
                    payload: line["payload"].clone(),
                })
                .collect(),
        }
    }

    /// Waits for a push of `kind` (`show`, `withdraw`) whose payload `check` accepts.
    async fn wait_for(&self, kind: &str, check: impl Fn(&Value) -> bool) -> Received {
        eventually(&format!("a {kind} push"), WAIT, || async {
            self.all()
                .into_iter()
                .find(|r| r.payload["type"] == kind && check(&r.payload))
        })
        .await
    }
}

/// Starts a platform that accepts loopback push endpoints (the test's service).
async fn start(profile: Profile) -> Platform {
    Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_PUSH__ALLOW_LOOPBACK_ENDPOINTS", "true")],
    )
    .await
}

async fn register(p: &Platform, who: &Person, device: &Value) -> Value {
    data(
        &p.gateway,
        "mutation R($i: PushSubscriptionInput!) { registerPushSubscription(input: $i) { id endpoint } }",
        json!({ "i": device }),
        Some(&who.token),
    )
    .await["registerPushSubscription"]
        .clone()
}

async fn subscriptions(p: &Platform, who: &Person) -> Vec<Value> {
    data(
        &p.gateway,
        "{ pushSubscriptions { id endpoint } }",
        json!({}),
        Some(&who.token),
    )
    .await["pushSubscriptions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The `show` pushes of new messages so far (others, as the friendship's, may come
/// late from setting the test up).
fn shows(pushes: &Pushes) -> Vec<Received> {
    pushes
        .all()
        .into_iter()
        .filter(|r| r.payload["type"] == "show" && r.payload["kind"] == "message")
        .collect()
}

/// Lets the sender look a few times (it looks every second), for asserting that
/// nothing was pushed.
async fn a_few_rounds() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

async fn a_notification_is_pushed_encrypted_withdrawn_when_read_and_ends_with_the_session(
    profile: Profile,
) {
    let p = start(profile).await;
    let pushes = Pushes::of(&p).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let phone = login_on(&p, &bob.username, "bob-phone").await;
    let device = pushes.device("bob-phone", false);
    let registered = register(&p, &phone, &device).await;
    assert_eq!(registered["endpoint"], device["endpoint"]);

    // Pushed: bob has no app connected.
    send(&p, &ann, &direct, "lunch?", "p1").await;
    let shown = pushes.wait_for("show", |n| n["text"] == "lunch?").await;
    assert_eq!(shown.device, "bob-phone");
    assert_eq!(shown.payload["title"], ann.username.as_str());
    assert_eq!(shown.payload["kind"], "message");
    assert_eq!(shown.payload["conversationId"], direct.as_str());
    let id = shown.payload["id"].as_str().unwrap().to_string();
    assert_eq!(
        shown.topic.as_deref(),
        Some(id.replace('-', "").as_str()),
        "the item's topic, so a later push replaces it"
    );
    assert_eq!(shown.urgency.as_deref(), Some("normal"));
    if profile == Profile::Services {
        let key = data(&p.gateway, "{ pushPublicKey }", json!({}), Some(&bob.token)).await;
        assert_eq!(
            shown.vapid_key.as_deref(),
            key["pushPublicKey"].as_str(),
            "signed with the key browsers subscribe with"
        );
    }

    // Read on another device: withdrawn, under the same topic.
    echostream_testkit::scenario::read_all_notifications(&p, &bob).await;
    let withdrawn = pushes
        .wait_for("withdraw", |n| n["id"] == id.as_str())
        .await;
    assert_eq!(withdrawn.topic, shown.topic);

    // An app connected (a live subscription open): nothing is pushed, it hears it.
    // Every other device of bob's says it is away, so bob shows online exactly when
    // the new device's subscription is connected.
    data(
        &p.gateway,
        "mutation { setPresence(status: AWAY) { status } }",
        json!({}),
        Some(&phone.token),
    )
    .await;
    let tablet = quiet_device(&p, &bob).await;
    let live = Subscription::start(
        &p.gateway,
        "subscription { notificationEvents { position } }",
        json!({}),
        &tablet.token,
    )
    .await;
    wait_for_presence(&p, &ann, &bob, "ONLINE").await;
    let shown_before = shows(&pushes).len();
    send(&p, &ann, &direct, "while connected", "p2").await;
    eventually("the item made", WAIT, || async {
        notifications(&p, &bob, "text")
            .await
            .into_iter()
            .find(|n| n["text"] == "while connected")
    })
    .await;
    a_few_rounds().await;
    live.close().await;
    // Do not disturb: held back too (the feed has it).
    let until = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    data(
        &p.gateway,
        "mutation D($u: DateTime) { setDoNotDisturb(until: $u) { quietNow } }",
        json!({ "u": until }),
        Some(&bob.token),
    )
    .await;
    send(&p, &ann, &direct, "do not disturb", "p3").await;
    eventually("the item counted", WAIT, || async {
        notifications(&p, &bob, "count")
            .await
            .into_iter()
            .find(|n| n["count"] == 2)
    })
    .await;
    a_few_rounds().await;
    assert_eq!(
        shows(&pushes).len(),
        shown_before,
        "nothing pushed while connected or in do-not-disturb"
    );
    data(
        &p.gateway,
        "mutation { setDoNotDisturb(until: null) { quietNow } }",
        json!({}),
        Some(&bob.token),
    )
    .await;
    // Once the app is gone and do-not-disturb over, the next one is pushed, as the
    // item is now (the three messages since it was read).
    send(&p, &ann, &direct, "after", "p4").await;
    pushes
        .wait_for("show", |n| n["text"] == "3 new messages")
        .await;
    assert_eq!(shows(&pushes).len(), shown_before + 1);

    // The session ends: its subscription with it.
    assert_eq!(subscriptions(&p, &phone).await.len(), 1);
    data(
        &p.gateway,
        "mutation { logout }",
        json!({}),
        Some(&phone.token),
    )
    .await;
    let again = login_on(&p, &bob.username, "bob-laptop").await;
    eventually("the subscription ended with its session", WAIT, || async {
        subscriptions(&p, &again).await.is_empty().then_some(())
    })
    .await;

    // Bad input is refused by name.
    for (input, why) in [
        (
            json!({ "endpoint": "http://push.example.com/x", "p256dh": device["p256dh"], "auth": device["auth"] }),
            "http",
        ),
        (
            json!({ "endpoint": "https://10.0.0.1/x", "p256dh": device["p256dh"], "auth": device["auth"] }),
            "private",
        ),
        (
            json!({ "endpoint": "https://push.example.com/x", "p256dh": "AAAA", "auth": device["auth"] }),
            "p256dh",
        ),
        (
            json!({ "endpoint": "https://push.example.com/x", "p256dh": device["p256dh"], "auth": "AAAA" }),
            "auth",
        ),
    ] {
        let out = post(
            &p.gateway,
            "mutation R($i: PushSubscriptionInput!) { registerPushSubscription(input: $i) { id } }",
            json!({ "i": input }),
            Some(&again.token),
        )
        .await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{why}: {out}");
    }
}

/// Services only: a subscription whose push service answers 410 is removed; the
/// others keep theirs.
async fn a_gone_subscription_is_removed(profile: Profile) {
    let p = start(profile).await;
    let pushes = Pushes::of(&p).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let phone = login_on(&p, &bob.username, "bob-phone").await;
    register(&p, &phone, &pushes.device("bob-phone", false)).await;
    register(&p, &phone, &pushes.device("bob-old-tablet", true)).await;
    assert_eq!(subscriptions(&p, &phone).await.len(), 2);
    send(&p, &ann, &direct, "hello", "g1").await;
    pushes.wait_for("show", |n| n["text"] == "hello").await;
    let left = eventually("the gone subscription removed", WAIT, || async {
        let left = subscriptions(&p, &phone).await;
        (left.len() == 1).then_some(left)
    })
    .await;
    assert!(
        left[0]["endpoint"]
            .as_str()
            .unwrap()
            .contains("/push/bob-phone")
    );
}

/// Services only: two instances share the services; each push is sent once.
async fn two_instances_push_each_notification_once(profile: Profile) {
    let p = start(profile).await;
    let q = p.another_instance().await;
    let pushes = Pushes::of(&p).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let phone = login_on(&p, &bob.username, "bob-phone").await;
    register(&q, &phone, &pushes.device("bob-phone", false)).await;
    for n in 0..5 {
        send(&p, &ann, &direct, &format!("m{n}"), &format!("t{n}")).await;
    }
    // One push per message (each collapses into the same item, under its topic).
    eventually("five pushes", WAIT, || async {
        (shows(&pushes).len() >= 5).then_some(())
    })
    .await;
    a_few_rounds().await;
    let shown = shows(&pushes);
    assert_eq!(shown.len(), 5, "each once: {shown:?}");
}

on_both_profiles!(a_notification_is_pushed_encrypted_withdrawn_when_read_and_ends_with_the_session);

mod a_gone_subscription_is_removed {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn services() {
        super::a_gone_subscription_is_removed(echostream_testkit::platform::Profile::Services)
            .await;
    }
}

mod two_instances_push_each_notification_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn services() {
        super::two_instances_push_each_notification_once(
            echostream_testkit::platform::Profile::Services,
        )
        .await;
    }
}
