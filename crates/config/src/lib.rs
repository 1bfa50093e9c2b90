//! Typed configuration: one TOML file plus `ECHOSTREAM_*` environment overrides.
//!
//! Every key has a default, and the defaults are the embedded profile, so a bare
//! `echostream` starts with no file at all. Environment variables override the file
//! with `__` between sections: `ECHOSTREAM_GATEWAY__PORT=4000`,
//! `ECHOSTREAM_PROFILE=services`. A value of the wrong type stops start-up with a
//! message that names the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which implementation every port uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// SQLite files, in-process event log and pub/sub, a local directory for objects and
    /// mail: no external server needed.
    #[default]
    Embedded,
    /// PostgreSQL, Kafka, Redis, S3 and SMTP.
    Services,
}

/// The whole configuration of an EchoStream process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which implementation of the ports runs.
    pub profile: Profile,
    /// Directory for embedded data (SQLite files, event log, objects, mail outbox).
    pub data_dir: PathBuf,
    /// Where every service listens and how they find each other.
    pub listen: ListenConfig,
    /// The federation gateway.
    pub gateway: GatewayConfig,
    /// Relational store (services profile).
    pub database: DatabaseConfig,
    /// Event log (services profile).
    pub kafka: KafkaConfig,
    /// Pub/sub and ephemeral keys (services profile).
    pub redis: RedisConfig,
    /// Object storage (services profile).
    pub s3: S3Config,
    /// Outgoing mail (services profile).
    pub smtp: SmtpConfig,
    /// Web Push to users' devices (services profile; the embedded one writes an
    /// outbox).
    pub push: PushConfig,
    /// Token issuing and verification.
    pub auth: AuthConfig,
    /// Conversations and messages.
    pub chat: ChatConfig,
    /// Online, away and offline.
    pub presence: PresenceConfig,
    /// Profile media (avatars, covers).
    pub media: MediaConfig,
    /// Files messages carry.
    pub attachments: AttachmentsConfig,
    /// The notification feed.
    pub notifications: NotificationsConfig,
    /// Per-user rate limits on writes, search and exports.
    pub rate_limits: RateLimitsConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// The wall clock the time rules read (mutes, do-not-disturb, digests).
    pub clock: ClockConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            profile: Profile::Embedded,
            data_dir: PathBuf::from("data"),
            listen: ListenConfig::default(),
            gateway: GatewayConfig::default(),
            database: DatabaseConfig::default(),
            kafka: KafkaConfig::default(),
            redis: RedisConfig::default(),
            s3: S3Config::default(),
            smtp: SmtpConfig::default(),
            push: PushConfig::default(),
            auth: AuthConfig::default(),
            chat: ChatConfig::default(),
            presence: PresenceConfig::default(),
            media: MediaConfig::default(),
            attachments: AttachmentsConfig::default(),
            notifications: NotificationsConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            telemetry: TelemetryConfig::default(),
            clock: ClockConfig::default(),
        }
    }
}

/// The wall clock the time rules read (a mute that ends, do-not-disturb, quiet
/// hours, when a digest is due).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// Lets tests move that clock through the subgraphs' `POST /clock`, signed as
    /// the gateway signs (tokens and timeouts keep the real time). Never set it in
    /// production.
    pub settable: bool,
}

impl AuthConfig {
    /// `key_encryption_key` decoded, when it is 32 bytes of base64.
    pub fn key_encryption_key_bytes(&self) -> Option<[u8; 32]> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(self.key_encryption_key.trim())
            .ok()?
            .try_into()
            .ok()
    }
}

/// Per-user rate limits (`echostream_service::rate_limits`), counted across instances in the
/// services profile; past one, a call is refused with `RATE_LIMITED` and
/// `extensions.retryAfter`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// `sendMessage` calls per 10 seconds.
    pub send_message_per_10s: i64,
    /// `markDelivered` and `markRead` calls per minute, each.
    pub marks_per_minute: i64,
    /// `createGroup` calls per hour.
    pub groups_per_hour: i64,
    /// `sendFriendRequest` calls per hour.
    pub friend_requests_per_hour: i64,
    /// `requestEmailChange` calls per hour.
    pub email_changes_per_hour: i64,
    /// `searchUsers` and `searchMessages` calls per minute, each.
    pub searches_per_minute: i64,
    /// Calls of each export (`accountExport`, `profileExport`, `chatExport`,
    /// `notificationExport`, `exportConversation`) per hour.
    pub exports_per_hour: i64,
    /// Calls of every other mutation per minute, each.
    pub other_writes_per_minute: i64,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        RateLimitsConfig {
            send_message_per_10s: 30,
            marks_per_minute: 120,
            groups_per_hour: 20,
            friend_requests_per_hour: 50,
            email_changes_per_hour: 5,
            searches_per_minute: 60,
            exports_per_hour: 5,
            other_writes_per_minute: 120,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line, with the spans it happened in (request id, trace id).
    Json,
}

