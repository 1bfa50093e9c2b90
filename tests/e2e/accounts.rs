//! The auth subgraph through the gateway: tokens, sessions, passwords, email change,
//! abuse limits, deletion and export — and the attacks each must withstand.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt;
use serde_json::{Value, json};

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::mail::{code_sent_to, mails_to, new_code_sent_to};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    PASSWORD, Person, WAIT, direct_conversation, find, friends, register, send, signed_up, unique,
};

use crate::on_both_profiles;
use crate::start as start_platform;

const LOGIN: &str = "mutation L($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }";
const REFRESH: &str =
    "mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const ME: &str = "{ me { id } }";

async fn login_as(p: &Platform, login: &str, password: &str, device: &str) -> Value {
    post(
        &p.gateway,
        LOGIN,
        json!({ "input": { "login": login, "password": password, "deviceId": device, "deviceName": format!("{device} phone") } }),
        None,
    )
    .await
}

async fn tokens(p: &Platform, login: &str, device: &str) -> (String, String) {
    let body = login_as(p, login, PASSWORD, device).await;
    let l = &body["data"]["login"];
    assert!(l.is_object(), "login failed: {body}");
    (
        l["accessToken"].as_str().unwrap().to_string(),
        l["refreshToken"].as_str().unwrap().to_string(),
    )
}

async fn refreshes_rotate_and_a_reused_token_revokes_its_session(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let (access, first) = tokens(&p, &ann.username, "tablet").await;
    let rotated = data(&p.gateway, REFRESH, json!({ "t": first }), None).await;
    let second = rotated["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let new_access = rotated["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second, "refresh tokens rotate on every use");
    assert_eq!(
        data(&p.gateway, ME, json!({}), Some(&new_access)).await["me"]["id"],
        ann.id.as_str()
    );
    // Someone replays the spent token: refused, and the whole family ends.
    let replay = post(&p.gateway, REFRESH, json!({ "t": first }), None).await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    let after = post(&p.gateway, REFRESH, json!({ "t": second }), None).await;
    assert_eq!(
        error_code(&after),
        "UNAUTHENTICATED",
        "the legitimate newer token dies too"
    );
    for token in [&access, &new_access] {
        let me = post(&p.gateway, ME, json!({}), Some(token)).await;
        assert_eq!(
            error_code(&me),
            "UNAUTHENTICATED",
            "access tokens of the session stop at once"
        );
    }
    // Other sessions are untouched.
    assert_eq!(
        data(&p.gateway, ME, json!({}), Some(&ann.token)).await["me"]["id"],
        ann.id.as_str()
    );
    let garbage = post(&p.gateway, REFRESH, json!({ "t": "not-a-token" }), None).await;
    assert_eq!(error_code(&garbage), "UNAUTHENTICATED");
}

async fn sessions_are_listed_and_revoked_with_immediate_effect(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let (laptop, _) = tokens(&p, &ann.username, "laptop").await;
    let list = data(
        &p.gateway,
        "{ sessions { id deviceId deviceName ip current createdAt lastUsedAt } }",
        json!({}),
        Some(&laptop),
    )
    .await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["deviceId"], "laptop");
    assert_eq!(current[0]["deviceName"], "laptop phone");
    assert_eq!(
        current[0]["ip"], "127.0.0.1",
        "the gateway forwards the client address"
    );
    let ended = data(
        &p.gateway,
        "mutation { revokeOtherSessions }",
        json!({}),
        Some(&laptop),
    )
    .await;
    assert_eq!(ended["revokeOtherSessions"], 1);
    assert_eq!(
        error_code(&post(&p.gateway, ME, json!({}), Some(&ann.token)).await),
        "UNAUTHENTICATED"
    );
    data(&p.gateway, "mutation { logout }", json!({}), Some(&laptop)).await;
    assert_eq!(
        error_code(&post(&p.gateway, ME, json!({}), Some(&laptop)).await),
        "UNAUTHENTICATED"
    );
    let other = signed_up(&p, "eve").await;
    let foreign = post(
        &p.gateway,
        "mutation R($id: ID!) { revokeSession(id: $id) }",
        json!({ "id": current[0]["id"] }),
        Some(&other.token),
    )
    .await;
    assert_eq!(
        error_code(&foreign),
        "NOT_FOUND",
        "nobody revokes another user's session"
    );
}

