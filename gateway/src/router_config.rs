//! Turns EchoStream's configuration into the Hive Router's.

use std::path::Path;

use serde_json::{Value, json};

/// What the gateway needs to know about the platform.
pub struct GatewaySettings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub supergraph: &'a Path,
    /// A playground directory (`index.html` and `assets/`) to serve instead of the
    /// built-in one.
    pub playground: Option<&'a Path>,
    /// Base URL of each subgraph, by supergraph name (`auth` → `http://127.0.0.1:4101`).
    pub subgraphs: Vec<(&'static str, String)>,
    pub issuer: &'a str,
    pub audience: &'a str,
    /// The secret the gateway signs its subgraph requests and client addresses with
    /// (`gateway.subgraph_secret`; `echostream_service::trust` checks them).
    pub subgraph_secret: &'a str,
    /// The proxies whose `X-Forwarded-For` is believed (`gateway.trusted_proxies`).
    pub trusted_proxies: &'a [String],
    /// `gateway.limits`: the router's own limits and the plugins' come from it.
    pub limits: &'a echostream_config::GatewayLimits,
    /// Where each user's sockets are counted over every gateway (services); `None`
    /// counts them in this gateway alone.
    pub redis: Option<&'a echostream_config::RedisConfig>,
    pub telemetry: Telemetry<'a>,
}

/// Logs and traces (`telemetry.*` in the configuration).
pub struct Telemetry<'a> {
    /// JSON lines instead of text.
    pub json_logs: bool,
    /// An OTLP/HTTP collector's base URL: spans are exported when set.
    pub otlp_endpoint: Option<&'a str>,
    pub otlp_batch_delay_ms: u64,
    pub service_name: &'a str,
}

/// The VRL expression that signs one subgraph request for the client the gateway
/// has verified: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "v1:<t>:<subgraph>:<identity>">,id=<identity>` (`echostream_config::signing`
/// makes the same string; `echostream_service::trust` checks it). The identity is
/// the verified token's `<sub>.<sid>.<exp>.<base64url(did)>`, or empty when the
/// request carries no valid token: a subgraph then trusts the signed identity
/// instead of verifying the token again.
fn signature_expression(secret: &str) -> String {
    let key = serde_json::to_string(secret).expect("a string serializes");
    format!(
        r#"t = to_string(to_unix_timestamp(now()))
id = ""
if .request.jwt.authenticated == true {{
  c = .request.jwt.claims
  id = string!(c.sub) + "." + string!(c.sid) + "." + to_string(to_int!(c.exp)) + "." + encode_base64(string!(c.did), padding: false, charset: "url_safe")
}}
"t=" + t + ",v1=" + encode_base16(hmac("v1:" + t + ":" + string!(.subgraph.name) + ":" + id, {key}, "SHA-256")) + ",id=" + id"#
    )
}

