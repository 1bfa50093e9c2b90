//! Reactions through the gateway: one emoji each (validated, normalised), counts per
//! emoji and whether I reacted, who reacted as a connection, the per-message limit,
//! live `MessageChanged` frames, and a replay window that holds one place per
//! message however many reactions it got.

use std::time::Duration;

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{direct_conversation, friends, send, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;
use crate::stream::{next_of, position, subscribe};

const ADD: &str = "mutation A($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { id reactions { emoji count reactedByMe } } }";
const REMOVE: &str = "mutation R($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { id reactions { emoji count reactedByMe } } }";
const REACTORS: &str = "query R($m: ID!, $e: String, $after: String) { message(id: $m) { reactors(emoji: $e, first: 1, after: $after) { \
    edges { cursor node { user { id username } emoji reactedAt } } pageInfo { hasNextPage } } } }";
const CHANGES: &str = "query C($p: String!) { changesSince(position: $p, first: 100) { events { __typename \
    ... on MessageAdded { message { id reactions { emoji count } } } \
    ... on MessageChanged { messageId current { reactions { emoji count reactedByMe } } } } } }";
const DELETE_ALL: &str =
    "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id reactions { emoji } } }";

fn reactions(answer: &Value, field: &str) -> Value {
    answer[field]["reactions"].clone()
}

async fn reactions_are_counted_live_replayed_once_and_limited(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CHAT__MAX_REACTIONS_PER_MESSAGE", "3")],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let since = position(&p, &bob).await;
    let mut live = subscribe(&p, &bob, &since).await;
    let sent = send(&p, &ann, &id, "lunch at noon?", "k1").await;
    let m = sent["id"].clone();
    let within = Duration::from_secs(20);
    next_of(&mut live, "MessageAdded", within).await;
    let react = |who: &str, query: &'static str, emoji: &'static str| {
        let token = if who == "ann" {
            ann.token.clone()
        } else {
            bob.token.clone()
        };
        let gateway = p.gateway.clone();
        let m = m.clone();
        async move { post(&gateway, query, json!({ "m": m, "e": emoji }), Some(&token)).await }
    };

    // One emoji, normalised: a heart without its selector is the heart.
    let bobs = react("bob", ADD, "👍").await;
    assert_eq!(
        reactions(&bobs["data"], "addReaction"),
        json!([{ "emoji": "👍", "count": 1, "reactedByMe": true }]),
        "{bobs}"
    );
    let changed = next_of(&mut live, "MessageChanged", within).await;
    assert_eq!(changed["messageId"], m);
    assert_eq!(
        changed["current"]["reactions"],
        json!([{ "emoji": "👍", "count": 1, "reactedByMe": true }])
    );
    react("ann", ADD, "\u{2764}").await;
    let both = react("bob", ADD, "\u{2764}\u{fe0f}").await;
    assert_eq!(
        reactions(&both["data"], "addReaction"),
        json!([
            { "emoji": "👍", "count": 1, "reactedByMe": true },
            { "emoji": "\u{2764}\u{fe0f}", "count": 2, "reactedByMe": true },
        ]),
        "{both}"
    );
    let again = react("bob", ADD, "👍").await;
    assert_eq!(
        reactions(&again["data"], "addReaction")[0]["count"],
        1,
        "adding it again changes nothing"
    );
    for bad in ["ok", "👍👍", "", ":+1:"] {
        let token = bob.token.clone();
        let refused = post(&p.gateway, ADD, json!({ "m": m, "e": bad }), Some(&token)).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{bad:?}: {refused}");
    }
    let cat = signed_up(&p, "cat").await;
    let stranger = post(
        &p.gateway,
        ADD,
        json!({ "m": m, "e": "👍" }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(error_code(&stranger), "NOT_FOUND", "{stranger}");

    // The limit counts different emoji: a third is taken, a fourth refused, an
    // emoji already there still joins.
    react("ann", ADD, "🎉").await;
    let fourth = react("ann", ADD, "🍕").await;
    assert_eq!(error_code(&fourth), "CONFLICT", "{fourth}");
    let joins = react("ann", ADD, "👍").await;
    assert_eq!(
        reactions(&joins["data"], "addReaction")[0]["count"],
        2,
        "{joins}"
    );

    // Who reacted, oldest first, one page at a time.
    let first = data(
        &p.gateway,
        REACTORS,
        json!({ "m": m, "e": "❤️" }),
        Some(&ann.token),
    )
    .await;
    let page = &first["message"]["reactors"];
    assert_eq!(page["edges"][0]["node"]["user"]["id"], ann.id.as_str());
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let second = data(
        &p.gateway,
        REACTORS,
        json!({ "m": m, "e": "❤️", "after": page["edges"][0]["cursor"] }),
        Some(&ann.token),
    )
    .await;
    let page = &second["message"]["reactors"];
    assert_eq!(page["edges"][0]["node"]["user"]["id"], bob.id.as_str());
    assert_eq!(page["edges"][0]["node"]["emoji"], "❤️");
    assert_eq!(page["pageInfo"]["hasNextPage"], false);

    // Removing: the count drops; removing it again changes nothing.
    let removed = react("bob", REMOVE, "👍").await;
    // 👍's earliest reaction now is ann's, after the others: it comes last.
    let now = json!([
        { "emoji": "\u{2764}\u{fe0f}", "count": 2, "reactedByMe": true },
        { "emoji": "🎉", "count": 1, "reactedByMe": false },
        { "emoji": "👍", "count": 1, "reactedByMe": false },
    ]);
    assert_eq!(
        reactions(&removed["data"], "removeReaction"),
        now,
        "{removed}"
    );
    let twice = react("bob", REMOVE, "👍").await;
    assert_eq!(reactions(&twice["data"], "removeReaction"), now, "{twice}");

    // Six changes of one message hold one place in bob's window: a replay hands
    // the message once and its current reactions once.
    let replay = data(&p.gateway, CHANGES, json!({ "p": since }), Some(&bob.token)).await;
    let events = replay["changesSince"]["events"].as_array().unwrap();
    let changes: Vec<&Value> = events
        .iter()
        .filter(|e| e["__typename"] == "MessageChanged")
        .collect();
    assert_eq!(changes.len(), 1, "{replay}");
    assert_eq!(changes[0]["current"]["reactions"], now);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["__typename"] == "MessageAdded")
            .count(),
        1
    );
    // Live, bob heard every one of them.
    for _ in 0..4 {
        next_of(&mut live, "MessageChanged", within).await;
    }
    let last = next_of(&mut live, "MessageChanged", within).await;
    assert_eq!(last["current"]["reactions"], now);

    // Deleted for everyone, a message keeps no reactions and takes none.
    let gone = data(&p.gateway, DELETE_ALL, json!({ "m": m }), Some(&ann.token)).await;
    assert_eq!(gone["deleteMessageForEveryone"]["reactions"], json!([]));
    let late = react("bob", ADD, "👍").await;
    assert_eq!(error_code(&late), "CONFLICT", "{late}");
    live.close().await;
}

on_both_profiles!(reactions_are_counted_live_replayed_once_and_limited);
