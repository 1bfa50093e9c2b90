//! Logs and traces.
//!
//! A request is one trace from the gateway to the subscriber that receives what it
//! caused: the gateway sends W3C trace context (`traceparent`) to the subgraph, whose
//! request span follows it; an event records the context it was written in
//! ([`echostream_ports::events::Envelope::trace`]); the outbox relay publishes it in a span of
//! its own and hands its context on in the message's `traceparent` header; the
//! consumer's span follows that; chat keeps the context beside the frame it appends
//! to a user's stream, and the subscription's delivery span follows it.
//!
//! Spans are exported over OTLP/HTTP when `telemetry.otlp_endpoint` is set: by the
//! router's pipeline when the gateway and the subgraphs share a process (it receives
//! every span of the process), by [`init`]'s when a subgraph runs alone.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use futures::future::BoxFuture;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use echostream_config::{LogFormat, TelemetryConfig};

const TRACEPARENT: &str = "traceparent";

tokio::task_local! {
    /// The traced span a task runs in (see [`traced`]): libraries' own spans that
    /// are not exported (sea-orm's, at debug level) hide it from
    /// `Span::current()` deeper down.
    static TASK_TRACE: Option<String>;
}

/// The W3C `traceparent` of `span`, when it is traced.
fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The W3C `traceparent` of the traced span the caller is in: the current span
/// when it is traced, else the one its task runs in ([`traced`]).
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
        .or_else(|| TASK_TRACE.try_with(Clone::clone).ok().flatten())
}

/// Runs `work` in `span`, its context known to everything below it.
pub async fn traced<F: std::future::Future>(span: tracing::Span, work: F) -> F::Output {
    let traceparent = traceparent_of(&span);
    TASK_TRACE
        .scope(traceparent, tracing::Instrument::instrument(work, span))
        .await
}

/// Makes `span` a child of the span `traceparent` names (from a header, an event or
/// a frame); nothing when there is none or it is malformed.
pub fn follow(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// Gives the log lines of `work` the request id `request_id` where another
/// library formats them: the router's formatter, when the gateway and the subgraphs
/// share a process, reads it from its own task-local (see [`set_request_scope`]).
pub type RequestScope = for<'a> fn(&str, BoxFuture<'a, ()>) -> BoxFuture<'a, ()>;

static REQUEST_SCOPE: OnceLock<RequestScope> = OnceLock::new();

/// Sets, once at start, how a request's id reaches the log formatter.
pub fn set_request_scope(scope: RequestScope) {
    let _ = REQUEST_SCOPE.set(scope);
}

/// Runs `work` with `request_id` on its log lines: the router's formatter's scope
/// when one is set; otherwise the request span's `request_id` field does it.
pub async fn with_request_id<'a>(request_id: &str, work: BoxFuture<'a, ()>) {
    match REQUEST_SCOPE.get() {
        Some(scope) => scope(request_id, work).await,
        None => work.await,
    }
}

/// Installs the process's logging (text or JSON lines, `RUST_LOG` or `info`) and,
/// when `telemetry.otlp_endpoint` is set, span export under `service`; for a process
/// without the router (which installs its own). Keep what it returns until exit:
/// dropping it flushes the spans still waiting.
pub fn init(config: &TelemetryConfig, service: &str) -> Option<SdkTracerProvider> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let lines = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        // Each line carries the spans it happened in: a request's `request_id` and
        // `subgraph`, an event's type.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    let provider = config
        .otlp_endpoint
        .as_deref()
        .filter(|endpoint| !endpoint.is_empty())
        .and_then(|endpoint| match exporter(config, endpoint, service) {
            Ok(provider) => Some(provider),
            Err(err) => {
                eprintln!("telemetry: no span export to {endpoint}: {err}");
                None
            }
        });
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("echostream"))
            .with_location(false)
            .with_threads(false)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(spans)
        .init();
    provider
}

fn exporter(
    config: &TelemetryConfig,
    endpoint: &str,
    service: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint))
        .build()?;
    let batch = opentelemetry_sdk::trace::BatchConfigBuilder::default()
        .with_scheduled_delay(Duration::from_millis(config.otlp_batch_delay_ms))
        .build();
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::TokioCurrentThread,
        )
        .with_batch_config(batch)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        )
        .build())
}

/// Where OTLP/HTTP takes spans, below a collector's base URL.
pub fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traced_span_hands_its_context_on_and_a_follower_joins_its_trace() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let writer = tracing::info_span!("writer");
            let handed = writer.in_scope(current_traceparent).expect("a traceparent");
            let trace_id = handed.split('-').nth(1).unwrap().to_string();
            assert_eq!(handed.len(), 55, "{handed}");
            let reader = tracing::info_span!("reader");
            follow(&reader, Some(&handed));
            let read = reader.in_scope(current_traceparent).unwrap();
            assert_eq!(read.split('-').nth(1).unwrap(), trace_id, "one trace");
            assert_ne!(read, handed, "its own span");
        });
    }

    #[test]
    fn an_untraced_span_has_no_traceparent_and_junk_is_ignored() {
        assert_eq!(current_traceparent(), None);
        let span = tracing::info_span!("x");
        follow(&span, Some("not a traceparent"));
        follow(&span, None);
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
    }
}
