//! The foundation flow, one asserted step per test, on both profiles:
//! register → code by mail → verify → login → find → befriend → direct conversation
//! → message over a subscription (with the sender's profile from another subgraph)
//! → notification → presence.

use std::time::Duration;

use serde_json::{Value, json};

use echostream_testkit::client::{Subscription, data, error_code, eventually, metric, post};
use echostream_testkit::mail::code_sent_to;
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{
    MESSAGES, PASSWORD, WAIT, direct_conversation, find, friends, login, presence_of, quiet_device,
    register, send, signed_up, unique, verify, wait_for_presence,
};

use crate::on_both_profiles;
use crate::start as start_platform;

async fn register_mails_a_six_digit_code(profile: Profile) {
    let p = start_platform(profile).await;
    let username = unique("carol");
    let user = register(&p, &username).await;
    assert_eq!(user["username"], username.as_str());
    assert_eq!(user["emailVerified"], false);
    let code = code_sent_to(&p, &format!("{username}@example.com")).await;
    assert_eq!(code.len(), 6);
}

async fn verified_user_logs_in_with_a_signed_jwt(profile: Profile) {
    let p = start_platform(profile).await;
    let username = unique("dave");
    register(&p, &username).await;
    // Unverified accounts cannot sign in.
    let early = post(
        &p.gateway,
        "mutation L($input: LoginInput!) { login(input: $input) { accessToken } }",
        json!({ "input": { "login": username, "password": PASSWORD } }),
        None,
    )
    .await;
    assert_eq!(error_code(&early), "FORBIDDEN");
    // A wrong code is refused.
    let wrong = post(
        &p.gateway,
        "mutation V($e: String!) { verifyEmail(email: $e, code: \"000000\") { id } }",
        json!({ "e": format!("{username}@example.com") }),
        None,
    )
    .await;
    let real = code_sent_to(&p, &format!("{username}@example.com")).await;
    if real != "000000" {
        assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    }
    verify(&p, &username).await;
    let person = login(&p, &username).await;
    assert_eq!(person.token.split('.').count(), 3, "a JWS compact token");
    let me = data(
        &p.gateway,
        "{ me { id username email emailVerified } }",
        json!({}),
        Some(&person.token),
    )
    .await;
    assert_eq!(me["me"]["id"], person.id.as_str());
    assert_eq!(me["me"]["email"], format!("{username}@example.com"));
    // A wrong password is refused without saying which part was wrong.
    let bad = post(
        &p.gateway,
        "mutation L($input: LoginInput!) { login(input: $input) { accessToken } }",
        json!({ "input": { "login": username, "password": "not the password" } }),
        None,
    )
    .await;
    assert_eq!(error_code(&bad), "UNAUTHENTICATED");
}

async fn user_finds_another_by_username(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let found = find(&p, &bob, &ann).await;
    assert_eq!(found["username"], ann.username.as_str());
    assert_eq!(
        found["displayName"],
        ann.username.as_str(),
        "display name defaults to the username"
    );
}

