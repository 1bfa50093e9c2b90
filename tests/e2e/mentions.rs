//! Mentions through the gateway: `@username` of members (any case) and `@all` in
//! groups, read by the server into who and where (UTF-16 offsets), carried live and
//! read again when the text is edited; anyone else's `@name` stays plain text.

use std::time::Duration;

use echostream_testkit::client::{Subscription, data, eventually};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    befriend, direct_conversation, friends, group, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const MENTIONS: &str = "query M($id: ID!) { message(id: $id) { mentions { user { id } offset length } mentionsEveryone } }";
const LIVE: &str = "subscription { chatEvents { __typename ... on MessageAdded { message { id body \
    mentions { user { id } offset length } mentionsEveryone } } } }";

/// `(user id, offset, length)` of each mention.
fn mentioned(message: &Value) -> Vec<(String, i64, i64)> {
    message["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["id"].as_str().unwrap().to_string(),
                m["offset"].as_i64().unwrap(),
                m["length"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Where `needle` stands in `text`, in UTF-16 code units.
fn at(text: &str, needle: &str) -> (i64, i64) {
    let start = text.find(needle).unwrap();
    (
        text[..start].encode_utf16().count() as i64,
        needle.encode_utf16().count() as i64,
    )
}

async fn members_are_mentioned_by_name_and_all(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let dan = signed_up(&p, "dan").await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&bob, &cat]).await;
    // Chat learns usernames from auth's events: wait until it knows bob's and cat's.
    eventually(
        "chat to know the usernames",
        Duration::from_secs(30),
        || async {
            let probe = format!("@{} @{}", bob.username, cat.username);
            let key = uuid::Uuid::now_v7().to_string();
            let probe = send(&p, &ann, &team, &probe, &key).await;
            let found = data(
                &p.gateway,
                MENTIONS,
                json!({ "id": probe["id"] }),
                Some(&ann.token),
            )
            .await;
            (found["message"]["mentions"].as_array().unwrap().len() == 2).then_some(())
        },
    )
    .await;
    let mut live = Subscription::start(&p.gateway, LIVE, json!({}), &cat.token).await;

    let text = format!(
        "👋 @{} and @{}, @{} @all: lunch? @{}.",
        bob.username.to_uppercase(),
        cat.username,
        dan.username,
        bob.username
    );
    let sent = send(&p, &ann, &team, &text, "m1").await;
    let found = data(
        &p.gateway,
        MENTIONS,
        json!({ "id": sent["id"] }),
        Some(&ann.token),
    )
    .await;
    let (b1, bl) = at(&text, &format!("@{}", bob.username.to_uppercase()));
    let (c, cl) = at(&text, &format!("@{}", cat.username));
    let (b2, _) = at(&text, &format!("@{}.", bob.username));
    assert_eq!(
        mentioned(&found["message"]),
        [
            (bob.id.clone(), b1, bl),
            (cat.id.clone(), c, cl),
            (bob.id.clone(), b2, bl),
        ],
        "members only, any case, the sentence's full stop left out: {found}"
    );
    assert_eq!(found["message"]["mentionsEveryone"], true);

    // Live, as sent.
    let heard = loop {
        let payload = live
            .next(Duration::from_secs(20))
            .await
            .expect("the message live");
        let event = payload["data"]["chatEvents"].clone();
        if event["__typename"] == "MessageAdded" && event["message"]["id"] == sent["id"] {
            break event;
        }
    };
    assert_eq!(mentioned(&heard["message"]), mentioned(&found["message"]));
    assert_eq!(heard["message"]["mentionsEveryone"], true);

    // Edited: read again.
    let edited = format!("only @{}", cat.username);
    data(
        &p.gateway,
        "mutation E($m: ID!, $b: String!) { editMessage(messageId: $m, body: $b) { id } }",
        json!({ "m": sent["id"], "b": edited }),
        Some(&ann.token),
    )
    .await;
    let found = data(
        &p.gateway,
        MENTIONS,
        json!({ "id": sent["id"] }),
        Some(&bob.token),
    )
    .await;
    let (c, cl) = at(&edited, &format!("@{}", cat.username));
    assert_eq!(mentioned(&found["message"]), [(cat.id.clone(), c, cl)]);
    assert_eq!(found["message"]["mentionsEveryone"], false);

    // `@all` means nothing in a direct conversation.
    let plain = send(&p, &ann, &direct, "@all hello", "d1").await;
    let found = data(
        &p.gateway,
        MENTIONS,
        json!({ "id": plain["id"] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(found["message"]["mentionsEveryone"], false);
    assert_eq!(found["message"]["mentions"], json!([]));
    live.close().await;
}

on_both_profiles!(members_are_mentioned_by_name_and_all);
