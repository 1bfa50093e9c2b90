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
pub mod router_config;

use hive_router::error::RouterInitError;

/// The allocator of every EchoStream process (mimalloc, the router's own choice).
///
/// The system allocator kept what bursts had used: a sign-in burst (argon2 takes
/// 19 MiB per hash, on whichever blocking thread runs it) left RSS at 369 MiB, as
/// each thread's arena held on to its peak; mimalloc returns freed pages to the
/// system after a short delay.
pub use hive_router::RouterGlobalAllocator as Allocator;
use hive_router::{PluginRegistry, init_rustls_crypto_provider, ntex, router_entrypoint};

/// Every plugin EchoStream adds to the router.
pub fn plugins() -> PluginRegistry {
    PluginRegistry::new()
        .register::<playground::Playground>()
        .register::<client_ip::ClientIp>()
        .register::<limits::Limits>()
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
