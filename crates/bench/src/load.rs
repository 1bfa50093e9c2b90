//! `echostream bench --mode load`: the platform under a chat's load, figures printed.
//!
//! On a platform of its own (services profile for the figures it prints):
//! 1. **Idle subscriptions.** `--idle` `chatEvents` subscriptions held by signed-in
//!    devices that do nothing, `--per-socket` on each client socket. The platform's
//!    resident memory before and after they open gives the memory per idle
//!    subscription (and per socket).
//! 2. **Send → receive under load.** `--groups` groups of 10 members, each member
//!    with one socket and one `chatEvents` subscription (every subscription, idle
//!    or not, asks for each message's sender's name and avatar, as a client does,
//!    and a delivery without the name is counted); messages are sent at
//!    `--rate` per second in all for `--seconds`, on a fixed schedule (open loop: a
//!    slow answer does not slow the schedule down). Every delivery to the nine other
//!    members is timed from the moment its `sendMessage` left the client; every
//!    delivery to all ten is counted, so loss and duplicates show.
//! 3. **Fan-out to the idle.** The idle devices' users sit in groups of up to 250;
//!    one message to each group must reach every idle subscription, exactly once.
//! 4. **History and search.** `--history` messages are written straight into one
//!    conversation (PostgreSQL only: the services profile), then pages of 50 are read
//!    through the gateway: backward from a cursor at a random point, and around a
//!    random message; then `searchMessages` pages of 20 for a word in every message,
//!    a word in one message of 997, and two words together in about one of 100,000.
//!
//! One process holds at most 20,000 open files on this machine, and through the
//! gateway each client socket costs the platform three (the client's, the pooled
//! upstream socket of its session, and the subgraph's end of it); that is why idle
//! subscriptions share sockets. Every loop is bounded and talks only to 127.0.0.1.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use echostream_testkit::client::post;
use echostream_testkit::mail::clear_mail;
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, login_on, signed_up};
use futures::{SinkExt, StreamExt, stream};
use rand::Rng;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::cpu::Snapshot;
use super::{Summary, print_row, summarise};

/// Options of the load mode.
#[derive(Args, Clone)]
pub struct LoadArgs {
    /// Idle `chatEvents` subscriptions held open during the load (at most 40 000).
    #[arg(long, default_value_t = 20_000)]
    idle: usize,
    /// Subscriptions per idle client socket (1 to 50).
    #[arg(long, default_value_t = 4)]
    per_socket: usize,
    /// Users the idle sockets belong to (each signs in on as many devices as it
    /// needs; at most 16 sockets each).
    #[arg(long, default_value_t = 1_000)]
    idle_users: usize,
    /// Active groups (at most 100).
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Members of each active group (2 to 100).
    #[arg(long, default_value_t = 10)]
    group_size: usize,
    /// Messages sent per second into the active groups, all together (at most 5 000).
    #[arg(long, default_value_t = 1_000)]
    rate: usize,
    /// How long messages are sent, in seconds (at most 120).
    #[arg(long, default_value_t = 10)]
    seconds: usize,
    /// Messages in the conversation whose history is paged (services profile; 0 skips;
    /// at most 5 000 000).
    #[arg(long, default_value_t = 1_000_000)]
    history: usize,
    /// History pages read per kind (at most 10 000).
    #[arg(long, default_value_t = 1_000)]
    pages: usize,
}

/// Idle users per fan-out group (under `chat.max_group_members`, raised below).
const FAN_OUT_GROUP: usize = 250;
/// Sign-ups and sign-ins in flight at once (argon2id bounds them anyway).
const SIGN_UP_CLIENTS: usize = 8;
/// Sockets being opened at once.
const OPENING: usize = 64;
/// `sendMessage` requests in flight at most; past it the schedule slips (and the
/// achieved rate, printed, shows it).
const IN_FLIGHT: usize = 2_000;

