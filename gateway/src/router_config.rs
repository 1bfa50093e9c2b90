//! Turns EchoStream's configuration into the Hive Router's.

use std::path::Path;

use serde_json::{Value, json};

/// What the gateway needs to know about the platform.
pub struct GatewaySettings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub supergraph: &'a Path,
    pub playground: &'a Path,
    /// Base URL of each subgraph, by supergraph name (`auth` → `http://127.0.0.1:4101`).
    pub subgraphs: Vec<(&'static str, String)>,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub max_depth: usize,
    pub max_aliases: usize,
}

/// The router configuration document (the router reads YAML or JSON).
pub fn build(s: &GatewaySettings<'_>) -> Value {
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
        "log": { "level": "info" },
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
        "headers": { "all": { "request": [ { "propagate": { "named": ["Authorization", "X-Forwarded-For"] } } ] } },
        // Subgraphs already reduce internal failures to a generic INTERNAL error and
        // log the details; their other messages are meant for users, so they pass.
        "error_masking": { "enabled": true, "all": { "enabled": false } },
        "override_subgraph_urls": { "subgraphs": overrides },
        "limits": {
            "max_depth": { "n": s.max_depth },
            "max_aliases": { "n": s.max_aliases },
        },
        "plugins": {
            "echostream_client_ip": { "enabled": true },
            "echostream_playground": {
                "enabled": true,
                "config": { "path": s.playground.display().to_string() },
            },
        },
    })
}
