//! Starts a whole EchoStream platform (the real binary) for one test, on either
//! profile, isolated from every other test: its own ports, data directory, database,
//! topic prefix, key prefix and bucket.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use echostream_config::Subgraph;
use echostream_service::trust::GatewayTrust;
pub use echostream_service::trust::SIGNATURE_HEADER;
use serde_json::{Value, json};

/// Which implementations the platform runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Embedded,
    Services,
}

/// A running platform; stopped when dropped.
pub struct Platform {
    pub profile: Profile,
    pub gateway: String,
    pub subgraph_ports: Vec<(&'static str, u16)>,
    pub data_dir: PathBuf,
    /// The secret the platform's gateway signs subgraph requests with.
    subgraph_secret: String,
    /// The binary and the configuration environment it was started with, for
    /// [`Platform::cli`].
    binary: String,
    config_env: Vec<(String, String)>,
    /// Every variable the platform was started with, to start it again.
    start_env: Vec<(String, String)>,
    /// One process for everything, or one per service (see [`Platform::start_split`]).
    split: bool,
    /// The running processes: `run` alone, or `serve <service>` for each service.
    children: Vec<Child>,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

/// Six ports that are free now, from a block of this process's own: test processes
/// run side by side, and a block derived from the process id keeps them apart. The
/// blocks lie below Linux's ephemeral range (32768+), so outgoing connections cannot
/// take a port before the platform binds it.
fn free_ports(attempt: u32) -> Vec<u16> {
    const BLOCKS: u32 = 1_000;
    let start = (std::process::id() + attempt * 337) % BLOCKS;
    for b in 0..BLOCKS {
        let base = 22_000 + ((start + b) % BLOCKS) as u16 * 10;
        let ports: Vec<u16> = (base..base + 6).collect();
        if ports
            .iter()
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            return ports;
        }
    }
    panic!("no free block of ports");
}

/// A variable the test harness (scripts/test.sh) sets for the services profile.
pub fn service_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: the services-profile tests need the real services that scripts/test.sh starts")
    })
}

impl Platform {
    /// Starts the `echostream` binary at `binary` and waits until the gateway answers
    /// queries.
    pub async fn start(binary: &str, profile: Profile) -> Platform {
        Platform::start_with(binary, profile, &[]).await
    }

    /// Like [`Platform::start`], with extra environment (configuration overrides).
    ///
    /// A start that fails because a chosen port was taken in the meantime is retried
    /// with new ports.
    pub async fn start_with(
        binary: &str,
        profile: Profile,
        extra_env: &[(&str, &str)],
    ) -> Platform {
        let mut last = String::new();
        for attempt in 0..3 {
            match Platform::try_start(binary, profile, extra_env, attempt, None, false).await {
                Ok(platform) => return platform,
                Err(log) if log.contains("Address already in use") => last = log,
                Err(log) => panic!("platform exited before becoming ready:\n{log}"),
            }
        }
        panic!("platform could not find free ports:\n{last}");
    }

    /// The platform on the services profile as a deployment runs it: each service
    /// (the gateway and every subgraph) its own process. [`Platform::another_instance`]
    /// then starts a second of every process.
    pub async fn start_split(binary: &str, extra_env: &[(&str, &str)]) -> Platform {
        let mut last = String::new();
        for attempt in 0..3 {
            match Platform::try_start(binary, Profile::Services, extra_env, attempt, None, true)
                .await
            {
                Ok(platform) => return platform,
                Err(log) if log.contains("Address already in use") => last = log,
                Err(log) => panic!("a process exited before the platform became ready:\n{log}"),
            }
        }
        panic!("platform could not find free ports:\n{last}");
    }

