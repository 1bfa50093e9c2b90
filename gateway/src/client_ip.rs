//! Tells subgraphs who the client is: sets `X-Forwarded-For` to the address the
//! request came from, replacing any value the client sent, and beside it
//! `x-echostream-client-mac`, an HMAC of that address with the subgraph secret.
//! Subgraphs believe the address only with its MAC (`echostream_shared::trust`), so
//! per-IP rate limits cannot be dodged with a forged header: not by a direct caller,
//! and not by a WebSocket client, whose operations carry the headers of its own
//! `connection_init` rather than these.

use hive_router::ntex::http::header::{HeaderName, HeaderValue};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The plugin, with the secret it signs addresses with.
pub struct ClientIp {
    secret: Vec<u8>,
}

/// The plugin's settings.
#[derive(serde::Deserialize)]
pub struct ClientIpConfig {
    secret: String,
}

impl ClientIp {
    /// The MAC of `address` (hex HMAC-SHA256 of `"ip:<address>"`).
    pub fn mac(&self, address: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(format!("ip:{address}").as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl RouterPlugin for ClientIp {
    type Config = ClientIpConfig;

    fn plugin_name() -> &'static str {
        "echostream_client_ip"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let secret = payload.config()?.secret.into_bytes();
        payload.initialize_plugin(ClientIp { secret })
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
            let mac = peer.as_deref().map(|ip| self.mac(ip));
            let headers = payload.router_http_request.headers_mut();
            headers.remove("x-forwarded-for");
            headers.remove("x-echostream-client-mac");
            if let (Some(ip), Some(mac)) = (peer, mac)
                && let (Ok(ip), Ok(mac)) = (HeaderValue::from_str(&ip), HeaderValue::from_str(&mac))
            {
                headers.insert(HeaderName::from_static("x-forwarded-for"), ip);
                headers.insert(HeaderName::from_static("x-echostream-client-mac"), mac);
            }
            payload.proceed()
        })
    }
}
