//! The service bootstrap every subgraph starts from: one call builds the ports from
//! the configuration and serves the subgraph's schema over HTTP and WebSocket
//! ([`service`]), with what stands at the edge of every request — the gateway's
//! signature ([`trust`]), access tokens and ended sessions ([`token`]), request
//! bounds and rate limits, metrics, live subscriptions — and the small pieces every
//! resolver uses (pages, input checks, the viewer).

pub mod input;
pub mod metrics;
pub mod pages;
pub mod rate_limits;
pub mod request_checks;
pub mod resolver;
pub mod service;
pub mod stream;
pub mod subscriptions;
pub mod token;
pub mod trust;
pub mod ws_handshake;

pub use echostream_ports::{Error, Result};
