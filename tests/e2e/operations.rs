//! What operators watch: every subgraph's `/metrics` moving with traffic, and the
//! Grafana board asking only for series the platform serves.

use std::collections::BTreeSet;
use std::time::Duration;

use echostream_testkit::client::{Subscription, eventually, metric, post_with_headers};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, direct_conversation, friends, send, signed_up};
use serde_json::json;

use crate::on_both_profiles;
use crate::start as start_platform;

/// The Prometheus text of subgraph `name` (or of the gateway, for `"gateway"`).
async fn scrape(p: &Platform, name: &str) -> String {
    let url = if name == "gateway" {
        format!("{}/metrics", p.gateway_base())
    } else {
        p.subgraph_url(name).replace("/graphql", "/metrics")
    };
    let response = reqwest::get(&url).await.expect("/metrics answers");
    assert_eq!(response.status(), 200, "{name} /metrics");
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/plain"), "{name}: {kind}");
    response.text().await.unwrap()
}

/// A wrong-password sign-in as `login` at `url` (the gateway, or a subgraph), with
/// `headers`; the whole response.
pub(crate) async fn wrong_password(
    url: &str,
    login: &str,
    headers: &[(&str, &str)],
) -> serde_json::Value {
    post_with_headers(
        url,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        json!({ "i": { "login": login, "password": "not the password" } }),
        None,
        headers,
    )
    .await
}

/// Two friends, their direct conversation, and the second one's live `chatEvents`.
async fn conversation_with_a_live_reader(p: &Platform) -> (Person, Person, String, Subscription) {
    let (ann, bob) = friends(p).await;
    let conversation = direct_conversation(p, &ann, &bob).await;
    let live = Subscription::start(
        &p.gateway,
        "subscription { chatEvents { position } }",
        json!({}),
        &bob.token,
    )
    .await;
    (ann, bob, conversation, live)
}