    /// Another instance of this platform: a second process (or set of processes, when
    /// split) on its own ports and data directory, sharing this one's database,
    /// broker, store, secrets and prefixes (services profile: how a deployment runs
    /// two of every process).
    pub async fn another_instance(&self) -> Platform {
        let mut last = String::new();
        for attempt in 1..4 {
            match Platform::try_start(
                &self.binary,
                self.profile,
                &[],
                attempt,
                Some(self),
                self.split,
            )
            .await
            {
                Ok(platform) => return platform,
                Err(log) if log.contains("Address already in use") => last = log,
                Err(log) => panic!("the second instance exited before becoming ready:\n{log}"),
            }
        }
        panic!("the second instance could not find free ports:\n{last}");
    }

    async fn try_start(
        binary: &str,
        profile: Profile,
        extra_env: &[(&str, &str)],
        attempt: u32,
        like: Option<&Platform>,
        split: bool,
    ) -> Result<Platform, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let log = dir.path().join("platform.log");
        let ports = free_ports(attempt);
        let gateway_port = ports[0];
        let subgraph_ports: Vec<(&'static str, u16)> = Subgraph::ALL
            .iter()
            .zip(&ports[1..])
            .map(|(s, p)| (s.name(), *p))
            .collect();
        std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(binary);
        let subgraph_secret = match like {
            Some(first) => {
                command.envs(
                    first
                        .start_env
                        .iter()
                        .filter(|(k, _)| !instance_specific(k))
                        .map(|(k, v)| (k, v)),
                );
                first.subgraph_secret.clone()
            }
            None => {
                let secret = format!("test-{}", uuid::Uuid::now_v7().simple());
                profile_env(&mut command, profile, &secret, extra_env);
                secret
            }
        };
        command
            .env("ECHOSTREAM_DATA_DIR", &data_dir)
            .env("ECHOSTREAM_GATEWAY__PORT", gateway_port.to_string());
        for (name, port) in &subgraph_ports {
            command.env(
                format!("ECHOSTREAM_LISTEN__{}_PORT", name.to_uppercase()),
                port.to_string(),
            );
        }
        let start_env: Vec<(String, String)> = command
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect();
        let config_env: Vec<(String, String)> = start_env
            .iter()
            .filter(|(k, _)| k.starts_with("ECHOSTREAM_"))
            .cloned()
            .collect();
        let children = spawn(binary, &start_env, &log, split).await;
        let mut platform = Platform {
            subgraph_secret,
            binary: binary.to_string(),
            config_env,
            start_env,
            profile,
            gateway: format!("http://127.0.0.1:{gateway_port}/graphql"),
            subgraph_ports,
            data_dir,
            split,
            children,
            _dir: dir,
            log,
        };
        platform.wait_until_ready().await?;
        Ok(platform)
    }

    /// Kills the platform as a crash does (`SIGKILL`: nothing is flushed, no task
    /// finishes), then starts it again on the same ports, data and services, and
    /// waits until it is ready.
    pub async fn crash_and_restart(&mut self) {
        self.kill();
        self.children = spawn(&self.binary, &self.start_env, &self.log, self.split).await;
        if let Err(log) = self.wait_until_ready().await {
            panic!("the platform did not start again:\n{log}");
        }
    }

