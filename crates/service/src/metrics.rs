//! Prometheus metrics of the subgraphs, served as text at `GET /metrics` on each
//! subgraph's port (the `prometheus` crate's registry and text encoder).
//!
//! Instruments live in one process-wide registry, each labelled with the subgraph it
//! counts for; a subgraph's `/metrics` shows its own series and the process-wide
//! ones (mail). Figures that are a state of the database or the log — the outbox
//! backlog and the age of its oldest unsent row, parked events, consumer lag — are
//! read when scraped, so they are never stale.
//!
//! GraphQL requests are counted per root field (`sendMessage`, `_entities`), not per
//! client-chosen operation name: the set of labels stays bounded by the schema. The
//! gateway's own `/metrics` has the per-operation figures.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest, NextSubscribe,
};
use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use async_graphql::{Request, Response, ServerError, ServerResult};
use async_trait::async_trait;
use echostream_ports::mail::{Mail, MailError, Mailer};
use futures::StreamExt;
use futures::stream::BoxStream;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Every instrument of the process.
pub struct Metrics {
    registry: Registry,
    /// `echostream_graphql_request_duration_seconds{subgraph,field,type}`.
    pub request_duration: HistogramVec,
    /// `echostream_graphql_requests_total{subgraph,field,code}`: `code` is `OK` or
    /// the first error's `extensions.code`.
    pub requests: IntCounterVec,
    /// `echostream_graphql_errors_total{subgraph,code}`, every error of a response.
    pub errors: IntCounterVec,
    /// `echostream_rate_limit_refusals_total{subgraph,field}`.
    pub rate_limited: IntCounterVec,
    /// `echostream_sign_in_failures_total{subgraph,reason}`.
    pub sign_in_failures: IntCounterVec,
    /// `echostream_websocket_connections{subgraph}`, open now.
    pub websockets: IntGaugeVec,
    /// `echostream_subscriptions{subgraph,field}`, live now.
    pub subscriptions: IntGaugeVec,
    /// `echostream_outbox_backlog{subgraph}`: rows not yet published.
    pub outbox_backlog: IntGaugeVec,
    /// `echostream_outbox_oldest_age_seconds{subgraph}`: 0 when nothing waits.
    pub outbox_oldest_age: GaugeVec,
    /// `echostream_dead_letters{subgraph}`: events parked after every attempt failed.
    pub dead_letters: IntGaugeVec,
    /// `echostream_consumer_lag{subgraph,group,topic}`: events on the topic the
    /// subgraph's consumer group has not yet handled.
    pub consumer_lag: IntGaugeVec,
    /// `echostream_consumer_retrying_seconds{subgraph,group,topic}`: how long the
    /// consumer has been retrying an event that fails transiently (0 when it is not).
    pub consumer_retrying: GaugeVec,
    /// `echostream_mail_in_flight`: mails being handed to the mail port now (mail is
    /// sent inline, so this is the queue).
    pub mail_in_flight: prometheus::IntGauge,
    /// `echostream_mail_sent_total{result}`: `ok` or `failed`.
    pub mail_sent: IntCounterVec,
    /// The consumers this process runs: (topic, group).
    consumers: Mutex<Vec<(&'static str, String)>>,
}

/// `collector`, registered in `registry` (each name once, at start).
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: Result<C, prometheus::Error>,
) -> C {
    let collector = collector.expect("a valid instrument");
    registry
        .register(Box::new(collector.clone()))
        .expect("registered once");
    collector
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(registry, IntCounterVec::new(Opts::new(name, help), labels))
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    registered(registry, IntGaugeVec::new(Opts::new(name, help), labels))
}

fn float_gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    registered(registry, GaugeVec::new(Opts::new(name, help), labels))
}

