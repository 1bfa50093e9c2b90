//! Presence: online, away and offline across devices, the friends stream and the
//! batched friends query (issue 9, item 7).

use serde_json::{Value, json};

use echostream_testkit::client::{Subscription, data, eventually};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    MESSAGES, Person, WAIT, friends, login, presence_of, wait_for_presence,
};

use crate::on_both_profiles;

const SET: &str = "mutation S($s: DeviceStatus!) { setPresence(status: $s) { status lastSeenAt } }";
const FRIENDS_STREAM: &str =
    "subscription { friendsPresenceChanged { user { id username } status lastSeenAt at } }";

async fn set(p: &Platform, device: &Person, status: &str) -> String {
    let out = data(&p.gateway, SET, json!({ "s": status }), Some(&device.token)).await;
    out["setPresence"]["status"].as_str().unwrap().to_string()
}

/// Waits on `stream` for `who` to be announced with `status`.
async fn announced(stream: &mut Subscription, who: &Person, status: &str) -> Value {
    loop {
        let event = stream
            .next(WAIT)
            .await
            .unwrap_or_else(|| panic!("{} never announced {status}", who.username));
        let change = event["data"]["friendsPresenceChanged"].clone();
        if change["user"]["id"] == who.id.as_str() && change["status"] == status {
            return change;
        }
    }
}

async fn presence_is_the_most_present_device_and_goes_away_when_idle(profile: Profile) {
    // Devices idle for two seconds count as away.
    let env = [("ECHOSTREAM_PRESENCE__AWAY_AFTER_SECS", "2")];
    let p = Platform::start_with(env!("CARGO_BIN_EXE_echostream"), profile, &env).await;
    let (ann, laptop) = friends(&p).await;
    eventually("presence visible to a friend", WAIT, || async {
        (!presence_of(&p, &ann, &laptop).await.is_null()).then_some(())
    })
    .await;
    let mut stream = Subscription::start(&p.gateway, FRIENDS_STREAM, json!({}), &ann.token).await;

    // Bob's laptop holds a subscription open and then does nothing: away.
    let inbox = Subscription::start(&p.gateway, MESSAGES, json!({}), &laptop.token).await;
    let away = wait_for_presence(&p, &ann, &laptop, "AWAY").await;
    assert!(away["lastSeenAt"].is_string());
    let change = announced(&mut stream, &laptop, "AWAY").await;
    assert_eq!(change["user"]["username"], laptop.username.as_str());

    // The laptop is used again; then it says it is away.
    assert_eq!(set(&p, &laptop, "ONLINE").await, "ONLINE");
    announced(&mut stream, &laptop, "ONLINE").await;
    assert_eq!(set(&p, &laptop, "AWAY").await, "AWAY");
    announced(&mut stream, &laptop, "AWAY").await;

    // Bob's phone (another session) says it is in use: the most present wins.
    let phone = login(&p, &laptop.username).await;
    assert_eq!(set(&p, &phone, "AWAY").await, "AWAY", "both devices away");
    assert_eq!(
        set(&p, &phone, "ONLINE").await,
        "ONLINE",
        "the phone is in use"
    );
    announced(&mut stream, &laptop, "ONLINE").await;

    // The laptop's app closes; the phone (which made a request a moment ago) keeps
    // Bob present.
    inbox.close().await;
    let now = presence_of(&p, &ann, &laptop).await;
    assert_ne!(now["status"], "OFFLINE", "{now}");
    stream.close().await;
}

async fn friends_presence_comes_in_one_query(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let query = "{ friendsPresence { user { id username } status lastSeenAt } }";
    let listed = eventually("bob among ann's friends' presence", WAIT, || async {
        let out = data(&p.gateway, query, json!({}), Some(&ann.token)).await;
        let list = out["friendsPresence"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["user"]["username"], bob.username.as_str());
    assert_eq!(
        listed[0]["status"], "ONLINE",
        "bob's requests were activity"
    );
    // Signed out, the query is refused.
    let anonymous = echostream_testkit::client::post(&p.gateway, query, json!({}), None).await;
    assert_eq!(
        echostream_testkit::client::error_code(&anonymous),
        "UNAUTHENTICATED"
    );
}

on_both_profiles!(
    presence_is_the_most_present_device_and_goes_away_when_idle,
    friends_presence_comes_in_one_query,
);