/// Logs and traces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// An OpenTelemetry collector's OTLP/HTTP base URL (`http://collector:4318`):
    /// spans are exported to `<it>/v1/traces` when set, not at all otherwise.
    pub otlp_endpoint: Option<String>,
    /// How long spans wait in the exporter's batch before they are sent.
    pub otlp_batch_delay_ms: u64,
    /// The `service.name` the spans carry (`echostream`, or `echostream-<service>`
    /// for `echostream serve <service>`).
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            otlp_batch_delay_ms: 1000,
            service_name: "echostream".into(),
        }
    }
}

/// Who may message whom directly on this instance, before users' own settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectMessagePolicy {
    /// Only friends (the default): strangers cannot open a conversation at all.
    #[default]
    Friends,
    /// Anyone whose own setting lets them (`directMessages: EVERYONE`).
    Anyone,
}

/// Conversations and messages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// The instance's direct-message policy (`friends` or `anyone`).
    pub direct_messages: DirectMessagePolicy,
    /// Most members a group may hold, its owner included.
    pub max_group_members: u64,
    /// Events kept per user for resuming (`since`, `changesSince`); an older
    /// position gets `ResyncRequired`.
    pub stream_window: u64,
    /// Seconds a user's stream is kept after its last event; after that its
    /// positions get `ResyncRequired`.
    pub stream_ttl_secs: u64,
    /// Seconds a typing indicator lasts without being refreshed.
    pub typing_ttl_secs: u64,
    /// Seconds after sending during which the sender may edit a message.
    pub edit_window_secs: u64,
    /// Seconds after sending during which the sender may delete a message for
    /// everyone (a group's owner and admins may at any time).
    pub delete_window_secs: u64,
    /// Most distinct emoji one message may carry as reactions.
    pub max_reactions_per_message: u64,
    /// Most messages pinned in one conversation at once.
    pub max_pins_per_conversation: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            direct_messages: DirectMessagePolicy::default(),
            max_group_members: 256,
            stream_window: 1000,
            stream_ttl_secs: 24 * 3600,
            typing_ttl_secs: 6,
            edit_window_secs: 15 * 60,
            delete_window_secs: 48 * 3600,
            max_reactions_per_message: 20,
            max_pins_per_conversation: 50,
        }
    }
}

/// Online, away and offline.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceConfig {
    /// A device with no activity for this many seconds counts as away.
    pub away_after_secs: u64,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            away_after_secs: 300,
        }
    }
}

/// Profile media: limits on what may be uploaded, and how long an upload may wait
/// for its confirmation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Largest image accepted, in bytes.
    pub max_image_bytes: u64,
    /// Largest width or height accepted, in pixels.
    pub max_image_pixels: u32,
    /// Seconds an upload URL stays valid.
    pub upload_ttl_secs: u64,
    /// Seconds after which an upload never confirmed is deleted.
    pub unconfirmed_after_secs: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_image_bytes: 5 * 1024 * 1024,
            max_image_pixels: 4096,
            upload_ttl_secs: 600,
            unconfirmed_after_secs: 3600,
        }
    }
}

/// Files messages carry: the largest accepted of each kind (the types accepted are
/// fixed: README, "Attachments"), how many one message carries, and the largest
/// image decoded for thumbnails. Uploads wait and expire as `media.*` says.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentsConfig {
    /// Largest photo, in bytes.
    pub max_image_bytes: u64,
    /// Largest video, in bytes.
    pub max_video_bytes: u64,
    /// Largest audio file or voice note, in bytes.
    pub max_audio_bytes: u64,
    /// Largest document, in bytes.
    pub max_document_bytes: u64,
    /// Most files one message carries.
    pub max_per_message: u64,
    /// Largest side, in pixels, of a photo decoded for thumbnails; a larger one is
    /// accepted with its size but without thumbnails.
    pub max_thumbnail_source_pixels: u32,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        AttachmentsConfig {
            max_image_bytes: 16 * 1024 * 1024,
            max_video_bytes: 64 * 1024 * 1024,
            max_audio_bytes: 16 * 1024 * 1024,
            max_document_bytes: 32 * 1024 * 1024,
            max_per_message: 10,
            max_thumbnail_source_pixels: 8192,
        }
    }
}

