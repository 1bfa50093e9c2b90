//! `echostream-bench` (also run as `echostream bench`): figures, printed, never
//! asserted. A binary of its own, so the server binary carries none of it.
//!
//! Three modes. `--mode throughput` (`throughput.rs`) loads `me` from concurrent
//! clients straight to a subgraph and through the gateway. `--mode load` (`load.rs`) holds thousands of idle subscriptions while
//! groups message at a fixed rate, and pages a long history. The default,
//! `--mode latency`, starts its own platform (the `echostream` binary beside this one, on a temporary
//! data directory and free loopback ports), signs up two friends, then measures:
//! - gateway overhead: the same query straight to the auth subgraph and through the
//!   gateway, one at a time;
//! - send→receive latency: one user sends, the other's `messageAdded` subscription
//!   through the gateway receives, one message at a time;
//! - sign-in throughput (argon2id at OWASP parameters) from concurrent clients, with
//!   send→receive latency measured at the same time;
//! - friends' presence: `friendsPresence` through the gateway for a user with
//!   `--friends` friends (500 by default), all signed up through the API;
//! - the platform's resident memory before and after.
//!
//! Every loop is bounded and talks only to 127.0.0.1.

mod cpu;
mod load;
mod throughput;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use echostream_testkit::client::{Subscription, post, post_with_headers};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    MESSAGES, PASSWORD, Person, direct_conversation, friends, quiet_device, send, signed_up,
    wait_for_presence,
};
use serde_json::json;

/// What `echostream bench` measures.
#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    /// One request or message at a time: overhead, latency, sign-in, presence.
    Latency,
    /// Idle subscriptions, groups messaging at a rate, fan-out, a long history.
    Load,
    /// Requests a second from concurrent clients with distinct tokens, straight to
    /// a subgraph and through the gateway.
    Throughput,
}

/// Options of `echostream bench`.
#[derive(Parser)]
#[command(
    name = "echostream bench",
    version,
    about = "Start a platform of its own and print figures: gateway overhead, send→receive latency, load, memory"
)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Mode::Latency)]
    mode: Mode,
    /// Queries per target for the overhead figure (at most 100 000).
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Messages for the latency figure (at most 10 000).
    #[arg(long, default_value_t = 500)]
    messages: usize,
    /// Sign-ins for the login figure (at most 10 000), spread over `--login-clients`.
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Concurrent sign-in clients (at most 64).
    #[arg(long, default_value_t = 8)]
    login_clients: usize,
    /// Friends of the user whose friends' presence is read (at most 2000; 0 skips).
    #[arg(long, default_value_t = 500)]
    friends: usize,
    /// Run the platform on the services profile (needs the TEST_ECHOSTREAM_* variables
    /// that scripts/services.sh writes).
    #[arg(long)]
    services: bool,
    /// Run each service (the gateway, every subgraph) as its own process, as a
    /// deployment does, so CPU is reported by process (implies `--services`; load and
    /// throughput modes).
    #[arg(long)]
    split: bool,
    #[command(flatten)]
    load: load::LoadArgs,
    #[command(flatten)]
    throughput: throughput::ThroughputArgs,
}

/// Latency percentiles of a sample, in microseconds, and its rate.
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

fn print_row(name: &str, s: &Summary) {
    println!(
        "{name:<34} {:>9} {:>9} {:>9} {:>9} {:>10.0}",
        s.p50, s.p90, s.p99, s.max, s.per_second
    );
}

/// `n` sequential queries to `url`, with `headers` (a subgraph called directly takes
/// the gateway's signature).
async fn query_latency(
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
    n: usize,
) -> Result<Summary> {
    let started = Instant::now();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let body = post_with_headers(
            url,
            "query Bench { me { id username } }",
            json!({}),
            Some(token),
            headers,
        )
        .await;
        samples.push(t.elapsed());
        if body.get("errors").is_some() {
            bail!("benchmark query failed: {body}");
        }
    }
    Ok(summarise(samples, started.elapsed()))
}

/// Resident memory of a process, in MiB (Linux).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<()> {
    let args = BenchArgs::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// The platform binary the bench starts: `ECHOSTREAM_BIN`, or `echostream` beside