async fn password_reset_works_by_code_and_does_not_reveal_accounts(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let email = format!("{}@example.com", ann.username);
    let request = "mutation P($e: String!) { requestPasswordReset(email: $e) }";
    let seen = mails_to(&p, &email).await;
    let known = post(&p.gateway, request, json!({ "e": email }), None).await;
    let unknown = post(
        &p.gateway,
        request,
        json!({ "e": "nobody-here@example.com" }),
        None,
    )
    .await;
    assert_eq!(
        known, unknown,
        "the same answer for known and unknown addresses"
    );
    assert_eq!(known["data"]["requestPasswordReset"], true);
    let code = new_code_sent_to(&p, &email, seen).await;
    let reset = "mutation R($e: String!, $c: String!, $p: String!) { resetPassword(email: $e, code: $c, newPassword: $p) }";
    let new_password = "a brand new passphrase";
    let done = post(
        &p.gateway,
        reset,
        json!({ "e": email, "c": code, "p": new_password }),
        None,
    )
    .await;
    assert_eq!(done["data"]["resetPassword"], true, "{done}");
    let again = post(
        &p.gateway,
        reset,
        json!({ "e": email, "c": code, "p": "yet another one" }),
        None,
    )
    .await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT", "a code works once");
    assert_eq!(
        error_code(&login_as(&p, &ann.username, PASSWORD, "x").await),
        "UNAUTHENTICATED"
    );
    assert!(login_as(&p, &ann.username, new_password, "x").await["data"]["login"].is_object());
    assert_eq!(
        error_code(&post(&p.gateway, ME, json!({}), Some(&ann.token)).await),
        "UNAUTHENTICATED",
        "a reset ends every session"
    );
}

async fn changing_the_password_ends_the_other_sessions(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let (laptop, _) = tokens(&p, &ann.username, "laptop").await;
    let change = "mutation C($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let wrong = post(
        &p.gateway,
        change,
        json!({ "c": "not it at all", "n": "another passphrase" }),
        Some(&laptop),
    )
    .await;
    assert_eq!(error_code(&wrong), "FORBIDDEN");
    let weak = post(
        &p.gateway,
        change,
        json!({ "c": PASSWORD, "n": "short" }),
        Some(&laptop),
    )
    .await;
    assert_eq!(error_code(&weak), "BAD_USER_INPUT");
    data(
        &p.gateway,
        change,
        json!({ "c": PASSWORD, "n": "another passphrase" }),
        Some(&laptop),
    )
    .await;
    assert_eq!(
        data(&p.gateway, ME, json!({}), Some(&laptop)).await["me"]["id"],
        ann.id.as_str()
    );
    assert_eq!(
        error_code(&post(&p.gateway, ME, json!({}), Some(&ann.token)).await),
        "UNAUTHENTICATED"
    );
    assert!(
        login_as(&p, &ann.username, "another passphrase", "x").await["data"]["login"].is_object()
    );
}