/// How much of each user's notification feed is kept: the newest `keep_per_user`
/// items, and no read or dismissed item older than `keep_read_days`; pruned every
/// `prune_every_secs` by each instance (deletions that any number of instances may
/// run at once).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Items kept per user, newest first.
    pub keep_per_user: u64,
    /// Days a read or dismissed item is kept.
    pub keep_read_days: u64,
    /// Seconds between prunings.
    pub prune_every_secs: u64,
    /// Changes kept per user for resuming the live feed (`notificationEvents(since:)`);
    /// an older position gets `NotificationsResyncRequired`. Each item holds one
    /// place however often it changed.
    pub stream_window: u64,
    /// Seconds a user's live feed is kept after its last change; after that its
    /// positions get `NotificationsResyncRequired`.
    pub stream_ttl_secs: u64,
    /// Seconds an unseen notification waits before it may go out in an email digest
    /// to a user who is offline.
    pub digest_delay_secs: u64,
    /// Seconds at least between two digests to one user.
    pub digest_interval_secs: u64,
    /// Seconds between two looks for digests that are due (each instance looks).
    pub digest_every_secs: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            keep_per_user: 500,
            keep_read_days: 90,
            prune_every_secs: 600,
            stream_window: 500,
            stream_ttl_secs: 7 * 24 * 3600,
            digest_delay_secs: 15 * 60,
            digest_interval_secs: 3600,
            digest_every_secs: 30,
        }
    }
}

impl Config {
    /// The largest object any upload may put: what the local store accepts in one
    /// PUT (S3 is bounded per upload by the signed length).
    pub fn max_upload_bytes(&self) -> u64 {
        let a = &self.attachments;
        [
            self.media.max_image_bytes,
            a.max_image_bytes,
            a.max_video_bytes,
            a.max_audio_bytes,
            a.max_document_bytes,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// Addresses of the gateway and the five subgraphs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenConfig {
    /// Interface every service binds to.
    pub host: String,
    /// Host name other services use to reach a subgraph (a compose service name in
    /// docker-compose, the loopback address otherwise). Empty means `host`.
    pub advertise_host: String,
    pub auth_port: u16,
    pub profile_port: u16,
    pub chat_port: u16,
    pub presence_port: u16,
    pub notification_port: u16,
    /// Per-subgraph base URL overrides (`http://auth:4101`), for deployments where
    /// services do not share one host.
    pub auth_url: Option<String>,
    pub profile_url: Option<String>,
    pub chat_url: Option<String>,
    pub presence_url: Option<String>,
    pub notification_url: Option<String>,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            advertise_host: String::new(),
            auth_port: 4101,
            profile_port: 4102,
            chat_port: 4103,
            presence_port: 4104,
            notification_port: 4105,
            auth_url: None,
            profile_url: None,
            chat_url: None,
            presence_url: None,
            notification_url: None,
        }
    }
}

/// The five subgraphs, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subgraph {
    Auth,
    Profile,
    Chat,
    Presence,
    Notification,
}

impl Subgraph {
    /// Every subgraph, in start-up order (auth first: the others fetch its JWKS).
    pub const ALL: [Subgraph; 5] = [
        Subgraph::Auth,
        Subgraph::Profile,
        Subgraph::Chat,
        Subgraph::Presence,
        Subgraph::Notification,
    ];

