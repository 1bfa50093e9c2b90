//! `echostream`: runs the whole platform, or one service of it.
//!
//! With no arguments it starts the gateway and all five subgraphs in this process on
//! the configured profile (embedded by default: no external servers) and prints
//! where the playground is.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use echostream_config::{Config, Subgraph};
use echostream_service::service::Ports;
use tokio_util::sync::CancellationToken;

mod dead_letters;

#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: echostream_gateway::Allocator = echostream_gateway::Allocator;

#[derive(Parser)]
#[command(
    name = "echostream",
    version,
    about = "Real-time chat platform: a federated GraphQL API"
)]
struct Cli {
    /// Configuration file (TOML); `ECHOSTREAM_*` variables override it.
    #[arg(long, short, global = true, env = "ECHOSTREAM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway and all five subgraphs in one process (the default).
    Run,
    /// Start one service: gateway, auth, profile, chat, presence or notification.
    Serve { service: String },
    /// Check the configuration one service would start with (the file and the
    /// `ECHOSTREAM_*` environment), as `serve` checks it, and exit: 0 when it
    /// would start, else the message naming the key.
    Check { service: String },
    /// Run every subgraph's migrations and exit.
    Migrate,
    /// Write each subgraph's SDL into schema/ and compose the supergraph.
    Schema {
        /// Fail instead of writing when schema/ is out of date.
        #[arg(long)]
        check: bool,
    },
    /// Start a platform of its own and print gateway overhead, send→receive latency
    /// and memory figures: runs `echostream-bench` (built beside this binary) with
    /// the arguments that follow (`echostream bench --help` lists them).
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// List the events consumers could not apply and parked, or ask for their replay.
    DeadLetters {
        #[command(subcommand)]
        action: dead_letters::Action,
    },
}

fn main() -> Result<()> {
    echostream_gateway::return_freed_memory_at_once();
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run_all(config),
        Command::Serve { service } => serve_one(config, &service),
        Command::Check { service } => {
            service_config(config, &service)?;
            println!("{service}: configuration ok");
            Ok(())
        }
        Command::Migrate => {
            let _spans = init_tracing(&config, "migrate");
            runtime()?.block_on(migrate(config))
        }
        Command::Schema { check } => write_schema(Path::new("schema"), check),
        Command::Bench { args } => bench(args),
        Command::DeadLetters { action } => runtime()?.block_on(dead_letters::run(config, action)),
    }
}

/// Replaces this process with `echostream-bench` from this binary's directory: the
/// bench and its test kit are a binary of their own, so the server carries neither.
fn bench(args: Vec<std::ffi::OsString>) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let here = std::env::current_exe().context("locating this binary")?;
    let bench = here.with_file_name("echostream-bench");
    let err = std::process::Command::new(&bench)
        .args(args)
        .env("ECHOSTREAM_BIN", &here)
        .exec();
    bail!(
        "cannot run {}: {err} (cargo build --release -p echostream-bench builds it)",
        bench.display()
    )
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Logging (and span export, when configured) for a process without the router,
/// which installs its own. Keep what it returns until exit: dropping it flushes.
fn init_tracing(config: &Config, service: &str) -> Option<SpanExport> {
    let name = format!("{}-{service}", config.telemetry.service_name);
    echostream_telemetry::init(&config.telemetry, &name).map(SpanExport)
}

/// Flushes the spans still waiting when the process ends.
struct SpanExport(opentelemetry_sdk::trace::SdkTracerProvider);

impl Drop for SpanExport {
    fn drop(&mut self) {
        if let Err(err) = self.0.shutdown() {
            eprintln!("telemetry: flushing spans: {err}");
        }
    }
}

/// Starts one subgraph's service; the process serves until interrupted.
async fn start_subgraph(ports: &Ports, subgraph: Subgraph) -> Result<tokio::task::JoinHandle<()>> {
    let handle = match subgraph {
        Subgraph::Auth => echostream_auth::start(ports).await,
        Subgraph::Profile => echostream_profile::start(ports).await,
        Subgraph::Chat => echostream_chat::start(ports).await,
        Subgraph::Presence => echostream_presence::start(ports).await,
        Subgraph::Notification => echostream_notification::start(ports).await,
    };
    handle.with_context(|| format!("starting the {} subgraph", subgraph.name()))
}

/// The composed supergraph, built in (`echostream schema --check` keeps the file
/// current; `gateway.supergraph` names another).
const SUPERGRAPH: &str = include_str!("../schema/supergraph.graphql");

