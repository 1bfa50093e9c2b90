//! Groups through the gateway: the timeline tells every change, the permission table
//! holds for every role and action, strangers and blocked people are kept out.

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, WAIT, befriend, group, send, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;

const TIMELINE: &str = "query T($id: ID!) { conversation(id: $id) { title myRole memberCount \
    messages(first: 50) { edges { node { seq kind body sender { id } system { action text users { id } } } } } } }";
const UPDATE: &str = "mutation U($i: UpdateGroupInput!) { updateGroup(input: $i) { id title description onlyAdminsSend } }";
const ADD: &str = "mutation A($c: ID!, $u: [ID!]!) { addGroupMembers(conversationId: $c, userIds: $u) { id memberCount } }";
const REMOVE: &str =
    "mutation R($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) { id } }";
pub const ROLE: &str = "mutation S($c: ID!, $u: ID!, $r: MemberRole!) { setMemberRole(conversationId: $c, userId: $u, role: $r) { id } }";
const LEAVE: &str = "mutation L($c: ID!) { leaveGroup(conversationId: $c) }";
const SEND: &str = "mutation M($i: SendMessageInput!) { sendMessage(input: $i) { id seq } }";

/// Lets anyone add `who` to groups, so tests need no web of friendships.
pub async fn open_to_groups(p: &Platform, who: &Person) {
    data(
        &p.gateway,
        "mutation { updatePrivacySettings(input: { groupAdds: EVERYONE }) { groupAdds } }",
        json!({}),
        Some(&who.token),
    )
    .await;
}

