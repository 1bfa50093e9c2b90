//! Sign-in with OpenID Connect, driven end to end against a real provider
//! (oidc-provider, started by scripts/services.sh): its login form, its consent
//! page, the redirect with the code, and the token exchange.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::{Platform, Profile, service_env};
use echostream_testkit::scenario::signed_up;

use crate::on_both_profiles;

const WEB_CALLBACK: &str = "http://127.0.0.1:3000/oauth/callback";
const APP_CALLBACK: &str = "com.echostream.app:/oauth";

/// A platform configured with the test provider as `local`.
async fn start(profile: Profile) -> (Platform, tempfile::TempDir) {
    let issuer = service_env("TEST_ECHOSTREAM_OIDC");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echostream.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[auth.oidc]]
name = "local"
issuer = "{issuer}"
client_id = "echostream-web"
client_secret = "echostream-web-secret"
redirect_uris = ["{WEB_CALLBACK}", "{APP_CALLBACK}"]
native_client_ids = ["echostream-mobile"]

# The same server as a plain OAuth 2 provider: no discovery, no ID token; the
# person is read from the user-info endpoint (the path GitHub takes).
[[auth.oidc]]
name = "plain"
authorization_endpoint = "{issuer}/auth"
token_endpoint = "{issuer}/token"
userinfo_endpoint = "{issuer}/me"
client_id = "echostream-web"
client_secret = "echostream-web-secret"
redirect_uris = ["{WEB_CALLBACK}"]
scopes = ["openid", "email", "profile"]
"#
        ),
    )
    .unwrap();
    let platform = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_CONFIG", path.to_str().unwrap())],
    )
    .await;
    (platform, dir)
}

/// Signs in at the provider as `login` (the dev login page accepts any password),
/// consents, and returns the URL the provider finally redirects to.
async fn provider_login(authorization_url: &str, login: &str) -> String {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = service_env("TEST_ECHOSTREAM_OIDC");
    let absolute = |location: &str| {
        if location.starts_with('/') {
            format!("{issuer}{location}")
        } else {
            location.to_string()
        }
    };
    let mut url = authorization_url.to_string();
    for _ in 0..10 {
        if !url.starts_with(&issuer) {
            return url;
        }
        let page = browser.get(&url).send().await.unwrap();
        let response = if let Some(next) = page.headers().get("location") {
            url = absolute(next.to_str().unwrap());
            continue;
        } else {
            let html = page.text().await.unwrap();
            let form = if html.contains("name=\"login\"") {
                vec![
                    ("prompt", "login"),
                    ("login", login),
                    ("password", "anything"),
                ]
            } else if html.contains("value=\"consent\"") {
                vec![("prompt", "consent")]
            } else {
                panic!("unexpected provider page at {url}:\n{html}");
            };
            browser.post(&url).form(&form).send().await.unwrap()
        };
        url = absolute(
            response
                .headers()
                .get("location")
                .expect("the provider redirects after a form")
                .to_str()
                .unwrap(),
        );
    }
    panic!("too many redirects at the provider");
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| urlencoding_decode(v))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

fn urlencoding_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn start_oauth(p: &Platform, redirect: &str) -> (String, String) {
    let started = data(
        &p.gateway,
        "mutation S($r: String!) { startOAuth(provider: \"local\", redirectUri: $r) { authorizationUrl state } }",
        json!({ "r": redirect }),
        None,
    )
    .await;
    (
        started["startOAuth"]["authorizationUrl"]
            .as_str()
            .unwrap()
            .to_string(),
        started["startOAuth"]["state"].as_str().unwrap().to_string(),
    )
}

const COMPLETE: &str = "mutation C($s: String!, $c: String!) { completeOAuth(state: $s, code: $c, deviceId: \"web\") { accessToken user { id username emailVerified } } }";

