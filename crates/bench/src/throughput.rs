//! `--mode throughput`: how many requests a second the platform answers from
//! concurrent clients, each signed in as one of `--tokens` distinct users (so no
//! single cached token flatters the figure), straight to the auth subgraph and
//! through the gateway. The gateway's figure over the direct one is what the
//! federation layer costs; a query that spans three subgraphs shows what planning
//! and entity fetches add.
//!
//! Every loop runs for a bounded time and talks only to 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use echostream_testkit::platform::Profile;
use futures::future::join_all;
use serde_json::json;

use crate::{Summary, cpu, print_row, summarise};

/// Options of the throughput mode.
#[derive(Args, Clone)]
pub struct ThroughputArgs {
    /// Distinct signed-in users whose tokens the clients take turns with (1 to 1000).
    #[arg(long, default_value_t = 32)]
    tokens: usize,
    /// Concurrent clients, each with its own keep-alive connection (1 to 512).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds each target is loaded (1 to 120).
    #[arg(long = "duration", default_value_t = 10)]
    duration: u64,
}

/// `me` as the auth subgraph alone answers it.
const ME: &str = "query Me { me { id username } }";
/// `me` with a field from each of profile and presence: three subgraphs.
const ME_THREE: &str = "query MeThree { me { id username displayName presence { status } } }";

/// Runs the throughput mode on a platform of its own.
pub async fn run(args: ThroughputArgs, profile: Profile, split: bool) -> Result<()> {
    let tokens = args.tokens.clamp(1, 1000);
    let connections = args.connections.clamp(1, 512);
    let seconds = Duration::from_secs(args.duration.clamp(1, 120));
    let platform = crate::start_platform(
        profile,
        split,
        &[
            ("ECHOSTREAM_AUTH__LOGIN_ATTEMPTS_PER_IP", "100000000"),
            ("ECHOSTREAM_AUTH__REGISTRATIONS_PER_IP", "100000000"),
        ],
    )
    .await?;
    let people = crate::load::sign_up_many(&platform, "tp", tokens).await;
    let tokens: Arc<Vec<String>> = Arc::new(people.into_iter().map(|p| p.token).collect());
    let auth = platform.subgraph_url("auth");
    let signature = platform.gateway_signature("auth");
    let direct = Target {
        url: auth,
        query: ME,
        signature: Some(signature),
    };
    let gateway = Target {
        url: platform.gateway.clone(),
        query: ME,
        signature: None,
    };
    let three = Target {
        url: platform.gateway.clone(),
        query: ME_THREE,
        signature: None,
    };
    let mut rows = Vec::new();
    for (name, target) in [
        ("`me` straight to auth", &direct),
        ("`me` through the gateway", &gateway),
        ("`me` over 3 subgraphs (gateway)", &three),
    ] {
        // Warm connections, plans and caches first.
        load(target, &tokens, connections, Duration::from_secs(1)).await?;
        let cpu = cpu::Snapshot::take(&platform.processes());
        let summary = load(target, &tokens, connections, seconds).await?;
        let usage = cpu.usage();
        let answered = (summary.per_second * usage.seconds) as usize;
        let cpu = format!("{}; {}", usage.line(), usage.per(answered, "request"));
        rows.push((name, summary, cpu));
    }
    println!(
        "EchoStream throughput bench ({profile:?} profile, {} tokens, {connections} connections, {} s each)",
        tokens.len(),
        seconds.as_secs()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "", "p50 µs", "p90 µs", "p99 µs", "max µs", "per s"
    );
    for (name, summary, _) in &rows {
        print_row(name, summary);
    }
    for (name, _, cpu) in &rows {
        println!("{name}: {cpu}");
    }
    let rate = |i: usize| rows[i].1.per_second;
    println!(
        "gateway / direct throughput (`me`): {:.2}; three subgraphs / direct: {:.2}",
        rate(1) / rate(0).max(f64::EPSILON),
        rate(2) / rate(0).max(f64::EPSILON)
    );
    Ok(())
}

/// Where a load goes and what it asks.
struct Target {
    url: String,
    query: &'static str,
    /// The gateway's signature, for a subgraph called directly.
    signature: Option<String>,
}

/// `connections` clients ask `target` back to back for `period`, client `c` as
/// `tokens[c % tokens.len()]`: every answer's latency, and the rate over the period.
async fn load(
    target: &Target,
    tokens: &Arc<Vec<String>>,
    connections: usize,
    period: Duration,
) -> Result<Summary> {
    let body = serde_json::to_vec(&json!({ "query": target.query }))?;
    let started = Instant::now();
    let until = started + period;
    let clients = (0..connections).map(|c| {
        let client = reqwest::Client::new();
        let mut request = client
            .post(&target.url)
            .header("content-type", "application/json")
            .header(
                "accept",
                "application/graphql-response+json, application/json",
            )
            .bearer_auth(&tokens[c % tokens.len()])
            .body(body.clone());
        if let Some(signature) = &target.signature {
            request = request.header(echostream_service::trust::SIGNATURE_HEADER, signature);
        }
        let request = request.build();
        let url = target.url.clone();
        // A task each, so the clients' own work spreads over the runtime's threads.
        tokio::spawn(async move {
            let request = request?;
            let mut samples = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                let answer = client
                    .execute(request.try_clone().expect("a body of bytes"))
                    .await?;
                let text = answer.text().await?;
                samples.push(t.elapsed());
                if text.contains("\"errors\"") {
                    bail!("{url} answered with errors: {text}");
                }
            }
            Ok::<_, anyhow::Error>(samples)
        })
    });
    let mut samples = Vec::new();
    for answered in join_all(clients).await {
        samples.extend(answered??);
    }
    Ok(summarise(samples, started.elapsed()))
}
