//! `GET /ready` on the gateway: asks every subgraph's `/ready` at once and answers
//! `200` when all are ready, else `503` naming the failing subgraphs and what each
//! of them names (`{"failing":["chat"],"subgraphs":{"chat":{"failing":["redis"],…}}}`).
//!
//! The router's own `/readiness` only says its supergraph is loaded; an orchestrator
//! asking the gateway wants to know whether a request would be served.

use std::time::Duration;

use hive_router::http::Method;
use hive_router::ntex::http::{Response, StatusCode};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};
use serde::Deserialize;
use serde_json::{Value, json};

/// Where the gateway answers.
pub const PATH: &str = "/ready";

/// A subgraph checks its own dependencies within 2 s; this leaves it room to answer.
const ASK_WITHIN: Duration = Duration::from_secs(3);

/// The plugin's configuration.
#[derive(Deserialize)]
pub struct ReadinessConfig {
    /// Each subgraph's base URL, by name.
    pub subgraphs: Vec<(String, String)>,
}

/// The readiness plugin.
pub struct Readiness {
    subgraphs: Vec<(String, String)>,
    client: reqwest::Client,
}

/// What one subgraph answered: ready or not, and its own report (or why it gave none).
async fn ask(client: &reqwest::Client, base: &str) -> (bool, Value) {
    let answer = async {
        let response = client.get(format!("{base}/ready")).send().await?;
        let ready = response.status().is_success();
        let body = response.json::<Value>().await?;
        Ok::<_, reqwest::Error>((ready, body))
    };
    match answer.await {
        Ok(answer) => answer,
        Err(e) if e.is_timeout() => (
            false,
            json!({ "status": "unreachable", "error": format!("no answer within {ASK_WITHIN:?}") }),
        ),
        Err(e) => (
            false,
            json!({ "status": "unreachable", "error": e.without_url().to_string() }),
        ),
    }
}

impl Readiness {
    async fn report(&self) -> (bool, Value) {
        let answers = futures::future::join_all(
            self.subgraphs
                .iter()
                .map(|(_, base)| ask(&self.client, base)),
        )
        .await;
        let mut failing = Vec::new();
        let mut subgraphs = serde_json::Map::new();
        for ((name, _), (ready, report)) in self.subgraphs.iter().zip(answers) {
            if !ready {
                failing.push(name.clone());
            }
            subgraphs.insert(name.clone(), report);
        }
        let ready = failing.is_empty();
        if !ready {
            tracing::warn!(?failing, "gateway not ready");
        }
        let body = json!({
            "status": if ready { "ready" } else { "unavailable" },
            "failing": failing,
            "subgraphs": subgraphs,
        });
        (ready, body)
    }
}

impl RouterPlugin for Readiness {
    type Config = ReadinessConfig;

    fn plugin_name() -> &'static str {
        "echostream_readiness"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        payload.initialize_plugin(Readiness {
            subgraphs: config.subgraphs,
            client: crate::subgraph_client("readiness", ASK_WITHIN)?,
        })
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let request = &payload.router_http_request;
            if request.method() != Method::GET || request.path() != PATH {
                return payload.proceed();
            }
            let (ready, body) = self.report().await;
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let response = Response::build(status)
                .content_type("application/json")
                .body(body.to_string());
            payload.end_with_response(response)
        })
    }
}