async fn web_sign_in_with_pkce_creates_a_verified_account_once(profile: Profile) {
    let (p, _config) = start(profile).await;
    let providers = data(&p.gateway, "{ oauthProviders }", json!({}), None).await;
    assert_eq!(providers["oauthProviders"], json!(["local", "plain"]));
    let login = format!("alice{}", &uuid::Uuid::now_v7().simple().to_string()[24..]);
    let (url, state) = start_oauth(&p, WEB_CALLBACK).await;
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("nonce="),
        "{url}"
    );
    let callback = provider_login(&url, &login).await;
    assert!(callback.starts_with(WEB_CALLBACK), "{callback}");
    assert_eq!(query_param(&callback, "state"), state);
    let code = query_param(&callback, "code");
    let first = data(&p.gateway, COMPLETE, json!({ "s": state, "c": code }), None).await;
    let user = &first["completeOAuth"]["user"];
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["username"], login.as_str());
    let token = first["completeOAuth"]["accessToken"].as_str().unwrap();
    let me = data(
        &p.gateway,
        "{ me { id email linkedProviders } }",
        json!({}),
        Some(token),
    )
    .await;
    assert_eq!(me["me"]["email"], format!("{login}@oidc.example"));
    assert_eq!(me["me"]["linkedProviders"], json!(["local"]));
    // The state and the code work once.
    let replay = post(&p.gateway, COMPLETE, json!({ "s": state, "c": code }), None).await;
    assert_eq!(error_code(&replay), "BAD_USER_INPUT");
    // Signing in again finds the same account.
    let (url, state) = start_oauth(&p, WEB_CALLBACK).await;
    let callback = provider_login(&url, &login).await;
    let again = data(
        &p.gateway,
        COMPLETE,
        json!({ "s": state, "c": query_param(&callback, "code") }),
        None,
    )
    .await;
    assert_eq!(again["completeOAuth"]["user"]["id"], user["id"]);
}

async fn bad_oauth_requests_are_refused(profile: Profile) {
    let (p, _config) = start(profile).await;
    let unknown = post(
        &p.gateway,
        "mutation { startOAuth(provider: \"nope\", redirectUri: \"http://127.0.0.1:3000/oauth/callback\") { state } }",
        json!({}),
        None,
    )
    .await;
    assert_eq!(error_code(&unknown), "BAD_USER_INPUT");
    let evil = post(
        &p.gateway,
        "mutation { startOAuth(provider: \"local\", redirectUri: \"https://evil.example/cb\") { state } }",
        json!({}),
        None,
    )
    .await;
    assert_eq!(
        error_code(&evil),
        "BAD_USER_INPUT",
        "only registered redirect URIs"
    );
    let forged = post(
        &p.gateway,
        COMPLETE,
        json!({ "s": "made-up-state", "c": "x" }),
        None,
    )
    .await;
    assert_eq!(error_code(&forged), "BAD_USER_INPUT");
    // A real state with a code the provider never issued.
    let (_, state) = start_oauth(&p, WEB_CALLBACK).await;
    let wrong_code = post(
        &p.gateway,
        COMPLETE,
        json!({ "s": state, "c": "not-a-code" }),
        None,
    )
    .await;
    assert_eq!(error_code(&wrong_code), "UNAUTHENTICATED");
}

async fn app_redirect_scheme_receives_the_code(profile: Profile) {
    let (p, _config) = start(profile).await;
    let (url, state) = start_oauth(&p, APP_CALLBACK).await;
    let callback = provider_login(&url, "mobile_user").await;
    assert!(callback.starts_with(APP_CALLBACK), "{callback}");
    let signed_in = data(
        &p.gateway,
        COMPLETE,
        json!({ "s": state, "c": query_param(&callback, "code") }),
        None,
    )
    .await;
    assert!(signed_in["completeOAuth"]["accessToken"].is_string());
}

/// The mobile app's own PKCE sign-in at the provider (public client), ending in an
/// ID token carrying `nonce`.
async fn native_id_token(login: &str, nonce: &str) -> String {
    let issuer = service_env("TEST_ECHOSTREAM_OIDC");
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let url = format!(
        "{issuer}/auth?client_id=echostream-mobile&response_type=code&scope=openid%20email%20profile&redirect_uri={}&state=s&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        "com.echostream.app%3A%2Foauth"
    );
    let callback = provider_login(&url, login).await;
    let code = query_param(&callback, "code");
    let tokens: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_CALLBACK),
            ("client_id", "echostream-mobile"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {tokens}"))
        .to_string()
}