/// Requests by root field and outcome, their latency, live sockets and
/// subscriptions, sign-in failures, rate-limit refusals and mail each move with
/// traffic; the outbox backlog and consumer lag are served and drain to zero.
async fn subgraph_metrics_move_with_traffic(profile: Profile) {
    let p = start_platform(profile).await;
    let before_chat = scrape(&p, "chat").await;
    let before_auth = scrape(&p, "auth").await;
    let (ann, _bob, conversation, live) = conversation_with_a_live_reader(&p).await;
    for i in 0..3 {
        send(
            &p,
            &ann,
            &conversation,
            &format!("metered {i}"),
            &format!("m-{i}"),
        )
        .await;
    }
    let sent = r#"field="sendMessage""#;
    let chat = eventually(
        "the live subscription counted",
        Duration::from_secs(10),
        || async {
            let text = scrape(&p, "chat").await;
            (metric(
                &text,
                "echostream_subscriptions",
                &[r#"field="chatEvents""#],
            ) >= 1.0)
                .then_some(text)
        },
    )
    .await;
    let chat_label = r#"subgraph="chat""#;
    assert_eq!(
        metric(
            &chat,
            "echostream_graphql_requests_total",
            &[chat_label, sent, r#"code="OK""#]
        ) - metric(
            &before_chat,
            "echostream_graphql_requests_total",
            &[chat_label, sent, r#"code="OK""#]
        ),
        3.0,
        "three messages counted"
    );
    assert!(
        metric(
            &chat,
            "echostream_graphql_request_duration_seconds_count",
            &[sent]
        ) >= 3.0,
        "their latency is in the histogram"
    );
    assert!(metric(&chat, "echostream_websocket_connections", &[chat_label]) >= 1.0);
    // The series of other subgraphs stay on their own port.
    assert!(
        !chat.contains(r#"subgraph="auth""#),
        "chat shows only its own series"
    );
    drop(live);
    eventually(
        "the closed subscription uncounted",
        Duration::from_secs(10),
        || async {
            let text = scrape(&p, "chat").await;
            (metric(
                &text,
                "echostream_subscriptions",
                &[r#"field="chatEvents""#],
            ) == 0.0)
                .then_some(())
        },
    )
    .await;

    // Five wrong passwords, then the sixth attempt refused outright.
    for _ in 0..6 {
        let wrong = wrong_password(&p.gateway, &ann.username, &[]).await;
        assert!(wrong.get("errors").is_some(), "{wrong}");
    }
    let auth = scrape(&p, "auth").await;
    let moved = |name: &str, labels: &[&str]| {
        metric(&auth, name, labels) - metric(&before_auth, name, labels)
    };
    assert_eq!(
        moved(
            "echostream_sign_in_failures_total",
            &[r#"reason="wrong_credentials""#]
        ),
        5.0
    );
    assert_eq!(
        moved(
            "echostream_sign_in_failures_total",
            &[r#"reason="rate_limited""#]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "echostream_rate_limit_refusals_total",
            &[r#"field="login""#]
        ),
        1.0
    );
    assert!(
        moved(
            "echostream_graphql_errors_total",
            &[r#"code="UNAUTHENTICATED""#]
        ) >= 5.0,
        "errors by code"
    );
    assert!(
        moved("echostream_mail_sent_total", &[r#"result="ok""#]) >= 2.0,
        "two sign-up mails sent"
    );
    assert_eq!(metric(&auth, "echostream_mail_in_flight", &[]), 0.0);

    // What the relay and the consumers have yet to do drains to nothing.
    eventually("outboxes and consumers caught up", Duration::from_secs(30), || async {
        let mut settled = true;
        for name in ["chat", "notification"] {
            let text = scrape(&p, name).await;
            for series in ["echostream_outbox_backlog", "echostream_outbox_oldest_age_seconds"] {
                assert!(text.contains(&format!("{series}{{subgraph=\"{name}\"}}")), "{name}: {series}");
                settled &= metric(&text, series, &[]) == 0.0;
            }
            settled &= metric(&text, "echostream_dead_letters", &[]) == 0.0;
        }
        let notification = scrape(&p, "notification").await;
        let lag = r#"topic="chat""#;
        assert!(
            notification.contains(
                "echostream_consumer_lag{group=\"notification\",subgraph=\"notification\",topic=\"chat\"}"
            ),
            "{notification}"
        );
        settled &= metric(&notification, "echostream_consumer_lag", &[lag]) == 0.0;
        settled.then_some(())
    })
    .await;
}

on_both_profiles!(subgraph_metrics_move_with_traffic);

/// Every series the Grafana board (`observability/`) asks for is one the platform
/// serves once traffic has run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_asks_only_for_served_metrics() {
    let board: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/observability/grafana/dashboards/echostream.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let asked: BTreeSet<String> = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().clone())
        .flat_map(|target| {
            let expr = target["expr"].as_str().unwrap().to_string();
            // Metric names: identifiers followed by `[`, `{`, `)` or the end.
            let mut names = Vec::new();
            let mut word = String::new();
            for c in expr.chars().chain([' ']) {
                if c.is_ascii_alphanumeric() || c == '_' {
                    word.push(c);
                    continue;
                }
                if (c == '[' || c == '{' || c == ')' || c == ' ') && word.contains('_') {
                    names.push(std::mem::take(&mut word));
                }
                word.clear();
            }
            names
        })
        .filter(|name| {
            name.starts_with("echostream_")
                || name.starts_with("hive_")
                || name.starts_with("http_")
        })
        .collect();
    assert!(
        asked.len() >= 15,
        "the board asks for the figures: {asked:?}"
    );

    let p = start_platform(Profile::Embedded).await;
    let (ann, _bob, conversation, _live) = conversation_with_a_live_reader(&p).await;
    send(&p, &ann, &conversation, "for the board", "board-1").await;
    wrong_password(&p.gateway, &ann.username, &[]).await;
    let mut served = String::new();
    for name in [
        "gateway",
        "auth",
        "profile",
        "chat",
        "presence",
        "notification",
    ] {
        served.push_str(&scrape(&p, name).await);
    }
    // Series that appear once what they count has happened at least once.
    let on_first_event = [
        "hive_router_subscriptions_clients_lagged_messages_total",
        "echostream_rate_limit_refusals_total",
    ];
    for name in &asked {
        if on_first_event.contains(&name.as_str()) {
            continue;
        }
        assert!(
            served
                .lines()
                .any(|line| line.starts_with(&format!("{name}{{"))
                    || line.starts_with(&format!("{name} "))),
            "the board asks for {name}, which no /metrics serves"
        );
    }
}

/// With `telemetry.log_format = "json"` the log lines are JSON objects, and a
/// subgraph's lines while it serves a request carry that request's id: the client's
/// `X-Request-Id`, passed on by the gateway.
async fn json_log_lines_carry_the_request_id(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[
            ("ECHOSTREAM_TELEMETRY__LOG_FORMAT", "json"),
            ("LOG_LEVEL", "info"),
        ],
    )
    .await;
    let ann = signed_up(&p, "logann").await;
    let request_id = format!("probe-{}", std::process::id());
    let refused = wrong_password(
        &p.gateway,
        &ann.username,
        &[("x-request-id", request_id.as_str())],
    )
    .await;
    assert!(refused.get("errors").is_some(), "{refused}");
    let line = eventually("the refusal logged", Duration::from_secs(10), || async {
        p.log().lines().find_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            (value["message"] == "sign-in refused"
                || value["fields"]["message"] == "sign-in refused")
                .then_some(value)
        })
    })
    .await;
    let text = line.to_string();
    assert!(
        text.contains(&request_id),
        "the subgraph's line carries the request id: {line}"
    );
    assert!(text.contains("wrong_credentials"), "{line}");
    // Every line the platform wrote as a log line is one JSON object (the banner and
    // a debug build's warning are plain text, printed before logging starts).
    let log = p.log();
    let logged: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("\"level\""))
        .map(str::trim)
        .collect::<Vec<_>>();
    assert!(logged.len() > 3, "log lines were written");
    for line in logged {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
}

on_both_profiles!(json_log_lines_carry_the_request_id);

/// The release binary stands alone: started from a directory holding nothing of
/// the repository, it serves the built-in supergraph and playground, and it says
/// "is up" only once the gateway accepts connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_from_any_directory_and_says_up_only_when_it_is() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::faults::free_port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_echostream"));
    command
        .current_dir(dir.path())
        .env("ECHOSTREAM_GATEWAY__PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for name in ["AUTH", "PROFILE", "CHAT", "PRESENCE", "NOTIFICATION"] {
        let port = crate::faults::free_port();
        command.env(format!("ECHOSTREAM_LISTEN__{name}_PORT"), port.to_string());
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let up = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.contains("EchoStream is up") {
                // Said only once the gateway listens: it answers at once.
                let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
                return Some((line, listening));
            }
        }
        None
    });
    let (line, listening) = tokio::time::timeout(Duration::from_secs(120), up)
        .await
        .expect("up within 2 minutes")
        .unwrap()
        .expect("the platform says it is up");
    assert!(listening, "the gateway listens when it says so: {line}");
    let base = format!("http://127.0.0.1:{port}");
    let page = reqwest::Client::new()
        .get(format!("{base}/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("/playground/graphiql.min.js")
    );
    let asset = reqwest::get(format!("{base}/playground/graphiql.min.css"))
        .await
        .unwrap();
    assert!(asset.status().is_success());
    let body = echostream_testkit::client::post(
        &format!("{base}/graphql"),
        "{ __type(name: \"Conversation\") { name } }",
        serde_json::json!({}),
        None,
    )
    .await;
    assert_eq!(body["data"]["__type"]["name"], "Conversation", "{body}");
    assert!(
        dir.path().join("data/supergraph.graphql").exists(),
        "the built-in supergraph written beside the data"
    );
    let _ = child.kill();
    let _ = child.wait();
}