impl Metrics {
    fn new() -> Metrics {
        let r = Registry::new();
        let request_duration = registered(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "echostream_graphql_request_duration_seconds",
                    "Time to answer a GraphQL request, by root field",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
                &["subgraph", "field", "type"],
            ),
        );
        let outbox_oldest_age = registered(
            &r,
            GaugeVec::new(
                Opts::new(
                    "echostream_outbox_oldest_age_seconds",
                    "Age of the oldest outbox row not yet published (0 when none waits)",
                ),
                &["subgraph"],
            ),
        );
        let mail_in_flight = registered(
            &r,
            prometheus::IntGauge::new(
                "echostream_mail_in_flight",
                "Mails being handed to the mail port now",
            ),
        );
        Metrics {
            requests: counter(
                &r,
                "echostream_graphql_requests_total",
                "GraphQL requests by root field and outcome (OK or the first error's code)",
                &["subgraph", "field", "code"],
            ),
            errors: counter(
                &r,
                "echostream_graphql_errors_total",
                "GraphQL errors by extensions.code",
                &["subgraph", "code"],
            ),
            rate_limited: counter(
                &r,
                "echostream_rate_limit_refusals_total",
                "Requests and subscriptions refused with RATE_LIMITED",
                &["subgraph", "field"],
            ),
            sign_in_failures: counter(
                &r,
                "echostream_sign_in_failures_total",
                "Failed password sign-ins by reason",
                &["subgraph", "reason"],
            ),
            websockets: gauge(
                &r,
                "echostream_websocket_connections",
                "Open GraphQL WebSocket connections",
                &["subgraph"],
            ),
            subscriptions: gauge(
                &r,
                "echostream_subscriptions",
                "Live GraphQL subscriptions by root field",
                &["subgraph", "field"],
            ),
            outbox_backlog: gauge(
                &r,
                "echostream_outbox_backlog",
                "Outbox rows not yet published to the event log",
                &["subgraph"],
            ),
            dead_letters: gauge(
                &r,
                "echostream_dead_letters",
                "Events parked after every attempt to handle them failed",
                &["subgraph"],
            ),
            consumer_lag: gauge(
                &r,
                "echostream_consumer_lag",
                "Events on a topic not yet handled by one of the subgraph's consumer groups",
                &["subgraph", "group", "topic"],
            ),
            consumer_retrying: float_gauge(
                &r,
                "echostream_consumer_retrying_seconds",
                "How long a consumer group has been retrying an event that fails transiently (0 when it is not)",
                &["subgraph", "group", "topic"],
            ),
            mail_sent: counter(
                &r,
                "echostream_mail_sent_total",
                "Mails handed to the mail port, by result",
                &["result"],
            ),
            request_duration,
            outbox_oldest_age,
            mail_in_flight,
            consumers: Mutex::new(Vec::new()),
            registry: r,
        }
    }

    /// Notes that this process consumes `topic` as `group` (the consumer's lag is
    /// read at each scrape of the subgraph of that name).
    pub fn consuming(&self, topic: &'static str, group: &str) {
        let mut consumers = self.consumers.lock().expect("metrics lock");
        if !consumers.iter().any(|(t, g)| *t == topic && g == group) {
            consumers.push((topic, group.to_string()));
        }
    }

    /// The (topic, group) pairs `subgraph` consumes in this process: its groups are
    /// named after it (`chat`, `chat-fanout`).
    pub fn consumers_of(&self, subgraph: &str) -> Vec<(&'static str, String)> {
        let consumers = self.consumers.lock().expect("metrics lock");
        consumers
            .iter()
            .filter(|(_, group)| {
                group == subgraph
                    || group
                        .strip_prefix(subgraph)
                        .is_some_and(|rest| rest.starts_with('-'))
            })
            .cloned()
            .collect()
    }

    /// The Prometheus text of `subgraph`'s series and the process-wide ones.
    pub fn render(&self, subgraph: &str) -> String {
        let mut families = self.registry.gather();
        for family in &mut families {
            let mine: Vec<_> = family
                .take_metric()
                .into_iter()
                .filter(|metric| {
                    metric
                        .get_label()
                        .iter()
                        .find(|label| label.name() == "subgraph")
                        .is_none_or(|label| label.value() == subgraph)
                })
                .collect();
            family.set_metric(mine);
        }
        families.retain(|family| !family.get_metric().is_empty());
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut text)
            .expect("Prometheus text encodes");
        String::from_utf8(text).expect("Prometheus text is UTF-8")
    }
}