/// this binary (cargo builds both into one directory).
pub fn platform_binary() -> Result<String> {
    if let Ok(path) = std::env::var("ECHOSTREAM_BIN") {
        return Ok(path);
    }
    let here = std::env::current_exe().context("locating this binary")?;
    let binary = here.with_file_name("echostream");
    if !binary.exists() {
        bail!(
            "{} not found: build it (cargo build --release) or name it in ECHOSTREAM_BIN",
            binary.display()
        );
    }
    Ok(binary.to_string_lossy().into_owned())
}

/// Runs the benchmark on a platform of its own.
async fn run(args: BenchArgs) -> Result<()> {
    let profile = if args.services || args.split {
        Profile::Services
    } else {
        Profile::Embedded
    };
    match args.mode {
        Mode::Latency => latency(args, profile).await,
        Mode::Load => load::run(args.load, profile, args.split).await,
        Mode::Throughput => throughput::run(args.throughput, profile, args.split).await,
    }
}

/// Starts the platform the bench measures: one process, or (`split`, services
/// profile) one per service.
pub async fn start_platform(
    profile: Profile,
    split: bool,
    env: &[(&str, &str)],
) -> Result<Platform> {
    let binary = platform_binary()?;
    Ok(if split {
        Platform::start_split(&binary, env).await
    } else {
        Platform::start_with(&binary, profile, env).await
    })
}