async fn changing_the_email_needs_the_code_sent_to_the_new_address(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let new_email = format!("{}@example.org", unique("new"));
    let request =
        "mutation E($e: String!, $p: String!) { requestEmailChange(newEmail: $e, password: $p) }";
    let bad = post(
        &p.gateway,
        request,
        json!({ "e": new_email, "p": "wrong password!" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&bad), "FORBIDDEN");
    data(
        &p.gateway,
        request,
        json!({ "e": new_email, "p": PASSWORD }),
        Some(&ann.token),
    )
    .await;
    let code = code_sent_to(&p, &new_email).await;
    let confirm =
        "mutation C($c: String!) { confirmEmailChange(code: $c) { email emailVerified } }";
    let done = data(&p.gateway, confirm, json!({ "c": code }), Some(&ann.token)).await;
    assert_eq!(done["confirmEmailChange"]["email"], new_email.as_str());
    assert!(login_as(&p, &new_email, PASSWORD, "x").await["data"]["login"].is_object());
    let taken = post(
        &p.gateway,
        request,
        json!({ "e": new_email, "p": PASSWORD }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&taken), "CONFLICT");
}

async fn repeated_login_failures_lock_the_account_with_a_retry_after(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    for _ in 0..5 {
        let wrong = login_as(&p, &ann.username, "wrong password", "x").await;
        assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    }
    let locked = login_as(&p, &ann.username, PASSWORD, "x").await;
    assert_eq!(
        error_code(&locked),
        "RATE_LIMITED",
        "even the right password waits: {locked}"
    );
    let retry = locked["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .expect("retryAfter");
    assert!(retry > 0);
}

/// Guesses sent all at once cannot slip past the lockout, and a stranger's guesses
/// lock out only the stranger: the owner signs in from their own address.
async fn the_sign_in_lockout_is_atomic_and_cannot_lock_the_owner_out(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let attempt = |address: &'static str, password: &'static str| {
        let p = &p;
        let login = ann.username.clone();
        async move {
            p.post_as_gateway_from(
                "auth",
                address,
                LOGIN,
                json!({ "input": { "login": login, "password": password, "deviceId": "d" } }),
            )
            .await
        }
    };
    // Twenty guesses at once from one address: at most five reach the password.
    let answers =
        futures::future::join_all((0..20).map(|_| attempt("203.0.113.7", "a wrong guess"))).await;
    let checked = answers
        .iter()
        .filter(|a| error_code(a) == "UNAUTHENTICATED")
        .count();
    let limited = answers
        .iter()
        .filter(|a| error_code(a) == "RATE_LIMITED")
        .count();
    assert_eq!((checked, limited), (5, 15), "{answers:?}");
    // That address is locked out, even with the right password; the owner's is not.
    assert_eq!(
        error_code(&attempt("203.0.113.7", PASSWORD).await),
        "RATE_LIMITED"
    );
    let own = attempt("198.51.100.20", PASSWORD).await;
    assert!(own["data"]["login"]["accessToken"].is_string(), "{own}");
}

async fn codes_have_a_resend_cooldown_and_limited_attempts(profile: Profile) {
    let p = start_platform(profile).await;
    let username = unique("dan");
    let email = format!("{username}@example.com");
    register(&p, &username).await;
    let seen = mails_to(&p, &email).await;
    let resend = "mutation R($e: String!) { resendVerificationCode(email: $e) }";
    assert_eq!(
        data(&p.gateway, resend, json!({ "e": email }), None).await["resendVerificationCode"],
        true
    );
    let soon = post(&p.gateway, resend, json!({ "e": email }), None).await;
    assert_eq!(error_code(&soon), "RATE_LIMITED");
    // The resent code replaces the first one.
    let real = new_code_sent_to(&p, &email, seen).await;
    let verify = "mutation V($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { id } }";
    let wrong = if real == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let attempt = post(&p.gateway, verify, json!({ "e": email, "c": wrong }), None).await;
        assert_eq!(error_code(&attempt), "BAD_USER_INPUT");
    }
    let late = post(&p.gateway, verify, json!({ "e": email, "c": real }), None).await;
    assert_eq!(
        error_code(&late),
        "BAD_USER_INPUT",
        "after 5 wrong guesses the code is void"
    );
}

async fn my_data_is_exported_from_every_subgraph(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &bob, &ann).await;
    send(&p, &bob, &conversation, "hello ann", "k-export").await;
    let query = "{ me { accountExport profileExport chatExport { url expiresAt byteSize } notificationExport } }";
    let exported = eventually("ann's notifications", WAIT, || async {
        let out = data(&p.gateway, query, json!({}), Some(&ann.token)).await;
        let kinds: Vec<String> = out["me"]["notificationExport"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter_map(|e| e["kind"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // Both events travel different topics: wait for both.
        (kinds.iter().any(|k| k == "message") && kinds.iter().any(|k| k == "friend_request"))
            .then_some(out)
    })
    .await;
    let me = &exported["me"];
    assert_eq!(
        me["accountExport"]["account"]["username"],
        ann.username.as_str()
    );
    assert!(
        me["accountExport"]["sessions"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(
        me["profileExport"]["profile"]["username"],
        ann.username.as_str()
    );
    assert_eq!(me["profileExport"]["friends"], json!([bob.id]));
    let anns = downloaded(&me["chatExport"]).await;
    assert_eq!(anns["conversations"][0]["id"], conversation.as_str());
    assert_eq!(anns["messagesSent"], json!([]), "ann sent nothing");
    let kinds: Vec<&str> = me["notificationExport"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"message") && kinds.contains(&"friend_request"),
        "{kinds:?}"
    );
    // More messages than the export reads at once (256), each once, in order.
    futures::stream::iter(1..=300)
        .for_each_concurrent(8, |i| {
            let (p, bob, conversation) = (&p, &bob, &conversation);
            async move {
                send(p, bob, conversation, &format!("m{i}"), &format!("k{i}")).await;
            }
        })
        .await;
    let bobs = data(
        &p.gateway,
        "{ me { chatExport { url expiresAt byteSize } } }",
        json!({}),
        Some(&bob.token),
    )
    .await;
    let bobs = downloaded(&bobs["me"]["chatExport"]).await;
    let sent = bobs["messagesSent"].as_array().unwrap();
    assert_eq!(sent.len(), 301);
    assert_eq!(sent[0]["body"], "hello ann");
    let seqs: Vec<i64> = sent.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=301).collect::<Vec<_>>(), "each once, in order");
    let mut bodies: Vec<&str> = sent[1..]
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (1..=300).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    // Nobody exports someone else's data.
    let foreign = post(
        &p.gateway,
        "query U($id: ID!) { user(id: $id) { profileExport } }",
        json!({ "id": ann.id }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&foreign), "FORBIDDEN");
}

/// The document an export's link serves, checked against what the export says of
/// itself (size, an expiry an hour away).
async fn downloaded(export: &Value) -> Value {
    let expires: chrono::DateTime<chrono::Utc> =
        export["expiresAt"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(55) && left <= chrono::Duration::minutes(60),
        "{export}"
    );
    let response = reqwest::get(export["url"].as_str().unwrap()).await.unwrap();
    assert!(response.status().is_success(), "{export}");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len() as i64, export["byteSize"].as_i64().unwrap());
    serde_json::from_slice(&bytes).unwrap()
}

async fn a_deleted_account_is_erased_everywhere(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    // Ann owns a group with bob, and wrote to bob.
    let direct = direct_conversation(&p, &ann, &bob).await;
    let room = echostream_testkit::scenario::group(&p, &ann, "Ann's", &[&bob]).await;
    let secret = send(&p, &ann, &direct, "my secret plans", "s").await;
    eventually("bob's notification of it", WAIT, || async {
        echostream_testkit::scenario::notifications(&p, &bob, "payload")
            .await
            .iter()
            .any(|n| n["payload"]["preview"] == "my secret plans")
            .then_some(())
    })
    .await;
    let export = data(
        &p.gateway,
        "{ me { accountExport chatExport { url expiresAt byteSize } } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    let chat_export = export["me"]["chatExport"].clone();
    assert_eq!(
        downloaded(&chat_export).await["messagesSent"][0]["body"],
        "my secret plans"
    );
    let exported = &export["me"]["accountExport"];
    assert_eq!(exported["account"]["username"], ann.username.as_str());
    assert!(
        exported["sessions"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    let delete = "mutation D($p: String!) { deleteAccount(password: $p) }";
    let refused = post(
        &p.gateway,
        delete,
        json!({ "p": "wrong password" }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    data(
        &p.gateway,
        delete,
        json!({ "p": PASSWORD }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(
        error_code(&post(&p.gateway, ME, json!({}), Some(&ann.token)).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&login_as(&p, &ann.username, PASSWORD, "x").await),
        "UNAUTHENTICATED"
    );
    // Her chat export goes with her account, link or not.
    let url = chat_export["url"].as_str().unwrap().to_string();
    eventually("her chat export to be deleted", WAIT, || async {
        let status = reqwest::get(&url).await.ok()?.status();
        (!status.is_success()).then_some(())
    })
    .await;
    eventually("the friendship to be erased", WAIT, || async {
        let list = data(
            &p.gateway,
            "{ friends { edges { node { id } } } }",
            json!({}),
            Some(&bob.token),
        )
        .await;
        list["friends"]["edges"]
            .as_array()
            .is_some_and(|f| f.is_empty())
            .then_some(())
    })
    .await;
    let search = data(
        &p.gateway,
        "query S($q: String!) { searchUsers(query: $q) { edges { node { id } } } }",
        json!({ "q": ann.username }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(search["searchUsers"]["edges"], json!([]));
    // Her memberships ended: her group is bob's now, and says so in its timeline.
    let timeline = eventually("the group to be handed over", WAIT, || async {
        let out = data(
            &p.gateway,
            "query T($id: ID!) { conversation(id: $id) { myRole members { user { id } } messages(last: 10) { nodes { body kind system { action } } } } }",
            json!({ "id": room }),
            Some(&bob.token),
        )
        .await;
        (out["conversation"]["myRole"] == "OWNER").then_some(out)
    })
    .await;
    let members = timeline["conversation"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{timeline}");
    let actions: Vec<&Value> = timeline["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["system"]["action"])
        .collect();
    assert!(actions.contains(&&json!("MEMBER_LEFT")), "{timeline}");
    assert!(
        actions.contains(&&json!("OWNERSHIP_TRANSFERRED")),
        "{timeline}"
    );
    // What she wrote is erased: the message keeps its place, without its body, and
    // bob's notification of it without its preview.
    let history = data(
        &p.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages(last: 10) { nodes { id seq body } } } }",
        json!({ "id": direct }),
        Some(&bob.token),
    )
    .await;
    let kept = history["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == secret["id"])
        .cloned()
        .expect("the message keeps its place");
    assert_eq!(kept["body"], "", "{kept}");
    eventually("the preview to be erased", WAIT, || async {
        let feed = echostream_testkit::scenario::notifications(&p, &bob, "kind payload").await;
        let previews: Vec<Value> = feed
            .iter()
            .filter(|n| n["kind"] == "MESSAGE")
            .map(|n| n["payload"]["preview"].clone())
            .collect();
        (!previews.is_empty() && previews.iter().all(Value::is_null)).then_some(())
    })
    .await;
    // The username is free again.
    assert_eq!(
        register(&p, &ann.username).await["username"],
        ann.username.as_str()
    );
}

fn forge(header: Value, claims: Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

async fn refused_everywhere(p: &Platform, token: &str, what: &str) {
    let via_gateway = post(&p.gateway, ME, json!({}), Some(token)).await;
    assert!(
        via_gateway["data"]["me"].is_null(),
        "{what} accepted by the gateway: {via_gateway}"
    );
    assert_eq!(
        error_code(&via_gateway),
        "UNAUTHENTICATED",
        "{what} refused by the gateway without the right code: {via_gateway}"
    );
    let direct = p.post_as_gateway("auth", ME, json!({}), Some(token)).await;
    assert_eq!(
        error_code(&direct),
        "UNAUTHENTICATED",
        "{what} accepted by a subgraph"
    );
}

async fn forged_and_expired_tokens_are_refused(profile: Profile) {
    let p = start_platform(profile).await;
    let ann: Person = signed_up(&p, "ann").await;
    let claims = claims_of(&ann.token);
    let kid = header_of(&ann.token)["kid"].clone();

    let none = forge(json!({ "alg": "none", "typ": "JWT" }), claims.clone(), b"");
    refused_everywhere(&p, &none, "alg none").await;

    let hs = forge(
        json!({ "alg": "HS256", "typ": "JWT", "kid": kid }),
        claims.clone(),
        &[7; 32],
    );
    refused_everywhere(&p, &hs, "HS256 with a made-up secret").await;

    // Properly signed, but by a key the platform never published.
    use ed25519_dalek::Signer;
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
    let unsigned = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = stranger.sign(unsigned.as_bytes());
    let wrong_key = format!(
        "{unsigned}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    );
    refused_everywhere(&p, &wrong_key, "a token signed by another key").await;

    let mut elevated = claims.clone();
    elevated["sub"] = json!(uuid::Uuid::now_v7().to_string());
    let tampered = format!(
        "{}.{}.{}",
        ann.token.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(elevated.to_string()),
        ann.token.split('.').nth(2).unwrap()
    );
    refused_everywhere(&p, &tampered, "a token with another subject").await;
}

async fn expired_access_tokens_are_refused(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_AUTH__ACCESS_TOKEN_TTL_SECS", "1")],
    )
    .await;
    let ann = signed_up(&p, "ann").await;
    assert_eq!(
        data(&p.gateway, ME, json!({}), Some(&ann.token)).await["me"]["id"],
        ann.id.as_str()
    );
    // Refused once past expiry and the verifiers' clock leeway (a few seconds):
    // polled, not slept for a guessed time.
    let direct = eventually(
        "the expired token refused",
        Duration::from_secs(30),
        || async {
            let direct = p
                .post_as_gateway("auth", ME, json!({}), Some(&ann.token))
                .await;
            // Still accepted (no error at all) until then.
            (direct["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED").then_some(direct)
        },
    )
    .await;
    assert!(
        direct["data"].is_null() || direct["data"]["me"].is_null(),
        "{direct}"
    );
    let via_gateway = post(&p.gateway, ME, json!({}), Some(&ann.token)).await;
    assert!(via_gateway["data"]["me"].is_null(), "{via_gateway}");
    assert_eq!(error_code(&via_gateway), "UNAUTHENTICATED", "{via_gateway}");
}

async fn unverified_accounts_cannot_sign_in_or_be_found(profile: Profile) {
    let p = start_platform(profile).await;
    let bob = signed_up(&p, "bob").await;
    let username = unique("ghost");
    register(&p, &username).await;
    let early = login_as(&p, &username, PASSWORD, "x").await;
    assert_eq!(error_code(&early), "FORBIDDEN");
    let search = data(
        &p.gateway,
        "query S($q: String!) { searchUsers(query: $q) { edges { node { id } } } }",
        json!({ "q": username }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(
        search["searchUsers"]["edges"],
        json!([]),
        "only verified accounts have profiles"
    );
    // And a verified one is found (the projection works for this platform).
    let ann = signed_up(&p, "ann").await;
    find(&p, &bob, &ann).await;
}

async fn floods_from_one_address_are_limited_even_with_a_forged_forwarded_for(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[
            ("ECHOSTREAM_AUTH__REGISTRATIONS_PER_IP", "2"),
            ("ECHOSTREAM_AUTH__LOGIN_ATTEMPTS_PER_IP", "3"),
        ],
    )
    .await;
    let register_as = |name: String, forged: &'static str| {
        let gateway = p.gateway.clone();
        async move {
            let body = json!({
                "query": "mutation R($input: RegisterInput!) { register(input: $input) { id } }",
                "variables": { "input": { "email": format!("{name}@example.com"), "username": name, "password": PASSWORD } },
            });
            reqwest::Client::new()
                .post(&gateway)
                .header("x-forwarded-for", forged)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert!(register_as(unique("a"), "10.0.0.1").await["errors"].is_null());
    assert!(register_as(unique("b"), "10.0.0.2").await["errors"].is_null());
    let third = register_as(unique("c"), "10.0.0.3").await;
    assert_eq!(
        error_code(&third),
        "RATE_LIMITED",
        "the gateway replaces forged addresses: {third}"
    );
    for _ in 0..3 {
        assert_eq!(
            error_code(&login_as(&p, "nobody_here", "whatever pass", "x").await),
            "UNAUTHENTICATED"
        );
    }
    assert_eq!(
        error_code(&login_as(&p, "someone_else", "whatever pass", "x").await),
        "RATE_LIMITED"
    );
}

/// The code-based account calls, made anonymously with a wrong or malformed code,
/// answer exactly alike for a verified account, an unverified one and no account at
/// all: none of them tells which addresses have accounts.
async fn code_based_account_calls_answer_alike_for_known_and_unknown_addresses(profile: Profile) {
    let p = start_platform(profile).await;
    let verified = signed_up(&p, "ann").await;
    let unverified = unique("bob");
    register(&p, &unverified).await;
    let addresses = [
        format!("{}@example.com", verified.username),
        format!("{unverified}@example.com"),
        format!("{}@example.com", unique("nobody")),
    ];
    let calls = [
        (
            "mutation V($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { id } }",
            json!({ "c": "000000" }),
        ),
        (
            "mutation V($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { id } }",
            json!({ "c": "12x456" }),
        ),
        (
            "mutation R($e: String!, $c: String!, $p: String!) { resetPassword(email: $e, code: $c, newPassword: $p) }",
            json!({ "c": "000000", "p": "a brand new passphrase" }),
        ),
        (
            "mutation R($e: String!, $c: String!, $p: String!) { resetPassword(email: $e, code: $c, newPassword: $p) }",
            json!({ "c": "12x456", "p": "a brand new passphrase" }),
        ),
        (
            "mutation S($e: String!) { resendVerificationCode(email: $e) }",
            json!({}),
        ),
        (
            "mutation P($e: String!) { requestPasswordReset(email: $e) }",
            json!({}),
        ),
    ];
    for (query, vars) in calls {
        let mut answers = Vec::new();
        for email in &addresses {
            let mut vars = vars.clone();
            vars["e"] = json!(email);
            answers.push(post(&p.gateway, query, vars, None).await);
        }
        assert_eq!(
            answers[0], answers[2],
            "verified vs unknown, {query} {vars}"
        );
        assert_eq!(
            answers[1], answers[2],
            "unverified vs unknown, {query} {vars}"
        );
    }
}

on_both_profiles!(
    the_sign_in_lockout_is_atomic_and_cannot_lock_the_owner_out,
    code_based_account_calls_answer_alike_for_known_and_unknown_addresses,
    my_data_is_exported_from_every_subgraph,
    floods_from_one_address_are_limited_even_with_a_forged_forwarded_for,
    refreshes_rotate_and_a_reused_token_revokes_its_session,
    sessions_are_listed_and_revoked_with_immediate_effect,
    password_reset_works_by_code_and_does_not_reveal_accounts,
    changing_the_password_ends_the_other_sessions,
    changing_the_email_needs_the_code_sent_to_the_new_address,
    repeated_login_failures_lock_the_account_with_a_retry_after,
    codes_have_a_resend_cooldown_and_limited_attempts,
    a_deleted_account_is_erased_everywhere,
    forged_and_expired_tokens_are_refused,
    expired_access_tokens_are_refused,
    unverified_accounts_cannot_sign_in_or_be_found,
);
