//! What an app icon shows, through the gateway on both profiles: `badge` joins
//! chat's count of conversations with unread messages (muted ones left out) and the
//! notifications chat does not count, and `badgeChanged` follows it live as
//! messages come, conversations are read or muted, and notifications are made and
//! read.

use echostream_testkit::client::{Subscription, data, eventually};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, direct_conversation, friends, group, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const BADGE: &str = "total unreadConversations unreadNotifications";

async fn badge(p: &Platform, who: &Person) -> Value {
    let query = format!("{{ badge {{ {BADGE} }} }}");
    data(&p.gateway, &query, json!({}), Some(&who.token)).await["badge"].clone()
}

/// Chat's own view: how many of `who`'s conversations have unread messages, and
/// how many of those are not muted.
async fn chat_counts(p: &Platform, who: &Person) -> (usize, usize) {
    let out = data(
        &p.gateway,
        "{ conversations(first: 50) { edges { node { unreadCount muted } } } }",
        json!({}),
        Some(&who.token),
    )
    .await;
    let nodes: Vec<Value> = out["conversations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let unread = nodes.iter().filter(|n| n["unreadCount"].as_i64() > Some(0));
    let all = unread.clone().count();
    let loud = unread.filter(|n| n["muted"] == false).count();
    (all, loud)
}

/// Reads `live` until a badge `check` accepts.
async fn live_badge(live: &mut Subscription, check: impl Fn(&Value) -> bool) -> Value {
    loop {
        let next = live.next(WAIT).await.expect("a badge");
        assert!(next["errors"].is_null(), "{next}");
        let badge = next["data"]["badgeChanged"].clone();
        if check(&badge) {
            return badge;
        }
    }
}

async fn the_badge_counts_what_chat_and_the_feed_count_and_follows_them_live(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&bob]).await;
    // Bob's request was accepted and he was added to a group: two notifications
    // chat does not count.
    eventually("the acceptance and the group told", WAIT, || async {
        (badge(&p, &bob).await["unreadNotifications"] == 2).then_some(())
    })
    .await;

    let mut live = Subscription::start(
        &p.gateway,
        &format!("subscription {{ badgeChanged {{ {BADGE} }} }}"),
        json!({}),
        &bob.token,
    )
    .await;
    let first = live_badge(&mut live, |_| true).await;
    assert_eq!(first["unreadNotifications"], 2, "{first}");

    // Messages in two conversations: two on the icon, whatever their number.
    send(&p, &ann, &direct, "one", "b1").await;
    send(&p, &ann, &team, "two", "b2").await;
    send(&p, &ann, &team, "three", "b3").await;
    let now = live_badge(&mut live, |b| b["unreadConversations"] == 2).await;
    assert_eq!(now["total"], 4, "{now}");
    assert_eq!(chat_counts(&p, &bob).await, (2, 2), "chat counts the same");

    // A friend request: one more notification.
    let cat = signed_up(&p, "cat").await;
    echostream_testkit::scenario::ask_friendship(&p, &cat, &bob).await;
    let now = live_badge(&mut live, |b| b["unreadNotifications"] == 3).await;
    assert_eq!(now["total"], 5, "{now}");

    // The group muted: off the icon, though its unread count still shows.
    data(
        &p.gateway,
        "mutation M($c: ID!) { muteConversation(conversationId: $c) { muted } }",
        json!({ "c": team }),
        Some(&bob.token),
    )
    .await;
    let now = live_badge(&mut live, |b| b["unreadConversations"] == 1).await;
    assert_eq!(now["total"], 4, "{now}");
    assert_eq!(chat_counts(&p, &bob).await, (2, 1));

    // The direct conversation read (on any device): off the icon.
    let last = data(
        &p.gateway,
        "query C($id: ID!) { conversation(id: $id) { lastItem { seq } } }",
        json!({ "id": direct }),
        Some(&bob.token),
    )
    .await;
    data(
        &p.gateway,
        "mutation R($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }",
        json!({ "c": direct, "s": last["conversation"]["lastItem"]["seq"] }),
        Some(&bob.token),
    )
    .await;
    let now = live_badge(&mut live, |b| b["unreadConversations"] == 0).await;
    assert_eq!(now["total"], 3, "{now}");

    // Notifications read: nothing left.
    echostream_testkit::scenario::read_all_notifications(&p, &bob).await;
    live_badge(&mut live, |b| b["total"] == 0).await;
    assert_eq!(
        badge(&p, &bob).await,
        json!({ "total": 0, "unreadConversations": 0, "unreadNotifications": 0 })
    );
    live.close().await;
}

on_both_profiles!(the_badge_counts_what_chat_and_the_feed_count_and_follows_them_live);