/// The latency mode: one request or message at a time.
async fn latency(args: BenchArgs, profile: Profile) -> Result<()> {
    let queries = args.queries.clamp(1, 100_000);
    let messages = args.messages.clamp(1, 10_000);
    let binary = platform_binary()?;
    // The benchmark signs in far more often than a person would from one address.
    let platform = Platform::start_with(
        &binary,
        profile,
        &[
            ("ECHOSTREAM_AUTH__LOGIN_ATTEMPTS_PER_IP", "100000000"),
            ("ECHOSTREAM_AUTH__REGISTRATIONS_PER_IP", "100000000"),
            ("ECHOSTREAM_RATE_LIMITS__SEND_MESSAGE_PER_10S", "100000000"),
            (
                "ECHOSTREAM_RATE_LIMITS__OTHER_WRITES_PER_MINUTE",
                "100000000",
            ),
        ],
    )
    .await;
    let rss_start = rss_mib(platform.pid());
    let (ann, bob) = friends(&platform).await;
    let conversation = direct_conversation(&platform, &ann, &bob).await;

    // Warm up connections, plans and caches. Direct calls carry the gateway's
    // signature (valid for five minutes: longer than this part runs).
    let auth = platform.subgraph_url("auth");
    let signature = platform.gateway_signature("auth");
    let signed = [(
        echostream_service::trust::SIGNATURE_HEADER,
        signature.as_str(),
    )];
    query_latency(&auth, &ann.token, &signed, 50).await?;
    query_latency(&platform.gateway, &ann.token, &[], 50).await?;
    let direct = query_latency(&auth, &ann.token, &signed, queries).await?;
    let gateway = query_latency(&platform.gateway, &ann.token, &[], queries).await?;

    // Bob's inbox on a quiet device: he shows online once it is live.
    let tablet = quiet_device(&platform, &bob).await;
    let mut inbox =
        Subscription::start(&platform.gateway, MESSAGES, json!({}), &tablet.token).await;
    wait_for_presence(&platform, &ann, &bob, "ONLINE").await;
    let started = Instant::now();
    let mut samples = Vec::with_capacity(messages);
    for n in 0..messages {
        let t = Instant::now();
        let sent = send(
            &platform,
            &ann,
            &conversation,
            &format!("bench {n}"),
            &format!("bench-{n}"),
        )
        .await;
        let event = inbox
            .next(Duration::from_secs(10))
            .await
            .context("a sent message never arrived")?;
        samples.push(t.elapsed());
        if event["data"]["messageAdded"]["id"] != sent["id"] {
            bail!("messages arrived out of order: {event}");
        }
    }
    let latency = summarise(samples, started.elapsed());

    // Sign-ins from concurrent clients while one conversation keeps messaging.
    let logins = args.logins.clamp(1, 10_000);
    let clients = args.login_clients.clamp(1, 64);
    let login_started = Instant::now();
    let mut workers = Vec::new();
    for c in 0..clients {
        let gateway = platform.gateway.clone();
        let username = ann.username.clone();
        let share = logins / clients + usize::from(c < logins % clients);
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(share);
            for n in 0..share {
                let t = Instant::now();
                let body = post(
                    &gateway,
                    "mutation L($input: LoginInput!) { login(input: $input) { accessToken } }",
                    json!({ "input": { "login": username, "password": PASSWORD, "deviceId": format!("bench-{c}-{n}") } }),
                    None,
                )
                .await;
                samples.push(t.elapsed());
                if body.get("errors").is_some() {
                    return Err(anyhow::anyhow!("sign-in failed: {body}"));
                }
            }
            Ok(samples)
        }));
    }
    let mut under_load = Vec::new();
    let mut n = messages;
    while workers.iter().any(|w| !w.is_finished()) && n < messages + 10_000 {
        let t = Instant::now();
        let sent = send(
            &platform,
            &ann,
            &conversation,
            "under load",
            &format!("bench-{n}"),
        )
        .await;
        let event = inbox
            .next(Duration::from_secs(10))
            .await
            .context("a message sent under load never arrived")?;
        under_load.push(t.elapsed());
        if event["data"]["messageAdded"]["id"] != sent["id"] {
            bail!("messages arrived out of order: {event}");
        }
        n += 1;
    }
    let mut login_samples = Vec::with_capacity(logins);
    for worker in workers {
        login_samples.extend(worker.await??);
    }
    let login_elapsed = login_started.elapsed();
    let login = summarise(login_samples, login_elapsed);
    let loaded = summarise(under_load, login_elapsed);
    inbox.close().await;
    let (friends_figure, pals) =
        friends_presence(&platform, &ann, args.friends.min(2000), queries).await?;
    let reactions_figure = reactions(&platform, &ann, &pals).await?;
    let attachments_figure = attachments(&platform, &ann, &conversation, 50).await?;
    let rss_end = rss_mib(platform.pid());
    // What the burst left behind once the platform is idle again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = rss_mib(platform.pid());

    println!("EchoStream bench ({profile:?} profile, {queries} queries, {messages} messages)");
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "", "p50 µs", "p90 µs", "p99 µs", "max µs", "per s"
    );
    print_row("`me` straight to auth subgraph", &direct);
    print_row("`me` through the gateway", &gateway);
    print_row("send → subscription receive", &latency);
    print_row(&format!("sign-in ({clients} concurrent clients)"), &login);
    print_row("send → receive during sign-ins", &loaded);
    if let Some((count, figure)) = &friends_figure {
        print_row(&format!("friendsPresence ({count} friends)"), figure);
    }
    if let Some(r) = &reactions_figure {
        print_row(&format!("addReaction (group of {})", r.members), &r.latency);
    }
    print_row("send with two attachments", &attachments_figure.send);
    print_row("upload two files and send", &attachments_figure.whole);
    println!(
        "gateway overhead: p50 +{} µs, p99 +{} µs",
        gateway.p50.saturating_sub(direct.p50),
        gateway.p99.saturating_sub(direct.p99)
    );
    if let Some(r) = &reactions_figure {
        println!(
            "reactions: {} to one message in a group of {}: each appends one frame to each \
             member's stream ({} frames, {} bytes each as stored, {} bytes per reaction); a \
             member's replay window then holds {} MessageChanged for the message (one per \
             reaction without superseding: {}), and its replay reads {} reactions",
            r.reactions,
            r.members,
            r.members,
            r.frame_bytes,
            r.members * r.frame_bytes,
            r.window_entries,
            r.reactions,
            r.replayed_count,
        );
    }
    println!(
        "attachments: each message carries a {} KiB 1600×1200 JPEG (thumbnails made on \
         send) and a 2 s WAV voice note ({} KiB, its duration read from its header); \
         `sendMessage` checks both, the whole adds two requestAttachmentUpload calls and \
         two PUTs to storage",
        attachments_figure.photo_bytes / 1024,
        attachments_figure.voice_bytes / 1024,
    );
    if let (Some(a), Some(b), Some(c)) = (rss_start, rss_end, rss_idle) {
        println!(
            "platform resident memory: {a:.1} MiB at start, {b:.1} MiB after the run, \
             {c:.1} MiB after 3 s idle"
        );
    }
    Ok(())
}

