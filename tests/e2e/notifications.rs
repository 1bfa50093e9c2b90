//! The notification feed through the gateway on both profiles: items collapsed per
//! conversation while unread, the most specific kind per message (mention, reply),
//! reactions and group changes, friend requests resolved by their answer, reading a
//! conversation reads its items, deletions count out, marks, dismissals, the unread
//! count, pages, the live feed and its resume, bad input.

use echostream_testkit::client::{Subscription, data, error_code, eventually, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    Person, WAIT, befriend, direct_conversation, friends, group, notifications, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const FIELDS: &str = "id kind title text count read conversationId messageId \
    actors { id } user { id } payload";

/// `who`'s items of `kind`, newest first.
async fn of_kind(
    p: &echostream_testkit::platform::Platform,
    who: &Person,
    kind: &str,
) -> Vec<Value> {
    notifications(p, who, FIELDS)
        .await
        .into_iter()
        .filter(|n| n["kind"] == kind)
        .collect()
}

/// Waits for `who`'s first item of `kind` that `check` accepts.
async fn item(
    p: &echostream_testkit::platform::Platform,
    who: &Person,
    kind: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(&format!("a {kind} item"), WAIT, || async {
        of_kind(p, who, kind).await.into_iter().find(|n| check(n))
    })
    .await
}

/// Waits until `who`'s feed holds the items of their friendships (events of
/// profile's, which may come late): `accepted` requests of theirs accepted, and
/// `answered` requests to them answered; counts taken after that stay still.
async fn friendships_told(
    p: &echostream_testkit::platform::Platform,
    who: &Person,
    accepted: usize,
    answered: usize,
) {
    eventually("the friendships' items", WAIT, || async {
        let feed = notifications(p, who, FIELDS).await;
        let of = |kind: &str| feed.iter().filter(|n| n["kind"] == kind).count();
        let all_read = feed
            .iter()
            .filter(|n| n["kind"] == "FRIEND_REQUEST")
            .all(|n| n["read"] == true);
        (of("FRIEND_REQUEST_ACCEPTED") == accepted && of("FRIEND_REQUEST") == answered && all_read)
            .then_some(())
    })
    .await;
}

async fn unread(p: &echostream_testkit::platform::Platform, who: &Person) -> u64 {
    data(
        &p.gateway,
        "{ unreadNotificationCount }",
        json!({}),
        Some(&who.token),
    )
    .await["unreadNotificationCount"]
        .as_u64()
        .unwrap()
}

async fn messages_collapse_per_conversation_and_read_with_it(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &bob, &cat).await;
    befriend(&p, &ann, &cat).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    friendships_told(&p, &bob, 1, 1).await;
    let mut live = Subscription::start(
        &p.gateway,
        "subscription { notificationAdded { id kind count text } }",
        json!({}),
        &bob.token,
    )
    .await;

    // Three messages from ann: one item that counts them, moved to the top.
    send(&p, &ann, &direct, "one", "m1").await;
    send(&p, &ann, &direct, "two", "m2").await;
    let third = send(&p, &ann, &direct, "three", "m3").await;
    // Names come from auth's events, which may still be on their way.
    let collapsed = item(&p, &bob, "MESSAGE", |n| {
        n["count"] == 3 && n["title"] == ann.username.as_str()
    })
    .await;
    assert_eq!(collapsed["text"], "3 new messages");
    assert_eq!(collapsed["conversationId"], direct.as_str());
    assert_eq!(collapsed["messageId"], third["id"]);
    assert_eq!(collapsed["actors"], json!([{ "id": ann.id }]));
    assert_eq!(collapsed["payload"]["preview"], "three");
    assert_eq!(
        of_kind(&p, &bob, "MESSAGE").await.len(),
        1,
        "one item, not three"
    );
    // The live feed hears the item each time it changes, as it is when sent: the
    // same id, counting up to 3.
    let mut counts = Vec::new();
    while counts.last() != Some(&3) {
        let next = live.next(WAIT).await.expect("the live item");
        let n = &next["data"]["notificationAdded"];
        if n["kind"] == "MESSAGE" {
            assert_eq!(n["id"], collapsed["id"], "{next}");
            counts.push(n["count"].as_i64().unwrap());
        }
    }
    assert!(counts.is_sorted() && counts.len() <= 3, "{counts:?}");

    // Reading the conversation up to the last message reads the item.
    let before = unread(&p, &bob).await;
    data(
        &p.gateway,
        "mutation R($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }",
        json!({ "c": direct, "s": third["seq"] }),
        Some(&bob.token),
    )
    .await;
    eventually("the item read with its conversation", WAIT, || async {
        let items = of_kind(&p, &bob, "MESSAGE").await;
        (items.len() == 1 && items[0]["read"] == true).then_some(())
    })
    .await;
    assert_eq!(unread(&p, &bob).await, before - 1);

    // The next message opens a new item; a group's item names everyone who wrote.
    send(&p, &ann, &direct, "four", "m4").await;
    item(&p, &bob, "MESSAGE", |n| {
        n["read"] == false && n["text"] == "four"
    })
    .await;
    let team = group(&p, &ann, "team", &[&bob, &cat]).await;
    send(&p, &ann, &team, "hello team", "t1").await;
    send(&p, &cat, &team, "hi all", "t2").await;
    let both = format!("{} and {}", ann.username, cat.username);
    item(&p, &bob, "MESSAGE", |n| {
        n["conversationId"] == team.as_str() && n["count"] == 2 && n["title"] == both.as_str()
    })
    .await;

    // A message deleted for everyone is counted out, and its text goes with it.
    let secret = send(&p, &cat, &team, "oops, a secret", "t3").await;
    item(&p, &bob, "MESSAGE", |n| {
        n["count"] == 3 && n["conversationId"] == team.as_str()
    })
    .await;
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }",
        json!({ "m": secret["id"] }),
        Some(&cat.token),
    )
    .await;
    let counted_out = item(&p, &bob, "MESSAGE", |n| {
        n["conversationId"] == team.as_str() && n["count"] == 2
    })
    .await;
    assert!(
        !json!(notifications(&p, &bob, FIELDS).await)
            .to_string()
            .contains("a secret"),
        "{counted_out}"
    );
    live.close().await;
}

