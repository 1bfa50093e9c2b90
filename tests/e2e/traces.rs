//! One `sendMessage` is one trace, from the gateway through chat, the outbox, the
//! event log (the Kafka message's `traceparent` header in the services profile) and
//! the consumer to the subscription's delivery: the platform exports its spans over
//! OTLP/HTTP to a collector this test runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post as route_post;
use echostream_testkit::client::{Subscription, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{direct_conversation, friends};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use serde_json::json;

use crate::on_both_profiles;

/// One span as the collector received it.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: Vec<(String, String)>,
}

impl Span {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

/// A local OTLP/HTTP collector: keeps every span posted to `/v1/traces`.
async fn collector() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
    let kept = Arc::clone(&spans);
    let app = axum::Router::new().route(
        "/v1/traces",
        route_post(move |body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut kept = kept.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| r.attributes.iter())
                        .find(|kv| kv.key == "service.name")
                        .map(|kv| text(kv.value.as_ref()))
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            kept.push(Span {
                                service: service.clone(),
                                name: span.name,
                                trace_id: span.trace_id,
                                span_id: span.span_id,
                                parent_span_id: span.parent_span_id,
                                attributes: span
                                    .attributes
                                    .iter()
                                    .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                                    .collect(),
                            });
                        }
                    }
                }
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, spans)
}

async fn one_send_message_is_one_trace(profile: Profile) {
    let (endpoint, spans) = collector().await;
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[
            ("ECHOSTREAM_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
            ("ECHOSTREAM_TELEMETRY__OTLP_BATCH_DELAY_MS", "200"),
        ],
    )
    .await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &ann, &bob).await;
    let mut inbox = Subscription::start(
        &p.gateway,
        "subscription { chatEvents { __typename ... on MessageAdded { message { body } } } }",
        json!({}),
        &bob.token,
    )
    .await;
    // The subscription is live once it carries what is sent: send until it does.
    let mut received = None;
    for attempt in 0..15 {
        let sent = post(
            &p.gateway,
            "mutation TraceProbe($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
            json!({ "i": { "conversationId": conversation, "body": "traced", "idempotencyKey": format!("trace-{attempt}") } }),
            Some(&ann.token),
        )
        .await;
        assert!(sent.get("errors").is_none(), "{sent}");
        if let Some(event) = inbox.next(Duration::from_secs(2)).await {
            received = Some(event);
            break;
        }
    }
    let body = received.expect("the subscription carried a message");
    assert_eq!(body["data"]["chatEvents"]["message"]["body"], "traced");

    // The gateway's span of the operation starts the trace; chat's request, the
    // outbox publish, the consumer and the delivery are in it.
    let trace = eventually(
        "the whole trace at the collector",
        Duration::from_secs(30),
        || async {
            let spans = spans.lock().unwrap().clone();
            let probe = spans
                .iter()
                .rev()
                .find(|s| s.attribute("graphql.operation.name") == Some("TraceProbe"))?;
            let trace: Vec<Span> = spans
                .iter()
                .filter(|s| s.trace_id == probe.trace_id)
                .cloned()
                .collect();
            let has = |name: &str, key: &str, value: &str| {
                trace
                    .iter()
                    .any(|s| s.name == name && s.attribute(key) == Some(value))
            };
            (has("graphql request", "subgraph", "chat")
                && has("outbox publish", "event", "chat.message.sent")
                && has("consume", "group", "chat-fanout")
                && trace.iter().any(|s| s.name == "deliver chat event"))
            .then_some(trace)
        },
    )
    .await;
    // One root, the gateway's; every other span has its parent in the same trace.
    let ours = [
        "graphql request",
        "outbox publish",
        "consume",
        "deliver chat event",
    ];
    let roots: Vec<&Span> = trace
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    assert!(
        !ours.contains(&roots[0].name.as_str()),
        "the gateway starts it: {roots:?}"
    );
    for span in &trace {
        if span.parent_span_id.is_empty() {
            continue;
        }
        assert!(
            trace.iter().any(|s| s.span_id == span.parent_span_id),
            "{} has its parent in the trace",
            span.name
        );
    }
    // The delivery follows the consumer, which follows the publish.
    let by_id = |id: &[u8]| trace.iter().find(|s| s.span_id == id);
    let deliver = trace
        .iter()
        .find(|s| s.name == "deliver chat event")
        .unwrap();
    let mut chain = vec![deliver.name.clone()];
    let mut at = deliver;
    while let Some(parent) = by_id(&at.parent_span_id) {
        chain.push(parent.name.clone());
        at = parent;
    }
    let consume = chain
        .iter()
        .position(|n| n == "consume")
        .expect("delivery under the consumer");
    let publish = chain
        .iter()
        .position(|n| n == "outbox publish")
        .expect("under the publish");
    let request = chain
        .iter()
        .position(|n| n == "graphql request")
        .expect("under chat's request");
    assert!(consume < publish && publish < request, "{chain:?}");
    assert!(
        trace.iter().all(|s| s.service == "echostream"),
        "one service name"
    );
}

on_both_profiles!(one_send_message_is_one_trace);

/// `echostream serve <subgraph>` installs its own pipeline: its spans go to the
/// collector under `echostream-<subgraph>`, following the caller's `traceparent`,
/// and its log lines are JSON carrying the request's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subgraph_served_alone_exports_its_spans_and_logs_json() {
    let (endpoint, spans) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::faults::free_port();
    let log = dir.path().join("auth.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_echostream"))
        .args(["serve", "auth"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ECHOSTREAM_DATA_DIR", dir.path().join("data"))
        .env("ECHOSTREAM_LISTEN__AUTH_PORT", port.to_string())
        .env("ECHOSTREAM_TELEMETRY__LOG_FORMAT", "json")
        .env("ECHOSTREAM_TELEMETRY__OTLP_ENDPOINT", &endpoint)
        .env("ECHOSTREAM_TELEMETRY__OTLP_BATCH_DELAY_MS", "200")
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _auth = Stop(child);
    let base = format!("http://127.0.0.1:{port}");
    eventually("auth alone", Duration::from_secs(60), || async {
        let up = reqwest::get(format!("{base}/health")).await.ok()?;
        up.status().is_success().then_some(())
    })
    .await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{parent}-01");
    let refused = crate::operations::wrong_password(
        &format!("{base}/graphql"),
        "nobody",
        &[
            ("traceparent", traceparent.as_str()),
            ("x-request-id", "alone-1"),
        ],
    )
    .await;
    assert!(refused.get("errors").is_some(), "{refused}");

    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let request = eventually(
        "auth's span at the collector",
        Duration::from_secs(30),
        || async {
            spans
                .lock()
                .unwrap()
                .iter()
                .find(|s| s.name == "graphql request")
                .cloned()
        },
    )
    .await;
    assert_eq!(request.service, "echostream-auth");
    assert_eq!(
        request.trace_id,
        hex(trace_id),
        "it follows the caller's trace"
    );
    assert_eq!(
        request.parent_span_id,
        hex(parent),
        "under the caller's span"
    );
    assert_eq!(request.attribute("request_id"), Some("alone-1"));

    let line = eventually(
        "the refusal logged as JSON",
        Duration::from_secs(10),
        || async {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find(|value| value["fields"]["message"] == "sign-in refused")
        },
    )
    .await;
    assert_eq!(line["span"]["request_id"], "alone-1", "{line}");
    assert_eq!(line["fields"]["reason"], "wrong_credentials", "{line}");
}
