//! The authorization matrix of the people operations (issue 9): each tried by an
//! anonymous client, a stranger and a user the owner blocked, and refused or
//! filtered as the rules say.

use std::time::Duration;

use serde_json::{Value, json};

use echostream_testkit::client::{Subscription, data, error_code, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, find, friends, search, signed_up};

use crate::on_both_profiles;

/// Every people operation, with variables naming `ann` (the owner) where it needs
/// a user: (name, document, variables).
fn operations(
    ann: &Person,
    request_id: &str,
    upload_id: &str,
) -> Vec<(&'static str, String, Value)> {
    let user = json!({ "u": ann.id });
    vec![
        ("searchUsers", "query Q($q: String!) { searchUsers(query: $q) { edges { node { id } } } }".into(), json!({ "q": ann.username })),
        ("friends", "{ friends { edges { node { id } } } }".into(), json!({})),
        ("friendRequests", "{ friendRequests { edges { node { id } } } }".into(), json!({})),
        ("blockedUsers", "{ blockedUsers { id } }".into(), json!({})),
        ("privacySettings", "{ privacySettings { presence } }".into(), json!({})),
        ("friendsPresence", "{ friendsPresence { status } }".into(), json!({})),
        ("updateProfile", "mutation { updateProfile(input: { bio: \"x\" }) { id } }".into(), json!({})),
        ("updatePrivacySettings", "mutation { updatePrivacySettings(input: { presence: EVERYONE }) { presence } }".into(), json!({})),
        ("requestProfileImageUpload", "mutation { requestProfileImageUpload(input: { kind: AVATAR, contentType: \"image/png\", byteSize: 10 }) { id } }".into(), json!({})),
        ("confirmProfileImageUpload", "mutation C($id: ID!) { confirmProfileImageUpload(id: $id) { id } }".into(), json!({ "id": upload_id })),
        ("removeProfileImage", "mutation { removeProfileImage(kind: AVATAR) { id } }".into(), json!({})),
        ("setPresence", "mutation { setPresence(status: AWAY) { status } }".into(), json!({})),
        ("sendFriendRequest", "mutation S($n: String!) { sendFriendRequest(username: $n) { id } }".into(), json!({ "n": ann.username })),
        ("cancelFriendRequest", "mutation C($id: ID!) { cancelFriendRequest(id: $id) { id } }".into(), json!({ "id": request_id })),
        ("unfriend", "mutation U($u: ID!) { unfriend(userId: $u) { id } }".into(), user.clone()),
        ("blockUser", "mutation B($u: ID!) { blockUser(userId: $u) { id } }".into(), user.clone()),
        ("unblockUser", "mutation B($u: ID!) { unblockUser(userId: $u) { id } }".into(), user.clone()),
        ("startDirectConversation", "mutation D($u: ID!) { startDirectConversation(userId: $u) { id } }".into(), user),
    ]
}

const DETAILS: &str = "query U($id: ID!) { user(id: $id) { username bio birthdate avatar { small } presence { status } friendship } }";

async fn details(p: &Platform, viewer: Option<&Person>, user: &Person) -> Value {
    let token = viewer.map(|v| v.token.as_str());
    // Where one stands with a user is a question for the signed-in only.
    let document = match viewer {
        Some(_) => DETAILS.to_string(),
        None => DETAILS.replace(" friendship", ""),
    };
    data(&p.gateway, &document, json!({ "id": user.id }), token).await["user"].clone()
}

async fn refused_watching(p: &Platform, viewer: &Person, user: &Person) -> String {
    let mut watch = Subscription::start(
        &p.gateway,
        "subscription W($u: ID!) { presenceChanged(userId: $u) { status } }",
        json!({ "u": user.id }),
        &viewer.token,
    )
    .await;
    watch.error(Duration::from_secs(15)).await
}