async fn mentions_replies_reactions_and_group_changes_have_their_own_items(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let team = group(&p, &ann, "team", &[&bob]).await;

    // Added to a group at its making: the item says which.
    let added = item(&p, &bob, "ADDED_TO_GROUP", |_| true).await;
    assert_eq!(added["text"], "added you to team", "{added}");
    assert_eq!(added["conversationId"], team.as_str());

    // A mention is its own item, not one more new message.
    // Chat reads mentions with the usernames it learns from auth's events: send
    // until it knows bob's (a message it did not read as a mention is a plain one).
    let mention = eventually("chat to read the mention", WAIT, || async {
        let key = uuid::Uuid::now_v7().to_string();
        let sent = send(&p, &ann, &team, &format!("@{} look", bob.username), &key).await;
        let read = data(
            &p.gateway,
            "query M($id: ID!) { message(id: $id) { mentions { user { id } } } }",
            json!({ "id": sent["id"] }),
            Some(&ann.token),
        )
        .await;
        (read["message"]["mentions"][0]["user"]["id"] == bob.id.as_str()).then_some(sent)
    })
    .await;
    let mentioned = item(&p, &bob, "MENTION", |_| true).await;
    assert_eq!(mentioned["messageId"], mention["id"]);
    assert_eq!(
        mentioned["text"],
        format!("mentioned you: @{} look", bob.username)
    );
    assert!(
        of_kind(&p, &bob, "MESSAGE")
            .await
            .iter()
            .all(|n| n["messageId"] != mention["id"] && n["count"] != 0),
        "the mention is not counted as a new message"
    );

    // A reply to bob's message tells bob as a reply.
    let mine = send(&p, &bob, &team, "lunch?", "b1").await;
    let reply = data(
        &p.gateway,
        "mutation S($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
        json!({ "i": { "conversationId": team, "idempotencyKey": "r1", "body": "yes!", "replyTo": mine["id"] } }),
        Some(&ann.token),
    )
    .await;
    let replied = item(&p, &bob, "REPLY", |_| true).await;
    assert_eq!(replied["text"], "replied: yes!");
    assert_eq!(replied["messageId"], reply["sendMessage"]["id"]);

    // Reactions to bob's message: one item; taken back, it goes.
    let react = "mutation R($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { id } }";
    data(
        &p.gateway,
        react,
        json!({ "m": mine["id"], "e": "👍" }),
        Some(&ann.token),
    )
    .await;
    let reacted = item(&p, &bob, "REACTION", |n| {
        n["title"] == ann.username.as_str()
    })
    .await;
    assert_eq!(reacted["text"], "reacted 👍 to your message");
    data(
        &p.gateway,
        "mutation R($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { id } }",
        json!({ "m": mine["id"], "e": "👍" }),
        Some(&ann.token),
    )
    .await;
    eventually("the reaction's item gone", WAIT, || async {
        of_kind(&p, &bob, "REACTION").await.is_empty().then_some(())
    })
    .await;

    // Made an admin: the item says so.
    data(
        &p.gateway,
        "mutation M($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { id } }",
        json!({ "c": team, "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    let promoted = item(&p, &bob, "ROLE_CHANGED", |_| true).await;
    assert_eq!(promoted["text"], "made you admin", "{promoted}");

    // Ann is told of none of her own doing: bob's message, yes; none of hers.
    for kind in ["MENTION", "REACTION", "ADDED_TO_GROUP", "ROLE_CHANGED"] {
        assert!(of_kind(&p, &ann, kind).await.is_empty(), "{kind}");
    }
    let hers = of_kind(&p, &ann, "MESSAGE").await;
    assert_eq!(hers.len(), 1, "{hers:?}");
    assert_eq!(hers[0]["actors"], json!([{ "id": bob.id }]));
    assert_eq!(hers[0]["text"], "lunch?");
}

async fn friend_requests_resolve_with_their_answer(profile: Profile) {
    let p = crate::start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let dan = signed_up(&p, "dan").await;
    let eve = signed_up(&p, "eve").await;
    for (asker, asked) in [(&dan, &ann), (&eve, &ann)] {
        echostream_testkit::scenario::ask_friendship(&p, asker, asked).await;
    }
    // Names come from auth's events, which may still be on their way.
    let from_dan = item(&p, &ann, "FRIEND_REQUEST", |n| {
        n["user"]["id"] == dan.id.as_str() && n["title"] == dan.username.as_str()
    })
    .await;
    assert_eq!(from_dan["text"], "wants to be your friend");
    assert_eq!(from_dan["read"], false);
    let requests = data(
        &p.gateway,
        "{ friendRequests(incoming: true) { edges { node { id from { id } } } } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    let id_from = |who: &Person| {
        requests["friendRequests"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["node"]["from"]["id"] == who.id.as_str())
            .map(|r| r["node"]["id"].clone())
            .unwrap()
    };
    let (dans, eves) = (id_from(&dan), id_from(&eve));
    data(
        &p.gateway,
        "mutation A($id: ID!) { acceptFriendRequest(id: $id) { id } }",
        json!({ "id": dans }),
        Some(&ann.token),
    )
    .await;
    data(
        &p.gateway,
        "mutation A($id: ID!) { cancelFriendRequest(id: $id) { id } }",
        json!({ "id": eves }),
        Some(&eve.token),
    )
    .await;
    // Accepted: resolved, read, and saying so; dan hears of it. Cancelled: gone.
    let answered = item(&p, &ann, "FRIEND_REQUEST", |n| {
        n["user"]["id"] == dan.id.as_str() && n["read"] == true
    })
    .await;
    assert_eq!(answered["text"], "you are now friends");
    let told = item(&p, &dan, "FRIEND_REQUEST_ACCEPTED", |n| {
        n["title"] == ann.username.as_str()
    })
    .await;
    assert_eq!(told["user"]["id"], ann.id.as_str());
    eventually("eve's request gone", WAIT, || async {
        of_kind(&p, &ann, "FRIEND_REQUEST")
            .await
            .iter()
            .all(|n| n["user"]["id"] != eve.id.as_str())
            .then_some(())
    })
    .await;
    assert_eq!(unread(&p, &ann).await, 0);
}

async fn items_are_marked_dismissed_and_paged(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let mut conversations = Vec::new();
    for name in ["cat", "dan", "eve"] {
        let other = signed_up(&p, name).await;
        befriend(&p, &other, &bob).await;
        let id = direct_conversation(&p, &other, &bob).await;
        send(&p, &other, &id, &format!("from {name}"), "k").await;
        conversations.push(id);
    }
    let direct = direct_conversation(&p, &ann, &bob).await;
    friendships_told(&p, &bob, 4, 0).await;
    send(&p, &ann, &direct, "from ann", "k").await;
    let items = eventually("four message items", WAIT, || async {
        let items = of_kind(&p, &bob, "MESSAGE").await;
        (items.len() == 4).then_some(items)
    })
    .await;
    assert_eq!(items[0]["text"], "from ann", "the newest first");

    // Pages of two, by cursor, newest first, with nothing twice.
    let page = "query P($after: String) { notifications(first: 2, after: $after, unreadOnly: true) { \
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let got = data(
            &p.gateway,
            page,
            json!({ "after": after }),
            Some(&bob.token),
        )
        .await;
        let connection = &got["notifications"];
        seen.extend(
            connection["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].clone()),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    let all: Vec<Value> = notifications(&p, &bob, "id read")
        .await
        .into_iter()
        .filter(|n| n["read"] == false)
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(seen, all);

    // Mark one read, dismiss another; someone else's ids change nothing.
    let before = unread(&p, &bob).await;
    let one = data(
        &p.gateway,
        "mutation M($ids: [ID!]!) { markNotificationsRead(ids: $ids) }",
        json!({ "ids": [items[0]["id"]] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(one["markNotificationsRead"], 1);
    let theirs = data(
        &p.gateway,
        "mutation M($ids: [ID!]!) { dismissNotifications(ids: $ids) }",
        json!({ "ids": [items[1]["id"]] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(theirs["dismissNotifications"], 0, "not ann's");
    let dismissed = data(
        &p.gateway,
        "mutation M($ids: [ID!]!) { dismissNotifications(ids: $ids) }",
        json!({ "ids": [items[1]["id"]] }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(dismissed["dismissNotifications"], 1);
    assert_eq!(unread(&p, &bob).await, before - 2);
    let left = of_kind(&p, &bob, "MESSAGE").await;
    assert_eq!(left.len(), 3, "the dismissed item is gone from the feed");
    assert!(left.iter().all(|n| n["id"] != items[1]["id"]));

    // All the rest.
    let all = echostream_testkit::scenario::read_all_notifications(&p, &bob).await;
    assert!(all >= 2);
    assert_eq!(unread(&p, &bob).await, 0);

    // Bad input: coded errors.
    let many: Vec<String> = (0..101).map(|_| uuid_like()).collect();
    for (query, variables) in [
        (
            "mutation M($ids: [ID!]!) { markNotificationsRead(ids: $ids) }",
            json!({ "ids": many }),
        ),
        (
            "mutation M($ids: [ID!]!) { dismissNotifications(ids: $ids) }",
            json!({ "ids": ["nope"] }),
        ),
        (
            "query { notifications(first: 101) { edges { cursor } } }",
            json!({}),
        ),
        (
            "query { notifications(after: \"junk\") { edges { cursor } } }",
            json!({}),
        ),
    ] {
        let out = post(&p.gateway, query, variables, Some(&bob.token)).await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{query}: {out}");
    }
    let _ = conversations;
}

/// Reads `live`'s events until `done` accepts the list so far (each `next`'s
/// `notificationEvents`).
async fn events_until(live: &mut Subscription, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    while !done(&seen) {
        let next = live
            .next(WAIT)
            .await
            .unwrap_or_else(|| panic!("more feed events after {seen:?}"));
        assert!(next["errors"].is_null(), "{next}");
        seen.push(next["data"]["notificationEvents"].clone());
    }
    seen
}

const EVENTS: &str = "subscription E($since: String) { notificationEvents(since: $since) { \
    __typename position \
    ... on NotificationChanged { notification { id kind count read } } \
    ... on NotificationRemoved { notificationId } \
    ... on NotificationsResyncRequired { reason } } }";

async fn the_live_feed_resumes_from_a_position_with_nothing_missed(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    friendships_told(&p, &bob, 1, 0).await;
    let start = data(
        &p.gateway,
        "{ notificationPosition }",
        json!({}),
        Some(&bob.token),
    )
    .await["notificationPosition"]
        .clone();

    // While bob is away: two messages (one item), a friend request he then dismisses.
    send(&p, &ann, &direct, "one", "r1").await;
    send(&p, &ann, &direct, "two", "r2").await;
    echostream_testkit::scenario::ask_friendship(&p, &cat, &bob).await;
    let messages = item(&p, &bob, "MESSAGE", |n| n["count"] == 2).await;
    let request = item(&p, &bob, "FRIEND_REQUEST", |n| {
        n["user"]["id"] == cat.id.as_str()
    })
    .await;
    data(
        &p.gateway,
        "mutation D($ids: [ID!]!) { dismissNotifications(ids: $ids) }",
        json!({ "ids": [request["id"]] }),
        Some(&bob.token),
    )
    .await;

    // Back from `start`: each item once, as it is now; the dismissed one removed.
    let mut live =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": start }), &bob.token).await;
    let replayed = events_until(&mut live, |seen| {
        seen.iter().any(|e| e["notificationId"] == request["id"])
            && seen
                .iter()
                .any(|e| e["notification"]["id"] == messages["id"])
    })
    .await;
    let of_messages: Vec<&Value> = replayed
        .iter()
        .filter(|e| e["notification"]["id"] == messages["id"])
        .collect();
    assert_eq!(of_messages.len(), 1, "one place per item: {replayed:?}");
    assert_eq!(of_messages[0]["notification"]["count"], 2);
    assert_eq!(of_messages[0]["__typename"], "NotificationChanged");
    assert!(
        replayed
            .iter()
            .all(|e| e["__typename"] != "NotificationsResyncRequired"),
        "{replayed:?}"
    );
    let positions: Vec<&Value> = replayed.iter().map(|e| &e["position"]).collect();
    assert_eq!(
        positions
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        positions.len(),
        "a position per event: {replayed:?}"
    );

    // Then live: a third message counts up the same item.
    send(&p, &ann, &direct, "three", "r3").await;
    let heard = events_until(&mut live, |seen| {
        seen.iter().any(|e| e["notification"]["count"] == 3)
    })
    .await;
    let last = heard.last().unwrap()["position"].clone();
    live.close().await;

    // Read on another device while this one is away: the resume tells it.
    echostream_testkit::scenario::read_all_notifications(&p, &bob).await;
    let mut again =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": last }), &bob.token).await;
    let resumed = events_until(&mut again, |seen| {
        seen.iter()
            .any(|e| e["notification"]["id"] == messages["id"] && e["notification"]["read"] == true)
    })
    .await;
    assert!(
        resumed.iter().all(|e| e["position"] != last),
        "nothing handed out twice: {resumed:?}"
    );
    again.close().await;

    // A position of another stream (chat's) cannot be replayed here: the client is
    // told, and goes on from the position it is given without another resync.
    let foreign = data(
        &p.gateway,
        "{ streamPosition }",
        json!({}),
        Some(&bob.token),
    )
    .await["streamPosition"]
        .clone();
    let mut lost =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": foreign }), &bob.token).await;
    let first = lost.next(WAIT).await.expect("a resync");
    let resync = &first["data"]["notificationEvents"];
    assert_eq!(
        resync["__typename"], "NotificationsResyncRequired",
        "{first}"
    );
    lost.close().await;
    let mut onward = Subscription::start(
        &p.gateway,
        EVENTS,
        json!({ "since": resync["position"] }),
        &bob.token,
    )
    .await;
    send(&p, &ann, &direct, "four", "r4").await;
    let onward_events = events_until(&mut onward, |seen| {
        seen.iter().any(|e| e["notification"]["id"].is_string())
    })
    .await;
    assert!(
        onward_events
            .iter()
            .all(|e| e["__typename"] != "NotificationsResyncRequired"),
        "{onward_events:?}"
    );
    onward.close().await;

    // Junk is refused by name.
    let mut junk =
        Subscription::start(&p.gateway, EVENTS, json!({ "since": "junk" }), &bob.token).await;
    assert_eq!(junk.error(WAIT).await, "BAD_USER_INPUT");
}

fn uuid_like() -> String {
    "0190a000-0000-7000-8000-000000000000".to_string()
}

on_both_profiles!(
    messages_collapse_per_conversation_and_read_with_it,
    mentions_replies_reactions_and_group_changes_have_their_own_items,
    friend_requests_resolve_with_their_answer,
    items_are_marked_dismissed_and_paged,
    the_live_feed_resumes_from_a_position_with_nothing_missed,
);
