//! The steps of the core flow, as functions tests and benchmarks compose.

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{data, eventually, post};
use crate::mail::code_sent_to;
use crate::platform::Platform;

/// The password every test user signs up with.
pub const PASSWORD: &str = "correct horse battery";
/// How long tests wait for eventually-consistent projections and events.
pub const WAIT: Duration = Duration::from_secs(30);

/// A signed-in test user.
pub struct Person {
    pub id: String,
    pub username: String,
    pub token: String,
}

impl Person {
    /// Who this person's access token says they are (read, not verified).
    pub fn viewer(&self) -> echostream_service::token::Viewer {
        use base64::Engine;
        let payload = self.token.split('.').nth(1).expect("a JWT");
        let claims: echostream_service::token::Claims = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("base64url"),
        )
        .expect("our claims");
        claims.into()
    }
}

/// A username no other test uses: `name_` and eight characters.
pub fn unique(name: &str) -> String {
    let tail = uuid::Uuid::now_v7().simple().to_string();
    format!("{name}_{}", &tail[tail.len() - 8..])
}

/// Registers `username` (email `username@example.com`); returns the new `User`.
pub async fn register(p: &Platform, username: &str) -> Value {
    let body = post(
        &p.gateway,
        "mutation R($input: RegisterInput!) { register(input: $input) { id username emailVerified } }",
        json!({ "input": { "email": format!("{username}@example.com"), "username": username, "password": PASSWORD } }),
        None,
    )
    .await;
    assert!(body.get("errors").is_none(), "register failed: {body}");
    body["data"]["register"].clone()
}

/// Verifies `username`'s email with the code it was mailed.
pub async fn verify(p: &Platform, username: &str) {
    let email = format!("{username}@example.com");
    let code = code_sent_to(p, &email).await;
    let verified = data(
        &p.gateway,
        "mutation V($email: String!, $code: String!) { verifyEmail(email: $email, code: $code) { emailVerified } }",
        json!({ "email": email, "code": code }),
        None,
    )
    .await;
    assert_eq!(verified["verifyEmail"]["emailVerified"], true);
}

/// Signs `username` in from its phone.
pub async fn login(p: &Platform, username: &str) -> Person {
    login_on(p, username, &format!("{username}-phone")).await
}

/// Signs `username` in on device `device` (a session of its own).
pub async fn login_on(p: &Platform, username: &str, device: &str) -> Person {
    let out = data(
        &p.gateway,
        "mutation L($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn user { id username } } }",
        json!({ "input": { "login": username, "password": PASSWORD, "deviceId": device } }),
        None,
    )
    .await;
    Person {
        id: out["login"]["user"]["id"].as_str().unwrap().to_string(),
        username: username.to_string(),
        token: out["login"]["accessToken"].as_str().unwrap().to_string(),
    }
}

/// A fresh user, registered, verified and signed in.
pub async fn signed_up(p: &Platform, name: &str) -> Person {
    let username = unique(name);
    register(p, &username).await;
    verify(p, &username).await;
    login(p, &username).await
}

