//! A message's sender, named and pictured by chat itself (`Message.sender` provides
//! `displayName` and `avatar`, so the gateway asks profile nothing): live, where the
//! message carries its sender as sent out, and read back from the history, where
//! chat reads the sender as they are now. Both follow profile's rules: the display
//! name, and the avatar hidden from someone the sender has blocked.

use std::time::Duration;

use image::ImageFormat;
use serde_json::{Value, json};

use echostream_testkit::client::{Subscription, data, eventually, metric};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, WAIT, befriend, friends, group, send, signed_up};

use crate::media::{encoded, load, photo, upload};
use crate::on_both_profiles;

const SENDER: &str = "sender { id displayName avatar { small medium large } }";

fn live() -> String {
    format!(
        "subscription {{ chatEvents {{ __typename ... on MessageAdded {{ message {{ body {SENDER} }} }} }} }}"
    )
}

fn history() -> String {
    format!(
        "query H($id: ID!) {{ conversation(id: $id) {{ messages(last: 1) {{ edges {{ node {{ body {SENDER} }} }} }} }} }}"
    )
}

/// The sender of the newest message of `conversation`, as `viewer` reads it.
async fn newest_sender(p: &Platform, viewer: &Person, conversation: &str) -> Value {
    let out = data(
        &p.gateway,
        &history(),
        json!({ "id": conversation }),
        Some(&viewer.token),
    )
    .await;
    out["conversation"]["messages"]["edges"][0]["node"]["sender"].clone()
}

/// Entity fetches profile has answered (`_entities` requests).
async fn entity_fetches(p: &Platform) -> f64 {
    let url = p.subgraph_url("profile").replace("/graphql", "/metrics");
    let text = reqwest::get(&url)
        .await
        .expect("/metrics")
        .text()
        .await
        .unwrap();
    metric(
        &text,
        "echostream_graphql_requests_total",
        &[r#"subgraph="profile""#, r#"field="_entities""#],
    )
}

/// The sender of the next message `body` heard on `live`.
async fn heard_sender(live: &mut Subscription, body: &str) -> Value {
    loop {
        let next = live
            .next(Duration::from_secs(30))
            .await
            .expect("the message, live");
        let message = &next["data"]["chatEvents"]["message"];
        if message["body"] == body {
            return message["sender"].clone();
        }
    }
}

async fn senders_come_with_their_name_and_avatar(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let team = group(&p, &ann, "team", &[&bob, &cat]).await;

    // Ann names herself, pictures herself, and blocks cat (who stays in the group).
    data(
        &p.gateway,
        "mutation { updateProfile(input: { displayName: \"Ann Lee\" }) { id } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    upload(
        &p,
        &ann,
        "AVATAR",
        "image/png",
        encoded(photo(120, 120), ImageFormat::Png),
    )
    .await;
    data(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": cat.id }),
        Some(&ann.token),
    )
    .await;
    send(&p, &ann, &team, "before", "k-before").await;

    // Read back: once chat has heard profile's events, bob sees her name and avatar,
    // cat her name only, as profile shows them.
    eventually(
        "chat to know ann's name, avatar and block",
        WAIT,
        || async {
            let to_bob = newest_sender(&p, &bob, &team).await;
            let to_cat = newest_sender(&p, &cat, &team).await;
            (to_bob["displayName"] == "Ann Lee"
                && to_bob["avatar"]["small"].is_string()
                && to_cat["displayName"] == "Ann Lee"
                && to_cat["avatar"].is_null())
            .then_some(())
        },
    )
    .await;
    let profile_to_bob = data(
        &p.gateway,
        "query U($id: ID!) { user(id: $id) { displayName avatar { small } } }",
        json!({ "id": ann.id }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(profile_to_bob["user"]["displayName"], "Ann Lee");
    assert!(profile_to_bob["user"]["avatar"]["small"].is_string());

    // Live: the message carries its sender, with an avatar whose URLs load, and
    // profile is not asked.
    let mut bob_live = Subscription::start(&p.gateway, &live(), json!({}), &bob.token).await;
    let mut cat_live = Subscription::start(&p.gateway, &live(), json!({}), &cat.token).await;
    let fetched_before = entity_fetches(&p).await;
    send(&p, &ann, &team, "live", "k-live").await;
    let to_bob = heard_sender(&mut bob_live, "live").await;
    assert_eq!(to_bob["id"], ann.id.as_str(), "{to_bob}");
    assert_eq!(to_bob["displayName"], "Ann Lee", "{to_bob}");
    let small = load(to_bob["avatar"]["small"].as_str().unwrap()).await;
    assert_eq!((small.width(), small.height()), (64, 64));
    let medium = load(to_bob["avatar"]["medium"].as_str().unwrap()).await;
    assert_eq!((medium.width(), medium.height()), (120, 120));
    let to_cat = heard_sender(&mut cat_live, "live").await;
    assert_eq!(to_cat["displayName"], "Ann Lee", "{to_cat}");
    assert!(
        to_cat["avatar"].is_null(),
        "hidden from someone she blocked: {to_cat}"
    );
    let fetched_live = entity_fetches(&p).await;
    assert_eq!(fetched_live, fetched_before, "profile asked for a sender");
    // (The count does move when profile is asked: members' names are its.)
    data(
        &p.gateway,
        "query C($id: ID!) { conversation(id: $id) { members { user { displayName } } } }",
        json!({ "id": team }),
        Some(&bob.token),
    )
    .await;
    assert!(entity_fetches(&p).await > fetched_live);

    // A new name reaches the next message sent, live and read back.
    data(
        &p.gateway,
        "mutation { updateProfile(input: { displayName: \"Ann B\" }) { id } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    eventually("chat to know ann's new name", WAIT, || async {
        (newest_sender(&p, &bob, &team).await["displayName"] == "Ann B").then_some(())
    })
    .await;
    send(&p, &ann, &team, "renamed", "k-renamed").await;
    let to_bob = heard_sender(&mut bob_live, "renamed").await;
    assert_eq!(to_bob["displayName"], "Ann B", "{to_bob}");
    assert!(to_bob["avatar"]["large"].is_string(), "{to_bob}");

    // Someone who never named themselves is called as profile calls them (their
    // username).
    send(&p, &bob, &team, "from bob", "k-bob").await;
    let bob_seen = heard_sender(&mut cat_live, "from bob").await;
    let bob_in_profile = data(
        &p.gateway,
        "query U($id: ID!) { user(id: $id) { displayName } }",
        json!({ "id": bob.id }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(
        bob_seen["displayName"], bob_in_profile["user"]["displayName"],
        "{bob_seen}"
    );
    assert!(bob_seen["displayName"].is_string(), "{bob_seen}");
    assert!(bob_seen["avatar"].is_null(), "{bob_seen}");
    bob_live.close().await;
    cat_live.close().await;
}

on_both_profiles!(senders_come_with_their_name_and_avatar);