async fn every_people_operation_is_refused_or_filtered_by_role(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let stranger = signed_up(&p, "eve").await;
    let blocked = signed_up(&p, "mallory").await;
    // Ann shows a bio, a birthdate and her presence to everyone she can.
    data(
        &p.gateway,
        "mutation { updateProfile(input: { bio: \"hi\", birthdate: \"1990-01-01\" }) { id } updatePrivacySettings(input: { presence: EVERYONE, directMessages: EVERYONE }) { presence } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    // Bob's pending request to the stranger, and an upload of Ann's.
    find(&p, &bob, &stranger).await;
    let asked = data(
        &p.gateway,
        "mutation S($n: String!) { sendFriendRequest(username: $n) { id } }",
        json!({ "n": stranger.username }),
        Some(&bob.token),
    )
    .await;
    let request_id = asked["sendFriendRequest"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload = data(
        &p.gateway,
        "mutation { requestProfileImageUpload(input: { kind: AVATAR, contentType: \"image/png\", byteSize: 10 }) { id } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    let upload_id = upload["requestProfileImageUpload"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    find(&p, &ann, &blocked).await;
    data(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": blocked.id }),
        Some(&ann.token),
    )
    .await;

    // Anonymous: every operation wants a signed-in user; reads of a user show only
    // what is public.
    for (name, document, variables) in operations(&ann, &request_id, &upload_id) {
        let out = post(&p.gateway, &document, variables, None).await;
        assert_eq!(error_code(&out), "UNAUTHENTICATED", "{name}: {out}");
    }
    let public = details(&p, None, &ann).await;
    assert_eq!(public["username"], ann.username.as_str());
    assert!(
        public["birthdate"].is_null() && public["presence"].is_null(),
        "{public}"
    );

    // A stranger: no birthdate (friends only); presence shown only once the
    // stranger's own setting admits strangers (reciprocal); someone else's request
    // or upload is not theirs to touch; no friendship to end; no direct messages
    // under the instance's friends-only policy even though Ann allows everyone.
    let seen = details(&p, Some(&stranger), &ann).await;
    assert_eq!(seen["bio"], "hi");
    assert!(seen["birthdate"].is_null(), "{seen}");
    assert!(seen["presence"].is_null(), "reciprocal: {seen}");
    assert_eq!(refused_watching(&p, &stranger, &ann).await, "FORBIDDEN");
    let as_stranger = |name: &str| {
        operations(&ann, &request_id, &upload_id)
            .into_iter()
            .find(|(n, _, _)| *n == name)
            .unwrap()
    };
    for (name, want) in [
        ("confirmProfileImageUpload", "NOT_FOUND"),
        ("unfriend", "NOT_FOUND"),
        ("unblockUser", "NOT_FOUND"),
        ("startDirectConversation", "FORBIDDEN"),
    ] {
        let (_, document, variables) = as_stranger(name);
        let out = post(&p.gateway, &document, variables, Some(&stranger.token)).await;
        assert_eq!(error_code(&out), want, "{name} as a stranger: {out}");
    }
    // Bob's request to the stranger is Bob's to cancel, not Ann's.
    let (_, document, variables) = as_stranger("cancelFriendRequest");
    let out = post(&p.gateway, &document, variables, Some(&ann.token)).await;
    assert_eq!(error_code(&out), "NOT_FOUND", "{out}");

    // The blocked user: cannot find Ann, ask her, write to her, watch her; sees
    // no details, avatar or presence of hers, and not that they are blocked.
    assert!(
        search(&p, &blocked, &ann.username).await.is_empty(),
        "the blocker is not found"
    );
    let hidden = details(&p, Some(&blocked), &ann).await;
    assert_eq!(hidden["username"], ann.username.as_str());
    for field in ["bio", "birthdate", "avatar", "presence"] {
        assert!(hidden[field].is_null(), "{field}: {hidden}");
    }
    assert_eq!(hidden["friendship"], "NONE");
    assert_eq!(refused_watching(&p, &blocked, &ann).await, "FORBIDDEN");
    for (name, want) in [
        ("sendFriendRequest", "NOT_FOUND"),
        ("startDirectConversation", "FORBIDDEN"),
        ("confirmProfileImageUpload", "NOT_FOUND"),
        ("unblockUser", "NOT_FOUND"),
    ] {
        let (_, document, variables) = as_stranger(name);
        let out = post(&p.gateway, &document, variables, Some(&blocked.token)).await;
        assert_eq!(error_code(&out), want, "{name} as the blocked user: {out}");
    }
    // Ann sees whom she blocked.
    let mine = data(
        &p.gateway,
        "{ blockedUsers { id } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    assert_eq!(mine["blockedUsers"], json!([{ "id": blocked.id }]));
    assert_eq!(
        details(&p, Some(&ann), &blocked).await["friendship"],
        "BLOCKED"
    );
}

on_both_profiles!(every_people_operation_is_refused_or_filtered_by_role);