async fn accepted_friend_request_makes_friends(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let list = data(
        &p.gateway,
        "{ friends { edges { node { id username } } } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    let first = &list["friends"]["edges"][0]["node"];
    assert_eq!(first["id"], bob.id.as_str());
    assert_eq!(
        first["username"],
        bob.username.as_str(),
        "username resolved by auth"
    );
    let status = data(
        &p.gateway,
        "query U($id: ID!) { user(id: $id) { friendship } }",
        json!({ "id": ann.id }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(status["user"]["friendship"], "FRIENDS");
}

async fn friends_start_a_direct_conversation(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let again = direct_conversation(&p, &bob, &ann).await;
    assert_eq!(id, again, "one direct conversation per pair");
    let stranger = signed_up(&p, "eve").await;
    let refused = post(
        &p.gateway,
        "mutation D($u: ID!) { startDirectConversation(userId: $u) { id } }",
        json!({ "u": ann.id }),
        Some(&stranger.token),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}

async fn sent_message_reaches_the_recipient_subscription_with_sender_profile(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &ann, &bob).await;
    let tablet = quiet_device(&p, &bob).await;
    let mut inbox = Subscription::start(&p.gateway, MESSAGES, json!({}), &tablet.token).await;
    // The subscription is live once presence shows Bob online.
    wait_for_presence(&p, &ann, &bob, "ONLINE").await;
    let sent = send(&p, &ann, &conversation, "hello bob", "k-1").await;
    assert_eq!(sent["seq"], 1);
    let event = inbox.next(WAIT).await.expect("the message event");
    let message = &event["data"]["messageAdded"];
    assert_eq!(message["id"], sent["id"], "{event}");
    assert_eq!(message["body"], "hello bob");
    assert_eq!(message["conversationId"], conversation.as_str());
    assert_eq!(message["sender"]["id"], ann.id.as_str());
    assert_eq!(
        message["sender"]["username"],
        ann.username.as_str(),
        "from auth"
    );
    assert_eq!(
        message["sender"]["displayName"],
        ann.username.as_str(),
        "from profile"
    );
    inbox.close().await;
}

async fn message_notifies_the_recipient_feed_and_subscription(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &ann, &bob).await;
    let tablet = quiet_device(&p, &bob).await;
    let mut alerts = Subscription::start(
        &p.gateway,
        "subscription { notificationAdded { id kind messageId payload } }",
        json!({}),
        &tablet.token,
    )
    .await;
    wait_for_presence(&p, &ann, &bob, "ONLINE").await;
    let sent = send(&p, &ann, &conversation, "ping", "k-n").await;
    // Bob's own "request accepted" notice may still be on its way: skip it.
    let event = loop {
        let event = alerts.next(WAIT).await.expect("a notification event");
        if event["data"]["notificationAdded"]["kind"] != "FRIEND_REQUEST_ACCEPTED" {
            break event;
        }
    };
    let live = &event["data"]["notificationAdded"];
    assert_eq!(live["kind"], "MESSAGE");
    assert_eq!(live["messageId"], sent["id"]);
    // Names come from auth's events, which may still be on their way.
    let feed = eventually("the item written with ann's name", WAIT, || async {
        let feed = data(
            &p.gateway,
            "{ notifications { edges { node { id kind title text count messageId read } } } unreadNotificationCount }",
            json!({}),
            Some(&bob.token),
        )
        .await;
        feed.to_string().contains(&ann.username).then_some(feed)
    })
    .await;
    let stored: Vec<&Value> = feed["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["kind"] == "MESSAGE")
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], live["id"]);
    assert_eq!(
        (stored[0]["title"].as_str(), stored[0]["text"].as_str()),
        (Some(ann.username.as_str()), Some("ping")),
        "{feed}"
    );
    assert!(feed["unreadNotificationCount"].as_u64().unwrap() >= 1);
    // The sender is not notified of their own message.
    let own = echostream_testkit::scenario::notifications(&p, &ann, "kind").await;
    assert!(own.iter().all(|n| n["kind"] != "MESSAGE"), "{own:?}");
    alerts.close().await;
}

async fn subscriber_is_online_then_offline_with_last_seen(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    // Presence shows to friends once presence has learnt the friendship; Bob's
    // requests so far were his device's activity.
    let before = eventually("presence visible to a friend", WAIT, || async {
        let now = presence_of(&p, &ann, &bob).await;
        (!now.is_null()).then_some(now)
    })
    .await;
    assert_eq!(before["status"], "ONLINE", "{before}");
    assert!(before["lastSeenAt"].is_string());
    // Bob's app opens its inbox; a message reaching it shows the subscription is
    // live all the way (his earlier requests already made him present).
    let conversation = direct_conversation(&p, &ann, &bob).await;
    let mut inbox = Subscription::start(&p.gateway, MESSAGES, json!({}), &bob.token).await;
    // (A message sent before the subscription reached chat is not replayed: ask
    // again until one arrives.)
    let mut asked = 0;
    loop {
        asked += 1;
        let key = format!("presence-{asked}");
        send(&p, &ann, &conversation, "are you there?", &key).await;
        if inbox.next(Duration::from_secs(1)).await.is_some() {
            break;
        }
        assert!(asked < 30, "the inbox never became live");
    }
    wait_for_presence(&p, &ann, &bob, "ONLINE").await;
    // Closing the app (its last subscription) takes the device offline at once,
    // without waiting for its last request's activity to expire.
    inbox.close().await;
    let after = wait_for_presence(&p, &ann, &bob, "OFFLINE").await;
    let seen = after["lastSeenAt"].as_str().expect("a last-seen time");
    let seen = chrono::DateTime::parse_from_rfc3339(seen).expect("RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(seen);
    assert!(
        age < chrono::Duration::seconds(60),
        "last seen just now, not {age}"
    );
}

async fn resending_with_the_same_idempotency_key_stores_one_message(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &ann, &bob).await;
    let first = send(&p, &ann, &conversation, "once", "same-key").await;
    let retry = send(&p, &ann, &conversation, "once", "same-key").await;
    assert_eq!(first["id"], retry["id"]);
    let next = send(&p, &ann, &conversation, "twice", "other-key").await;
    assert_eq!(next["seq"], 2, "seq has no gap and no duplicate");
    let history = data(
        &p.gateway,
        "query C($id: ID!) { conversation(id: $id) { lastSeq messages { nodes { seq body } } } }",
        json!({ "id": conversation }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(history["conversation"]["lastSeq"], 2);
    assert_eq!(
        history["conversation"]["messages"]["nodes"],
        json!([{ "seq": 1, "body": "once" }, { "seq": 2, "body": "twice" }])
    );
}

async fn bad_input_gets_coded_errors(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &ann, &bob).await;
    let register = "mutation R($input: RegisterInput!) { register(input: $input) { id } }";
    let cases: Vec<(&str, Value, Option<&str>, &str)> = vec![
        (
            register,
            json!({ "input": { "email": "not-an-email", "username": "zed_ok", "password": PASSWORD } }),
            None,
            "BAD_USER_INPUT",
        ),
        (
            register,
            json!({ "input": { "email": "z@example.com", "username": "a b", "password": PASSWORD } }),
            None,
            "BAD_USER_INPUT",
        ),
        (
            register,
            json!({ "input": { "email": "z@example.com", "username": "zed_ok", "password": "short" } }),
            None,
            "BAD_USER_INPUT",
        ),
        (
            register,
            json!({ "input": { "email": "x@example.com", "username": ann.username.to_uppercase(), "password": PASSWORD } }),
            None,
            "CONFLICT",
        ),
        (
            "mutation { verifyEmail(email: \"nobody@example.com\", code: \"12x456\") { id } }",
            json!({}),
            None,
            "BAD_USER_INPUT",
        ),
        ("{ me { id } }", json!({}), None, "UNAUTHENTICATED"),
        (
            "{ conversations { edges { node { id } } } }",
            json!({}),
            None,
            "UNAUTHENTICATED",
        ),
        (
            "query { user(id: \"not-a-uuid\") { id } }",
            json!({}),
            Some(&ann.token),
            "BAD_USER_INPUT",
        ),
        (
            "query { conversation(id: \"0190a000-0000-7000-8000-000000000000\") { id } }",
            json!({}),
            Some(&ann.token),
            "NOT_FOUND",
        ),
        (
            "mutation { sendFriendRequest(username: \"no_such_user_x\") { id } }",
            json!({}),
            Some(&ann.token),
            "NOT_FOUND",
        ),
        (
            "mutation M($c: ID!) { sendMessage(input: { conversationId: $c, body: \"   \", idempotencyKey: \"k\" }) { id } }",
            json!({ "c": conversation }),
            Some(&ann.token),
            "BAD_USER_INPUT",
        ),
        (
            "mutation M($c: ID!) { sendMessage(input: { conversationId: $c, body: \"hi\", idempotencyKey: \"\" }) { id } }",
            json!({ "c": conversation }),
            Some(&ann.token),
            "BAD_USER_INPUT",
        ),
        (
            "{ searchUsers(query: \"\") { edges { cursor } } }",
            json!({}),
            Some(&ann.token),
            "BAD_USER_INPUT",
        ),
        (
            "{ notifications(first: 0) { edges { cursor } } }",
            json!({}),
            Some(&ann.token),
            "BAD_USER_INPUT",
        ),
    ];
    for (query, variables, token, code) in cases {
        let body = post(&p.gateway, query, variables.clone(), token).await;
        assert_eq!(error_code(&body), code, "{query} {variables} → {body}");
        let text = body.to_string().to_lowercase();
        for leak in ["sqlx", "sqlite", "postgres", "select ", "panicked"] {
            assert!(!text.contains(leak), "internal detail leaked: {body}");
        }
    }
    // Nothing stored was harmed: the conversation still works.
    assert_eq!(
        send(&p, &ann, &conversation, "still fine", "after-bad").await["seq"],
        1
    );
}

async fn tampered_tokens_are_refused(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let mut parts: Vec<String> = ann.token.split('.').map(str::to_string).collect();
    // Flip the payload: the signature no longer matches.
    parts[1] = format!("{}x", &parts[1][..parts[1].len() - 1]);
    let forged = parts.join(".");
    let body = post(&p.gateway, "{ me { id } }", json!({}), Some(&forged)).await;
    assert!(body.get("data").is_none_or(|d| d["me"].is_null()), "{body}");
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    // Straight to a subgraph, bypassing the gateway: the subgraph verifies too.
    let direct = p
        .post_as_gateway("auth", "{ me { id } }", json!({}), Some(&forged))
        .await;
    assert_eq!(error_code(&direct), "UNAUTHENTICATED");
}

/// The gateway's `/metrics` (Prometheus text): requests counted per operation name,
/// their latency in a histogram, GraphQL errors by code — each moves with traffic.
async fn gateway_metrics_move_with_traffic(profile: Profile) {
    let p = start_platform(profile).await;
    let url = p.gateway.replace("/graphql", "/metrics");
    let scrape = || async {
        let response = reqwest::get(&url).await.expect("the gateway answers");
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let probe = r#"graphql_operation_name="MetricsProbe""#;
    let before = scrape().await;
    for _ in 0..3 {
        post(
            &p.gateway,
            "query MetricsProbe { __typename }",
            json!({}),
            None,
        )
        .await;
    }
    let refused = post(&p.gateway, "query MetricsBad { nope }", json!({}), None).await;
    assert!(refused.get("errors").is_some(), "{refused}");
    let after = scrape().await;
    let count = "http_server_request_duration_seconds_count";
    assert_eq!(metric(&before, count, &[probe]), 0.0);
    assert_eq!(
        metric(&after, count, &[probe]),
        3.0,
        "three requests counted"
    );
    assert!(
        metric(
            &after,
            "http_server_request_duration_seconds_bucket",
            &[probe, r#"le="+Inf""#]
        ) >= 3.0,
        "their latency is in the histogram"
    );
    let errors = "hive_router_graphql_errors_total";
    let code = r#"code="FieldsOnCorrectType""#;
    assert_eq!(
        metric(&after, errors, &[code]) - metric(&before, errors, &[code]),
        1.0,
        "the refused request counted under its code"
    );
}

async fn playground_is_served_at_the_root(profile: Profile) {
    let p = start_platform(profile).await;
    let base = p.gateway_base();
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert!(page.status().is_success());
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>EchoStream playground</title>"));
    // Everything the page loads comes from the gateway itself, and is there.
    let sources: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|source| !source.starts_with("data:"))
        .collect();
    for needed in [
        "/playground/react.production.min.js",
        "/playground/react-dom.production.min.js",
        "/playground/graphiql.min.js",
        "/playground/graphiql.min.css",
    ] {
        assert!(sources.contains(&needed), "the page loads {needed}");
    }
    for source in &sources {
        assert!(
            source.starts_with("/playground/"),
            "the page loads {source} from elsewhere"
        );
        let asset = reqwest::get(format!("{base}{source}")).await.unwrap();
        assert_eq!(asset.status(), 200, "{source}");
        let kind = asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let expected = if source.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(kind.starts_with(expected), "{source}: {kind}");
        assert!(
            asset.bytes().await.unwrap().len() > 1_000,
            "{source} is whole"
        );
    }
    // Unknown paths are a plain 404; a browser opening the endpoint is sent to the
    // playground, while clients still reach the API there.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/nope", "/playground/nope.js", "/graphqlx", "/index.html"] {
        let r = no_redirects
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            !r.text().await.unwrap().contains("http"),
            "{path}: no page to load"
        );
    }
    let browser = no_redirects
        .get(format!("{base}/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 302);
    assert_eq!(browser.headers()["location"], "/");
    let get_query = no_redirects
        .get(format!("{base}/graphql?query=%7B__typename%7D"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(get_query.status(), 200);
    // The gateway's /ready asks every subgraph.
    let (status, ready) = crate::faults::gateway_ready(&p).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready", "{ready}");
    for (name, _) in &p.subgraph_ports {
        assert_eq!(
            ready["subgraphs"][name]["status"], "ready",
            "{name}: {ready}"
        );
    }
    // The gateway's own health route (the router's: 200, no body), and each
    // subgraph's liveness and readiness with what they say.
    let health = reqwest::get(format!("{}/health", p.gateway_base()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "");
    for (name, _) in &p.subgraph_ports {
        let base = p
            .subgraph_url(name)
            .trim_end_matches("/graphql")
            .to_string();
        let health = reqwest::get(format!("{base}/health")).await.unwrap();
        assert_eq!(health.status(), 200, "{name} /health");
        assert_eq!(health.text().await.unwrap(), "ok", "{name} /health");
        let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
        assert_eq!(ready.status(), 200, "{name} /ready");
        let ready: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(ready["status"], "ready", "{name} /ready: {ready}");
    }
}

/// Over WebSocket, a mistyped subscription is refused naming the field, as over
/// HTTP; a client's close frame is answered with its code (a clean close, not 1006).
async fn subscription_errors_name_the_field_and_a_close_is_answered(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "wsann").await;
    let mut mistyped = Subscription::start(
        &p.gateway,
        "subscription Typo { chatEventz { position } }",
        json!({}),
        &ann.token,
    )
    .await;
    let refusal = mistyped
        .message(Duration::from_secs(10))
        .await
        .expect("a refusal");
    assert_eq!(refusal["type"], "error", "{refusal}");
    let error = &refusal["payload"][0];
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("chatEventz"), "names the field: {refusal}");
    assert!(error["locations"][0]["line"].is_number(), "{refusal}");
    assert!(error["extensions"]["code"].is_string(), "{refusal}");
    assert_eq!(
        mistyped.close_with(1000).await,
        Some(1000),
        "the close is answered"
    );

    let live = Subscription::start(
        &p.gateway,
        "subscription { chatEvents { position } }",
        json!({}),
        &ann.token,
    )
    .await;
    assert_eq!(
        live.close_with(4000).await,
        Some(4000),
        "with the client's own code"
    );
}

on_both_profiles!(
    subscription_errors_name_the_field_and_a_close_is_answered,
    gateway_metrics_move_with_traffic,
    register_mails_a_six_digit_code,
    verified_user_logs_in_with_a_signed_jwt,
    user_finds_another_by_username,
    accepted_friend_request_makes_friends,
    friends_start_a_direct_conversation,
    sent_message_reaches_the_recipient_subscription_with_sender_profile,
    message_notifies_the_recipient_feed_and_subscription,
    subscriber_is_online_then_offline_with_last_seen,
    resending_with_the_same_idempotency_key_stores_one_message,
    bad_input_gets_coded_errors,
    tampered_tokens_are_refused,
    playground_is_served_at_the_root,
);
