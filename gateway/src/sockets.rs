//! Caps the WebSocket connections one user holds at once.
//!
//! A socket's user is known only once the router has verified the token its
//! `connection_init` carried, which it does for each operation; so the socket is
//! counted at its first operation with a verified token (the query-plan hook runs
//! after verification; operations sent at once with it wait until it is counted, so
//! a socket counts once), and released when the connection ends (the per-connection
//! plugin context, which holds the lease, is dropped). An operation on a socket
//! beyond the cap is refused with `RATE_LIMITED` naming the limit.
//!
//! With a pub/sub store configured (services), the cap holds over every gateway:
//! each socket also holds a leased place under `sockets:{user}`
//! ([`echostream_ports::pubsub::places`]), so the places of a gateway that died free
//! themselves when their leases run out. Should the store not answer, the socket is
//! counted in this gateway alone (the operations it carries need the store anyway).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use echostream_ports::pubsub::PubSubError;
use echostream_ports::pubsub::places::{Place, Places};
use echostream_ports::pubsub::redis::RedisPubSub;
use hive_router::GraphQLError;
use hive_router::http::StatusCode;
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::hooks::on_query_plan::{
    OnQueryPlanStartHookPayload, OnQueryPlanStartHookResult,
};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// The plugin's configuration.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct SocketsConfig {
    /// `gateway.limits` (it reads `max_websockets_per_user`).
    pub limits: echostream_config::GatewayLimits,
    /// Where sockets are counted over every gateway; `None` counts them here alone.
    pub redis: Option<echostream_config::RedisConfig>,
}

/// Open sockets per user id.
type Registry = Arc<Mutex<HashMap<String, usize>>>;

/// The sockets plugin.
pub struct Sockets {
    max_per_user: usize,
    open: Registry,
    shared: Option<Shared>,
}

/// The places of this gateway's sockets in the store, connected at first use.
struct Shared {
    redis: echostream_config::RedisConfig,
    places: tokio::sync::OnceCell<Arc<Places>>,
}

impl Shared {
    async fn take(&self, user: &str, cap: usize) -> Result<Option<Place>, PubSubError> {
        let places = self
            .places
            .get_or_try_init(|| async {
                let pubsub = RedisPubSub::connect(&self.redis).await?;
                // Renewed for as long as the gateway runs.
                Ok::<_, PubSubError>(Places::new(Arc::new(pubsub), CancellationToken::new()))
            })
            .await?;
        places.take(&format!("sockets:{user}"), cap).await
    }
}

/// Marks a connection's plugin context as a WebSocket's, and holds its lease once
/// taken. A client may send several operations at once on a new socket: the first
/// takes the lease while the others wait for it, so a socket never counts twice.
#[derive(Default, Clone)]
struct WebSocket(Arc<tokio::sync::OnceCell<Lease>>);

/// A socket counted against its user; released when the connection's context is
/// dropped.
struct Lease {
    user: String,
    open: Registry,
    /// Its place in the count over every gateway (given back when dropped).
    _place: Option<Place>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[hive_router::async_trait]
impl RouterPlugin for Sockets {
    type Config = SocketsConfig;

    fn plugin_name() -> &'static str {
        "echostream_sockets"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        payload.initialize_plugin(Sockets {
            max_per_user: config.limits.max_websockets_per_user,
            open: Registry::default(),
            shared: config.redis.map(|redis| Shared {
                redis,
                places: tokio::sync::OnceCell::new(),
            }),
        })
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let upgrade = payload
                .router_http_request
                .headers()
                .get("upgrade")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
            if upgrade {
                payload.context.insert(WebSocket::default());
            }
            payload.proceed()
        })
    }

    async fn on_query_plan<'exec>(
        &'exec self,
        payload: OnQueryPlanStartHookPayload<'exec>,
    ) -> OnQueryPlanStartHookResult<'exec> {
        let Some(socket) = payload
            .context
            .get_ref::<WebSocket>()
            .map(|s| WebSocket::clone(&s))
        else {
            return payload.proceed();
        };
        if socket.0.initialized() {
            return payload.proceed();
        }
        let verified = payload
            .request_context
            .read()
            .ok()
            .and_then(|r| r.authentication().jwt_status().copied())
            .unwrap_or(false);
        // The router verified this very token, so its subject can be read as is.
        let user = verified
            .then(|| payload.router_http_request.headers.get("authorization"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(subject);
        let Some(user) = user else {
            return payload.proceed();
        };
        match socket.0.get_or_try_init(|| self.lease(user)).await {
            Ok(_) => payload.proceed(),
            Err(held) => payload.end_with_graphql_error(
                GraphQLError::from_message_and_code(
                    format!(
                        "You already have {held} open connections \
                         (gateway.limits.max_websockets_per_user); close one first."
                    ),
                    "RATE_LIMITED",
                ),
                StatusCode::TOO_MANY_REQUESTS,
            ),
        }
    }
}

impl Sockets {
    /// Counts a socket of `user`, or returns how many it holds when at the cap.
    async fn lease(&self, user: String) -> Result<Lease, usize> {
        let mut lease = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let held = open.get(&user).copied().unwrap_or(0);
            if held >= self.max_per_user {
                return Err(held);
            }
            *open.entry(user.clone()).or_default() += 1;
            Lease {
                user,
                open: Arc::clone(&self.open),
                _place: None,
            }
        };
        if let Some(shared) = &self.shared {
            match shared.take(&lease.user, self.max_per_user).await {
                Ok(Some(place)) => lease._place = Some(place),
                // Dropping the lease gives back the local count.
                Ok(None) => return Err(self.max_per_user),
                Err(err) => {
                    tracing::warn!(%err, "sockets counted in this gateway alone for now");
                }
            }
        }
        Ok(lease)
    }
}

/// The `sub` claim of a bearer token (`Bearer header.payload.signature`).
fn subject(authorization: &str) -> Option<String> {
    let token = authorization.strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
    }
    serde_json::from_slice::<Claims>(&bytes).ok().map(|c| c.sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_read_from_the_token_payload() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","sid":"s"}"#);
        assert_eq!(
            subject(&format!("Bearer h.{payload}.sig")).as_deref(),
            Some("u1")
        );
        assert_eq!(subject("Bearer nonsense"), None);
        assert_eq!(subject("Basic abc"), None);
    }

    #[test]
    fn a_lease_is_given_back_when_dropped() {
        let open = Registry::default();
        open.lock().unwrap().insert("u".into(), 2);
        drop(Lease {
            user: "u".into(),
            open: Arc::clone(&open),
            _place: None,
        });
        assert_eq!(open.lock().unwrap().get("u"), Some(&1));
        drop(Lease {
            user: "u".into(),
            open: Arc::clone(&open),
            _place: None,
        });
        assert!(open.lock().unwrap().is_empty());
    }
}
