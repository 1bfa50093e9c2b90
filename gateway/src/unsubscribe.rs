//! `/unsubscribe?token=…`: the one-click unsubscribe link of notification mail
//! (RFC 8058), served where people reach the platform, without signing in.
//!
//! - `POST` (what a mail client sends for `List-Unsubscribe-Post:
//!   List-Unsubscribe=One-Click`, and the page's button): forwards the token to the
//!   notification subgraph, signed as the gateway signs, which checks the token's own
//!   signature (only that subgraph can make one) and turns the user's notification
//!   email off. `200` when done, `400` for a link that is not valid.
//! - `GET` (a person opening the link): a page with a button that posts it. Opening
//!   the link changes nothing, since mail scanners open links too.

use std::time::Duration;

use hive_router::http::Method;
use hive_router::ntex::http::{Response, StatusCode};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};
use serde::Deserialize;

/// Where the link points.
pub const PATH: &str = "/unsubscribe";

/// The longest token accepted (a real one is 43 characters).
const MAX_TOKEN: usize = 128;

/// The plugin's configuration.
#[derive(Deserialize)]
pub struct UnsubscribeConfig {
    /// The notification subgraph's base URL.
    pub notification: String,
    /// `gateway.subgraph_secret`.
    pub secret: String,
}

/// The unsubscribe plugin.
pub struct Unsubscribe {
    notification: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

/// The token of a query string, when it has a plausible one.
fn token(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
}

fn page(status: StatusCode, body: &str) -> Response {
    Response::build(status)
        .content_type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(format!(
            "<!DOCTYPE html><html><head><title>EchoStream</title></head>\
             <body style=\"font-family:sans-serif\">{body}</body></html>"
        ))
}

impl Unsubscribe {
    async fn forward(&self, token: &str) -> Response {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let signature =
            echostream_config::signing::request_signature(&self.secret, "notification", t, "");
        let answer = self
            .client
            .post(format!("{}{PATH}", self.notification))
            .header("x-echostream-signature", signature)
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await;
        match answer.map(|a| a.status().as_u16()) {
            Ok(200) => page(
                StatusCode::OK,
                "<p>You are unsubscribed: EchoStream will not email you notifications. \
                 Turn them back on in your notification preferences.</p>",
            ),
            Ok(400) => page(
                StatusCode::BAD_REQUEST,
                "<p>This unsubscribe link is not valid.</p>",
            ),
            other => {
                tracing::warn!(answer = ?other, "unsubscribe not forwarded");
                page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<p>Please try again in a moment.</p>",
                )
            }
        }
    }
}

impl RouterPlugin for Unsubscribe {
    type Config = UnsubscribeConfig;

    fn plugin_name() -> &'static str {
        "echostream_unsubscribe"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        payload.initialize_plugin(Unsubscribe {
            notification: config.notification.trim_end_matches('/').to_string(),
            secret: config.secret.into_bytes(),
            client: crate::subgraph_client("unsubscribe", Duration::from_secs(5))?,
        })
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let request = &payload.router_http_request;
            if request.path() != PATH {
                return payload.proceed();
            }
            let Some(token) = token(request.uri().query()) else {
                return payload.end_with_response(page(
                    StatusCode::BAD_REQUEST,
                    "<p>This unsubscribe link is not valid.</p>",
                ));
            };
            let response = match *request.method() {
                Method::POST => self.forward(&token).await,
                Method::GET | Method::HEAD => page(
                    StatusCode::OK,
                    &format!(
                        "<form method=\"post\" action=\"{PATH}?token={}\">\
                         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
                         <p>Stop notification emails from EchoStream?</p>\
                         <button type=\"submit\">Unsubscribe</button></form>",
                        form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
                    ),
                ),
                _ => Response::build(StatusCode::METHOD_NOT_ALLOWED).finish(),
            };
            payload.end_with_response(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_read_from_the_query_and_junk_is_not_one() {
        assert_eq!(token(Some("token=abc_-1")), Some("abc_-1".into()));
        assert_eq!(token(Some("a=1&token=x%2By")), Some("x+y".into()));
        assert_eq!(token(Some("token=")), None);
        assert_eq!(token(None), None);
        assert_eq!(token(Some(&format!("token={}", "a".repeat(200)))), None);
    }
}