fn items(timeline: &Value) -> Vec<Value> {
    timeline["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn actions(timeline: &Value) -> Vec<String> {
    items(timeline)
        .iter()
        .map(|n| match n["kind"].as_str() {
            Some("SYSTEM") => n["system"]["action"].as_str().unwrap().to_string(),
            _ => format!("TEXT:{}", n["body"].as_str().unwrap()),
        })
        .collect()
}

async fn group_lifecycle_is_told_in_the_timeline(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CHAT__MAX_GROUP_MEMBERS", "4")],
    )
    .await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let cat = signed_up(&p, "cat").await;
    let dan = signed_up(&p, "dan").await;
    let eve = signed_up(&p, "eve").await;
    befriend(&p, &ann, &bob).await;
    befriend(&p, &ann, &cat).await;
    for who in [&dan, &eve] {
        open_to_groups(&p, who).await;
    }
    let id = group(&p, &ann, "Climbing", &[&bob, &cat]).await;
    let v = json!({ "id": id });

    let t = data(&p.gateway, TIMELINE, v.clone(), Some(&bob.token)).await;
    assert_eq!(t["conversation"]["title"], "Climbing");
    assert_eq!(t["conversation"]["myRole"], "MEMBER");
    let created = &items(&t)[0];
    assert_eq!(created["seq"], 1);
    assert_eq!(created["system"]["action"], "CREATED");
    assert_eq!(created["system"]["text"], "Climbing");
    assert_eq!(created["sender"]["id"], ann.id.as_str());
    assert_eq!(created["body"], Value::Null);

    data(
        &p.gateway,
        UPDATE,
        json!({ "i": { "conversationId": id, "title": "Bouldering", "description": "Tuesdays" } }),
        Some(&ann.token),
    )
    .await;
    send(&p, &bob, &id, "see you there", "k1").await;
    data(
        &p.gateway,
        ROLE,
        json!({ "c": id, "u": bob.id, "r": "ADMIN" }),
        Some(&ann.token),
    )
    .await;
    // Eventually consistent: dan's privacy setting must reach chat first.
    eventually("dan addable", WAIT, || async {
        let body = post(
            &p.gateway,
            ADD,
            json!({ "c": id, "u": [dan.id] }),
            Some(&bob.token),
        )
        .await;
        body["data"]["addGroupMembers"]["memberCount"].as_i64()
    })
    .await;
    // The limit (4) is reached: eve does not fit (once chat knows she is ann's
    // friend: until then she is refused as someone ann may not add).
    let full = eventually("eve refused for the limit", WAIT, || async {
        let body = post(
            &p.gateway,
            ADD,
            json!({ "c": id, "u": [eve.id] }),
            Some(&ann.token),
        )
        .await;
        (error_code(&body) != "FORBIDDEN").then_some(body)
    })
    .await;
    assert_eq!(error_code(&full), "BAD_USER_INPUT", "{full}");
    assert!(full.to_string().contains("max_group_members"), "{full}");
    data(
        &p.gateway,
        REMOVE,
        json!({ "c": id, "u": cat.id }),
        Some(&bob.token),
    )
    .await;
    // Ann is notified of bob's messages, never of his system items between them: once
    // the later message's notification is there, everything before it was handled.
    let gone = post(&p.gateway, TIMELINE, v.clone(), Some(&cat.token)).await;
    assert_eq!(error_code(&gone), "NOT_FOUND", "cat is out: {gone}");
    send(&p, &bob, &id, "one more", "k2").await;
    let messages = eventually("ann's message notifications", WAIT, || async {
        let n: u64 = echostream_testkit::scenario::notifications(&p, &ann, "kind count")
            .await
            .iter()
            .filter(|n| n["kind"] == "MESSAGE")
            .map(|n| n["count"].as_u64().unwrap_or(0))
            .sum();
        (n >= 2).then_some(n)
    })
    .await;
    assert_eq!(
        messages, 2,
        "two messages, and no notification of a system item"
    );
    data(&p.gateway, LEAVE, json!({ "c": id }), Some(&ann.token)).await;

    let t = data(&p.gateway, TIMELINE, v.clone(), Some(&bob.token)).await;
    assert_eq!(
        actions(&t),
        [
            "CREATED",
            "TITLE_CHANGED",
            "DESCRIPTION_CHANGED",
            "TEXT:see you there",
            "ROLE_CHANGED",
            "MEMBERS_ADDED",
            "MEMBER_REMOVED",
            "TEXT:one more",
            "MEMBER_LEFT",
            "OWNERSHIP_TRANSFERRED",
        ]
    );
    let seqs: Vec<i64> = items(&t)
        .iter()
        .map(|n| n["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>(), "one gap-free order");
    let last = items(&t);
    assert_eq!(last[4]["system"]["text"], "admin");
    assert_eq!(last[6]["system"]["users"][0]["id"], cat.id.as_str());
    assert_eq!(
        last[9]["system"]["users"][0]["id"],
        bob.id.as_str(),
        "the admin inherits"
    );
    assert_eq!(t["conversation"]["myRole"], "OWNER");
    assert_eq!(t["conversation"]["memberCount"], 2);
    let left = post(&p.gateway, TIMELINE, v, Some(&ann.token)).await;
    assert_eq!(error_code(&left), "NOT_FOUND");
}

/// The roles a test group holds: owner, two admins, two plain members.
struct Cast {
    owner: Person,
    admin: Person,
    member: Person,
    admin_target: Person,
    member_target: Person,
    newcomer: Person,
}

/// A fresh group of the whole cast (the newcomer left out), with its roles set.
async fn fresh_group(p: &Platform, c: &Cast) -> String {
    let id = group(
        p,
        &c.owner,
        "Matrix",
        &[&c.admin, &c.member, &c.admin_target, &c.member_target],
    )
    .await;
    for who in [&c.admin, &c.admin_target] {
        data(
            &p.gateway,
            ROLE,
            json!({ "c": id, "u": who.id, "r": "ADMIN" }),
            Some(&c.owner.token),
        )
        .await;
    }
    id
}

async fn every_role_can_do_exactly_what_the_permission_table_says(profile: Profile) {
    let p = crate::start(profile).await;
    let cast = Cast {
        owner: signed_up(&p, "own").await,
        admin: signed_up(&p, "adm").await,
        member: signed_up(&p, "mem").await,
        admin_target: signed_up(&p, "adt").await,
        member_target: signed_up(&p, "mbt").await,
        newcomer: signed_up(&p, "new").await,
    };
    for who in [
        &cast.admin,
        &cast.member,
        &cast.admin_target,
        &cast.member_target,
        &cast.newcomer,
    ] {
        open_to_groups(&p, who).await;
    }
    // Wait until chat has every setting: one group of all of them works.
    fresh_group(&p, &cast).await;
    eventually("newcomer addable", WAIT, || async {
        let id = fresh_group(&p, &cast).await;
        let body = post(
            &p.gateway,
            ADD,
            json!({ "c": id, "u": [cast.newcomer.id] }),
            Some(&cast.owner.token),
        )
        .await;
        body["data"]["addGroupMembers"]["id"]
            .as_str()
            .map(str::to_string)
    })
    .await;

    type Act = fn(&Cast, &str) -> (&'static str, Value);
    let actions: [(&str, Act, [bool; 3]); 10] = [
        (
            "send",
            |_, c| {
                (
                    SEND,
                    json!({ "i": { "conversationId": c, "body": "hi", "idempotencyKey": uuid::Uuid::now_v7().to_string() } }),
                )
            },
            [true, true, true],
        ),
        (
            "change info",
            |_, c| {
                (
                    UPDATE,
                    json!({ "i": { "conversationId": c, "title": "Renamed" } }),
                )
            },
            [true, true, false],
        ),
        (
            "change settings",
            |_, c| {
                (
                    UPDATE,
                    json!({ "i": { "conversationId": c, "onlyAdminsSend": true } }),
                )
            },
            [true, true, false],
        ),
        (
            "add members",
            |k, c| (ADD, json!({ "c": c, "u": [k.newcomer.id] })),
            [true, true, false],
        ),
        (
            "remove a member",
            |k, c| (REMOVE, json!({ "c": c, "u": k.member_target.id })),
            [true, true, false],
        ),
        (
            "remove an admin",
            |k, c| (REMOVE, json!({ "c": c, "u": k.admin_target.id })),
            [true, false, false],
        ),
        (
            "remove the owner",
            |k, c| (REMOVE, json!({ "c": c, "u": k.owner.id })),
            [false, false, false],
        ),
        (
            "promote",
            |k, c| {
                (
                    ROLE,
                    json!({ "c": c, "u": k.member_target.id, "r": "ADMIN" }),
                )
            },
            [true, false, false],
        ),
        (
            "hand over",
            |k, c| {
                (
                    ROLE,
                    json!({ "c": c, "u": k.member_target.id, "r": "OWNER" }),
                )
            },
            [true, false, false],
        ),
        (
            "leave",
            |_, c| (LEAVE, json!({ "c": c })),
            [true, true, true],
        ),
    ];
    for (name, act, allowed) in actions {
        for (i, actor) in [&cast.owner, &cast.admin, &cast.member]
            .into_iter()
            .enumerate()
        {
            let id = fresh_group(&p, &cast).await;
            let (query, vars) = act(&cast, &id);
            let body = post(&p.gateway, query, vars, Some(&actor.token)).await;
            let role = ["owner", "admin", "member"][i];
            if allowed[i] {
                assert!(body.get("errors").is_none(), "{role} may {name}: {body}");
            } else {
                // Removing the owner is refused as a bad request by the owner, forbidden to others.
                let code = error_code(&body);
                assert!(
                    code == "FORBIDDEN" || (i == 0 && code == "BAD_USER_INPUT"),
                    "{role} may not {name}: {body}"
                );
            }
        }
    }

    // Sending in a group set to admins only.
    let id = fresh_group(&p, &cast).await;
    data(
        &p.gateway,
        UPDATE,
        json!({ "i": { "conversationId": id, "onlyAdminsSend": true } }),
        Some(&cast.owner.token),
    )
    .await;
    for (who, allowed) in [
        (&cast.owner, true),
        (&cast.admin, true),
        (&cast.member, false),
    ] {
        let body = post(&p.gateway, SEND, json!({ "i": { "conversationId": id, "body": "x", "idempotencyKey": uuid::Uuid::now_v7().to_string() } }), Some(&who.token)).await;
        assert_eq!(body.get("errors").is_none(), allowed, "{body}");
        if !allowed {
            assert_eq!(error_code(&body), "FORBIDDEN");
        }
    }
}

async fn strangers_and_blocked_people_are_kept_out_of_groups(profile: Profile) {
    let p = crate::start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let stranger = signed_up(&p, "str").await;
    let shy = signed_up(&p, "shy").await;
    befriend(&p, &ann, &bob).await;
    let id = group(&p, &ann, "Private", &[&bob]).await;

    // A non-member gets NOT_FOUND from every operation, as if the group did not exist.
    let ops: [(&str, Value); 8] = [
        (TIMELINE, json!({ "id": id })),
        (
            SEND,
            json!({ "i": { "conversationId": id, "body": "x", "idempotencyKey": "k" } }),
        ),
        (
            UPDATE,
            json!({ "i": { "conversationId": id, "title": "Mine" } }),
        ),
        (ADD, json!({ "c": id, "u": [stranger.id] })),
        (REMOVE, json!({ "c": id, "u": bob.id })),
        (ROLE, json!({ "c": id, "u": bob.id, "r": "ADMIN" })),
        (LEAVE, json!({ "c": id })),
        (
            "mutation R($c: ID!) { markRead(conversationId: $c, upToSeq: 1) { id } }",
            json!({ "c": id }),
        ),
    ];
    for (query, vars) in ops {
        let body = post(&p.gateway, query, vars.clone(), Some(&stranger.token)).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
        let anonymous = post(&p.gateway, query, vars, None).await;
        assert_eq!(
            error_code(&anonymous),
            "UNAUTHENTICATED",
            "{query}: {anonymous}"
        );
    }

    // groupAdds FRIENDS (the default): a stranger cannot add shy.
    let refused = post(
        &p.gateway,
        "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
        json!({ "i": { "title": "Hi", "memberIds": [shy.id] } }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    // Shy lets everyone add her: the stranger can, once chat knows.
    open_to_groups(&p, &shy).await;
    group(&p, &stranger, "Open", &[&shy]).await;
    // Then she blocks him: he can add her nowhere, whatever her setting says.
    data(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": stranger.id }),
        Some(&shy.token),
    )
    .await;
    eventually("chat to learn the block", WAIT, || async {
        let body = post(
            &p.gateway,
            "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
            json!({ "i": { "title": "Again", "memberIds": [shy.id] } }),
            Some(&stranger.token),
        )
        .await;
        (body["errors"][0]["extensions"]["code"] == "FORBIDDEN").then_some(())
    })
    .await;
    let body = post(
        &p.gateway,
        "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
        json!({ "i": { "title": "", "memberIds": [] } }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "blank title: {body}");
}

/// A member removed from a group reads nothing more of it: replaying their stream
/// from before the removal (subscription or `changesSince`) hands out that they were
/// removed, and none of the group's messages they had not fetched yet.
async fn a_removed_member_replays_nothing_more_of_the_group(profile: Profile) {
    let p = crate::start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &bob).await;
    befriend(&p, &ann, &cat).await;
    let room = group(&p, &ann, "Room", &[&bob, &cat]).await;
    let since = crate::stream::position(&p, &bob).await;
    send(&p, &cat, &room, "the plan, before bob is out", "c1").await;
    data(
        &p.gateway,
        REMOVE,
        json!({ "c": room, "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    send(&p, &cat, &room, "after", "c2").await;

    let changes = eventually("the removal in bob's stream", WAIT, || async {
        let changes = data(
            &p.gateway,
            "query C($p: String!) { changesSince(position: $p) { events { __typename ... on MembersLeft { users { id } } } } }",
            json!({ "p": since }),
            Some(&bob.token),
        )
        .await;
        let events = changes["changesSince"]["events"].as_array()?.clone();
        events
            .iter()
            .any(|e| e["__typename"] == "MembersLeft")
            .then_some(events)
    })
    .await;
    let kinds: Vec<&str> = changes
        .iter()
        .map(|e| e["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["MembersLeft"], "only the removal: {changes:?}");
    assert_eq!(changes[0]["users"][0]["id"], bob.id.as_str());

    let mut sub = crate::stream::subscribe(&p, &bob, &since).await;
    let first = sub
        .next(std::time::Duration::from_secs(10))
        .await
        .expect("the replay");
    assert_eq!(
        first["data"]["chatEvents"]["__typename"], "MembersLeft",
        "the replay starts with the removal, not the group's message: {first}"
    );
    assert!(
        sub.next(std::time::Duration::from_secs(1)).await.is_none(),
        "and nothing more of the group"
    );
}

/// A group's owner or admins decide what people added later read of its earlier
/// history: hidden, a new member's timeline, unread count and message lookups start
/// at the item that tells they were added; visible (the default), they read it all.
async fn a_group_can_hide_its_history_from_new_members(profile: Profile) {
    let p = crate::start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let cat = signed_up(&p, "cat").await;
    let dan = signed_up(&p, "dan").await;
    befriend(&p, &ann, &bob).await;
    for newcomer in [&cat, &dan] {
        open_to_groups(&p, newcomer).await;
    }
    let id = group(&p, &ann, "Secret plans", &[&bob]).await;
    let before = data(
        &p.gateway,
        SEND,
        json!({ "i": { "conversationId": id, "body": "before you came", "idempotencyKey": "b" } }),
        Some(&ann.token),
    )
    .await;
    let hide =
        "mutation U($i: UpdateGroupInput!) { updateGroup(input: $i) { newMembersSeeHistory } }";
    let refused = post(
        &p.gateway,
        hide,
        json!({ "i": { "conversationId": id, "newMembersSeeHistory": false } }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(
        error_code(&refused),
        "FORBIDDEN",
        "a member may not: {refused}"
    );
    let hidden = data(
        &p.gateway,
        hide,
        json!({ "i": { "conversationId": id, "newMembersSeeHistory": false } }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(hidden["updateGroup"]["newMembersSeeHistory"], false);
    let add = |who: &Person| {
        let (gateway, token, user) = (p.gateway.clone(), ann.token.clone(), who.id.clone());
        let id = id.clone();
        async move {
            eventually("the newcomer addable", WAIT, || async {
                let body = post(&gateway, ADD, json!({ "c": id, "u": [user] }), Some(&token)).await;
                body["data"]["addGroupMembers"]["memberCount"].as_i64()
            })
            .await
        }
    };
    add(&cat).await;
    let seen_by = |who: &Person| {
        let (gateway, token, id) = (p.gateway.clone(), who.token.clone(), id.clone());
        async move {
            let out = data(
                &gateway,
                "query T($id: ID!) { conversation(id: $id) { unreadCount messages(last: 50) { nodes { body kind system { action } } } } }",
                json!({ "id": id }),
                Some(&token),
            )
            .await;
            out["conversation"].clone()
        }
    };
    let cats = seen_by(&cat).await;
    let nodes = cats["messages"]["nodes"].as_array().unwrap();
    assert_eq!(
        nodes.len(),
        1,
        "only the item telling cat was added: {cats}"
    );
    assert_eq!(nodes[0]["system"]["action"], "MEMBERS_ADDED");
    assert_eq!(
        cats["unreadCount"], 0,
        "nothing from before counts as unread"
    );
    let jump = post(
        &p.gateway,
        "query J($id: ID!, $m: ID!) { conversation(id: $id) { messages(around: $m) { nodes { body } } } }",
        json!({ "id": id, "m": before["sendMessage"]["id"] }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(error_code(&jump), "NOT_FOUND", "{jump}");
    // What comes after is cat's to read; bob still reads everything.
    data(
        &p.gateway,
        SEND,
        json!({ "i": { "conversationId": id, "body": "welcome", "idempotencyKey": "w" } }),
        Some(&ann.token),
    )
    .await;
    let cats = seen_by(&cat).await;
    assert_eq!(cats["unreadCount"], 1);
    let bodies: Vec<&Value> = cats["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["body"])
        .collect();
    assert!(!bodies.contains(&&json!("before you came")), "{cats}");
    assert!(bodies.contains(&&json!("welcome")), "{cats}");
    let bobs = seen_by(&bob).await;
    assert!(bobs.to_string().contains("before you came"));
    // Visible again: dan, added now, reads it all.
    data(
        &p.gateway,
        hide,
        json!({ "i": { "conversationId": id, "newMembersSeeHistory": true } }),
        Some(&ann.token),
    )
    .await;
    add(&dan).await;
    assert!(seen_by(&dan).await.to_string().contains("before you came"));
}

on_both_profiles!(
    a_group_can_hide_its_history_from_new_members,
    a_removed_member_replays_nothing_more_of_the_group,
    group_lifecycle_is_told_in_the_timeline,
    every_role_can_do_exactly_what_the_permission_table_says,
    strangers_and_blocked_people_are_kept_out_of_groups,
);