    /// The subgraph's name in the supergraph, its database schema and its topic.
    pub fn name(self) -> &'static str {
        match self {
            Subgraph::Auth => "auth",
            Subgraph::Profile => "profile",
            Subgraph::Chat => "chat",
            Subgraph::Presence => "presence",
            Subgraph::Notification => "notification",
        }
    }

    /// Parses a subgraph name.
    pub fn from_name(name: &str) -> Option<Subgraph> {
        Subgraph::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl ListenConfig {
    /// The port a subgraph listens on.
    pub fn port(&self, subgraph: Subgraph) -> u16 {
        match subgraph {
            Subgraph::Auth => self.auth_port,
            Subgraph::Profile => self.profile_port,
            Subgraph::Chat => self.chat_port,
            Subgraph::Presence => self.presence_port,
            Subgraph::Notification => self.notification_port,
        }
    }

    /// The base URL (no path) other processes use to reach a subgraph.
    pub fn base_url(&self, subgraph: Subgraph) -> String {
        let explicit = match subgraph {
            Subgraph::Auth => &self.auth_url,
            Subgraph::Profile => &self.profile_url,
            Subgraph::Chat => &self.chat_url,
            Subgraph::Presence => &self.presence_url,
            Subgraph::Notification => &self.notification_url,
        };
        if let Some(url) = explicit {
            return url.trim_end_matches('/').to_string();
        }
        let host = if self.advertise_host.is_empty() {
            &self.host
        } else {
            &self.advertise_host
        };
        let host = if host == "0.0.0.0" { "127.0.0.1" } else { host };
        format!("http://{host}:{}", self.port(subgraph))
    }
}

/// The federation gateway.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    pub host: String,
    pub port: u16,
    /// The composed supergraph the gateway serves; unset, the one built into the
    /// binary (`schema/supergraph.graphql` as it was built).
    pub supergraph: Option<PathBuf>,
    /// A playground directory to serve instead of the one built into the binary:
    /// `index.html`, served at `GET /`, and `assets/`, served at
    /// `GET /playground/<file>`.
    pub playground: Option<PathBuf>,
    /// Bounds on what one client may ask (`gateway.limits.*`): the router's own
    /// settings and the gateway plugins' are built from these, and nothing else.
    pub limits: GatewayLimits,
    /// The secret the gateway signs its requests to the subgraphs with
    /// (`echostream_service::trust`). Empty: a random one per process, which is enough
    /// when one process runs everything; separate processes need the same value.
    pub subgraph_secret: String,
    /// The load balancers and proxies in front of the gateway (addresses or CIDR
    /// ranges, e.g. `["10.0.0.0/8"]`; in the environment, comma-separated). From
    /// them alone `X-Forwarded-For` is believed: the client is the nearest address
    /// in it that is not one of them. Empty (the default): the connection's peer is
    /// the client, whatever the header says.
    pub trusted_proxies: Vec<String>,
    /// Whether subgraphs refuse requests the gateway did not sign. Unset: yes in the
    /// services profile, no in the embedded one (forwarded client addresses count
    /// only on signed requests either way).
    pub require_signature: Option<bool>,
    /// The address people reach the gateway at (`https://chat.example.com`), for the
    /// links mail carries (unsubscribe). Empty: `http://<host>:<port>`.
    pub public_url: String,
}

impl GatewayConfig {
    /// The address people reach the gateway at, without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}:{}", self.host, self.port)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 4000,
            supergraph: None,
            playground: None,
            limits: GatewayLimits::default(),
            subgraph_secret: String::new(),
            trusted_proxies: Vec::new(),
            require_signature: None,
            public_url: String::new(),
        }
    }
}

/// Bounds on what one client may ask of the platform, declared once: the gateway's
/// router configuration and plugins (`echostream_gateway::router_config`) and the
/// subgraphs' subscription caps read them from here; docs/configuration.md gives each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayLimits {
    /// Largest accepted operation depth (introspection has its own limit).
    pub max_depth: usize,
    /// Largest number of aliases in one operation.
    pub max_aliases: usize,
    /// Largest request body in bytes; a larger one gets `413` naming the limit.
    pub max_request_bytes: usize,
    /// Most lexical tokens in one GraphQL document (what a document costs to parse
    /// and validate grows with them).
    pub max_tokens: usize,
    /// Longest GraphQL document in bytes (long values belong in variables).
    pub max_document_bytes: usize,
    /// Most directives in one operation.
    pub max_directives: usize,
    /// Deepest nesting of arrays and objects in a request's JSON (body, variables,
    /// extensions, WebSocket messages).
    pub max_json_depth: usize,
    /// Deepest introspection selection (`__schema`/`__type` and below).
    pub max_introspection_depth: usize,
    /// Most errors in one response, the closing "… more" error included.
    pub max_errors: usize,
    /// Most field selections in one operation once its fragments are expanded.
    pub max_selections: u64,
    /// Most WebSocket connections the gateway holds at once (all clients together).
    pub max_websockets: usize,
    /// Most WebSocket connections one user may hold at once.
    pub max_websockets_per_user: usize,
    /// Most live subscriptions one signed-in session (one client socket) may hold.
    pub max_subscriptions_per_session: usize,
    /// Most live subscriptions one user may hold over all sessions and sockets.
    pub max_subscriptions_per_user: usize,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_aliases: 30,
            max_request_bytes: 1024 * 1024,
            max_tokens: 2_000,
            max_document_bytes: 32 * 1024,
            max_directives: 50,
            max_json_depth: 32,
            max_introspection_depth: 18,
            max_errors: 20,
            max_selections: 5_000,
            max_websockets: 10_000,
            max_websockets_per_user: 16,
            max_subscriptions_per_session: 50,
            max_subscriptions_per_user: 200,
        }
    }
}