/// The process's instruments.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Reads what is a state rather than an event for `subgraph`: its outbox backlog
/// and the age of the oldest unsent row, its parked events, and its consumer
/// group's lag on each topic it reads. A figure that cannot be read now keeps its
/// last value (and the failure is logged).
pub async fn refresh(
    subgraph: &str,
    db: &sea_orm::DatabaseConnection,
    events: &dyn echostream_ports::events::EventLog,
) {
    match echostream_ports::events::outbox::backlog(db).await {
        Ok((count, oldest)) => {
            let age = oldest.map_or(0.0, |at| {
                (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            METRICS
                .outbox_backlog
                .with_label_values(&[subgraph])
                .set(count as i64);
            METRICS
                .outbox_oldest_age
                .with_label_values(&[subgraph])
                .set(age);
        }
        Err(err) => tracing::warn!(%err, "metrics: outbox backlog unreadable"),
    }
    match echostream_ports::events::dead_letters::count(db).await {
        Ok(parked) => METRICS
            .dead_letters
            .with_label_values(&[subgraph])
            .set(parked as i64),
        Err(err) => tracing::warn!(%err, "metrics: dead letters unreadable"),
    }
    let retrying = echostream_ports::events::consumer::retrying_now(subgraph);
    for (topic, group) in METRICS.consumers_of(subgraph) {
        let secs = retrying
            .iter()
            .find(|(t, g, _, _)| t == topic && *g == group)
            .map_or(0.0, |(_, _, secs, _)| *secs);
        METRICS
            .consumer_retrying
            .with_label_values(&[subgraph, &group, topic])
            .set(secs);
        match events.lag(topic, &group).await {
            Ok(lag) => METRICS
                .consumer_lag
                .with_label_values(&[subgraph, &group, topic])
                .set(lag),
            Err(err) => tracing::warn!(%err, %topic, %group, "metrics: consumer lag unreadable"),
        }
    }
}

/// Counts and logs one failed password sign-in (`reason`: `wrong_credentials`,
/// `unverified`, `rate_limited`).
pub fn sign_in_failed(reason: &str) {
    tracing::info!(reason, "sign-in refused");
    METRICS
        .sign_in_failures
        .with_label_values(&["auth", reason])
        .inc();
}

/// The async-graphql extension that times and counts a subgraph's requests and
/// subscriptions; add it to every subgraph schema, outermost.
pub struct Observe {
    subgraph: &'static str,
}

impl Observe {
    pub fn new(subgraph: echostream_config::Subgraph) -> Observe {
        Observe {
            subgraph: subgraph.name(),
        }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observed {
            subgraph: self.subgraph,
            root: Arc::default(),
        })
    }
}

/// A request's root field and operation type, once parsed.
type Root = Arc<Mutex<Option<(String, &'static str)>>>;

/// One request's observation.
struct Observed {
    subgraph: &'static str,
    root: Root,
}

/// The request's root field and type, or `(unparsed)` when it never parsed.
fn root_or_unparsed(root: &Root) -> (String, &'static str) {
    root.lock()
        .expect("metrics lock")
        .clone()
        .unwrap_or_else(|| ("(unparsed)".to_string(), "unknown"))
}

/// The first root field of the operation `request` runs, and its type.
fn root_of(request: &mut Request) -> Option<(String, &'static str)> {
    let wanted = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = match (&document.operations, wanted) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str())?,
        (DocumentOperations::Multiple(ops), None) => ops.values().next()?,
    };
    let kind = match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let field = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|item| match &item.node {
            Selection::Field(f) if f.node.name.node != "__typename" => {
                Some(f.node.name.node.to_string())
            }
            _ => None,
        })
        .unwrap_or_else(|| "__typename".to_string());
    Some((field, kind))
}

fn code_of(error: &ServerError) -> String {
    error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .map(|code| code.to_string().trim_matches('"').to_string())
        .unwrap_or_else(|| "UNCODED".to_string())
}

/// Counts `errors` under `subgraph`; the code of the first one.
fn count_errors(subgraph: &str, field: &str, errors: &[ServerError]) -> String {
    for error in errors {
        let code = code_of(error);
        METRICS.errors.with_label_values(&[subgraph, &code]).inc();
        if code == "RATE_LIMITED" {
            METRICS
                .rate_limited
                .with_label_values(&[subgraph, field])
                .inc();
        }
    }
    errors
        .first()
        .map(code_of)
        .unwrap_or_else(|| "OK".to_string())
}

