//! Tells subgraphs who the client is: sets `X-Forwarded-For` to the address the
//! request came from, replacing any value the client sent (read only when the
//! connection comes from one of `gateway.trusted_proxies`: then the client is the
//! nearest address in it that is not a trusted proxy), and beside it
//! `x-echostream-client-mac`, an HMAC of that address with the subgraph secret.
//! Subgraphs believe the address only with its MAC (`echostream_service::trust`), so
//! per-IP rate limits cannot be dodged with a forged header: not by a direct caller,
//! and not by a WebSocket client, whose operations carry these two headers as they
//! were set on its upgrade request, whatever its `connection_init` payload says.

use hive_router::ntex::http::header::{HeaderName, HeaderValue};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};

/// The header carrying the MAC of the client address.
const CLIENT_MAC: &str = "x-echostream-client-mac";

/// The plugin, with the secret it signs addresses with.
pub struct ClientIp {
    secret: Vec<u8>,
    trusted_proxies: Vec<ipnet::IpNet>,
}

/// The plugin's settings.
#[derive(serde::Deserialize)]
pub struct ClientIpConfig {
    secret: String,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

impl ClientIp {
    /// The MAC of `address` (hex HMAC-SHA256 of `"ip:<address>"`).
    pub fn mac(&self, address: &str) -> String {
        echostream_config::signing::client_mac(&self.secret, address)
    }
}

/// The client of a request that came from `peer` with `forwarded_for` (the
/// `X-Forwarded-For` value), given the trusted `proxies`: the peer itself unless it
/// is one of them; else the nearest address of the header (walking from the right)
/// that is not one of them (or the farthest, if every one is).
pub fn client_of(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    proxies: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let trusted = |ip: &std::net::IpAddr| proxies.iter().any(|p| p.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> = forwarded_for
        .unwrap_or("")
        .split(',')
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !trusted(ip))
        .or_else(|| hops.first())
        .copied()
        .unwrap_or(peer)
}

impl RouterPlugin for ClientIp {
    type Config = ClientIpConfig;

    fn plugin_name() -> &'static str {
        "echostream_client_ip"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        let secret = config.secret.into_bytes();
        // Ranges in CIDR form (the configuration was checked and normalised when
        // it was loaded); one that does not parse is not trusted.
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .filter_map(|p| p.parse::<ipnet::IpNet>().ok())
            .collect();
        // A WebSocket operation's headers come from its `connection_init` payload,
        // which the client writes: the router takes these two from the upgrade
        // request instead, where this plugin set them (vendor/hive-router-upgrade-headers.patch).
        let _ = hive_router::pipeline::websocket_server::UPGRADE_HEADERS
            .set(&["x-forwarded-for", CLIENT_MAC]);
        payload.initialize_plugin(ClientIp {
            secret,
            trusted_proxies,
        })
    }

    fn on_http_request<'req>(
        &'req self,
        mut payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let forwarded = payload
                .router_http_request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let peer = payload.router_http_request.peer_addr().map(|a| {
                client_of(a.ip(), forwarded.as_deref(), &self.trusted_proxies).to_string()
            });
            let mac = peer.as_deref().map(|ip| self.mac(ip));
            let headers = payload.router_http_request.headers_mut();
            headers.remove("x-forwarded-for");
            headers.remove(CLIENT_MAC);
            if let (Some(ip), Some(mac)) = (peer, mac)
                && let (Ok(ip), Ok(mac)) = (HeaderValue::from_str(&ip), HeaderValue::from_str(&mac))
            {
                headers.insert(HeaderName::from_static("x-forwarded-for"), ip);
                headers.insert(HeaderName::from_static(CLIENT_MAC), mac);
            }
            payload.proceed()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_nearest_untrusted_hop_behind_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxies: Vec<ipnet::IpNet> = ["10.0.0.0/8", "192.0.2.1/32"]
            .iter()
            .map(|p| p.parse::<ipnet::IpNet>().unwrap())
            .collect();
        // Not from a proxy: the header is the client's own word, not believed.
        assert_eq!(
            client_of(ip("203.0.113.5"), Some("1.2.3.4"), &proxies),
            ip("203.0.113.5")
        );
        // From a proxy: the nearest hop it does not vouch for.
        assert_eq!(
            client_of(
                ip("10.1.2.3"),
                Some("1.2.3.4, 198.51.100.7, 192.0.2.1"),
                &proxies
            ),
            ip("198.51.100.7")
        );
        assert_eq!(client_of(ip("10.1.2.3"), None, &proxies), ip("10.1.2.3"));
        assert_eq!(
            client_of(ip("10.1.2.3"), Some("garbage"), &proxies),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_of(ip("10.1.2.3"), Some("10.9.9.9"), &proxies),
            ip("10.9.9.9")
        );
    }
}
