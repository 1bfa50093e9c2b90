//! Search through the gateway: words in any case, every word required, newest
//! first, narrowed by conversation, sender and time, paged, with highlighted
//! snippets and a jump into history; what the viewer may not read is never found.

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    befriend, direct_conversation, friends, group, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const SEARCH: &str = "query S($q: String!, $c: ID, $s: ID, $since: DateTime, $first: Int, $after: String) { \
    searchMessages(query: $q, conversationId: $c, senderId: $s, since: $since, first: $first, after: $after) { \
    edges { cursor node { message { id body conversationId } snippet { text highlighted } } } \
    pageInfo { hasNextPage } } }";

async fn found(p: &echostream_testkit::platform::Platform, token: &str, vars: Value) -> Value {
    data(&p.gateway, SEARCH, vars, Some(token)).await["searchMessages"].clone()
}

fn bodies(hits: &Value) -> Vec<String> {
    hits["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["node"]["message"]["body"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

async fn search_finds_what_i_may_read_by_words(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&bob, &cat]).await;
    send(&p, &ann, &direct, "Lunch at NOON tomorrow?", "a1").await;
    let secret = send(&p, &ann, &direct, "the secret plan", "a2").await;
    let mine = send(&p, &bob, &direct, "noon works for me", "b1").await;
    send(&p, &ann, &team, "team lunch on friday", "a3").await;

    // Any case, newest first, with the words found highlighted.
    let hits = found(&p, &bob.token, json!({ "q": "lunch" })).await;
    assert_eq!(
        bodies(&hits),
        ["team lunch on friday", "Lunch at NOON tomorrow?"]
    );
    let snippet = &hits["edges"][1]["node"]["snippet"];
    let highlighted: Vec<&str> = snippet
        .as_array()
        .unwrap()
        .iter()
        .filter(|part| part["highlighted"] == true)
        .map(|part| part["text"].as_str().unwrap())
        .collect();
    assert_eq!(highlighted, ["Lunch"], "{snippet}");
    let joined: String = snippet
        .as_array()
        .unwrap()
        .iter()
        .map(|part| part["text"].as_str().unwrap())
        .collect();
    assert!(joined.starts_with("Lunch at NOON tomorrow"), "{joined}");

    // Every word is required; narrowed by conversation, sender and time.
    let both = found(&p, &bob.token, json!({ "q": "noon LUNCH" })).await;
    assert_eq!(bodies(&both), ["Lunch at NOON tomorrow?"]);
    let here = found(&p, &bob.token, json!({ "q": "lunch", "c": direct })).await;
    assert_eq!(bodies(&here), ["Lunch at NOON tomorrow?"]);
    let by_bob = found(&p, &bob.token, json!({ "q": "noon", "s": bob.id })).await;
    assert_eq!(bodies(&by_bob), ["noon works for me"]);
    let later = found(
        &p,
        &bob.token,
        json!({ "q": "noon", "since": "2100-01-01T00:00:00Z" }),
    )
    .await;
    assert!(bodies(&later).is_empty());

    // Paged, and a hit opens in its history.
    let page = found(&p, &bob.token, json!({ "q": "lunch", "first": 1 })).await;
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = found(
        &p,
        &bob.token,
        json!({ "q": "lunch", "first": 1, "after": page["edges"][0]["cursor"] }),
    )
    .await;
    assert_eq!(bodies(&next), ["Lunch at NOON tomorrow?"]);
    assert_eq!(next["pageInfo"]["hasNextPage"], false);
    let hit = &next["edges"][0]["node"]["message"];
    let around = data(
        &p.gateway,
        "query A($c: ID!, $m: ID!) { conversation(id: $c) { messages(around: $m, first: 3) { edges { node { id } } } } }",
        json!({ "c": hit["conversationId"], "m": hit["id"] }),
        Some(&bob.token),
    )
    .await;
    assert!(
        around.to_string().contains(hit["id"].as_str().unwrap()),
        "{around}"
    );

    // Not found: deleted for everyone, deleted for me, conversations left.
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }",
        json!({ "m": secret["id"] }),
        Some(&ann.token),
    )
    .await;
    assert!(bodies(&found(&p, &bob.token, json!({ "q": "secret" })).await).is_empty());
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForMe(messageId: $m) }",
        json!({ "m": mine["id"] }),
        Some(&bob.token),
    )
    .await;
    assert!(bodies(&found(&p, &bob.token, json!({ "q": "works" })).await).is_empty());
    assert_eq!(
        bodies(&found(&p, &ann.token, json!({ "q": "works" })).await),
        ["noon works for me"],
        "deleted for bob alone"
    );
    data(
        &p.gateway,
        "mutation L($c: ID!) { leaveGroup(conversationId: $c) }",
        json!({ "c": team }),
        Some(&bob.token),
    )
    .await;
    assert!(bodies(&found(&p, &bob.token, json!({ "q": "friday" })).await).is_empty());
    assert!(bodies(&found(&p, &cat.token, json!({ "q": "tomorrow" })).await).is_empty());

    // A query without words is refused.
    let refused = post(&p.gateway, SEARCH, json!({ "q": "?! …" }), Some(&bob.token)).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}

on_both_profiles!(search_finds_what_i_may_read_by_words);