    /// Waits for the gateway; the platform's log when it exited first.
    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let ok = client
                .post(&self.gateway)
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(response) = ok {
                let body: Value = response.json().await.unwrap_or_default();
                // Answered, and by this platform: it is still running.
                if body["data"]["__typename"] == "Query" && self.is_running() {
                    return Ok(());
                }
            }
            for child in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                    return Err(format!("exit {status}:\n{text}"));
                }
            }
            if Instant::now() > deadline {
                panic!("platform did not become ready:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The platform's object store, as the platform sees it (to check what is and is
    /// not stored).
    pub async fn objects(&self) -> std::sync::Arc<dyn echostream_ports::objects::ObjectStore> {
        use echostream_config::S3Config;
        use echostream_ports::objects::{local::LocalObjects, s3::S3Objects};
        match self.profile {
            Profile::Embedded => std::sync::Arc::new(LocalObjects::new(
                self.data_dir.join("objects"),
                String::new(),
                Vec::new(),
            )),
            Profile::Services => {
                let config = S3Config {
                    endpoint: service_env("TEST_ECHOSTREAM_S3"),
                    access_key: service_env("TEST_ECHOSTREAM_S3_ACCESS_KEY"),
                    secret_key: service_env("TEST_ECHOSTREAM_S3_SECRET_KEY"),
                    bucket: "echostream-e2e".into(),
                    ..S3Config::default()
                };
                std::sync::Arc::new(S3Objects::connect(&config).await.expect("S3"))
            }
        }
    }

    /// A configuration value the platform was started with (`ECHOSTREAM_…`).
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.config_env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Runs `echostream <args>` on this platform's configuration (an operator's
    /// command beside the running platform); returns its standard output, or panics
    /// with its error output when it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new(&self.binary)
            .args(args)
            .envs(self.config_env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run the echostream binary");
        assert!(
            output.status.success(),
            "echostream {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Everything the platform printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines the platform printed.
    pub fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// The platform's process id (when split, the gateway's).
    pub fn pid(&self) -> u32 {
        self.children[0].id()
    }

    /// Every process of the platform, by the service it runs (`all` when one process
    /// runs everything).
    pub fn processes(&self) -> Vec<(&'static str, u32)> {
        if !self.split {
            return vec![("all", self.pid())];
        }
        std::iter::once("gateway")
            .chain(Subgraph::ALL.iter().map(|s| s.name()))
            .zip(self.children.iter().map(Child::id))
            .collect()
    }

    /// Whether every process of the platform is still running.
    pub fn is_running(&mut self) -> bool {
        self.children
            .iter_mut()
            .all(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills every process of the platform as a crash does (`SIGKILL`: nothing is
    /// flushed, no task finishes) and reaps them.
    pub fn kill(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The platform's resident memory in MiB (from `/proc`), all its processes.
    pub fn rss_mib(&self) -> f64 {
        let rss = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        self.processes().into_iter().map(|(_, pid)| rss(pid)).sum()
    }

    /// The gateway's base URL (no path).
    pub fn gateway_base(&self) -> String {
        self.gateway.trim_end_matches("/graphql").to_string()
    }

    /// The signature the gateway would put on a request to subgraph `name` now.
    pub fn gateway_signature(&self, name: &str) -> String {
        let name = Subgraph::from_name(name).expect("subgraph").name();
        GatewayTrust::new(&self.subgraph_secret, name, true)
            .signature(chrono::Utc::now().timestamp())
    }

    /// Sets the clock the platform's time rules read to `now` (it runs on from
    /// there); see `clock.settable`.
    pub async fn set_clock(&self, now: chrono::DateTime<chrono::Utc>) {
        self.move_clock(json!({ "now": now })).await;
    }

    /// Moves the clock the platform's time rules read by `secs`.
    pub async fn advance_clock(&self, secs: i64) {
        self.move_clock(json!({ "advanceSecs": secs })).await;
    }

    async fn move_clock(&self, body: Value) {
        let url = self
            .subgraph_url("notification")
            .replace("/graphql", "/clock");
        let answer = reqwest::Client::new()
            .post(url)
            .header(SIGNATURE_HEADER, self.gateway_signature("notification"))
            .json(&body)
            .send()
            .await
            .expect("the clock answers");
        assert!(answer.status().is_success(), "moving the clock: {answer:?}");
    }

    /// Posts an operation straight to subgraph `name`, signed as the gateway signs
    /// (what the gateway forwards, without its checks); returns the whole body.
    pub async fn post_as_gateway(
        &self,
        name: &str,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> Value {
        let mut request = self.signed_request(name, query, variables);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request).await
    }

    /// Posts an operation straight to subgraph `name` with the gateway's signature
    /// vouching for `viewer` (and no token): what the gateway sends for a client whose
    /// token it verified.
    pub async fn post_vouched(
        &self,
        name: &str,
        viewer: &echostream_service::token::Viewer,
        query: &str,
    ) -> Value {
        let subgraph = Subgraph::from_name(name).expect("subgraph").name();
        let trust = GatewayTrust::new(&self.subgraph_secret, subgraph, true);
        let request = reqwest::Client::new()
            .post(self.subgraph_url(name))
            .header(
                SIGNATURE_HEADER,
                trust.signature_for(viewer, chrono::Utc::now().timestamp()),
            )
            .json(&json!({ "query": query }));
        answer(request).await
    }

    /// A request to subgraph `name` signed as the gateway signs it.
    fn signed_request(&self, name: &str, query: &str, variables: Value) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .post(self.subgraph_url(name))
            .header(SIGNATURE_HEADER, self.gateway_signature(name))
            .json(&json!({ "query": query, "variables": variables }))
    }

    /// Posts an operation straight to subgraph `name` as the gateway does for a
    /// client at `address` (signed, with the address and its MAC): how a test
    /// stands for clients at several addresses.
    pub async fn post_as_gateway_from(
        &self,
        name: &str,
        address: &str,
        query: &str,
        variables: Value,
    ) -> Value {
        let subgraph = Subgraph::from_name(name).expect("subgraph").name();
        let trust = GatewayTrust::new(&self.subgraph_secret, subgraph, true);
        let request = self
            .signed_request(name, query, variables)
            .header("x-forwarded-for", address)
            .header(
                echostream_service::trust::CLIENT_MAC_HEADER,
                trust.client_mac(address),
            );
        answer(request).await
    }

    /// A subgraph's GraphQL URL, bypassing the gateway.
    pub fn subgraph_url(&self, name: &str) -> String {
        let port = self
            .subgraph_ports
            .iter()
            .find(|(n, _)| *n == name)
            .expect("subgraph")
            .1;
        format!("http://127.0.0.1:{port}/graphql")
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- platform log ({:?}) ---\n{}",
                self.profile,
                self.log_tail()
            );
        }
        self.kill();
    }
}

/// Starts the platform's processes with `env`, their output appended to `log`: the
/// binary's `run` alone, or (`split`) `serve <service>` for each subgraph and then,
/// once they all answer (it reads auth's keys as it starts), the gateway. The gateway
/// is listed first.
async fn spawn(binary: &str, env: &[(String, String)], log: &PathBuf, split: bool) -> Vec<Child> {
    let start = |args: &[&str]| {
        let output = || {
            Stdio::from(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(log)
                    .expect("log file"),
            )
        };
        Command::new(binary)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            // How `echostream bench` names the platform binary to its bench process;
            // not a setting of the platform, whose configuration refuses unknown keys.
            .env_remove("ECHOSTREAM_BIN")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output())
            .stderr(output())
            .spawn()
            .expect("start the echostream binary")
    };
    if !split {
        return vec![start(&[])];
    }
    let mut subgraphs: Vec<Child> = Subgraph::ALL
        .iter()
        .map(|s| start(&["serve", s.name()]))
        .collect();
    let ports: Vec<u16> = Subgraph::ALL
        .iter()
        .filter_map(|s| {
            let key = format!("ECHOSTREAM_LISTEN__{}_PORT", s.name().to_uppercase());
            env.iter().find(|(k, _)| *k == key)?.1.parse().ok()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    for port in ports {
        let health = format!("http://127.0.0.1:{port}/health");
        while reqwest::get(&health).await.is_err()
            && Instant::now() < deadline
            && subgraphs
                .iter_mut()
                .all(|c| matches!(c.try_wait(), Ok(None)))
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut children = vec![start(&["serve", "gateway"])];
    children.append(&mut subgraphs);
    children
}

/// Sends `request` to a subgraph and reads its JSON answer.
async fn answer(request: reqwest::RequestBuilder) -> Value {
    request
        .send()
        .await
        .expect("subgraph reachable")
        .json()
        .await
        .expect("a JSON body")
}

/// Whether the variable `key` belongs to one instance (ports, data directory) rather
/// than to the platform its instances share.
fn instance_specific(key: &str) -> bool {
    key == "ECHOSTREAM_DATA_DIR"
        || key == "ECHOSTREAM_GATEWAY__PORT"
        || key.starts_with("ECHOSTREAM_LISTEN__")
}

/// Sets what a new test platform on `profile` runs with: logging, lifted rate
/// limits, and (services) a database, topic prefix, key prefix and bucket of its own.
fn profile_env(command: &mut Command, profile: Profile, secret: &str, extra_env: &[(&str, &str)]) {
    command
        .env("ECHOSTREAM_GATEWAY__SUBGRAPH_SECRET", secret)
        // Time rules (mutes, quiet hours, digests) are tested by moving the clock
        // (`Platform::set_clock`), never by waiting.
        .env("ECHOSTREAM_CLOCK__SETTABLE", "true")
        .env("RUST_LOG", "info")
        // Start-up errors as one readable chain, without a backtrace.
        .env("RUST_BACKTRACE", "0")
        .env("LOG_LEVEL", "warn");
    // Tests and the bench drive users far faster than people do: the per-user
    // rate limits are lifted here (tests of the limits themselves set theirs).
    for key in [
        "SEND_MESSAGE_PER_10S",
        "MARKS_PER_MINUTE",
        "GROUPS_PER_HOUR",
        "FRIEND_REQUESTS_PER_HOUR",
        "EMAIL_CHANGES_PER_HOUR",
        "SEARCHES_PER_MINUTE",
        "EXPORTS_PER_HOUR",
        "OTHER_WRITES_PER_MINUTE",
    ] {
        command.env(format!("ECHOSTREAM_RATE_LIMITS__{key}"), "1000000");
    }
    if profile == Profile::Services {
        let isolation = format!("t{}", uuid::Uuid::now_v7().simple());
        let pg = service_env("TEST_ECHOSTREAM_POSTGRES");
        command
            .env("ECHOSTREAM_PROFILE", "services")
            .env(
                "ECHOSTREAM_AUTH__KEY_ENCRYPTION_KEY",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    rand::random::<[u8; 32]>(),
                ),
            )
            // PostgreSQL here is on loopback: TLS (sqlx prefers it whenever the
            // server offers it, and Debian's does) would only cost both ends CPU.
            .env(
                "ECHOSTREAM_DATABASE__URL",
                format!(
                    "{}/es_{isolation}?sslmode=disable",
                    pg.trim_end_matches('/')
                ),
            )
            .env(
                "ECHOSTREAM_KAFKA__BROKERS",
                service_env("TEST_ECHOSTREAM_KAFKA"),
            )
            .env("ECHOSTREAM_KAFKA__TOPIC_PREFIX", format!("{isolation}."))
            .env(
                "ECHOSTREAM_REDIS__URL",
                service_env("TEST_ECHOSTREAM_REDIS"),
            )
            .env("ECHOSTREAM_REDIS__KEY_PREFIX", format!("{isolation}:"))
            .env("ECHOSTREAM_S3__ENDPOINT", service_env("TEST_ECHOSTREAM_S3"))
            .env(
                "ECHOSTREAM_S3__ACCESS_KEY",
                service_env("TEST_ECHOSTREAM_S3_ACCESS_KEY"),
            )
            .env(
                "ECHOSTREAM_S3__SECRET_KEY",
                service_env("TEST_ECHOSTREAM_S3_SECRET_KEY"),
            )
            // One bucket for every test platform: a bucket per platform piles
            // up in the store; no test reads another's objects.
            .env("ECHOSTREAM_S3__BUCKET", "echostream-e2e")
            .env(
                "ECHOSTREAM_SMTP__PORT",
                service_env("TEST_ECHOSTREAM_SMTP_PORT"),
            );
    } else {
        command.env("ECHOSTREAM_PROFILE", "embedded");
    }
    for (key, value) in extra_env {
        command.env(key, value);
    }
}