/// As a client asks: each message with its sender's name and avatar.
const EVENTS: &str = "subscription { chatEvents { __typename ... on MessageAdded { message { seq body \
    sender { id displayName avatar { small } } } } } }";
const SEND: &str = "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { seq } }";
const PAGE_BEFORE: &str = "query H($id: ID!, $before: String) { conversation(id: $id) { \
    messages(last: 50, before: $before) { edges { cursor node { id seq body } } pageInfo { hasPreviousPage startCursor } } } }";
const SEARCH: &str = "query S($q: String!) { searchMessages(query: $q, first: 20) { \
    edges { node { message { id seq } snippet { text highlighted } } } } }";
const PAGE_AROUND: &str = "query H($id: ID!, $around: ID) { conversation(id: $id) { \
    messages(first: 50, around: $around) { edges { cursor node { id seq body } } pageInfo { hasPreviousPage startCursor } } } }";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Runs the load mode on a platform of its own.
pub async fn run(args: LoadArgs, profile: Profile, split: bool) -> Result<()> {
    let idle = args.idle.min(40_000);
    let per_socket = args.per_socket.clamp(1, 50);
    let sockets = idle.div_ceil(per_socket);
    let idle_users = args.idle_users.clamp(1, 20_000).min(sockets.max(1));
    let devices = sockets.div_ceil(idle_users);
    if devices > 16 {
        bail!(
            "{sockets} idle sockets over {idle_users} users is more than 16 devices each: raise --idle-users"
        );
    }
    let groups = args.groups.clamp(1, 100);
    let group = args.group_size.clamp(2, 100);
    let rate = args.rate.clamp(1, 5_000);
    let total = rate * args.seconds.clamp(1, 120);

    let max_sockets = (sockets + groups * group + 100).to_string();
    let platform = super::start_platform(
        profile,
        split,
        &[
            ("ECHOSTREAM_AUTH__LOGIN_ATTEMPTS_PER_IP", "100000000"),
            ("ECHOSTREAM_AUTH__REGISTRATIONS_PER_IP", "100000000"),
            (
                "ECHOSTREAM_GATEWAY__LIMITS__MAX_WEBSOCKETS",
                max_sockets.as_str(),
            ),
            ("ECHOSTREAM_CHAT__MAX_GROUP_MEMBERS", "256"),
        ],
    )
    .await?;
    let started = Instant::now();
    println!("EchoStream load bench ({profile:?} profile)");

    // The cast: active groups, idle users in fan-out groups, an announcer for them.
    let active = sign_up_many(&platform, "act", groups * group).await;
    let idlers = sign_up_many(&platform, "idle", idle_users).await;
    let announcer = signed_up(&platform, "announcer").await;
    let opened: Vec<Result<Value>> = stream::iter(active.iter().chain(&idlers))
        .map(|who| {
            until_done(
                &platform.gateway,
                "mutation { updatePrivacySettings(input: { groupAdds: EVERYONE }) { groupAdds } }",
                json!({}),
                &who.token,
            )
        })
        .buffer_unordered(SIGN_UP_CLIENTS)
        .collect()
        .await;
    opened.into_iter().collect::<Result<Vec<_>>>()?;
    let mut active_groups = Vec::with_capacity(groups);
    for members in active.chunks(group) {
        let others: Vec<&Person> = members[1..].iter().collect();
        active_groups.push(make_group(&platform, &members[0], "load", &others).await?);
    }
    let mut fan_out_groups = Vec::new();
    for members in idlers.chunks(FAN_OUT_GROUP) {
        let members: Vec<&Person> = members.iter().collect();
        fan_out_groups.push(make_group(&platform, &announcer, "fan-out", &members).await?);
    }
    // Each idle user's devices: the phone it signed up on, and more as needed.
    let mut idle_tokens: Vec<String> = idlers.iter().map(|p| p.token.clone()).collect();
    let extra: Vec<(usize, usize)> = (0..idlers.len())
        .flat_map(|u| (1..devices).map(move |d| (u, d)))
        .take(sockets.saturating_sub(idlers.len()))
        .collect();
    let logins: Vec<String> = stream::iter(extra)
        .map(|(u, d)| {
            let platform = &platform;
            let name = idlers[u].username.clone();
            async move {
                login_on(platform, &name, &format!("{name}-device-{d}"))
                    .await
                    .token
            }
        })
        .buffer_unordered(SIGN_UP_CLIENTS)
        .collect()
        .await;
    idle_tokens.extend(logins);
    idle_tokens.truncate(sockets);
    println!(
        "cast: {} active users in {groups} groups of {group}, {} idle users on {sockets} devices, \
         ready in {:.0} s",
        active.len(),
        idlers.len(),
        started.elapsed().as_secs_f64()
    );

    // Active members' sockets, then a settled platform: the baseline.
    let clock = Arc::new(Clock::new(total));
    let stop = CancellationToken::new();
    let mut receivers = Vec::with_capacity(active.len());
    for (i, member) in active.iter().enumerate() {
        let socket = open(&platform.gateway, &member.token, 1).await?;
        let seat = Seat {
            group: i / group,
            member: i % group,
            groups,
            size: group,
        };
        receivers.push(tokio::spawn(receive(
            socket,
            seat,
            clock.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_base = Some(platform.rss_mib());

    // Idle sockets.
    let opened = Instant::now();
    let fan_out = Arc::new(FanOut::default());
    let idle_sockets: Vec<Socket> = stream::iter(idle_tokens.iter().enumerate())
        .map(|(i, token)| {
            let gateway = platform.gateway.clone();
            let subs = per_socket.min(idle - i * per_socket);
            async move { open(&gateway, token, subs).await }
        })
        .buffer_unordered(OPENING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let open_seconds = opened.elapsed().as_secs_f64();
    let idle_readers: Vec<_> = idle_sockets
        .into_iter()
        .map(|socket| tokio::spawn(idle_reader(socket, fan_out.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_idle = Some(platform.rss_mib());
    let files: usize = platform
        .processes()
        .iter()
        .map(|(_, pid)| open_files(*pid))
        .sum();

    let notifications_before = notification_rows(&platform, profile).await?;
    // Messages on schedule into the active groups.
    let http = reqwest::Client::new();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let failures = Arc::new(AtomicUsize::new(0));
    let sending = Instant::now();
    let cpu = Snapshot::take(&platform.processes());
    let mut slipped = 0usize;
    for n in 0..total {
        let due = sending + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                slipped += 1;
                slots.clone().acquire_owned().await?
            }
        };
        let (g, m) = Seat::sender_of(n, groups, group);
        let token = active[g * group + m].token.clone();
        let conversation = active_groups[g].clone();
        let (http, gateway, clock, failures) = (
            http.clone(),
            platform.gateway.clone(),
            clock.clone(),
            failures.clone(),
        );
        tokio::spawn(async move {
            clock.sent(n);
            let body = json!({ "query": SEND, "variables": { "input": {
                "conversationId": conversation, "body": format!("load {n}"), "idempotencyKey": format!("load-{n}") } } });
            let ok = http
                .post(&gateway)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            let answered = match ok {
                Some(r) => r.json::<Value>().await.ok(),
                None => None,
            };
            if answered.is_none_or(|b| b.get("errors").is_some()) {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        });
    }
    let _ = slots.acquire_many(IN_FLIGHT as u32).await?;
    let send_seconds = sending.elapsed().as_secs_f64();
    let expected = (total - failures.load(Ordering::Relaxed)) * group;
    let deadline = Instant::now() + Duration::from_secs(30);
    while clock.delivered.load(Ordering::Relaxed) < expected as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain_seconds = sending.elapsed().as_secs_f64() - send_seconds;
    let cpu_sending = cpu.usage();

    // One message to each fan-out group: every idle subscription hears it once.
    let fanned = Instant::now();
    *fan_out.started.lock().expect("fan-out clock") = Some(fanned);
    for (i, conversation) in fan_out_groups.iter().enumerate() {
        post(
            &platform.gateway,
            SEND,
            json!({ "input": { "conversationId": conversation, "body": "fan-out", "idempotencyKey": format!("fan-{i}") } }),
            Some(&announcer.token),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while fan_out.heard.load(Ordering::Relaxed) < idle && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fan_out_seconds = fanned.elapsed().as_secs_f64();

    stop.cancel();
    let mut samples = Vec::new();
    let mut tally = Tally::default();
    for receiver in receivers {
        let (heard, counted) = receiver.await?;
        samples.extend(heard);
        tally.add(&counted);
    }
    for reader in idle_readers {
        reader.await?;
    }
    let latency = summarise(samples, Duration::from_secs_f64(send_seconds));
    let fan_out_latency = summarise(
        std::mem::take(&mut *fan_out.samples.lock().expect("samples")),
        Duration::from_secs_f64(fan_out_seconds),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_closed = Some(platform.rss_mib());

    // What the notification consumer stored for the messages, once it is done.
    let notifications_stored = match notifications_before {
        Some(before) => {
            let mut last = before;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let now = notification_rows(&platform, profile).await?.unwrap_or(last);
                if now == last || Instant::now() > deadline {
                    break Some(now - before);
                }
                last = now;
            }
        }
        None => None,
    };

    let history = if args.history > 0 && profile == Profile::Services {
        Some(history(&platform, &active[0], &active_groups[0], &args).await?)
    } else {
        None
    };

    println!(
        "load: {total} messages offered at {rate}/s into {groups} groups of {group}; sent in \
         {send_seconds:.1} s ({:.0}/s achieved, {slipped} waited for one of {IN_FLIGHT} request slots, \
         {} failed), last delivery {drain_seconds:.1} s after the last send",
        total as f64 / send_seconds,
        failures.load(Ordering::Relaxed),
    );
    println!("CPU while sending and draining: {}", cpu_sending.line());
    println!(
        "{}; {}",
        cpu_sending.per(total, "message"),
        cpu_sending.per(tally.received as usize, "delivered event")
    );
    if let Some(rows) = notifications_stored {
        println!(
            "notification rows stored for them: {rows} ({:.2} per message, groups of {group})",
            rows as f64 / total as f64
        );
    }
    println!(
        "deliveries to members' sockets: {} expected, {} received, {} lost, {} duplicated, \
         {} out of timeline order, {} resync, {} without the sender's name",
        expected,
        tally.received,
        expected.saturating_sub(tally.received as usize),
        tally.duplicates,
        tally.out_of_order,
        tally.resync,
        tally.unnamed
    );
    println!(
        "idle: {idle} subscriptions on {sockets} sockets ({per_socket} each), opened in {open_seconds:.1} s \
         ({files} files open in the platform); fan-out to them: {} heard of {idle} in \
         {fan_out_seconds:.2} s, {} other events {:?}",
        fan_out.heard.load(Ordering::Relaxed),
        fan_out.other.load(Ordering::Relaxed),
        fan_out.kinds.lock().expect("kinds")
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "", "p50 µs", "p90 µs", "p99 µs", "max µs", "per s"
    );
    print_row("send → receive (other members)", &latency);
    print_row("fan-out send → idle receive", &fan_out_latency);
    if let Some((before, around, searches)) = &history {
        print_row(
            &format!("history: 50 before ({} msgs)", args.history),
            before,
        );
        print_row(
            &format!("history: 50 around ({} msgs)", args.history),
            around,
        );
        for (name, summary) in searches {
            print_row(name, summary);
        }
    }
    if let (Some(base), Some(with_idle), Some(closed)) = (rss_base, rss_idle, rss_closed) {
        let delta_kib = (with_idle - base) * 1024.0;
        println!(
            "platform resident memory: {base:.1} MiB before the idle sockets, {with_idle:.1} MiB with \
             them ({:.1} KiB per idle subscription, {:.1} KiB per socket), {closed:.1} MiB after \
             everything closed",
            delta_kib / idle as f64,
            delta_kib / sockets as f64
        );
    }
    Ok(())
}

/// A group `owner` makes with `members` (once chat has learnt that each lets anyone
/// add them).
async fn make_group(
    platform: &Platform,
    owner: &Person,
    title: &str,
    members: &[&Person],
) -> Result<String> {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let made = until_done(
        &platform.gateway,
        "mutation G($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
        json!({ "i": { "title": title, "memberIds": ids } }),
        &owner.token,
    )
    .await?;
    Ok(made["createGroup"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Posts `query` until it succeeds (what it needs may not have reached every
/// subgraph yet); its `data`, or the last refusal after a minute.
async fn until_done(gateway: &str, query: &str, variables: Value, token: &str) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = post(gateway, query, variables.clone(), Some(token)).await;
        if body.get("errors").is_none() {
            return Ok(body["data"].clone());
        }
        if Instant::now() > deadline {
            bail!("refused for a minute: {body}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many files (sockets included) process `pid` holds open (Linux).
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// `count` users signed up by a few clients at once.
///
/// Done in batches, the mail catcher emptied after each: reading a code fetches
/// every mail it holds.
pub(crate) async fn sign_up_many(platform: &Platform, name: &str, count: usize) -> Vec<Person> {
    let mut people = Vec::with_capacity(count);
    while people.len() < count {
        let batch = (count - people.len()).min(200);
        let signed: Vec<Person> = stream::iter(0..batch)
            .map(|_| signed_up(platform, name))
            .buffered(SIGN_UP_CLIENTS)
            .collect()
            .await;
        people.extend(signed);
        clear_mail(platform).await;
    }
    people
}

/// Opens a graphql-transport-ws socket for `token` with `subscriptions` `chatEvents`
/// subscriptions on it.
async fn open(gateway: &str, token: &str, subscriptions: usize) -> Result<Socket> {
    let mut request = gateway.replacen("http", "ws", 1).into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header value"),
    );
    // The client's own sockets read through small buffers too: 20,000 sockets at
    // tungstenite's 128 KiB default would take 2.5 GiB of the bench's memory.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::Text(init.to_string().into())).await?;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no connection_ack in 30 s")?
            .ok_or_else(|| anyhow!("socket closed before connection_ack"))??;
        if let Message::Text(text) = frame {
            let message: Value = serde_json::from_str(&text)?;
            match message["type"].as_str() {
                Some("connection_ack") => break,
                Some("ping") => {
                    let pong = json!({ "type": "pong" }).to_string();
                    socket.send(Message::Text(pong.into())).await?;
                }
                _ => bail!("unexpected before connection_ack: {message}"),
            }
        }
    }
    for id in 1..=subscriptions {
        let subscribe =
            json!({ "id": id.to_string(), "type": "subscribe", "payload": { "query": EVENTS } });
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await?;
    }
    Ok(socket)
}

/// When each message left the client, in nanoseconds after `epoch` (0: not yet).
struct Clock {
    epoch: Instant,
    sent: Vec<AtomicU64>,
    delivered: AtomicU64,
}

impl Clock {
    fn new(messages: usize) -> Clock {
        Clock {
            epoch: Instant::now(),
            sent: (0..messages).map(|_| AtomicU64::new(0)).collect(),
            delivered: AtomicU64::new(0),
        }
    }

    fn sent(&self, n: usize) {
        let nanos = self.epoch.elapsed().as_nanos() as u64;
        self.sent[n].store(nanos.max(1), Ordering::Release);
    }

    /// How long ago message `n` was sent.
    fn since_sent(&self, n: usize) -> Option<Duration> {
        let at = self.sent.get(n)?.load(Ordering::Acquire);
        (at > 0).then(|| self.epoch.elapsed() - Duration::from_nanos(at))
    }
}

/// An active member's place: which group, which member of it.
#[derive(Clone, Copy)]
struct Seat {
    group: usize,
    member: usize,
    groups: usize,
    /// Members of each group.
    size: usize,
}

impl Seat {
    /// Who sends message `n`: the groups take turns, and so do their members.
    fn sender_of(n: usize, groups: usize, size: usize) -> (usize, usize) {
        (n % groups, (n / groups) % size)
    }

    /// Whether message `n` goes to this member's group, and was sent by someone else.
    fn hears(&self, n: usize) -> (bool, bool) {
        let (g, m) = Seat::sender_of(n, self.groups, self.size);
        (g == self.group, m != self.member)
    }
}

/// What one member's socket received.
#[derive(Default)]
struct Tally {
    received: u64,
    duplicates: u64,
    out_of_order: u64,
    resync: u64,
    /// Messages heard without their sender's name.
    unnamed: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.received += other.received;
        self.duplicates += other.duplicates;
        self.out_of_order += other.out_of_order;
        self.resync += other.resync;
        self.unnamed += other.unnamed;
    }
}

/// The next graphql-transport-ws message other than a ping (answered here); None
/// once the socket closes or `stop` is asked.
async fn next_message(socket: &mut Socket, stop: &CancellationToken) -> Option<Value> {
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            () = stop.cancelled() => return None,
        };
        let text = match frame? {
            Ok(Message::Text(text)) => text,
            Ok(_) => continue,
            Err(_) => return None,
        };
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if message["type"] == "ping" {
            let pong = json!({ "type": "pong" }).to_string();
            let _ = socket.send(Message::Text(pong.into())).await;
            continue;
        }
        return Some(message);
    }
}

/// Reads an active member's socket until `stop`: times every message from another
/// member, counts every one.
async fn receive(
    mut socket: Socket,
    seat: Seat,
    clock: Arc<Clock>,
    stop: CancellationToken,
) -> (Vec<Duration>, Tally) {
    let mut samples = Vec::new();
    let mut tally = Tally::default();
    let mut seen = HashSet::new();
    // The group's timeline order: every message arrives after the one before it.
    let mut last_seq = 0;
    while let Some(message) = next_message(&mut socket, &stop).await {
        let event = &message["payload"]["data"]["chatEvents"];
        if event["__typename"] == "ResyncRequired" {
            tally.resync += 1;
            continue;
        }
        let Some(n) = event["message"]["body"]
            .as_str()
            .and_then(|b| b.strip_prefix("load "))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let (ours, from_other) = seat.hears(n);
        if !ours {
            continue;
        }
        if !seen.insert(n) {
            tally.duplicates += 1;
            continue;
        }
        tally.received += 1;
        if !event["message"]["sender"]["displayName"].is_string() {
            tally.unnamed += 1;
        }
        clock.delivered.fetch_add(1, Ordering::Relaxed);
        let seq = event["message"]["seq"].as_i64().unwrap_or_default();
        if seq <= last_seq {
            tally.out_of_order += 1;
        }
        last_seq = last_seq.max(seq);
        if from_other && let Some(waited) = clock.since_sent(n) {
            samples.push(waited);
        }
    }
    let _ = socket.close(None).await;
    (samples, tally)
}

/// What the idle subscriptions heard of the fan-out message.
#[derive(Default)]
struct FanOut {
    started: std::sync::Mutex<Option<Instant>>,
    samples: std::sync::Mutex<Vec<Duration>>,
    heard: AtomicUsize,
    other: AtomicUsize,
    /// What the other events were (message type, typename or error code), counted.
    kinds: std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
}

/// A short name for what an idle socket heard that was not the fan-out message.
fn kind_of(message: &Value) -> String {
    let kind = message["type"].as_str().unwrap_or("?");
    let payload = &message["payload"];
    let error = if payload["errors"].is_array() {
        &payload["errors"][0]
    } else {
        &payload[0]
    };
    // An error names its code and what it says up to its first parenthesis (which
    // names the limit, for a refusal).
    let said = error["message"]
        .as_str()
        .map(|m| m.split(')').next().unwrap_or(m));
    let detail = match (error["extensions"]["code"].as_str(), said) {
        (Some(code), Some(said)) => format!("{code}: {said})"),
        _ => payload["data"]["chatEvents"]["__typename"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    };
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {detail}")
    }
}

/// Holds an idle socket open until `stop`, answering pings and counting what comes.
async fn idle_reader(mut socket: Socket, fan_out: Arc<FanOut>, stop: CancellationToken) {
    while let Some(message) = next_message(&mut socket, &stop).await {
        if message["payload"]["data"]["chatEvents"]["message"]["body"] == "fan-out" {
            fan_out.heard.fetch_add(1, Ordering::Relaxed);
            let started = *fan_out.started.lock().expect("fan-out clock");
            if let Some(at) = started {
                fan_out.samples.lock().expect("samples").push(at.elapsed());
            }
        } else {
            fan_out.other.fetch_add(1, Ordering::Relaxed);
            *fan_out
                .kinds
                .lock()
                .expect("kinds")
                .entry(kind_of(&message))
                .or_default() += 1;
        }
    }
    let _ = socket.close(None).await;
}

/// The services platform's database of `subgraph`.
async fn database(
    platform: &Platform,
    subgraph: echostream_config::Subgraph,
) -> Result<sea_orm::DatabaseConnection> {
    use echostream_config::{Config, DatabaseConfig, Profile as Run};
    let url = platform
        .config_value("ECHOSTREAM_DATABASE__URL")
        .context("the platform's database")?;
    let config = Config {
        profile: Run::Services,
        database: DatabaseConfig {
            url: url.to_string(),
            ..DatabaseConfig::default()
        },
        ..Config::default()
    };
    Ok(echostream_ports::db::connect(&config, subgraph).await?)
}

/// How many notification rows the platform holds (services profile: read from its
/// database; `None` on the embedded one).
async fn notification_rows(platform: &Platform, profile: Profile) -> Result<Option<i64>> {
    use echostream_config::Subgraph;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    if profile != Profile::Services {
        return Ok(None);
    }
    let db = database(platform, Subgraph::Notification).await?;
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) FROM notifications",
        ))
        .await?
        .context("a count")?;
    Ok(Some(row.try_get_by_index::<i64>(0)?))
}

/// Writes `--history` messages into `conversation` (owned by `owner`) and times pages
/// of it through the gateway: 50 before a cursor at a random point, and 50 around a
/// random message.
async fn history(
    platform: &Platform,
    owner: &Person,
    conversation: &str,
    args: &LoadArgs,
) -> Result<(Summary, Summary, Vec<(String, Summary)>)> {
    use echostream_config::Subgraph;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let count = args.history.min(5_000_000) as i64;
    let pages = args.pages.clamp(1, 10_000);
    let db = database(platform, Subgraph::Chat).await?;
    let id = uuid::Uuid::parse_str(conversation)?;
    let owner_id = uuid::Uuid::parse_str(&owner.id)?;
    let written = Instant::now();
    let row = db
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT last_seq FROM conversations WHERE id = $1",
            [id.into()],
        ))
        .await?
        .context("the conversation")?;
    let first: i64 = row.try_get_by_index::<i64>(0)? + 1;
    let last = first + count - 1;
    db.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO messages (id, conversation_id, seq, sender_id, sender_device, client_key, body, created_at, kind) \
         SELECT gen_random_uuid(), $1, s, $2, 'bench', 'history-' || s, \
         'history ' || s || ' w' || (s % 997) || ' v' || (s % 101), now(), 'text' \
         FROM generate_series($3::bigint, $4::bigint) AS s",
        [id.into(), owner_id.into(), first.into(), last.into()],
    ))
    .await?;
    db.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE conversations SET last_seq = $1 WHERE id = $2",
        [last.into(), id.into()],
    ))
    .await?;
    db.execute_unprepared("ANALYZE messages").await?;
    println!(
        "history: {count} messages written into one conversation in {:.0} s",
        written.elapsed().as_secs_f64()
    );

    let seqs: Vec<i64> = {
        let mut rng = rand::thread_rng();
        // Away from both ends, so that every page is a whole one.
        let (low, high) = (first + 100, (last - 100).max(first + 100));
        (0..pages).map(|_| rng.gen_range(low..=high)).collect()
    };
    let list = seqs
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let ids: Vec<String> = db
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT id FROM messages WHERE conversation_id = $1 AND seq IN ({list})"),
            [id.into()],
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<uuid::Uuid>(0).map(|u| u.to_string()))
        .collect::<Result<_, _>>()?;
    db.close().await?;

    let http = reqwest::Client::new();
    let time = async |query: &str, variables: Value| -> Result<Duration> {
        let t = Instant::now();
        let body: Value = http
            .post(&platform.gateway)
            .bearer_auth(&owner.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        let took = t.elapsed();
        let edges = body["data"]["conversation"]["messages"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
        if edges != 50 {
            bail!("a history page held {edges} items: {body}");
        }
        Ok(took)
    };
    // Warm the plan and the connections, as a running platform is.
    for seq in seqs.iter().take(20) {
        let cursor = echostream_chat::history::cursor(id, *seq);
        time(PAGE_BEFORE, json!({ "id": conversation, "before": cursor })).await?;
    }
    let started = Instant::now();
    let mut before = Vec::with_capacity(pages);
    for seq in &seqs {
        let cursor = echostream_chat::history::cursor(id, *seq);
        before.push(time(PAGE_BEFORE, json!({ "id": conversation, "before": cursor })).await?);
    }
    let before = summarise(before, started.elapsed());
    let started = Instant::now();
    let mut around = Vec::with_capacity(ids.len());
    for message in &ids {
        around.push(
            time(
                PAGE_AROUND,
                json!({ "id": conversation, "around": message }),
            )
            .await?,
        );
    }
    let around = summarise(around, started.elapsed());

    // Search: a page of 20 hits, newest first, for words of three frequencies.
    let find = async |words: String| -> Result<Duration> {
        let t = Instant::now();
        let body: Value = http
            .post(&platform.gateway)
            .bearer_auth(&owner.token)
            .json(&json!({ "query": SEARCH, "variables": { "q": words } }))
            .send()
            .await?
            .json()
            .await?;
        let took = t.elapsed();
        if body["data"]["searchMessages"]["edges"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            bail!("a search found nothing: {body}");
        }
        Ok(took)
    };
    let mut searches = Vec::new();
    type Words = fn(i64) -> String;
    let kinds: [(&str, Words); 3] = [
        ("search: a word in every message", |_| "history".to_string()),
        ("search: a word in 1 of 997", |s| format!("w{}", s % 997)),
        ("search: two words, 1 of 100,697", |s| {
            format!("w{} v{}", s % 997, s % 101)
        }),
    ];
    for (name, words) in kinds {
        let queries: Vec<String> = seqs
            .iter()
            .take(pages.min(200))
            .map(|s| words(*s))
            .collect();
        for q in queries.iter().take(5) {
            find(q.clone()).await?;
        }
        let started = Instant::now();
        let mut samples = Vec::with_capacity(queries.len());
        for q in &queries {
            samples.push(find(q.clone()).await?);
        }
        searches.push((
            format!("{name} ({} msgs)", args.history),
            summarise(samples, started.elapsed()),
        ));
    }
    Ok((before, around, searches))
}
