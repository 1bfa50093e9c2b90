//! Serves the playground page (`playground/index.html`) at `GET /`.
//!
//! The router's own laboratory stays at `GET /graphql`; ours adds EchoStream's
//! example operations and a sign-in helper.

use hive_router::ntex::http::Response;
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};
use serde::Deserialize;

/// The plugin's configuration.
#[derive(Deserialize)]
pub struct PlaygroundConfig {
    /// The HTML file to serve.
    pub path: String,
}

/// The playground plugin: holds the page in memory.
pub struct Playground {
    html: String,
}

impl RouterPlugin for Playground {
    type Config = PlaygroundConfig;

    fn plugin_name() -> &'static str {
        "echostream_playground"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        let html = std::fs::read_to_string(&config.path)
            .map_err(|e| format!("playground page {}: {e}", config.path))?;
        payload.initialize_plugin(Playground { html })
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let request = &payload.router_http_request;
            if request.method() == hive_router::http::Method::GET && request.path() == "/" {
                let response = Response::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(self.html.clone());
                return payload.end_with_response(response);
            }
            payload.proceed()
        })
    }
}