/// Writes the router's configuration next to the data and points the router at it.
fn prepare_gateway(config: &Config) -> Result<()> {
    let subgraphs = Subgraph::ALL
        .iter()
        .map(|s| (s.name(), config.listen.base_url(*s)))
        .collect();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data_dir {}", config.data_dir.display()))?;
    // The router reads its supergraph from a file: the built-in one is written out.
    let supergraph = match &config.gateway.supergraph {
        Some(path) => absolute(path)?,
        None => {
            let path = absolute(&config.data_dir)?.join("supergraph.graphql");
            std::fs::write(&path, SUPERGRAPH)
                .with_context(|| format!("writing {}", path.display()))?;
            path
        }
    };
    let playground = config
        .gateway
        .playground
        .as_deref()
        .map(absolute)
        .transpose()?;
    // In CIDR form for the router (the configuration accepts bare addresses too).
    let trusted_proxies: Vec<String> = config
        .gateway
        .trusted_proxies
        .iter()
        .filter_map(|p| echostream_service::trust::parse_proxy(p).map(|net| net.to_string()))
        .collect();
    let settings = echostream_gateway::router_config::GatewaySettings {
        host: &config.gateway.host,
        port: config.gateway.port,
        supergraph: &supergraph,
        playground: playground.as_deref(),
        subgraphs,
        issuer: &config.auth.issuer,
        audience: &config.auth.audience,
        subgraph_secret: &config.gateway.subgraph_secret,
        trusted_proxies: &trusted_proxies,
        limits: &config.gateway.limits,
        redis: (config.profile == echostream_config::Profile::Services).then_some(&config.redis),
        telemetry: echostream_gateway::router_config::Telemetry {
            json_logs: config.telemetry.log_format == echostream_config::LogFormat::Json,
            otlp_endpoint: config
                .telemetry
                .otlp_endpoint
                .as_deref()
                .filter(|e| !e.is_empty()),
            otlp_batch_delay_ms: config.telemetry.otlp_batch_delay_ms,
            service_name: &config.telemetry.service_name,
        },
    };
    let document = echostream_gateway::router_config::build(&settings);
    let path = absolute(&config.data_dir)?.join("gateway-router.json");
    // It holds the subgraph secret: readable by this user only.
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(&serde_json::to_vec_pretty(&document)?)?;
    }
    // SAFETY: called before any other thread of this process exists.
    unsafe { std::env::set_var("ROUTER_CONFIG_FILE_PATH", &path) };
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// Prints "EchoStream is up" once the gateway accepts connections (the subgraphs
/// already do): the router binds its port only when it runs.
fn announce_when_listening(config: &Config) {
    let (host, port, profile) = (
        config.gateway.host.clone(),
        config.gateway.port,
        config.profile,
    );
    let reach = match host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1".to_string(),
        other => other.to_string(),
    };
    let _ = std::thread::Builder::new()
        .name("announce".into())
        .spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
            while std::time::Instant::now() < deadline {
                if std::net::TcpStream::connect((reach.as_str(), port)).is_ok() {
                    println!(
                        "EchoStream is up ({profile:?} profile). Playground: http://{host}:{port}/  GraphQL: http://{host}:{port}/graphql"
                    );
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
}

fn run_all(config: Config) -> Result<()> {
    // One process: the gateway and the subgraphs share a secret made here if none is set.
    let config = config.with_subgraph_secret();
    // The router formats every log line of the process: a subgraph request's lines
    // carry its id through the router's own request scope.
    echostream_telemetry::set_request_scope(echostream_gateway::log_scope);
    prepare_gateway(&config)?;
    let shutdown = CancellationToken::new();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
    let subgraph_config = config.clone();
    let subgraph_shutdown = shutdown.clone();
    // The router runs on its own (ntex) runtime in this thread; the subgraphs run on
    // a tokio runtime in another, and must be listening before the router starts
    // (it fetches the JWKS from auth).
    let subgraphs =
        std::thread::Builder::new()
            .name("subgraphs".into())
            .spawn(move || -> Result<()> {
                let rt = runtime()?;
                rt.block_on(async move {
                    let started = async {
                        let ports =
                            Ports::connect(subgraph_config, subgraph_shutdown.clone()).await?;
                        let mut servers = Vec::new();
                        for subgraph in Subgraph::ALL {
                            servers.push(start_subgraph(&ports, subgraph).await?);
                        }
                        Ok::<_, anyhow::Error>(servers)
                    }
                    .await;
                    match started {
                        Ok(servers) => {
                            let _ = ready_tx.send(Ok(()));
                            subgraph_shutdown.cancelled().await;
                            for server in servers {
                                let _ = server.await;
                            }
                            Ok(())
                        }
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                            Ok(())
                        }
                    }
                })
            })?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(err),
        Err(_) => bail!("the subgraphs stopped before starting"),
    }
    announce_when_listening(&config);
    let result = echostream_gateway::run();
    shutdown.cancel();
    let _ = subgraphs.join();
    result.context("gateway")
}