fn rand_bytes() -> [u8; 32] {
    let id = uuid::Uuid::new_v4().as_u128().to_le_bytes();
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&id);
    out[16..].copy_from_slice(&uuid::Uuid::new_v4().as_u128().to_le_bytes());
    out
}

const NATIVE: &str = "mutation N($t: String!, $n: String!) { signInWithIdToken(provider: \"local\", idToken: $t, nonce: $n) { accessToken user { id emailVerified } } }";

const NONCE: &str = "mutation { requestSignInNonce { nonce expiresAt } }";

async fn issued_nonce(p: &echostream_testkit::platform::Platform) -> String {
    let issued = data(&p.gateway, NONCE, json!({}), None).await;
    issued["requestSignInNonce"]["nonce"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn native_apps_exchange_a_provider_id_token(profile: Profile) {
    let (p, _config) = start(profile).await;
    // A nonce the app made up itself is refused: only issued ones count.
    let made_up = URL_SAFE_NO_PAD.encode(rand_bytes());
    let own_token = native_id_token("native_user", &made_up).await;
    let refused = post(
        &p.gateway,
        NATIVE,
        json!({ "t": own_token, "n": made_up }),
        None,
    )
    .await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    let nonce = issued_nonce(&p).await;
    let id_token = native_id_token("native_user", &nonce).await;
    let other = issued_nonce(&p).await;
    let wrong_nonce = post(
        &p.gateway,
        NATIVE,
        json!({ "t": id_token, "n": other }),
        None,
    )
    .await;
    assert_eq!(error_code(&wrong_nonce), "UNAUTHENTICATED");
    let mut parts: Vec<&str> = id_token.split('.').collect();
    let forged_payload =
        URL_SAFE_NO_PAD.encode(json!({ "sub": "someone-else", "nonce": nonce }).to_string());
    parts[1] = &forged_payload;
    let tampered = post(
        &p.gateway,
        NATIVE,
        json!({ "t": parts.join("."), "n": nonce }),
        None,
    )
    .await;
    assert_eq!(error_code(&tampered), "UNAUTHENTICATED");
    // The tampered attempt spent that nonce: the genuine token needs a fresh one.
    let spent = post(
        &p.gateway,
        NATIVE,
        json!({ "t": id_token, "n": nonce }),
        None,
    )
    .await;
    assert_eq!(
        error_code(&spent),
        "UNAUTHENTICATED",
        "a nonce works once: {spent}"
    );
    let nonce = issued_nonce(&p).await;
    let id_token = native_id_token("native_user", &nonce).await;
    let signed_in = data(
        &p.gateway,
        NATIVE,
        json!({ "t": id_token, "n": nonce }),
        None,
    )
    .await;
    assert_eq!(
        signed_in["signInWithIdToken"]["user"]["emailVerified"],
        true
    );
    // Replayed (a leaked ID token with its nonce): refused.
    let replayed = post(
        &p.gateway,
        NATIVE,
        json!({ "t": id_token, "n": nonce }),
        None,
    )
    .await;
    assert_eq!(error_code(&replayed), "UNAUTHENTICATED", "{replayed}");
}

async fn a_password_account_links_and_unlinks_a_provider(profile: Profile) {
    let (p, _config) = start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let start_link = "mutation S($r: String!) { startOAuthLink(provider: \"local\", redirectUri: $r) { authorizationUrl state } }";
    let started = data(
        &p.gateway,
        start_link,
        json!({ "r": WEB_CALLBACK }),
        Some(&ann.token),
    )
    .await;
    let url = started["startOAuthLink"]["authorizationUrl"]
        .as_str()
        .unwrap();
    let state = started["startOAuthLink"]["state"].as_str().unwrap();
    let login = format!(
        "ann_at_idp_{}",
        &uuid::Uuid::now_v7().simple().to_string()[24..]
    );
    let callback = provider_login(url, &login).await;
    let code = query_param(&callback, "code");
    // A linking cannot be completed as a sign-in.
    let misuse = post(&p.gateway, COMPLETE, json!({ "s": state, "c": code }), None).await;
    assert_eq!(error_code(&misuse), "BAD_USER_INPUT");
    let started = data(
        &p.gateway,
        start_link,
        json!({ "r": WEB_CALLBACK }),
        Some(&ann.token),
    )
    .await;
    let url = started["startOAuthLink"]["authorizationUrl"]
        .as_str()
        .unwrap();
    let state = started["startOAuthLink"]["state"].as_str().unwrap();
    let callback = provider_login(url, &login).await;
    let linked = data(
        &p.gateway,
        "mutation L($s: String!, $c: String!) { completeOAuthLink(state: $s, code: $c) { id linkedProviders } }",
        json!({ "s": state, "c": query_param(&callback, "code") }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(linked["completeOAuthLink"]["id"], ann.id.as_str());
    assert_eq!(
        linked["completeOAuthLink"]["linkedProviders"],
        json!(["local"])
    );
    // Signing in with the provider now reaches the password account.
    let (url, state) = start_oauth(&p, WEB_CALLBACK).await;
    let callback = provider_login(&url, &login).await;
    let via_provider = data(
        &p.gateway,
        COMPLETE,
        json!({ "s": state, "c": query_param(&callback, "code") }),
        None,
    )
    .await;
    assert_eq!(via_provider["completeOAuth"]["user"]["id"], ann.id.as_str());
    let unlinked = data(
        &p.gateway,
        "mutation { unlinkOAuth(provider: \"local\") }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    assert_eq!(unlinked["unlinkOAuth"], true);
    let me = data(
        &p.gateway,
        "{ me { linkedProviders } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    assert_eq!(me["me"]["linkedProviders"], json!([]));
    let again = post(
        &p.gateway,
        "mutation { unlinkOAuth(provider: \"local\") }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&again), "NOT_FOUND");
}

async fn plain_oauth2_providers_sign_in_through_user_info(profile: Profile) {
    let (p, _config) = start(profile).await;
    let started = data(
        &p.gateway,
        "mutation S($r: String!) { startOAuth(provider: \"plain\", redirectUri: $r) { authorizationUrl state } }",
        json!({ "r": WEB_CALLBACK }),
        None,
    )
    .await;
    let url = started["startOAuth"]["authorizationUrl"].as_str().unwrap();
    assert!(
        !url.contains("nonce="),
        "no OpenID Connect nonce for plain OAuth 2: {url}"
    );
    let state = started["startOAuth"]["state"].as_str().unwrap();
    let login = format!("plain_{}", &uuid::Uuid::now_v7().simple().to_string()[24..]);
    let callback = provider_login(url, &login).await;
    let signed_in = data(
        &p.gateway,
        COMPLETE,
        json!({ "s": state, "c": query_param(&callback, "code") }),
        None,
    )
    .await;
    let token = signed_in["completeOAuth"]["accessToken"].as_str().unwrap();
    let me = data(
        &p.gateway,
        "{ me { username email emailVerified linkedProviders } }",
        json!({}),
        Some(token),
    )
    .await;
    assert_eq!(me["me"]["username"], login.as_str());
    assert_eq!(me["me"]["email"], format!("{login}@oidc.example"));
    assert_eq!(me["me"]["emailVerified"], true);
    assert_eq!(me["me"]["linkedProviders"], json!(["plain"]));
    let no_id_tokens = post(
        &p.gateway,
        "mutation { signInWithIdToken(provider: \"plain\", idToken: \"x.y.z\", nonce: \"0123456789abcdefg\") { accessToken } }",
        json!({}),
        None,
    )
    .await;
    assert_eq!(error_code(&no_id_tokens), "BAD_USER_INPUT");
}

on_both_profiles!(
    plain_oauth2_providers_sign_in_through_user_info,
    web_sign_in_with_pkce_creates_a_verified_account_once,
    bad_oauth_requests_are_refused,
    app_redirect_scheme_receives_the_code,
    native_apps_exchange_a_provider_id_token,
    a_password_account_links_and_unlinks_a_provider,
);