/// Relational store for the services profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// PostgreSQL URL; each subgraph uses its own schema in this database.
    pub url: String,
    /// Connections per subgraph pool.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "postgres://postgres@127.0.0.1:5432/echostream".into(),
            max_connections: 10,
        }
    }
}

/// Event log for the services profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    pub brokers: String,
    /// Prepended to every topic and consumer group name (isolates test runs and tenants).
    pub topic_prefix: String,
    /// Partitions per topic when EchoStream creates its topics.
    pub partitions: i32,
    /// Attempts a consumer makes at one event before parking it in its subgraph's
    /// `dead_letters` table and going on.
    pub consumer_attempts: u32,
    /// The wait after a consumer's first failed attempt; it doubles after each.
    pub consumer_backoff_ms: u64,
    /// Seconds a published event stays in its subgraph's outbox before the relay
    /// deletes it (the log holds it from then on).
    pub outbox_retention_secs: u64,
    /// How long an instance's lease on a partition runs unless renewed (renewed five
    /// times as often): the longest a dead instance's partitions wait for another.
    pub partition_lease_ms: u64,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topic_prefix: String::new(),
            partitions: 3,
            consumer_attempts: 5,
            consumer_backoff_ms: 100,
            outbox_retention_secs: 24 * 3600,
            partition_lease_ms: 10_000,
        }
    }
}

/// Pub/sub and ephemeral keys for the services profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// One Redis; with `cluster`, seed nodes of a Redis Cluster, comma-separated.
    pub url: String,
    /// Prepended to every key and channel.
    pub key_prefix: String,
    /// `url` names a Redis Cluster: keys are routed by slot, each stream's keys and
    /// channel share one slot, and channels are sharded (`SPUBLISH`/`SSUBSCRIBE`).
    pub cluster: bool,
    /// How long a command may wait for its answer before it fails (`UNAVAILABLE`).
    /// Commands share one connection, so a burst (thousands of sockets opening at
    /// once) queues them: this bounds a dead connection, not a busy one.
    pub response_timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: "echostream:".into(),
            cluster: false,
            response_timeout_ms: 5_000,
        }
    }
}

/// Object storage for the services profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            bucket: "echostream".into(),
            access_key: "echostream".into(),
            secret_key: "echostream-secret".into(),
        }
    }
}

/// Outgoing mail for the services profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// Sender address of every mail.
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1025,
            from: "EchoStream <no-reply@echostream.local>".into(),
        }
    }
}

/// Web Push (RFC 8030, with RFC 8291 payload encryption and RFC 8292 VAPID).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Who push services may contact about this server's pushes (VAPID `sub`): a
    /// `mailto:` or `https:` URL.
    pub contact: String,
    /// Seconds a push service may hold a push for a device that is offline.
    pub ttl_secs: u64,
    /// Accepts `http` subscriptions on this machine (127.0.0.1, localhost): for
    /// tests and development only. Otherwise an endpoint must be `https` and name
    /// no local or private address.
    pub allow_loopback_endpoints: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            contact: "mailto:admin@echostream.local".into(),
            ttl_secs: 24 * 3600,
            allow_loopback_endpoints: false,
        }
    }
}

/// Token issuing (auth subgraph) and verification (every service).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `iss` of every access token.
    pub issuer: String,
    /// `aud` of every access token.
    pub audience: String,
    /// Lifetime of an access token, in seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of an emailed one-time code, in seconds.
    pub code_ttl_secs: u64,
    /// Age in days at which the token signing key is replaced (the old one stays
    /// published until its tokens have expired).
    pub key_rotation_days: u32,
    /// Sign-in attempts allowed from one client address per 5 minutes.
    pub login_attempts_per_ip: i64,
    /// Sign-ups allowed from one client address per hour.
    pub registrations_per_ip: i64,
    /// OpenID Connect providers users may sign in with (`[[auth.oidc]]` tables).
    pub oidc: Vec<OidcProviderConfig>,
    /// The key the token-signing keys are encrypted with in the auth database
    /// (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), so that a copy
    /// of the database alone cannot sign tokens. Required in the services profile;
    /// in the embedded one, empty means a key file made in `data_dir`.
    pub key_encryption_key: String,
}