/// The router configuration document (the router reads YAML or JSON).
pub fn build(s: &GatewaySettings<'_>) -> Value {
    let l = &s.limits;
    let t = &s.telemetry;
    let auth = s
        .subgraphs
        .iter()
        .find(|(name, _)| *name == "auth")
        .map(|(_, url)| url.clone())
        .unwrap_or_default();
    let overrides: serde_json::Map<String, Value> = s
        .subgraphs
        .iter()
        .map(|(name, url)| {
            (
                (*name).to_string(),
                json!({ "url": format!("{url}/graphql") }),
            )
        })
        .collect();
    json!({
        "supergraph": { "source": "file", "path": s.supergraph.display().to_string() },
        "http": { "host": s.host, "port": s.port },
        "log": { "level": "info", "format": if t.json_logs { "json" } else { "text" } },
        "telemetry": {
            // Prometheus text at GET /metrics on the gateway's port: requests and
            // their latency per operation and per subgraph, GraphQL errors by code,
            // WebSocket connections and subscriptions (the router's own instruments).
            "metrics": { "exporters": [
                { "kind": "prometheus", "enabled": true, "path": "/metrics" },
            ] },
            // Spans over OTLP/HTTP when a collector is configured; W3C trace context
            // goes to the subgraphs with every request. In one process the router's
            // pipeline exports the subgraphs' spans too.
            "tracing": {
                "exporters": t.otlp_endpoint.map(|endpoint| vec![json!({
                    "kind": "otlp",
                    "protocol": "http",
                    "endpoint": format!("{}/v1/traces", endpoint.trim_end_matches('/')),
                    "batch_processor": { "scheduled_delay": format!("{}ms", t.otlp_batch_delay_ms) },
                })]).unwrap_or_default(),
                "propagation": { "trace_context": true },
            },
            "resource": { "attributes": { "service.name": t.service_name } },
        },
        // The router's own IDE loads from a CDN; the playground plugin serves ours.
        "laboratory": { "enabled": false },
        "websocket": { "enabled": true },
        "subscriptions": { "enabled": true, "websocket": { "all": { "path": "/graphql" } } },
        // Tokens are verified here and again in every subgraph; a request without a
        // token is anonymous (sign-up and sign-in need that), a bad token is refused.
        "jwt": {
            "enabled": true,
            "require_authentication": false,
            "allowed_algorithms": ["EdDSA"],
            "issuers": [s.issuer],
            "audiences": [s.audience],
            "jwks_providers": [{
                "source": "remote",
                "url": format!("{auth}/.well-known/jwks.json"),
                "polling_interval": "5m",
                "prefetch": true,
            }],
        },
        // Every subgraph request (HTTP, and a WebSocket's connection_init) carries a
        // fresh signature of the gateway, computed per request; the client's address
        // travels with the MAC the client_ip plugin put beside it.
        "headers": { "all": { "request": [
            { "propagate": { "named": ["Authorization", "X-Forwarded-For", "X-EchoStream-Client-Mac", "X-Request-Id"] } },
            { "insert": { "name": "x-echostream-signature", "expression": signature_expression(s.subgraph_secret) } },
        ] } },
        // Subgraphs already reduce internal failures to a generic INTERNAL error and
        // log the details; their other messages are meant for users, so they pass.
        "error_masking": { "enabled": true, "all": { "enabled": false } },
        "override_subgraph_urls": { "subgraphs": overrides },
        "limits": {
            "max_depth": { "n": l.max_depth },
            "max_aliases": { "n": l.max_aliases },
            "max_tokens": { "n": l.max_tokens },
            "max_directives": { "n": l.max_directives },
            "max_request_body_size": format!("{}B", l.max_request_bytes),
        },
        "traffic_shaping": { "router": {
            "max_long_lived_clients": l.max_websockets,
            // Every subscription runs its own upstream stream, so the subgraphs count
            // and cap them exactly (per session and per user); shared streams would
            // let one socket fan one event out a thousand times at no cost to it.
            "dedupe": { "enabled": false },
        } },
        "plugins": {
            "echostream_client_ip": {
                "enabled": true,
                "config": { "secret": s.subgraph_secret, "trusted_proxies": s.trusted_proxies },
            },
            "echostream_sockets": {
                "enabled": true,
                "config": { "limits": l, "redis": s.redis },
            },
            "echostream_limits": { "enabled": true, "config": l },
            "echostream_readiness": {
                "enabled": true,
                "config": { "subgraphs": s.subgraphs.iter().map(|(name, url)| (name, url)).collect::<Vec<_>>() },
            },
            "echostream_unsubscribe": {
                "enabled": true,
                "config": {
                    "notification": s.subgraphs.iter().find(|(name, _)| *name == "notification").map(|(_, url)| url.clone()).unwrap_or_default(),
                    "secret": s.subgraph_secret,
                },
            },
            // The playground and its assets; a path neither it nor the router (nor
            // another plugin) serves is a 404.
            "echostream_playground": {
                "enabled": true,
                "config": {
                    "dir": s.playground.map(|p| p.display().to_string()),
                    "served": ["/graphql", "/health", "/readiness", crate::readiness::PATH, crate::unsubscribe::PATH],
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document as the router reads it: its own loader and types. Every limit
    /// arrives where it is enforced, from the one declaration.
    #[test]
    fn the_router_reads_the_built_configuration_with_its_own_types() {
        let limits = echostream_config::GatewayLimits {
            max_depth: 7,
            max_websockets: 123,
            max_websockets_per_user: 3,
            max_json_depth: 21,
            ..Default::default()
        };
        let supergraph =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql");
        let redis = echostream_config::RedisConfig {
            url: "redis://127.0.0.1:6390".into(),
            ..Default::default()
        };
        let settings = GatewaySettings {
            host: "127.0.0.1",
            port: 4000,
            supergraph: &supergraph,
            playground: None,
            subgraphs: vec![("auth", "http://127.0.0.1:4101".into())],
            issuer: "echostream",
            audience: "echostream",
            subgraph_secret: "s",
            trusted_proxies: &[],
            limits: &limits,
            redis: Some(&redis),
            telemetry: Telemetry {
                json_logs: false,
                otlp_endpoint: None,
                otlp_batch_delay_ms: 500,
                service_name: "echostream",
            },
        };
        let path =
            std::env::temp_dir().join(format!("echostream-router-{}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_vec(&build(&settings)).unwrap()).unwrap();
        let read = hive_router::config::load_config(Some(path.display().to_string()));
        let _ = std::fs::remove_file(&path);
        let read = read.expect("the router accepts the document");
        assert_eq!(read.limits.max_depth.as_ref().map(|d| d.n), Some(7));
        assert_eq!(read.traffic_shaping.router.max_long_lived_clients, 123);
        let config: echostream_config::GatewayLimits =
            serde_json::from_value(read.plugins["echostream_limits"].config.clone()).unwrap();
        assert_eq!(
            config, limits,
            "echostream_limits gets gateway.limits whole"
        );
        let config: crate::sockets::SocketsConfig =
            serde_json::from_value(read.plugins["echostream_sockets"].config.clone()).unwrap();
        assert_eq!(
            config.limits, limits,
            "echostream_sockets gets gateway.limits whole"
        );
        assert_eq!(
            config.redis.map(|r| r.url),
            Some("redis://127.0.0.1:6390".to_string()),
            "and where to count sockets"
        );
    }
}