/// A subscription's stream, counted live from its first poll (async-graphql parses
/// the request there, so its root field is known then) until it is dropped; its
/// errors are counted as they pass.
struct Counted<'s> {
    inner: BoxStream<'s, Response>,
    subgraph: &'static str,
    root: Root,
    live: Option<(String, prometheus::IntGauge)>,
}

impl futures::Stream for Counted<'_> {
    type Item = Response;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Response>> {
        let polled = self.inner.poll_next_unpin(cx);
        if self.live.is_none() {
            let (field, _) = root_or_unparsed(&self.root);
            let gauge = METRICS
                .subscriptions
                .with_label_values(&[self.subgraph, &field]);
            gauge.inc();
            self.live = Some((field, gauge));
        }
        if let std::task::Poll::Ready(Some(response)) = &polled
            && let Some((field, _)) = &self.live
        {
            count_errors(self.subgraph, field, &response.errors);
        }
        polled
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some((_, gauge)) = &self.live {
            gauge.dec();
        }
    }
}

#[async_trait::async_trait]
impl Extension for Observed {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let (field, kind) = root_or_unparsed(&self.root);
        METRICS
            .request_duration
            .with_label_values(&[self.subgraph, &field, kind])
            .observe(started.elapsed().as_secs_f64());
        let code = count_errors(self.subgraph, &field, &response.errors);
        METRICS
            .requests
            .with_label_values(&[self.subgraph, &field, &code])
            .inc();
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self.root.lock().expect("metrics lock") = root_of(&mut request);
        next.run(ctx, request).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        Counted {
            inner: next.run(ctx, stream),
            subgraph: self.subgraph,
            root: Arc::clone(&self.root),
            live: None,
        }
        .boxed()
    }
}

/// Keeps a WebSocket connection counted while it is open.
pub struct OpenSocket(prometheus::IntGauge);

impl OpenSocket {
    pub fn new(subgraph: &str) -> OpenSocket {
        let gauge = METRICS.websockets.with_label_values(&[subgraph]);
        gauge.inc();
        OpenSocket(gauge)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Any mail port, counted: `echostream_mail_in_flight` while a mail is being handed
/// over, then `echostream_mail_sent_total{result}` .
pub struct CountedMailer(pub std::sync::Arc<dyn Mailer>);

#[async_trait]
impl Mailer for CountedMailer {
    async fn check(&self) -> Result<(), String> {
        self.0.check().await
    }

    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let metrics = &METRICS;
        metrics.mail_in_flight.inc();
        let sent = self.0.send(mail).await;
        metrics.mail_in_flight.dec();
        let result = if sent.is_ok() { "ok" } else { "failed" };
        metrics.mail_sent.with_label_values(&[result]).inc();
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subgraph_renders_its_own_series_and_the_process_wide_ones() {
        let m = Metrics::new();
        m.requests
            .with_label_values(&["chat", "sendMessage", "OK"])
            .inc();
        m.requests.with_label_values(&["auth", "login", "OK"]).inc();
        m.mail_sent.with_label_values(&["ok"]).inc();
        let chat = m.render("chat");
        assert!(chat.contains(r#"echostream_graphql_requests_total{code="OK",field="sendMessage",subgraph="chat"} 1"#), "{chat}");
        assert!(!chat.contains("login"), "{chat}");
        assert!(
            chat.contains(r#"echostream_mail_sent_total{result="ok"} 1"#),
            "{chat}"
        );
    }

    #[test]
    fn the_root_field_names_the_request() {
        let mut r = Request::new("query A { __typename me { id } } mutation B { login }")
            .operation_name("B");
        assert_eq!(root_of(&mut r), Some(("login".to_string(), "mutation")));
        let mut r = Request::new("{ __typename }");
        assert_eq!(root_of(&mut r), Some(("__typename".to_string(), "query")));
        let mut r = Request::new("{ nope(");
        assert_eq!(root_of(&mut r), None);
    }
}
