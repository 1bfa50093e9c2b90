//! A grammar-based generator of hostile requests, and a runner that sends them and
//! judges every answer: what an outside tester throws at a public GraphQL endpoint.
//!
//! Each case is drawn from a seeded RNG, so a failing case is reproduced by its seed
//! and index. Classes: deep, wide and long JSON; repeated, unknown, aliased and deeply
//! nested fields; fragment bombs; deep introspection; many directives; invalid UTF-8;
//! wrong types; garbage and truncated bodies; oversized bodies; and over WebSocket,
//! the same payloads plus protocol violations (out of order, repeated, unknown,
//! binary, oversized frames).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::client::connect_ws;

/// One hostile HTTP request.
#[derive(Debug, Clone)]
pub struct HttpCase {
    pub class: &'static str,
    pub method: &'static str,
    pub content_type: &'static str,
    /// Appended to the URL (`?query=…` for GET).
    pub query_string: String,
    pub body: Vec<u8>,
}

/// One hostile WebSocket exchange: frames sent in order after the handshake.
#[derive(Debug, Clone)]
pub struct WsCase {
    pub class: &'static str,
    pub frames: Vec<Message>,
}

/// What a response must never contain: signs of internals leaking.
pub const LEAKS: &[&str] = &[
    "panicked",
    "backtrace",
    ".rs:",
    "SELECT ",
    "INSERT ",
    "sqlx",
    "sea_orm",
    "DbErr",
    "/root/",
    "/home/",
    "/work/",
    "/tmp/",
    "127.0.0.1:",
];

fn nested(rng: &mut StdRng, depth: usize) -> String {
    let (open, close, leaf) = if rng.gen_bool(0.5) {
        ("[", "]", "1")
    } else {
        (r#"{"a":"#, "}", "true")
    };
    format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
}

fn ident(rng: &mut StdRng) -> String {
    format!("f{}", rng.gen_range(0..1_000_000u32))
}

fn gql_body(query: &str, variables: &str) -> Vec<u8> {
    format!(
        r#"{{"query":{},"variables":{variables}}}"#,
        serde_json::to_string(query).expect("string")
    )
    .into_bytes()
}

fn post(class: &'static str, body: Vec<u8>) -> HttpCase {
    HttpCase {
        class,
        method: "POST",
        content_type: "application/json",
        query_string: String::new(),
        body,
    }
}

/// A fragment bomb: `levels` fragments, each spreading the one below twice, so the
/// document selects 2^levels fields once expanded.
pub fn fragment_bomb(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ ...F{} ...F{} }}\n",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    doc
}

