// ntex builds the router service from deeply nested types.
#![recursion_limit = "256"]

//! The EchoStream federation gateway, built on the Hive Router library.
//!
//! Query planning, entity resolution, subscriptions (graphql-transport-ws to clients
//! and to subgraphs), JWT verification and operation limits are the router's; this
//! crate only turns EchoStream's configuration into the router's and adds what the
//! router's configuration cannot express, as plugins.

pub mod client_ip;
pub mod limits;
pub mod playground;
pub mod readiness;
pub mod router_config;
pub mod sockets;
pub mod unsubscribe;

use hive_router::error::RouterInitError;

/// The allocator of every EchoStream process (mimalloc, the router's own choice).
///
/// The system allocator kept what bursts had used: a sign-in burst (argon2 takes
/// 19 MiB per hash, on whichever blocking thread runs it) left RSS at 369 MiB, as
/// each thread's arena held on to its peak. Call [`return_freed_memory_at_once`]
/// first thing in `main`.
pub use hive_router::RouterGlobalAllocator as Allocator;

/// mimalloc v3's `mi_option_purge_delay` (its position in `mi_option_e`; the
/// crate does not export it). Checked by a test against the linked library.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes mimalloc give freed pages back to the system when they are freed.
///
/// By default it waits a second, and only a thread that allocates again carries out
/// its delayed purges: a burst served by threads that then sit idle (blocking-pool
/// threads after argon2, workers after a wave of large requests) kept its memory.
/// Measured on the hostile-input run: 600 wide-variable requests left RSS 40 MiB
/// higher with the delay, 7 MiB without.
pub fn return_freed_memory_at_once() {
    // SAFETY: sets a process-wide allocator option; mimalloc reads it at each purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}
use hive_router::{PluginRegistry, init_rustls_crypto_provider, ntex, router_entrypoint};

/// The HTTP client a plugin calls a subgraph with: every call ends within
/// `timeout`, so a stuck subgraph cannot hold a client's request.
pub(crate) fn subgraph_client(
    plugin: &str,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("{plugin} client: {e}"))
}

/// Every plugin EchoStream adds to the router.
pub fn plugins() -> PluginRegistry {
    PluginRegistry::new()
        .register::<readiness::Readiness>()
        .register::<unsubscribe::Unsubscribe>()
        .register::<playground::Playground>()
        .register::<client_ip::ClientIp>()
        .register::<limits::Limits>()
        .register::<sockets::Sockets>()
}

/// Runs `work` with `request_id` as the request id the router's log formatter
/// writes on each line (its task-local): for the subgraphs' requests when they share
/// the gateway's process (`echostream_telemetry::set_request_scope`).
pub fn log_scope<'a>(
    request_id: &str,
    work: futures::future::BoxFuture<'a, ()>,
) -> futures::future::BoxFuture<'a, ()> {
    use hive_router::telemetry::logging::request_id::{
        REQUEST_IDENTIFIERS, RequestIdentifierExtractor,
    };
    let mut headers = hive_router::http::HeaderMap::new();
    if let Ok(value) = hive_router::http::HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", value);
    }
    let identifiers = RequestIdentifierExtractor::new(Default::default())
        .extract(&headers, &opentelemetry::Context::new());
    Box::pin(REQUEST_IDENTIFIERS.scope(std::sync::Arc::new(identifiers), work))
}

/// The router failed to start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("gateway: {0}")]
pub struct GatewayError(String);

/// Runs the router with the configuration file at `ROUTER_CONFIG_FILE_PATH` until it
/// stops; blocks the calling thread on the router's own (ntex) runtime.
pub fn run() -> Result<(), GatewayError> {
    run_router().map_err(|e| GatewayError(e.to_string()))
}

#[hive_router::main]
async fn run_router() -> Result<(), RouterInitError> {
    init_rustls_crypto_provider();
    router_entrypoint(plugins()).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // Default 1,000 ms, as mimalloc v3 sets `purge_delay`: the index is right.
        // SAFETY: reads a process-wide allocator option.
        let before = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(before, 1_000);
        super::return_freed_memory_at_once();
        let after = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(after, 0);
    }
}