/// A sign-in provider: OpenID Connect (Google, a company IdP, any certified issuer),
/// or plain OAuth 2 with a user-info endpoint (GitHub, with `preset = "github"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderConfig {
    /// The name clients use (`google`).
    pub name: String,
    /// The OpenID Connect issuer URL; its `/.well-known/openid-configuration` is read
    /// at first use. Empty for plain OAuth 2 providers.
    #[serde(default)]
    pub issuer: String,
    /// `github` fills in GitHub's endpoints, scopes and user fields.
    #[serde(default)]
    pub preset: Option<String>,
    /// Plain OAuth 2: where people sign in.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Plain OAuth 2: where codes are exchanged.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Plain OAuth 2: who the access token belongs to. (For OpenID Connect, read when
    /// the ID token carries no email.)
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Scopes to ask for; empty means `openid email profile` (or the preset's).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Plain OAuth 2: the user-info fields holding the stable id, the username and
    /// the email (defaults: `sub`, `preferred_username`, `email`, `email_verified`).
    #[serde(default)]
    pub fields: UserInfoFields,
    /// EchoStream's client id at the provider.
    pub client_id: String,
    /// EchoStream's client secret (absent for public clients).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Redirect URIs clients may ask for: web callbacks and app schemes.
    pub redirect_uris: Vec<String>,
    /// Further client ids whose ID tokens are accepted in the native flow (the
    /// mobile apps' own client ids).
    #[serde(default)]
    pub native_client_ids: Vec<String>,
}

/// Where a plain OAuth 2 provider's user info keeps what EchoStream needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserInfoFields {
    pub subject: String,
    pub username: String,
    pub email: String,
    /// Empty when the provider does not say (then the email is not trusted).
    pub email_verified: String,
}