/// The users `who` finds searching for `query` (the first page).
pub async fn search(p: &Platform, who: &Person, query: &str) -> Vec<Value> {
    let out = data(
        &p.gateway,
        "query S($q: String!) { searchUsers(query: $q) { edges { node { id username displayName } } } }",
        json!({ "q": query }),
        Some(&who.token),
    )
    .await;
    out["searchUsers"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}

/// `finder` searches for `target` until the profile projection has it.
pub async fn find(p: &Platform, finder: &Person, target: &Person) -> Value {
    eventually("the user to be searchable", WAIT, || async {
        let found = search(p, finder, &target.username).await;
        found.into_iter().find(|u| u["id"] == target.id.as_str())
    })
    .await
}

/// `who` marks every notification read (as from any device); how many it read.
pub async fn read_all_notifications(p: &Platform, who: &Person) -> u64 {
    data(
        &p.gateway,
        "mutation { markAllNotificationsRead }",
        json!({}),
        Some(&who.token),
    )
    .await["markAllNotificationsRead"]
        .as_u64()
        .expect("a count")
}

/// Two users who became friends: B asked, A accepted.
pub async fn friends(p: &Platform) -> (Person, Person) {
    let ann = signed_up(p, "ann").await;
    let bob = signed_up(p, "bob").await;
    befriend(p, &ann, &bob).await;
    (ann, bob)
}

/// `from` finds `to` and asks to be friends; the request's id.
pub async fn ask_friendship(p: &Platform, from: &Person, to: &Person) -> Value {
    find(p, from, to).await;
    data(
        &p.gateway,
        "mutation F($u: String!) { sendFriendRequest(username: $u) { id } }",
        json!({ "u": to.username }),
        Some(&from.token),
    )
    .await["sendFriendRequest"]["id"]
        .clone()
}

/// Makes `a` and `b` friends: B asks, A accepts.
pub async fn befriend(p: &Platform, a: &Person, b: &Person) {
    let request = ask_friendship(p, b, a).await;
    let accepted = data(
        &p.gateway,
        "mutation A($id: ID!) { acceptFriendRequest(id: $id) { status } }",
        json!({ "id": request }),
        Some(&a.token),
    )
    .await;
    assert_eq!(accepted["acceptFriendRequest"]["status"], "ACCEPTED");
}

/// A group `owner` makes with `members` (once chat allows adding them all); its id.
pub async fn group(p: &Platform, owner: &Person, title: &str, members: &[&Person]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    eventually("chat to allow the group", WAIT, || async {
        let body = post(
            &p.gateway,
            "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
            json!({ "i": { "title": title, "memberIds": ids } }),
            Some(&owner.token),
        )
        .await;
        body["data"]["createGroup"]["id"]
            .as_str()
            .map(str::to_string)
    })
    .await
}

/// A's direct conversation with B, once chat has learnt they are friends.
pub async fn direct_conversation(p: &Platform, a: &Person, b: &Person) -> String {
    eventually("chat to allow the direct conversation", WAIT, || async {
        let body = post(
            &p.gateway,
            "mutation D($u: ID!) { startDirectConversation(userId: $u) { id kind members { user { id } } } }",
            json!({ "u": b.id }),
            Some(&a.token),
        )
        .await;
        body["data"]["startDirectConversation"]["id"].as_str().map(str::to_string)
    })
    .await
}

/// `from` sends `body` to `conversation` with idempotency key `key`; returns the message.
pub async fn send(p: &Platform, from: &Person, conversation: &str, body: &str, key: &str) -> Value {
    send_to(&p.gateway, &from.token, conversation, body, key).await
}

/// Like [`send`], for tasks that hold the gateway's URL and a token.
pub async fn send_to(
    gateway: &str,
    token: &str,
    conversation: &str,
    body: &str,
    key: &str,
) -> Value {
    data(
        gateway,
        "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id seq body } }",
        json!({ "input": { "conversationId": conversation, "body": body, "idempotencyKey": key } }),
        Some(token),
    )
    .await["sendMessage"]
        .clone()
}

/// The `messageAdded` subscription with the sender resolved across subgraphs.
pub const MESSAGES: &str = "subscription { messageAdded { id conversationId seq body sender { id username displayName } } }";

/// `user`'s presence as `viewer` sees it.
pub async fn presence_of(p: &Platform, viewer: &Person, user: &Person) -> Value {
    data(
        &p.gateway,
        "query P($id: ID!) { user(id: $id) { presence { status lastSeenAt } } }",
        json!({ "id": user.id }),
        Some(&viewer.token),
    )
    .await["user"]["presence"]
        .clone()
}

/// A fresh device of `person` for a subscription whose start must be observable:
/// `person`'s present device says it is away, and the new one (signed in, no request
/// made yet) has no activity, so `person` shows `ONLINE` exactly when the
/// subscription opened on the new device has reached its subgraph.
pub async fn quiet_device(p: &Platform, person: &Person) -> Person {
    let away = data(
        &p.gateway,
        "mutation { setPresence(status: AWAY) { status } }",
        json!({}),
        Some(&person.token),
    )
    .await;
    assert_eq!(away["setPresence"]["status"], "AWAY");
    let device = format!(
        "{}-tablet-{}",
        person.username,
        uuid::Uuid::now_v7().simple()
    );
    login_on(p, &person.username, &device).await
}

/// Waits until `viewer` sees `user` with `status` (`ONLINE`/`AWAY`/`OFFLINE`).
pub async fn wait_for_presence(
    p: &Platform,
    viewer: &Person,
    user: &Person,
    status: &str,
) -> Value {
    eventually(&format!("presence {status}"), WAIT, || async {
        let now = presence_of(p, viewer, user).await;
        (now["status"] == status).then_some(now)
    })
    .await
}

/// The newest items of `who`'s notification feed (at most 100), each with the
/// fields of `selection`.
pub async fn notifications(p: &Platform, who: &Person, selection: &str) -> Vec<Value> {
    let query = format!("{{ notifications(first: 100) {{ edges {{ node {{ {selection} }} }} }} }}");
    let feed = data(&p.gateway, &query, json!({}), Some(&who.token)).await;
    feed["notifications"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}
