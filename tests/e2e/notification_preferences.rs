//! Who hears of what, through the gateway on both profiles: preferences per kind and
//! channel with their defaults, a conversation muted for a time or until unmuted
//! (chat's member state: its unread count still shows), mentions breaking through a
//! mute by choice, do-not-disturb and quiet hours in the user's time zone read
//! against a clock the test moves, and bad input.

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, direct_conversation, friends, group, notifications, send, signed_up,
};
use serde_json::{Value, json};

use crate::on_both_profiles;

const PREFERENCES: &str = "kinds { kind inApp email push } doNotDisturbUntil \
    quietHours { from to timeZone } mentionsBreakMute quietNow";

async fn preferences(p: &Platform, who: &Person) -> Value {
    let query = format!("{{ notificationPreferences {{ {PREFERENCES} }} }}");
    data(&p.gateway, &query, json!({}), Some(&who.token)).await["notificationPreferences"].clone()
}

/// Runs the preferences mutation `call` (`setDoNotDisturb(until: $u)`) declaring
/// `variables` (`($u: DateTime)`), and returns the preferences it answers with.
async fn change(p: &Platform, who: &Person, call: &str, variables: &str, vars: Value) -> Value {
    let query = format!("mutation M{variables} {{ {call} {{ {PREFERENCES} }} }}");
    let field = call.split('(').next().unwrap();
    data(&p.gateway, &query, vars, Some(&who.token)).await[field].clone()
}

fn kind<'a>(prefs: &'a Value, kind: &str) -> &'a Value {
    prefs["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("{kind} in {prefs}"))
}

/// Sends a message from `from` mentioning `to`, once chat reads it as a mention
/// (chat learns usernames from auth's events, which may still be on their way).
async fn mention(p: &Platform, from: &Person, to: &Person, conversation: &str) -> Value {
    eventually("chat to read the mention", WAIT, || async {
        let key = uuid::Uuid::now_v7().to_string();
        let body = format!("@{} look", to.username);
        let sent = send(p, from, conversation, &body, &key).await;
        let read = data(
            &p.gateway,
            "query M($id: ID!) { message(id: $id) { mentions { user { id } } } }",
            json!({ "id": sent["id"] }),
            Some(&from.token),
        )
        .await;
        (read["message"]["mentions"][0]["user"]["id"] == to.id.as_str()).then_some(sent)
    })
    .await
}

/// `who`'s items about `conversation` (all kinds).
async fn items_in(p: &Platform, who: &Person, conversation: &str) -> Vec<Value> {
    notifications(p, who, "id kind count messageId conversationId payload")
        .await
        .into_iter()
        .filter(|n| n["conversationId"] == conversation)
        .collect()
}

/// Waits for `who`'s item about `message`.
async fn item_of(p: &Platform, who: &Person, conversation: &str, message: &Value) -> Value {
    eventually("the message's item", WAIT, || async {
        items_in(p, who, conversation)
            .await
            .into_iter()
            .find(|n| n["messageId"] == message["id"])
    })
    .await
}

async fn conversation_state(p: &Platform, who: &Person, conversation: &str) -> Value {
    data(
        &p.gateway,
        "query C($id: ID!) { conversation(id: $id) { muted mutedUntil unreadCount } }",
        json!({ "id": conversation }),
        Some(&who.token),
    )
    .await["conversation"]
        .clone()
}

async fn mute(p: &Platform, who: &Person, conversation: &str, until: Option<&str>) -> Value {
    data(
        &p.gateway,
        "mutation M($c: ID!, $u: DateTime) { muteConversation(conversationId: $c, until: $u) { muted mutedUntil } }",
        json!({ "c": conversation, "u": until }),
        Some(&who.token),
    )
    .await["muteConversation"]
        .clone()
}

