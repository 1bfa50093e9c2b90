//! `echostream bench`: figures for the gateway's overhead, printed, never asserted.
//!
//! Sends the same small query many times straight to a subgraph and through the
//! gateway, one at a time, and prints latency percentiles and throughput for both.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

/// Options of `echostream bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// The gateway's GraphQL URL.
    #[arg(long, default_value = "http://127.0.0.1:4000/graphql")]
    gateway: String,
    /// A subgraph's GraphQL URL, for the direct baseline.
    #[arg(long, default_value = "http://127.0.0.1:4101/graphql")]
    subgraph: String,
    /// Requests per target (bounded: at most 100 000).
    #[arg(long, default_value_t = 2000)]
    requests: usize,
}

/// Latency percentiles of a sample, in microseconds.
pub struct Summary {
    pub p50: u128,
    pub p90: u128,
    pub p99: u128,
    pub max: u128,
    pub per_second: f64,
}

/// Summarises durations measured over `elapsed`.
pub fn summarise(mut samples: Vec<Duration>, elapsed: Duration) -> Summary {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).map_or(0, Duration::as_micros)
    };
    Summary {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: samples.last().map_or(0, Duration::as_micros),
        per_second: samples.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
    }
}

async fn measure(client: &reqwest::Client, url: &str, requests: usize) -> Result<Summary> {
    let body = serde_json::json!({ "query": "query Bench { __typename }" });
    let started = Instant::now();
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let response = client
            .post(url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        response.error_for_status()?.bytes().await?;
        samples.push(t.elapsed());
    }
    Ok(summarise(samples, started.elapsed()))
}

/// Runs the benchmark against a platform that is already running.
pub async fn run(args: BenchArgs) -> Result<()> {
    let requests = args.requests.clamp(1, 100_000);
    let client = reqwest::Client::new();
    // Warm up connections and caches.
    measure(&client, &args.subgraph, 50).await?;
    measure(&client, &args.gateway, 50).await?;
    let direct = measure(&client, &args.subgraph, requests).await?;
    let gateway = measure(&client, &args.gateway, requests).await?;
    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "target", "p50 µs", "p90 µs", "p99 µs", "max µs", "req/s"
    );
    for (name, s) in [("subgraph (direct)", &direct), ("gateway", &gateway)] {
        println!(
            "{name:<22} {:>8} {:>8} {:>8} {:>8} {:>10.0}",
            s.p50, s.p90, s.p99, s.max, s.per_second
        );
    }
    println!(
        "gateway overhead p50: {} µs",
        gateway.p50.saturating_sub(direct.p50)
    );
    Ok(())
}