impl Default for UserInfoFields {
    fn default() -> Self {
        UserInfoFields {
            subject: "sub".into(),
            username: "preferred_username".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "echostream".into(),
            audience: "echostream".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            code_ttl_secs: 900,
            key_rotation_days: 30,
            login_attempts_per_ip: 100,
            registrations_per_ip: 20,
            oidc: Vec::new(),
            key_encryption_key: String::new(),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Whether subgraphs refuse unsigned requests (`gateway.require_signature`).
    pub fn require_signature(&self) -> bool {
        self.gateway
            .require_signature
            .unwrap_or(self.profile == Profile::Services)
    }

    /// This config with a random `gateway.subgraph_secret` when none is set, for a
    /// process that runs the gateway and the subgraphs together.
    pub fn with_subgraph_secret(mut self) -> Config {
        if self.gateway.subgraph_secret.is_empty() {
            let bytes: [u8; 32] = rand::random();
            self.gateway.subgraph_secret = bytes.iter().map(|b| format!("{b:02x}")).collect();
        }
        self
    }

    /// Loads the defaults, then `path` (when given), then `ECHOSTREAM_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = path {
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        // ECHOSTREAM_CONFIG names the file; it is not a key.
        let overrides: std::collections::HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("ECHOSTREAM_") && k != "ECHOSTREAM_CONFIG")
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("ECHOSTREAM")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("gateway.trusted_proxies")
                .source(Some(overrides)),
        );
        let config: Config = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot: ranges and consistency.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        match (self.auth.key_encryption_key.is_empty(), self.profile) {
            (true, Profile::Services) => {
                return fail(
                    "auth.key_encryption_key",
                    "must be set in the services profile (base64 of 32 random bytes)",
                );
            }
            (false, _) if self.auth.key_encryption_key_bytes().is_none() => {
                return fail(
                    "auth.key_encryption_key",
                    "must be base64 of exactly 32 bytes (openssl rand -base64 32)",
                );
            }
            _ => {}
        }
        if self.auth.access_token_ttl_secs == 0 {
            return fail("auth.access_token_ttl_secs", "must be positive");
        }
        if self.auth.refresh_token_ttl_secs <= self.auth.access_token_ttl_secs {
            return fail(
                "auth.refresh_token_ttl_secs",
                "must be longer than auth.access_token_ttl_secs",
            );
        }
        if self.kafka.consumer_attempts < 1 {
            return fail("kafka.consumer_attempts", "must be at least 1");
        }
        if !(self.push.contact.starts_with("mailto:") || self.push.contact.starts_with("https:")) {
            return fail("push.contact", "must be a mailto: or https: URL");
        }
        if self.notifications.keep_per_user == 0 {
            return fail("notifications.keep_per_user", "must be at least 1");
        }
        if self.notifications.prune_every_secs == 0 {
            return fail("notifications.prune_every_secs", "must be positive");
        }
        if self.presence.away_after_secs == 0 {
            return fail("presence.away_after_secs", "must be positive");
        }
        if self.chat.max_group_members < 2 {
            return fail("chat.max_group_members", "must be at least 2");
        }
        for (key, value) in [
            ("chat.stream_window", self.chat.stream_window),
            (
                "notifications.stream_window",
                self.notifications.stream_window,
            ),
            (
                "notifications.stream_ttl_secs",
                self.notifications.stream_ttl_secs,
            ),
            (
                "notifications.digest_every_secs",
                self.notifications.digest_every_secs,
            ),
            ("push.ttl_secs", self.push.ttl_secs),
            ("chat.stream_ttl_secs", self.chat.stream_ttl_secs),
            ("chat.typing_ttl_secs", self.chat.typing_ttl_secs),
            ("chat.edit_window_secs", self.chat.edit_window_secs),
            ("chat.delete_window_secs", self.chat.delete_window_secs),
            (
                "chat.max_reactions_per_message",
                self.chat.max_reactions_per_message,
            ),
            (
                "chat.max_pins_per_conversation",
                self.chat.max_pins_per_conversation,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be positive");
            }
        }
        for (key, value) in [
            ("media.max_image_bytes", self.media.max_image_bytes),
            (
                "media.max_image_pixels",
                u64::from(self.media.max_image_pixels),
            ),
            ("media.upload_ttl_secs", self.media.upload_ttl_secs),
            (
                "media.unconfirmed_after_secs",
                self.media.unconfirmed_after_secs,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be positive");
            }
        }
        let a = &self.attachments;
        for (key, value) in [
            ("attachments.max_image_bytes", a.max_image_bytes),
            ("attachments.max_video_bytes", a.max_video_bytes),
            ("attachments.max_audio_bytes", a.max_audio_bytes),
            ("attachments.max_document_bytes", a.max_document_bytes),
            ("attachments.max_per_message", a.max_per_message),
            (
                "attachments.max_thumbnail_source_pixels",
                u64::from(a.max_thumbnail_source_pixels),
            ),
        ] {
            if value == 0 {
                return fail(key, "must be positive");
            }
        }
        if self.media.unconfirmed_after_secs < self.media.upload_ttl_secs {
            return fail(
                "media.unconfirmed_after_secs",
                "must be at least media.upload_ttl_secs",
            );
        }
        let r = &self.rate_limits;
        for (key, value) in [
            ("rate_limits.send_message_per_10s", r.send_message_per_10s),
            ("rate_limits.marks_per_minute", r.marks_per_minute),
            ("rate_limits.groups_per_hour", r.groups_per_hour),
            (
                "rate_limits.friend_requests_per_hour",
                r.friend_requests_per_hour,
            ),
            (
                "rate_limits.email_changes_per_hour",
                r.email_changes_per_hour,
            ),
            ("rate_limits.searches_per_minute", r.searches_per_minute),
            ("rate_limits.exports_per_hour", r.exports_per_hour),
            (
                "rate_limits.other_writes_per_minute",
                r.other_writes_per_minute,
            ),
        ] {
            if value < 1 {
                return fail(key, "must be at least 1");
            }
        }
        for proxy in &self.gateway.trusted_proxies {
            if parse_proxy(proxy).is_none() {
                return fail(
                    "gateway.trusted_proxies",
                    "each must be an IP address or a CIDR range (10.0.0.0/8)",
                );
            }
        }
        if self.kafka.partitions < 1 {
            return fail("kafka.partitions", "must be at least 1");
        }
        if !(100..=60_000).contains(&self.redis.response_timeout_ms) {
            return fail("redis.response_timeout_ms", "must be between 100 and 60000");
        }
        if !(1_000..=600_000).contains(&self.kafka.partition_lease_ms) {
            return fail(
                "kafka.partition_lease_ms",
                "must be between 1000 and 600000",
            );
        }
        for (key, value) in [
            ("gateway.limits.max_depth", self.gateway.limits.max_depth),
            (
                "gateway.limits.max_aliases",
                self.gateway.limits.max_aliases,
            ),
            (
                "gateway.limits.max_request_bytes",
                self.gateway.limits.max_request_bytes,
            ),
            ("gateway.limits.max_tokens", self.gateway.limits.max_tokens),
            (
                "gateway.limits.max_document_bytes",
                self.gateway.limits.max_document_bytes,
            ),
            (
                "gateway.limits.max_directives",
                self.gateway.limits.max_directives,
            ),
            (
                "gateway.limits.max_json_depth",
                self.gateway.limits.max_json_depth,
            ),
            (
                "gateway.limits.max_introspection_depth",
                self.gateway.limits.max_introspection_depth,
            ),
            ("gateway.limits.max_errors", self.gateway.limits.max_errors),
            (
                "gateway.limits.max_selections",
                self.gateway.limits.max_selections as usize,
            ),
            (
                "gateway.limits.max_websockets",
                self.gateway.limits.max_websockets,
            ),
            (
                "gateway.limits.max_websockets_per_user",
                self.gateway.limits.max_websockets_per_user,
            ),
            (
                "gateway.limits.max_subscriptions_per_session",
                self.gateway.limits.max_subscriptions_per_session,
            ),
            (
                "gateway.limits.max_subscriptions_per_user",
                self.gateway.limits.max_subscriptions_per_user,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be positive");
            }
        }
        if self.gateway.limits.max_json_depth > 128 {
            return fail(
                "gateway.limits.max_json_depth",
                "must be at most 128 (the JSON parser's own bound)",
            );
        }
        if self.profile == Profile::Services && !self.database.url.starts_with("postgres") {
            return fail(
                "database.url",
                "must be a postgres:// URL in the services profile",
            );
        }
        Ok(())
    }
}

