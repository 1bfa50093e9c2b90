//! Tells subgraphs who the client is: sets `X-Forwarded-For` to the address the
//! request came from, replacing any value the client sent, so per-IP rate limits in
//! the subgraphs cannot be dodged with a forged header.

use hive_router::ntex::http::header::{HeaderName, HeaderValue};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};

/// The plugin; it has no settings.
#[derive(Default)]
pub struct ClientIp;

impl RouterPlugin for ClientIp {
    type Config = serde_json::Value;

    fn plugin_name() -> &'static str {
        "echostream_client_ip"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        payload.initialize_plugin(ClientIp)
    }

    fn on_http_request<'req>(
        &'req self,
        mut payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let peer = payload
                .router_http_request
                .peer_addr()
                .map(|a| a.ip().to_string());
            let headers = payload.router_http_request.headers_mut();
            headers.remove("x-forwarded-for");
            if let Some(value) = peer.and_then(|ip| HeaderValue::from_str(&ip).ok()) {
                headers.insert(HeaderName::from_static("x-forwarded-for"), value);
            }
            payload.proceed()
        })
    }
}