async fn preferences_and_mutes_decide_what_reaches_the_feed(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let team = group(&p, &ann, "team", &[&bob]).await;

    // The documented defaults.
    let prefs = preferences(&p, &bob).await;
    assert_eq!(
        kind(&prefs, "MESSAGE"),
        &json!({ "kind": "MESSAGE", "inApp": true, "email": true, "push": true })
    );
    assert_eq!(
        kind(&prefs, "REACTION"),
        &json!({ "kind": "REACTION", "inApp": true, "email": false, "push": false })
    );
    assert_eq!(prefs["mentionsBreakMute"], true);
    assert_eq!(prefs["quietNow"], false);
    assert!(prefs["quietHours"].is_null() && prefs["doNotDisturbUntil"].is_null());

    // New messages kept out of the feed: nothing shows for them; a mention after
    // them (same conversation, so applied after them) still does.
    let off = change(
        &p,
        &bob,
        "setNotificationChannel(kind: $k, channel: $c, enabled: $e)",
        "($k: NotificationKind!, $c: NotificationChannel!, $e: Boolean!)",
        json!({ "k": "MESSAGE", "c": "IN_APP", "e": false }),
    )
    .await;
    assert_eq!(kind(&off, "MESSAGE")["inApp"], false);
    assert_eq!(
        kind(&off, "MESSAGE")["email"],
        true,
        "other channels keep theirs"
    );
    send(&p, &ann, &direct, "hidden", "d1").await;
    let marker = mention(&p, &ann, &bob, &direct).await;
    item_of(&p, &bob, &direct, &marker).await;
    assert!(
        items_in(&p, &bob, &direct)
            .await
            .iter()
            .all(|n| n["kind"] != "MESSAGE"),
        "no new-message item while they are off in app"
    );
    // Back on: the next message shows.
    change(
        &p,
        &bob,
        "setNotificationChannel(kind: $k, channel: $c, enabled: $e)",
        "($k: NotificationKind!, $c: NotificationChannel!, $e: Boolean!)",
        json!({ "k": "MESSAGE", "c": "IN_APP", "e": true }),
    )
    .await;
    let shown = send(&p, &ann, &direct, "shown", "d2").await;
    let item = item_of(&p, &bob, &direct, &shown).await;
    assert_eq!(item["kind"], "MESSAGE");
    assert_eq!(item["payload"]["preview"], "shown");

    // The group muted until unmuted: its chatter reaches bob nowhere, a mention
    // does (by default), and its unread count still shows.
    let muted = mute(&p, &bob, &team, None).await;
    assert_eq!(muted, json!({ "muted": true, "mutedUntil": null }));
    send(&p, &ann, &team, "chatter", "t1").await;
    let through = mention(&p, &ann, &bob, &team).await;
    let mentioned = item_of(&p, &bob, &team, &through).await;
    assert_eq!(mentioned["kind"], "MENTION");
    assert!(
        items_in(&p, &bob, &team)
            .await
            .iter()
            .all(|n| n["kind"] != "MESSAGE"),
        "no new-message item from a muted conversation"
    );
    let state = conversation_state(&p, &bob, &team).await;
    assert_eq!(state["muted"], true);
    assert!(state["unreadCount"].as_i64().unwrap() >= 2, "{state}");

    // Mentions kept out of a mute too: a later mention makes nothing, while a
    // change about bob himself (made admin) still tells him.
    let prefs = change(
        &p,
        &bob,
        "setMentionsBreakMute(enabled: $e)",
        "($e: Boolean!)",
        json!({ "e": false }),
    )
    .await;
    assert_eq!(prefs["mentionsBreakMute"], false);
    let silenced = send(&p, &ann, &team, &format!("@{} again", bob.username), "t2").await;
    data(
        &p.gateway,
        "mutation R($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { id } }",
        json!({ "c": team, "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    eventually("the role change's item", WAIT, || async {
        items_in(&p, &bob, &team)
            .await
            .into_iter()
            .find(|n| n["kind"] == "ROLE_CHANGED")
    })
    .await;
    assert!(
        items_in(&p, &bob, &team)
            .await
            .iter()
            .all(|n| n["messageId"] != silenced["id"]),
        "the mention stayed silent"
    );

    // Unmuted, the group's messages show again.
    let unmuted = data(
        &p.gateway,
        "mutation U($c: ID!) { unmuteConversation(conversationId: $c) { muted mutedUntil } }",
        json!({ "c": team }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(unmuted["unmuteConversation"]["muted"], false);
    let heard = send(&p, &ann, &team, "heard", "t3").await;
    assert_eq!(item_of(&p, &bob, &team, &heard).await["kind"], "MESSAGE");

    // A mute for an hour ends by itself when the clock passes it.
    let now = chrono::Utc::now();
    p.set_clock(now).await;
    let until = (now + chrono::TimeDelta::hours(1)).to_rfc3339();
    let timed = mute(&p, &bob, &direct, Some(&until)).await;
    assert_eq!(timed["muted"], true);
    assert!(timed["mutedUntil"].is_string(), "{timed}");
    let before = send(&p, &ann, &direct, "during the mute", "d3").await;
    p.advance_clock(2 * 3600).await;
    let state = conversation_state(&p, &bob, &direct).await;
    assert_eq!(state["muted"], false, "{state}");
    assert!(state["mutedUntil"].is_null());
    let after = send(&p, &ann, &direct, "after the mute", "d4").await;
    let told = item_of(&p, &bob, &direct, &after).await;
    assert_eq!(told["payload"]["preview"], "after the mute");
    assert!(
        items_in(&p, &bob, &direct)
            .await
            .iter()
            .all(|n| n["messageId"] != before["id"]),
        "the message during the mute made no item of its own"
    );
}

async fn do_not_disturb_and_quiet_hours_follow_the_clock_in_the_users_zone(profile: Profile) {
    let p = crate::start(profile).await;
    let bob = signed_up(&p, "bob").await;
    // 13:30 UTC is 22:30 in Tokyo.
    let evening: chrono::DateTime<chrono::Utc> = "2030-01-07T13:30:00Z".parse().unwrap();
    p.set_clock(evening).await;

    let dnd_until = (evening + chrono::TimeDelta::minutes(30)).to_rfc3339();
    let dnd = change(
        &p,
        &bob,
        "setDoNotDisturb(until: $u)",
        "($u: DateTime)",
        json!({ "u": dnd_until }),
    )
    .await;
    assert_eq!(dnd["quietNow"], true);
    assert!(dnd["doNotDisturbUntil"].is_string());
    p.advance_clock(31 * 60).await;
    let prefs = preferences(&p, &bob).await;
    assert_eq!(prefs["quietNow"], false, "do not disturb ended: {prefs}");
    assert!(prefs["doNotDisturbUntil"].is_null());

    let quiet = change(
        &p,
        &bob,
        "setQuietHours(hours: $h)",
        "($h: QuietHoursInput)",
        json!({ "h": { "from": "22:00", "to": "07:00", "timeZone": "Asia/Tokyo" } }),
    )
    .await;
    assert_eq!(
        quiet["quietHours"],
        json!({ "from": "22:00", "to": "07:00", "timeZone": "Asia/Tokyo" })
    );
    assert_eq!(quiet["quietNow"], true, "23:01 in Tokyo");
    // 08:00 in Tokyo.
    p.set_clock("2030-01-07T23:00:00Z".parse().unwrap()).await;
    assert_eq!(preferences(&p, &bob).await["quietNow"], false);
    // Cleared.
    let cleared = change(
        &p,
        &bob,
        "setQuietHours(hours: $h)",
        "($h: QuietHoursInput)",
        json!({ "h": null }),
    )
    .await;
    assert!(cleared["quietHours"].is_null());

    // Bad input, each refused by name; nothing stored changes.
    let ann = signed_up(&p, "ann").await;
    let theirs = {
        let (a, b) = friends(&p).await;
        direct_conversation(&p, &a, &b).await
    };
    for (query, variables) in [
        (
            "mutation { setQuietHours(hours: { from: \"25:00\", to: \"07:00\", timeZone: \"UTC\" }) { quietNow } }",
            json!({}),
        ),
        (
            "mutation { setQuietHours(hours: { from: \"22:00\", to: \"07:00\", timeZone: \"Mars/Olympus\" }) { quietNow } }",
            json!({}),
        ),
        (
            "mutation { setQuietHours(hours: { from: \"22:00\", to: \"22:00\", timeZone: \"UTC\" }) { quietNow } }",
            json!({}),
        ),
        (
            "mutation D($u: DateTime) { setDoNotDisturb(until: $u) { quietNow } }",
            json!({ "u": "2030-01-01T00:00:00Z" }),
        ),
        (
            "mutation D($u: DateTime) { setDoNotDisturb(until: $u) { quietNow } }",
            json!({ "u": "2040-01-01T00:00:00Z" }),
        ),
    ] {
        let out = post(&p.gateway, query, variables, Some(&ann.token)).await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{query}: {out}");
    }
    let prefs = preferences(&p, &ann).await;
    assert!(prefs["quietHours"].is_null() && prefs["doNotDisturbUntil"].is_null());
    let out = post(
        &p.gateway,
        "mutation M($c: ID!) { muteConversation(conversationId: $c) { muted } }",
        json!({ "c": theirs }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        error_code(&out),
        "NOT_FOUND",
        "not ann's conversation: {out}"
    );
    let (carl, dora) = friends(&p).await;
    let own = direct_conversation(&p, &carl, &dora).await;
    let out = post(
        &p.gateway,
        "mutation M($c: ID!, $u: DateTime) { muteConversation(conversationId: $c, until: $u) { muted } }",
        json!({ "c": own, "u": "2030-01-01T00:00:00Z" }),
        Some(&carl.token),
    )
    .await;
    assert_eq!(
        error_code(&out),
        "BAD_USER_INPUT",
        "a mute that ended: {out}"
    );
    assert_eq!(conversation_state(&p, &carl, &own).await["muted"], false);
}

on_both_profiles!(
    preferences_and_mutes_decide_what_reaches_the_feed,
    do_not_disturb_and_quiet_hours_follow_the_clock_in_the_users_zone,
);