/// The MACs the gateway and the subgraphs share (`gateway.subgraph_secret`), made in
/// one place for both sides: the gateway signs with them, subgraphs check them
/// (`echostream_service::trust`).
pub mod signing {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// Hex HMAC-SHA256 of `message` under `secret`.
    pub fn mac(secret: &[u8], message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(message.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The signature of a request to `subgraph` at unix time `t`, made for the client
    /// the gateway vouches for (`identity`, empty for none): `t=<t>,v1=<hex MAC of
    /// "v1:<t>:<subgraph>:<identity>">,id=<identity>`. The gateway's header rule makes
    /// the same string (`gateway/src/router_config.rs`).
    pub fn request_signature(secret: &[u8], subgraph: &str, t: i64, identity: &str) -> String {
        let v1 = mac(secret, &format!("v1:{t}:{subgraph}:{identity}"));
        format!("t={t},v1={v1},id={identity}")
    }

    /// The MAC that vouches for a client's address.
    pub fn client_mac(secret: &[u8], address: &str) -> String {
        mac(secret, &format!("ip:{address}"))
    }
}

/// A trusted proxy as configured: a range in CIDR form, or one address (a range of
/// one); `None` when it is neither.
pub fn parse_proxy(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_profile() {
        let config = Config::default();
        assert_eq!(config.profile, Profile::Embedded);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn file_values_are_read_and_a_bad_value_names_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("echostream.toml");
        let key = "key_encryption_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"";
        std::fs::write(
            &path,
            format!("profile = \"services\"\n[gateway]\nport = 4444\n[auth]\n{key}\n"),
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.profile, Profile::Services);
        assert_eq!(config.gateway.port, 4444);
        assert_eq!(config.auth.key_encryption_key_bytes(), Some([0; 32]));

        // The services profile needs the signing keys' encryption key, a real one.
        std::fs::write(&path, "profile = \"services\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("auth.key_encryption_key"), "{err}");
        std::fs::write(&path, "[auth]\nkey_encryption_key = \"c2hvcnQ=\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");

        std::fs::write(&path, "[gateway]\nport = \"not a port\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("port"), "{err}");

        std::fs::write(&path, "[kafka]\npartitions = 0\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("kafka.partitions"), "{err}");
    }

    #[test]
    fn subgraph_urls_follow_the_listen_section() {
        let mut listen = ListenConfig::default();
        assert_eq!(listen.base_url(Subgraph::Chat), "http://127.0.0.1:4103");
        listen.chat_url = Some("http://chat:4103/".into());
        assert_eq!(listen.base_url(Subgraph::Chat), "http://chat:4103");
    }
}