/// A GraphQL document of one hostile class (and its class name).
fn hostile_document(rng: &mut StdRng) -> (&'static str, String) {
    match rng.gen_range(0..9) {
        0 => {
            let n = rng.gen_range(100..12_000);
            (
                "repeated-fields",
                format!("{{ {} }}", "__typename ".repeat(n)),
            )
        }
        1 => {
            let n = rng.gen_range(50..8_000);
            let fields: Vec<String> = (0..n).map(|_| ident(rng)).collect();
            ("unknown-fields", format!("{{ {} }}", fields.join(" ")))
        }
        2 => {
            let n = rng.gen_range(13..3_000);
            (
                "deep-selection",
                format!("{{ {}id{} }}", "me { ".repeat(n), " }".repeat(n)),
            )
        }
        3 => {
            let n = rng.gen_range(19..400);
            (
                "deep-introspection",
                format!(
                    r#"{{ __type(name: "User") {{ {}name{} }} }}"#,
                    "ofType { ".repeat(n),
                    " }".repeat(n)
                ),
            )
        }
        4 => {
            let n = rng.gen_range(31..5_000);
            let aliases: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
            ("aliases", format!("{{ {} }}", aliases.join(" ")))
        }
        5 => ("fragment-bomb", fragment_bomb(rng.gen_range(10..40))),
        6 => {
            let n = rng.gen_range(51..3_000);
            (
                "directives",
                format!("{{ __typename {} }}", "@skip(if: false) ".repeat(n)),
            )
        }
        7 => {
            let n = rng.gen_range(1..2_000);
            ("unclosed", "{ me { ".repeat(n))
        }
        _ => {
            let n = rng.gen_range(1_000..200_000);
            (
                "long-string-literal",
                format!(r#"{{ user(id: "{}") {{ id }} }}"#, "x".repeat(n)),
            )
        }
    }
}

/// Draws one hostile HTTP request.
pub fn http_case(rng: &mut StdRng) -> HttpCase {
    match rng.gen_range(0..12) {
        0 => {
            let depth = rng.gen_range(33..20_000);
            let v = nested(rng, depth);
            post(
                "deep-variables",
                gql_body("{ __typename }", &format!(r#"{{"v":{v}}}"#)),
            )
        }
        1 => {
            let depth = rng.gen_range(33..20_000);
            let v = nested(rng, depth);
            post(
                "deep-extensions",
                format!(r#"{{"query":"{{ __typename }}","extensions":{{"e":{v}}}}}"#).into_bytes(),
            )
        }
        2 => {
            let depth = rng.gen_range(33..20_000);
            let v = nested(rng, depth);
            post("deep-body", v.into_bytes())
        }
        3 => {
            let n = rng.gen_range(1_000..100_000);
            let v = format!("[{}1]", "1,".repeat(n));
            post(
                "wide-variables",
                gql_body(
                    "query Q($v: [Int]) { __typename }",
                    &format!(r#"{{"v":{v}}}"#),
                ),
            )
        }
        4 => {
            let n = rng.gen_range(10_000..900_000);
            let v = format!(
                r#"{{"input":{{"login":"{}","password":"x"}}}}"#,
                "a".repeat(n)
            );
            post(
                "long-variable",
                gql_body(
                    "mutation L($input: LoginInput!) { login(input: $input) { accessToken } }",
                    &v,
                ),
            )
        }
        5 => {
            let mut body = gql_body("{ __typename }", "{}");
            let at = rng.gen_range(1..body.len());
            body.insert(at, 0xFF);
            body.insert(at, 0xC3);
            post("invalid-utf8", body)
        }
        6 => {
            let bodies = [
                r#"{"query":42}"#,
                r#"{"query":"{ __typename }","variables":"nope"}"#,
                r#"{"query":"{ __typename }","variables":[1,2]}"#,
                r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#,
                r#"{"query":"mutation L($input: LoginInput!) { login(input: $input) { accessToken } }","variables":{"input":{"login":7,"password":[]}}}"#,
                r#"{"query":"query U($id: ID!) { user(id: $id) { id } }","variables":{"id":{"$gt":""}}}"#,
                r#"{"query":"{ __typename }","operationName":{"a":1}}"#,
                r#"null"#,
                r#""""#,
            ];
            post(
                "wrong-types",
                bodies[rng.gen_range(0..bodies.len())].as_bytes().to_vec(),
            )
        }
        7 => {
            let n = rng.gen_range(1..4_096);
            let bytes: Vec<u8> = (0..n).map(|_| rng.r#gen::<u8>()).collect();
            post("garbage", bytes)
        }
        8 => {
            let full = gql_body("{ me { id username } }", r#"{"a":{"b":[1,2,3]}}"#);
            let cut = rng.gen_range(1..full.len());
            post("truncated", full[..cut].to_vec())
        }
        9 => {
            let (class, doc) = hostile_document(rng);
            HttpCase {
                class,
                method: "GET",
                content_type: "application/json",
                query_string: format!(
                    "?query={}",
                    doc.bytes()
                        .map(|b| format!("%{b:02X}"))
                        .collect::<String>()
                        .chars()
                        .take(60_000)
                        .collect::<String>()
                ),
                body: Vec::new(),
            }
        }
        10 => {
            let depth = rng.gen_range(33..5_000);
            let v = nested(rng, depth);
            HttpCase {
                class: "deep-get-variables",
                method: "GET",
                content_type: "application/json",
                query_string: format!("?query=%7B__typename%7D&variables=%7B%22v%22%3A{v}%7D"),
                body: Vec::new(),
            }
        }
        _ => {
            let (class, doc) = hostile_document(rng);
            post(class, gql_body(&doc, "{}"))
        }
    }
}

/// Draws one hostile WebSocket exchange.
pub fn ws_case(rng: &mut StdRng) -> WsCase {
    let init = || Message::Text(r#"{"type":"connection_init","payload":{}}"#.into());
    let subscribe = |query: &str, variables: &str| {
        Message::Text(
            format!(
                r#"{{"id":"{}","type":"subscribe","payload":{{"query":{},"variables":{variables}}}}}"#,
                "1",
                serde_json::to_string(query).expect("string")
            )
            .into(),
        )
    };
    match rng.gen_range(0..10) {
        0 => {
            let depth = rng.gen_range(129..20_000);
            let v = nested(rng, depth);
            WsCase {
                class: "ws-deep-init",
                frames: vec![Message::Text(
                    format!(r#"{{"type":"connection_init","payload":{{"x":{v}}}}}"#).into(),
                )],
            }
        }
        1 => {
            let depth = rng.gen_range(33..20_000);
            let v = nested(rng, depth);
            WsCase {
                class: "ws-deep-variables",
                frames: vec![
                    init(),
                    subscribe("{ __typename }", &format!(r#"{{"v":{v}}}"#)),
                ],
            }
        }
        2 => WsCase {
            class: "ws-subscribe-before-init",
            frames: vec![subscribe("subscription { notificationAdded { id } }", "{}")],
        },
        3 => WsCase {
            class: "ws-double-init",
            frames: vec![init(), init()],
        },
        4 => {
            let kinds = [
                r#"{"type":"nonsense"}"#,
                r#"{"type":"complete","id":"never-started"}"#,
                r#"{"id":"1"}"#,
                r#"[]"#,
                r#"{"type":"subscribe","id":"1","payload":7}"#,
                r#"{"type":"connection_init","payload":"x"}"#,
            ];
            WsCase {
                class: "ws-unknown-message",
                frames: vec![
                    init(),
                    Message::Text(kinds[rng.gen_range(0..kinds.len())].into()),
                ],
            }
        }
        5 => {
            let n = rng.gen_range(1..2_048);
            let bytes: Vec<u8> = (0..n).map(|_| rng.r#gen::<u8>()).collect();
            WsCase {
                class: "ws-binary",
                frames: vec![init(), Message::Binary(bytes.into())],
            }
        }
        6 => {
            let n = rng.gen_range(70_000..400_000);
            WsCase {
                class: "ws-oversized-frame",
                frames: vec![
                    init(),
                    subscribe(&format!("{{ {} }}", "__typename ".repeat(n / 11)), "{}"),
                ],
            }
        }
        7 => {
            let (class, doc) = hostile_document(rng);
            WsCase {
                class: if class == "fragment-bomb" {
                    "ws-fragment-bomb"
                } else {
                    "ws-hostile-document"
                },
                frames: vec![init(), subscribe(&doc, "{}")],
            }
        }
        8 => WsCase {
            class: "ws-bad-token",
            frames: vec![
                Message::Text(
                    r#"{"type":"connection_init","payload":{"Authorization":"Bearer not.a.token"}}"#
                        .into(),
                ),
                subscribe("subscription { notificationAdded { id } }", "{}"),
            ],
        },
        _ => {
            let n = rng.gen_range(1..300);
            let mut frames = vec![init()];
            frames.extend((0..n).map(|_| Message::Text(r#"{"type":"ping"}"#.into())));
            WsCase {
                class: "ws-ping-flood",
                frames,
            }
        }
    }
}

/// What the runner saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub cases: usize,
    /// Answers by `status/extensions.code` (or WebSocket close code).
    pub outcomes: BTreeMap<String, usize>,
    pub server_errors: Vec<String>,
    pub leaks: Vec<String>,
    /// Refusals (4xx) without a GraphQL error carrying `extensions.code`.
    pub uncoded: Vec<String>,
    pub slowest: Duration,
    pub slowest_class: &'static str,
}

impl Tally {
    fn record(&mut self, outcome: String, took: Duration, class: &'static str) {
        self.cases += 1;
        *self.outcomes.entry(outcome).or_default() += 1;
        if took > self.slowest {
            self.slowest = took;
            self.slowest_class = class;
        }
    }

    /// Refusals and answers, one line per kind.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!(
            "cases {} · 5xx {} · leaks {} · uncoded refusals {} · slowest {:?} ({})",
            self.cases,
            self.server_errors.len(),
            self.leaks.len(),
            self.uncoded.len(),
            self.slowest,
            self.slowest_class
        )];
        for (outcome, n) in &self.outcomes {
            lines.push(format!("  {outcome}: {n}"));
        }
        lines.join("\n")
    }
}

fn leak_in(text: &str) -> Option<&'static str> {
    LEAKS.iter().copied().find(|l| text.contains(l))
}

/// Sends `case` to `url` and records the answer.
/// Sends one HTTP case to `url`; `signature`, when given, is the gateway's (a case a
/// compromised or buggy gateway would forward straight to a subgraph).
pub async fn send_http(
    client: &reqwest::Client,
    url: &str,
    signature: Option<&str>,
    case: &HttpCase,
    tally: &mut Tally,
) {
    let started = Instant::now();
    let target = format!("{url}{}", case.query_string);
    let mut request = match case.method {
        "GET" => client.get(&target),
        _ => client
            .post(&target)
            .header("content-type", case.content_type)
            .body(case.body.clone()),
    }
    .header(
        "accept",
        "application/graphql-response+json, application/json",
    )
    .timeout(Duration::from_secs(30));
    if let Some(signature) = signature {
        request = request.header(crate::platform::SIGNATURE_HEADER, signature);
    }
    let outcome = match request.send().await {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if status.is_server_error() {
                tally
                    .server_errors
                    .push(format!("{} {status}: {}", case.class, cut(&text)));
            }
            if let Some(leak) = leak_in(&text) {
                tally
                    .leaks
                    .push(format!("{} leaked {leak:?}: {}", case.class, cut(&text)));
            }
            let code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v["errors"][0]["extensions"]["code"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "-".into());
            if code.starts_with("INTERNAL") {
                tally
                    .server_errors
                    .push(format!("{} {status}: {}", case.class, cut(&text)));
            }
            if status.is_client_error() && code == "-" {
                tally
                    .uncoded
                    .push(format!("{} to {url} {status}: {}", case.class, cut(&text)));
            }
            format!("{} {code}", status.as_u16())
        }
        // A refused oversized body may reach the client as a reset; the process's
        // survival is checked by the caller.
        Err(err) if err.is_timeout() => {
            tally
                .server_errors
                .push(format!("{} to {url}: no answer in 30 s", case.class));
            "timeout".into()
        }
        Err(_) => "connection closed".into(),
    };
    tally.record(outcome, started.elapsed(), case.class);
}

/// Runs `case` on a fresh WebSocket to `url` and records how it ended.
pub async fn send_ws(url: &str, case: &WsCase, tally: &mut Tally) {
    let started = Instant::now();
    let outcome = match connect_ws(url).await {
        Err(err) => format!("ws refused: {err}"),
        Ok(mut socket) => {
            for frame in &case.frames {
                if socket.send(frame.clone()).await.is_err() {
                    break;
                }
            }
            let mut outcome = "ws open".to_string();
            // Until the server closes, or stays quiet for a moment (a case it simply
            // ignores, or an answer that has all arrived).
            while let Ok(Some(Ok(message))) =
                tokio::time::timeout(Duration::from_millis(300), socket.next()).await
            {
                match message {
                    Message::Close(frame) => {
                        let code = frame.map_or(CloseCode::Status, |f| f.code);
                        if matches!(code, CloseCode::Error) || u16::from(code) == 4500 {
                            tally
                                .server_errors
                                .push(format!("{}: closed with {code}", case.class));
                        }
                        outcome = format!("ws close {}", u16::from(code));
                        break;
                    }
                    Message::Text(text) => {
                        if let Some(leak) = leak_in(&text) {
                            tally.leaks.push(format!(
                                "{} leaked {leak:?}: {}",
                                case.class,
                                cut(&text)
                            ));
                        }
                        let v: Value = serde_json::from_str(&text).unwrap_or_default();
                        if v["type"] == "error" || v["type"] == "next" {
                            let code = v["payload"][0]["extensions"]["code"]
                                .as_str()
                                .or(v["payload"]["errors"][0]["extensions"]["code"].as_str())
                                .unwrap_or("-");
                            if code.starts_with("INTERNAL") {
                                tally
                                    .server_errors
                                    .push(format!("{}: {}", case.class, cut(&text)));
                            }
                            outcome = format!("ws {} {code}", v["type"].as_str().unwrap_or("?"));
                        }
                    }
                    _ => {}
                }
            }
            let _ = socket.close(None).await;
            outcome
        }
    };
    tally.record(outcome, started.elapsed(), case.class);
}

fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

/// A seeded generator for one run.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