/// Gives `ann` `count` more friends (signed up through the API by eight clients at
/// once), waits until presence knows them all, and times `friendsPresence`.
async fn friends_presence(
    platform: &Platform,
    ann: &Person,
    count: usize,
    queries: usize,
) -> Result<(Option<(usize, Summary)>, Vec<Person>)> {
    if count == 0 {
        return Ok((None, Vec::new()));
    }
    // Eight clients at once, each signing up its share and asking Ann.
    let workers = (0..8).map(|worker| async move {
        let share = count / 8 + usize::from(worker < count % 8);
        let mut asked = Vec::with_capacity(share);
        for _ in 0..share {
            let friend = signed_up(platform, "pal").await;
            let out = post(
                &platform.gateway,
                "mutation S($n: String!) { sendFriendRequest(username: $n) { id } }",
                json!({ "n": ann.username }),
                Some(&friend.token),
            )
            .await;
            let id = out["data"]["sendFriendRequest"]["id"].as_str();
            asked.push((
                id.map(str::to_string)
                    .ok_or_else(|| anyhow::anyhow!("request failed: {out}"))?,
                friend,
            ));
        }
        Ok::<_, anyhow::Error>(asked)
    });
    let mut requests = Vec::new();
    for asked in futures::future::join_all(workers).await {
        requests.extend(asked?);
    }
    let mut pals = Vec::with_capacity(requests.len());
    for (id, pal) in requests {
        pals.push(pal);
        let out = post(
            &platform.gateway,
            "mutation A($id: ID!) { acceptFriendRequest(id: $id) { status } }",
            json!({ "id": id }),
            Some(&ann.token),
        )
        .await;
        if out.get("errors").is_some() {
            bail!("accepting failed: {out}");
        }
    }
    let query = "{ friendsPresence { user { id } status lastSeenAt } }";
    let everyone = count + 1; // and Bob
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = post(&platform.gateway, query, json!({}), Some(&ann.token)).await;
        let seen = out["data"]["friendsPresence"]
            .as_array()
            .map_or(0, Vec::len);
        if seen == everyone {
            break;
        }
        if Instant::now() > deadline {
            bail!("presence knows {seen} of {everyone} friends after 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = Instant::now();
    let rounds = queries.clamp(1, 2000);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let out = post(&platform.gateway, query, json!({}), Some(&ann.token)).await;
        samples.push(t.elapsed());
        if out.get("errors").is_some() {
            bail!("friendsPresence failed: {out}");
        }
    }
    Ok((
        Some((count + 1, summarise(samples, started.elapsed()))),
        pals,
    ))
}

/// What reacting costs a large group.
struct Reactions {
    members: usize,
    reactions: usize,
    latency: Summary,
    frame_bytes: usize,
    window_entries: usize,
    replayed_count: i64,
}

/// Makes a group of `ann` and up to 255 of her `pals`, has each pal react to one of
/// her messages, and counts what one member's stream holds afterwards.
async fn reactions(
    platform: &Platform,
    ann: &Person,
    pals: &[Person],
) -> Result<Option<Reactions>> {
    let pals = &pals[..pals.len().min(255)];
    if pals.is_empty() {
        return Ok(None);
    }
    let ids: Vec<&str> = pals.iter().map(|p| p.id.as_str()).collect();
    let made = post(
        &platform.gateway,
        "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
        json!({ "i": { "title": "reactions", "memberIds": ids } }),
        Some(&ann.token),
    )
    .await;
    let group = made["data"]["createGroup"]["id"]
        .as_str()
        .with_context(|| format!("creating the group: {made}"))?
        .to_string();
    let watcher = &pals[0];
    let since = post(
        &platform.gateway,
        "{ streamPosition }",
        json!({}),
        Some(&watcher.token),
    )
    .await["data"]["streamPosition"]
        .as_str()
        .context("a stream position")?
        .to_string();
    let message = send(platform, ann, &group, "react to this", "reactions-bench").await;
    let id = message["id"].as_str().context("the message")?.to_string();
    let started = Instant::now();
    let mut samples = Vec::with_capacity(pals.len());
    for pal in pals {
        let t = Instant::now();
        let out = post(
            &platform.gateway,
            "mutation R($m: ID!) { addReaction(messageId: $m, emoji: \"👍\") { id } }",
            json!({ "m": id }),
            Some(&pal.token),
        )
        .await;
        samples.push(t.elapsed());
        if out.get("errors").is_some() {
            bail!("reacting failed: {out}");
        }
    }
    let latency = summarise(samples, started.elapsed());
    // One member's replay, once every reaction reached their stream.
    let query = "query C($p: String!) { changesSince(position: $p, first: 100) { events { __typename \
        ... on MessageChanged { current { reactions { count } } } } } }";
    let deadline = Instant::now() + Duration::from_secs(60);
    let (window_entries, replayed_count) = loop {
        let out = post(
            &platform.gateway,
            query,
            json!({ "p": since }),
            Some(&watcher.token),
        )
        .await;
        let events = out["data"]["changesSince"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let changes: Vec<&serde_json::Value> = events
            .iter()
            .filter(|e| e["__typename"] == "MessageChanged")
            .collect();
        let count = changes
            .last()
            .and_then(|c| c["current"]["reactions"][0]["count"].as_i64())
            .unwrap_or(0);
        if count == pals.len() as i64 {
            break (changes.len(), count);
        }
        if Instant::now() > deadline {
            bail!("the reactions did not all reach a member's stream: {out}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let frame = echostream_contracts::chat::ChatFrame::MessageChanged {
        conversation_id: uuid::Uuid::parse_str(&group)?,
        message_id: uuid::Uuid::parse_str(&id)?,
        seq: message["seq"].as_i64().unwrap_or(0),
    };
    Ok(Some(Reactions {
        members: pals.len() + 1,
        reactions: pals.len(),
        latency,
        frame_bytes: echostream_service::stream::encode(&frame).len(),
        window_entries,
        replayed_count,
    }))
}

/// What sending files costs.
struct Attachments {
    /// `sendMessage` with two uploads: checking them (types, a photo's thumbnails, a
    /// voice note's duration) and storing the message.
    send: Summary,
    /// Two `requestAttachmentUpload`, two PUTs and the send.
    whole: Summary,
    photo_bytes: usize,
    voice_bytes: usize,
}

/// A photo-like JPEG: smooth gradients with detail, as a camera's.
fn photo_jpeg(width: u32, height: u32) -> Result<Vec<u8>> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image).write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// Sends `rounds` messages of `ann`'s, each with a photo and a voice note uploaded
/// for it.
async fn attachments(
    platform: &Platform,
    ann: &Person,
    conversation: &str,
    rounds: usize,
) -> Result<Attachments> {
    let photo = photo_jpeg(1600, 1200)?;
    let voice = echostream_chat::attachments::durations::samples::wav(2000);
    let http = reqwest::Client::new();
    let request =
        "mutation R($i: AttachmentUploadInput!) { requestAttachmentUpload(input: $i) { id url } }";
    let send =
        "mutation S($i: SendMessageInput!) { sendMessage(input: $i) { id attachments { id } } }";
    let (mut sends, mut wholes) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let started = Instant::now();
    for n in 0..rounds {
        let whole = Instant::now();
        let mut ids = Vec::new();
        for (name, content_type, bytes) in [
            ("photo.jpg", "image/jpeg", &photo),
            ("voice.wav", "audio/wav", &voice),
        ] {
            let input = json!({ "conversationId": conversation, "fileName": name, "contentType": content_type, "byteSize": bytes.len() });
            let out = post(
                &platform.gateway,
                request,
                json!({ "i": input }),
                Some(&ann.token),
            )
            .await;
            let upload = &out["data"]["requestAttachmentUpload"];
            let url = upload["url"]
                .as_str()
                .with_context(|| format!("an upload URL: {out}"))?;
            let put = http
                .put(url)
                .header("Content-Type", content_type)
                .body(bytes.clone())
                .send()
                .await?;
            if !put.status().is_success() {
                bail!("an upload was refused: {}", put.status());
            }
            ids.push(upload["id"].clone());
        }
        let input = json!({
            "conversationId": conversation, "body": "photo and voice", "idempotencyKey": format!("files-{n}"),
            "attachments": [{ "uploadId": ids[0] }, { "uploadId": ids[1], "voiceNote": true }],
        });
        let t = Instant::now();
        let out = post(
            &platform.gateway,
            send,
            json!({ "i": input }),
            Some(&ann.token),
        )
        .await;
        sends.push(t.elapsed());
        wholes.push(whole.elapsed());
        if out["data"]["sendMessage"]["attachments"]
            .as_array()
            .map(Vec::len)
            != Some(2)
        {
            bail!("a message with two attachments was not sent: {out}");
        }
    }
    let elapsed = started.elapsed();
    Ok(Attachments {
        send: summarise(sends, elapsed),
        whole: summarise(wholes, elapsed),
        photo_bytes: photo.len(),
        voice_bytes: voice.len(),
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_option_of_every_mode_has_a_name_of_its_own() {
        super::BenchArgs::command().debug_assert();
    }
}