/// What one service starts with, checked as `serve` checks it (the configuration
/// itself was checked when it was loaded): `None` for the gateway.
fn service_config(config: Config, service: &str) -> Result<(Config, Option<Subgraph>)> {
    if config.gateway.subgraph_secret.is_empty() && config.require_signature() {
        bail!(
            "gateway.subgraph_secret must be set when services run in separate processes: \
             the gateway signs its subgraph requests with it and the subgraphs check them"
        );
    }
    let config = config.with_subgraph_secret();
    if service == "gateway" {
        return Ok((config, None));
    }
    let Some(subgraph) = Subgraph::from_name(service) else {
        bail!(
            "unknown service {service:?}: expected gateway, auth, profile, chat, presence or notification"
        );
    };
    Ok((config, Some(subgraph)))
}

fn serve_one(config: Config, service: &str) -> Result<()> {
    let (config, subgraph) = service_config(config, service)?;
    let Some(subgraph) = subgraph else {
        prepare_gateway(&config)?;
        return echostream_gateway::run().context("gateway");
    };
    let _spans = init_tracing(&config, service);
    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        let ports = Ports::connect(config, shutdown.clone()).await?;
        let server = start_subgraph(&ports, subgraph).await?;
        tokio::signal::ctrl_c().await?;
        shutdown.cancel();
        let _ = server.await;
        Ok(())
    })
}

async fn migrate(config: Config) -> Result<()> {
    use echostream_migrations::MigratorTrait;
    for subgraph in Subgraph::ALL {
        let db = echostream_ports::db::connect(&config, subgraph).await?;
        match subgraph {
            Subgraph::Auth => echostream_migrations::auth::Migrator::up(&db, None).await?,
            Subgraph::Profile => echostream_migrations::profile::Migrator::up(&db, None).await?,
            Subgraph::Chat => echostream_migrations::chat::Migrator::up(&db, None).await?,
            Subgraph::Presence => echostream_migrations::presence::Migrator::up(&db, None).await?,
            Subgraph::Notification => {
                echostream_migrations::notification::Migrator::up(&db, None).await?
            }
        }
        tracing::info!(subgraph = subgraph.name(), "migrated");
    }
    Ok(())
}

/// One subgraph's SDL.
fn sdl(subgraph: Subgraph) -> String {
    match subgraph {
        Subgraph::Auth => echostream_auth::sdl(),
        Subgraph::Profile => echostream_profile::sdl(),
        Subgraph::Chat => echostream_chat::sdl(),
        Subgraph::Presence => echostream_presence::sdl(),
        Subgraph::Notification => echostream_notification::sdl(),
    }
}

/// Writes (or checks) `schema/<subgraph>.graphql`, then composes the supergraph with
/// `@theguild/federation-composition` (scripts/compose.mjs).
fn write_schema(dir: &Path, check: bool) -> Result<()> {
    let mut stale = Vec::new();
    for subgraph in Subgraph::ALL {
        let sdl = sdl(subgraph);
        let path = dir.join(format!("{}.graphql", subgraph.name()));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != sdl {
            if check {
                stale.push(path.display().to_string());
            } else {
                std::fs::write(&path, &sdl)?;
            }
        }
    }
    // The subgraphs and their default URLs, as `name=url` arguments.
    let defaults = Config::default();
    let mut compose = std::process::Command::new("node");
    compose.arg("scripts/compose.mjs").args(
        Subgraph::ALL
            .iter()
            .map(|s| format!("{}={}/graphql", s.name(), defaults.listen.base_url(*s))),
    );
    if check {
        compose.arg("--check");
    }
    let status = compose
        .status()
        .context("running node scripts/compose.mjs")?;
    if !stale.is_empty() {
        bail!(
            "schema/ is stale: {} (run `cargo run -- schema`)",
            stale.join(", ")
        );
    }
    if !status.success() {
        bail!("composition failed (see above)");
    }
    Ok(())
}
