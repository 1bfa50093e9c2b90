//! Service bootstrap: the ports every subgraph shares, and the HTTP server that
//! serves one subgraph (GraphQL over HTTP and WebSocket, `/health`, `/ready`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, ObjectType, Schema, SubscriptionType};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use echostream_config::{Config, Profile, Subgraph};
use echostream_contracts::Channel;
use echostream_ports::Error;
use echostream_ports::clock::{Clock, SettableClock, SystemClock};
use std::future::Future;

use sea_orm_migration::MigratorTrait;

use crate::subscriptions::SubscriptionSlots;
use crate::token::{TokenRejected, TokenVerifier};
use crate::trust::{CLIENT_MAC_HEADER, GatewayTrust, SIGNATURE_HEADER};
use crate::ws_handshake;
use chrono::Utc;
use echostream_ports::events::embedded::EmbeddedLog;
use echostream_ports::events::kafka::KafkaLog;
use echostream_ports::events::outbox::Relay;
use echostream_ports::events::{Delivery, EventLog, consumer};
use echostream_ports::mail::{Mailer, OutboxMailer, SmtpMailer};
use echostream_ports::objects::ObjectStore;
use echostream_ports::objects::local::LocalObjects;
use echostream_ports::objects::s3::S3Objects;
use echostream_ports::pubsub::PubSub;
use echostream_ports::pubsub::memory::MemoryPubSub;
use echostream_ports::pubsub::redis::RedisPubSub;
use echostream_presence_tracking::Tracker;
use futures::{FutureExt, StreamExt};

/// The ports and settings shared by every service of one process.
#[derive(Clone)]
pub struct Ports {
    pub config: Arc<Config>,
    pub events: Arc<dyn EventLog>,
    pub pubsub: Arc<dyn PubSub>,
    pub objects: Arc<dyn ObjectStore>,
    pub mail: Arc<dyn Mailer>,
    pub tokens: Arc<TokenVerifier>,
    /// Caps on live subscriptions, shared by every subgraph of the process.
    pub subscriptions: Arc<SubscriptionSlots>,
    /// Presence of every device, shared by every subgraph of the process.
    pub presence: Arc<Tracker>,
    /// What time it is for the time rules (see [`echostream_ports::clock`]).
    pub clock: Arc<dyn Clock>,
    /// The same clock, when tests may move it (`clock.settable`).
    pub settable_clock: Option<Arc<SettableClock>>,
    /// Cancelled when the process shuts down; every task watches it.
    pub shutdown: CancellationToken,
}

/// One implementation of each port that is shared by the whole process.
type PortSet = (
    Arc<dyn EventLog>,
    Arc<dyn PubSub>,
    Arc<dyn ObjectStore>,
    Arc<dyn Mailer>,
);

/// Why the ports could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("event log: {0}")]
    Events(#[from] echostream_ports::events::LogError),
    #[error("pub/sub: {0}")]
    PubSub(#[from] echostream_ports::pubsub::PubSubError),
    #[error("object storage: {0}")]
    Objects(#[from] echostream_ports::objects::ObjectError),
    #[error("mail: {0}")]
    Mail(#[from] echostream_ports::mail::MailError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

impl Ports {
    /// Opens every port with the implementation the profile names.
    pub async fn connect(config: Config, shutdown: CancellationToken) -> Result<Ports, StartError> {
        let (events, pubsub, objects, mail): PortSet = match config.profile {
            Profile::Embedded => {
                let secret = local_secret(&config)?;
                (
                    Arc::new(
                        EmbeddedLog::open(
                            &config.data_dir.join("events.db"),
                            config.kafka.partitions,
                        )
                        .await?,
                    ),
                    Arc::new(MemoryPubSub::new()),
                    Arc::new(LocalObjects::new(
                        config.data_dir.join("objects"),
                        config.listen.base_url(Subgraph::Profile),
                        secret,
                    )),
                    Arc::new(OutboxMailer::new(config.data_dir.join("mail"))),
                )
            }
            Profile::Services => (
                Arc::new(KafkaLog::connect(&config.kafka).await?),
                Arc::new(RedisPubSub::connect(&config.redis).await?),
                Arc::new(S3Objects::connect(&config.s3).await?),
                Arc::new(SmtpMailer::new(&config.smtp)?),
            ),
        };
        let mail: Arc<dyn Mailer> = Arc::new(crate::metrics::CountedMailer(mail));
        let tokens = TokenVerifier::new(
            format!(
                "{}/.well-known/jwks.json",
                config.listen.base_url(Subgraph::Auth)
            ),
            config.auth.issuer.clone(),
            config.auth.audience.clone(),
            Arc::clone(&pubsub),
        );
        let subscriptions = SubscriptionSlots::shared(
            config.gateway.limits.max_subscriptions_per_session,
            config.gateway.limits.max_subscriptions_per_user,
            Arc::clone(&pubsub),
            shutdown.clone(),
        );
        subscriptions.watch_ended_sessions(Arc::clone(&pubsub), shutdown.clone());
        let presence = Tracker::new(
            Arc::clone(&pubsub),
            Duration::from_secs(config.presence.away_after_secs),
        );
        let settable_clock = config
            .clock
            .settable
            .then(|| Arc::new(SettableClock::default()));
        let clock: Arc<dyn Clock> = match &settable_clock {
            Some(settable) => Arc::clone(settable) as Arc<dyn Clock>,
            None => Arc::new(SystemClock),
        };
        Ok(Ports {
            subscriptions,
            presence,
            clock,
            settable_clock,
            config: Arc::new(config),
            events,
            pubsub,
            objects,
            mail,
            tokens,
            shutdown,
        })
    }
}

impl Ports {
    /// The embedded profile's ports with their data under `dir`, for a subgraph's
    /// own tests.
    pub async fn embedded_at(dir: &std::path::Path) -> Result<Ports, StartError> {
        let config = Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        Ports::connect(config, CancellationToken::new()).await
    }

    /// Opens `subgraph`'s own database (or schema) and brings it up to date with `M`.
    pub async fn database<M: MigratorTrait>(
        &self,
        subgraph: Subgraph,
    ) -> Result<DatabaseConnection, StartError> {
        let db = echostream_ports::db::connect(&self.config, subgraph).await?;
        M::up(&db, None).await?;
        Ok(db)
    }

    /// Starts publishing `db`'s outbox to the event log; writers wake the returned relay
    /// after committing.
    pub fn relay(&self, db: &DatabaseConnection) -> Relay {
        let relay = Relay::new(db.clone());
        let retention = Duration::from_secs(self.config.kafka.outbox_retention_secs);
        relay.spawn(Arc::clone(&self.events), retention, self.shutdown.clone());
        relay
    }

    /// The checks every subgraph schema runs on each request (see
    /// [`crate::request_checks`]).
    pub fn request_checks(&self) -> crate::request_checks::RequestChecks {
        crate::request_checks::RequestChecks {
            max_selections: self.config.gateway.limits.max_selections,
            limits: self.config.rate_limits,
            counters: Arc::clone(&self.pubsub),
        }
    }

    /// The one way a subgraph serves a live subscription: takes a slot for `viewer`
    /// (`RATE_LIMITED` past the caps, see [`crate::subscriptions`]), listens on
    /// `channels` (one subscription of the pub/sub port however many), and yields
    /// what `keep` makes of each frame (frames it maps to `None` are skipped); while
    /// open, the viewer's device counts as present.
    pub async fn live<F, T, K>(
        &self,
        viewer: &crate::token::Viewer,
        channels: Vec<Channel<F>>,
        mut keep: K,
    ) -> Result<
        impl futures::Stream<Item = Result<T, async_graphql::Error>> + use<F, T, K>,
        echostream_ports::Error,
    >
    where
        K: FnMut(F) -> Option<T> + Send + 'static,
        F: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let slot = self
            .subscriptions
            .open(viewer, self.pubsub.as_ref())
            .await?;
        let names: Vec<String> = channels.iter().map(|c| c.name().to_string()).collect();
        let heard = if names.is_empty() {
            // Nothing to hear yet: stay open, as a subscription to a quiet channel does.
            futures::stream::pending().boxed()
        } else {
            self.pubsub.listen(&names).await?
        };
        // Every channel of the list carries the same frame type: any one decodes.
        let decoder = channels.into_iter().next();
        // A stream without positions cannot catch up on what it missed: when it falls
        // behind it ends (the client sees it complete and subscribes again) rather
        // than go on as if nothing was lost.
        let items = heard
            .take_while(|heard| {
                let lagged = *heard == echostream_ports::pubsub::Heard::Lagged;
                if lagged {
                    tracing::warn!("a live subscription fell behind and was ended");
                }
                futures::future::ready(!lagged)
            })
            .filter_map(move |heard| {
                let item = match heard {
                    echostream_ports::pubsub::Heard::Frame(text) => decoder
                        .as_ref()
                        .and_then(|channel| channel.decode(&text))
                        .and_then(&mut keep),
                    echostream_ports::pubsub::Heard::Lagged => None,
                };
                futures::future::ready(item)
            });
        Ok(crate::subscriptions::serve(
            slot,
            Arc::clone(&self.presence),
            viewer.clone(),
            items,
        ))
    }

    /// Consumes `topic` as consumer `group`, calling `handle(state, event)` for each
    /// event; events that fail every attempt are parked in `db`'s `dead_letters`
    /// (see [`consumer::spawn`] for ordering, retries and replays).
    pub fn consume<S, F, Fut>(
        &self,
        topic: &'static str,
        group: &str,
        db: &DatabaseConnection,
        state: S,
        handle: F,
    ) where
        S: Clone + Send + Sync + 'static,
        F: Fn(S, Delivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), echostream_ports::Error>> + Send,
    {
        self.consume_telling(topic, group, db, state, None, handle);
    }

    /// [`Ports::consume`], running `on_parked` for each event that is parked, to
    /// tell whoever could have missed something through it.
    pub fn consume_telling<S, F, Fut>(
        &self,
        topic: &'static str,
        group: &str,
        db: &DatabaseConnection,
        state: S,
        on_parked: Option<consumer::OnParked>,
        handle: F,
    ) where
        S: Clone + Send + Sync + 'static,
        F: Fn(S, Delivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), echostream_ports::Error>> + Send,
    {
        crate::metrics::METRICS.consuming(topic, group);
        let retries = consumer::Retries {
            attempts: self.config.kafka.consumer_attempts,
            backoff: Duration::from_millis(self.config.kafka.consumer_backoff_ms),
        };
        consumer::spawn(
            Arc::clone(&self.events),
            db.clone(),
            topic,
            group.to_string(),
            retries,
            self.shutdown.clone(),
            on_parked,
            move |delivery| handle(state.clone(), delivery),
        );
    }
}

/// Pushes `frame` to whoever listens on `channel`, on every instance.
pub async fn publish<F>(
    pubsub: &dyn PubSub,
    channel: &Channel<F>,
    frame: &F,
) -> Result<(), echostream_ports::Error>
where
    F: serde::Serialize + serde::de::DeserializeOwned,
{
    Ok(pubsub
        .publish(channel.name(), &channel.encode(frame))
        .await?)
}

/// A subgraph schema's SDL with its Federation v2 directives, for composition.
pub fn federation_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .federation()
            .compose_directive(),
    )
}

/// The embedded profile's signing secret for presigned URLs, made once per data dir.
fn local_secret(config: &Config) -> Result<Vec<u8>, StartError> {
    let path = config.data_dir.join("objects.secret");
    let io = |source| StartError::Bind {
        addr: path.display().to_string(),
        source,
    };
    if let Ok(secret) = std::fs::read(&path) {
        return Ok(secret);
    }
    std::fs::create_dir_all(&config.data_dir).map_err(io)?;
    let secret: [u8; 32] = rand::random();
    std::fs::write(&path, secret).map_err(io)?;
    Ok(secret.to_vec())
}

/// What the generic handlers need of one subgraph.
struct AppState<Q, M, S> {
    subgraph: Subgraph,
    schema: Schema<Q, M, S>,
    tokens: Arc<TokenVerifier>,
    trust: GatewayTrust,
    db: DatabaseConnection,
    presence: Arc<Tracker>,
    dependencies: Arc<Dependencies>,
}

impl<Q, M, S> Clone for AppState<Q, M, S> {
    fn clone(&self) -> Self {
        AppState {
            subgraph: self.subgraph,
            schema: self.schema.clone(),
            tokens: Arc::clone(&self.tokens),
            trust: self.trust.clone(),
            db: self.db.clone(),
            presence: Arc::clone(&self.presence),
            dependencies: Arc::clone(&self.dependencies),
        }
    }
}

/// What `/ready` asks, and the names it reports them by (the services of the profile).
struct Dependencies {
    names: [&'static str; 5],
    events: Arc<dyn EventLog>,
    pubsub: Arc<dyn PubSub>,
    objects: Arc<dyn ObjectStore>,
    mail: Arc<dyn Mailer>,
}

/// How long `/ready` waits for each dependency.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// Serves one subgraph on its configured port until shutdown; returns once listening.
pub async fn serve<Q, M, S>(
    subgraph: Subgraph,
    ports: &Ports,
    db: DatabaseConnection,
    schema: Schema<Q, M, S>,
    extra: Router,
) -> Result<tokio::task::JoinHandle<()>, StartError>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let state = AppState {
        subgraph,
        schema,
        tokens: Arc::clone(&ports.tokens),
        trust: GatewayTrust::new(
            &ports.config.gateway.subgraph_secret,
            subgraph.name(),
            ports.config.require_signature(),
        ),
        db,
        presence: Arc::clone(&ports.presence),
        dependencies: Arc::new(Dependencies {
            names: match ports.config.profile {
                Profile::Services => ["postgresql", "redis", "broker", "s3", "smtp"],
                Profile::Embedded => ["sqlite", "pubsub", "event_log", "objects", "mail_outbox"],
            },
            events: Arc::clone(&ports.events),
            pubsub: Arc::clone(&ports.pubsub),
            objects: Arc::clone(&ports.objects),
            mail: Arc::clone(&ports.mail),
        }),
    };
    let app = Router::new()
        .route(
            "/graphql",
            get(graphql_ws::<Q, M, S>).post(graphql_http::<Q, M, S>),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready::<Q, M, S>))
        .route("/metrics", get(metrics::<Q, M, S>))
        .with_state(state)
        // The gateway bounds what clients send; a subgraph bounds what reaches it
        // directly the same way (413 past the limit). JSON nesting is bounded by
        // serde_json's own recursion limit (128). Extra routes bound their own bodies.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            ports.config.gateway.limits.max_request_bytes,
        ))
        .merge(extra);
    let app = match &ports.settable_clock {
        Some(clock) => app.merge(clock_route(
            Arc::clone(clock),
            GatewayTrust::new(&ports.config.gateway.subgraph_secret, subgraph.name(), true),
        )),
        None => app,
    };
    let addr = format!(
        "{}:{}",
        ports.config.listen.host,
        ports.config.listen.port(subgraph)
    );
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let shutdown = ports.shutdown.clone();
    tracing::info!(subgraph = subgraph.name(), %addr, "subgraph listening");
    Ok(tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        if let Err(err) = served {
            tracing::error!(subgraph = subgraph.name(), %err, "subgraph server failed");
        }
    }))
}

/// `POST /clock` (only with `clock.settable`): sets the process's clock to `now` or
/// moves it by `advanceSecs`, for a request signed as the gateway signs; answers
/// the clock's time.
fn clock_route(clock: Arc<SettableClock>, trust: GatewayTrust) -> Router {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Move {
        now: Option<chrono::DateTime<Utc>>,
        advance_secs: Option<i64>,
    }
    let handler = move |headers: HeaderMap, body: axum::Json<Move>| async move {
        let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        if trust.origin(signature, Utc::now().timestamp()) != Ok(crate::trust::Origin::Gateway) {
            return (StatusCode::FORBIDDEN, "not signed".to_string());
        }
        if let Some(at) = body.now {
            clock.set(at);
        }
        if let Some(secs) = body.advance_secs {
            clock.advance(chrono::TimeDelta::seconds(secs));
        }
        (StatusCode::OK, clock.now().to_rfc3339())
    };
    Router::new().route("/clock", axum::routing::post(handler))
}

/// The largest WebSocket message a subgraph accepts (the gateway's own bound).
/// The read buffer of each subgraph WebSocket (see `graphql_ws`).
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

const WS_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The address the request came from, as far as the subgraph can trust it
/// ([`GatewayTrust::client_address`]). Rate limits key on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

async fn graphql_http<Q, M, S>(
    State(state): State<AppState<Q, M, S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: Result<GraphQLRequest, GraphQLRejection>,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let crate::trust::Signed { origin, vouched } = match state
        .trust
        .check(header(SIGNATURE_HEADER), Utc::now().timestamp())
    {
        Ok(signed) => signed,
        Err(refused) => return graphql_error(StatusCode::FORBIDDEN, &Error::forbidden(refused)),
    };
    let forwarded = header("x-forwarded-for").and_then(|v| v.split(',').next().map(str::trim));
    let ip = ClientIp(state.trust.client_address(
        origin,
        forwarded,
        header(CLIENT_MAC_HEADER),
        &peer.ip().to_string(),
    ));
    let request = match request {
        Ok(request) => request,
        Err(rejection) => return not_a_request(&rejection),
    };
    let mut request = request.into_inner().data(ip);
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let viewer = match state.tokens.viewer_for(vouched, authorization).await {
        Ok(viewer) => viewer,
        Err(err) => return graphql_error(StatusCode::OK, &err),
    };
    // A request the client made is its device's activity. The gateway's entity
    // fetches (`_entities`) are not: they also run for events the client merely
    // receives.
    if let Some(viewer) = &viewer
        && !request.query.contains("_entities")
    {
        state.presence.touch(&viewer.device());
    }
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    // Every log line of the request carries its id: the client's X-Request-Id (the
    // gateway passes it on), else the trace id the gateway sent, else a new one.
    let traceparent = header("traceparent");
    let request_id = header("x-request-id")
        .filter(|id| id.len() <= 128)
        .map(str::to_string)
        .or_else(|| {
            traceparent
                .and_then(|t| t.split('-').nth(1))
                .map(str::to_string)
        })
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!("graphql request", subgraph = state.subgraph.name(),
        %request_id, otel.kind = "server");
    echostream_telemetry::follow(&span, traceparent);
    let mut response = None;
    let work = async {
        response = Some(echostream_telemetry::traced(span, state.schema.execute(request)).await);
    };
    echostream_telemetry::with_request_id(&request_id, Box::pin(work)).await;
    GraphQLResponse::from(response.expect("the request ran")).into_response()
}

/// A body that is not a GraphQL request at all: a coded GraphQL error, as everywhere
/// else, rather than async-graphql's plain-text description of its parse failure.
fn not_a_request(rejection: &GraphQLRejection) -> Response {
    match rejection.0 {
        async_graphql::ParseRequestError::PayloadTooLarge => graphql_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Error::bad_input("the request body is larger than gateway.limits.max_request_bytes"),
        ),
        _ => graphql_error(
            StatusCode::BAD_REQUEST,
            &Error::bad_input("the request body is not a GraphQL request (JSON with a query)"),
        ),
    }
}

/// A response carrying one error, with its code.
fn graphql_error(status: StatusCode, err: &Error) -> Response {
    let error = async_graphql::ErrorExtensions::extend(err);
    let body = async_graphql::Response::from_errors(vec![
        error.into_server_error(async_graphql::Pos::default()),
    ]);
    (status, GraphQLResponse::from(body)).into_response()
}

async fn graphql_ws<Q, M, S>(
    State(state): State<AppState<Q, M, S>>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let (Ok(protocol), Ok(upgrade)) = (protocol, upgrade) else {
        return graphql_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &Error::bad_input(
                "a subgraph takes GraphQL over POST, or over a graphql-transport-ws WebSocket",
            ),
        );
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // As the gateway's WebSocket codec does.
        .max_message_size(WS_MAX_MESSAGE_BYTES)
        .max_frame_size(WS_MAX_MESSAGE_BYTES)
        // The read buffer is allocated whole for every socket (128 KiB by default);
        // the gateway keeps one socket per live subscription, so that default cost
        // 135 KiB per subscription. Frames here are small: 4 KiB reads suffice, and
        // larger messages still arrive whole, over several reads.
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let open = crate::metrics::OpenSocket::new(state.subgraph.name());
            let tokens = Arc::clone(&state.tokens);
            let trust = state.trust.clone();
            // Outgoing frames go through a queue, so the handshake check can close
            // the socket itself (see `ws_handshake`).
            let (sink, client) = socket.split();
            let (out, outgoing) = futures::channel::mpsc::channel(16);
            tokio::spawn(outgoing.map(Ok).forward(sink));
            let client = ws_handshake::handshake_first(client, out.clone());
            GraphQLWebSocket::new_with_pair(out, client, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    // The gateway forwards the client's headers as the init payload.
                    let field = |name: &str| {
                        payload.as_object().and_then(|fields| {
                            fields
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                                .and_then(|(_, v)| v.as_str().map(str::to_string))
                        })
                    };
                    // A refused handshake closes the socket.
                    let signed = trust
                        .check(field(SIGNATURE_HEADER).as_deref(), Utc::now().timestamp())
                        .map_err(async_graphql::Error::new)?;
                    let authorization = field("authorization");
                    // A bad token does not fail the handshake (the gateway would
                    // report that as an internal error): the connection stays
                    // anonymous and remembers why, so each subscription is refused
                    // with UNAUTHENTICATED and the reason.
                    let mut data = Data::default();
                    match tokens
                        .viewer_for(signed.vouched, authorization.as_deref())
                        .await
                    {
                        Ok(Some(viewer)) => data.insert(viewer),
                        Ok(None) => {}
                        Err(Error::Unauthenticated(reason)) => data.insert(TokenRejected(reason)),
                        // The token could not be checked (the store of ended sessions
                        // did not answer): the handshake fails and the socket closes,
                        // so the gateway's next operation opens a new one and checks
                        // again, rather than the connection staying refused.
                        Err(err) => {
                            tracing::warn!(error = %err, "a connection's token could not be checked");
                            return Err(async_graphql::Error::new(
                                "the access token could not be checked; try again shortly",
                            ));
                        }
                    }
                    Ok(data)
                })
                .serve()
                .map(move |served| {
                    drop(open);
                    served
                })
        })
}

/// `/metrics`: this subgraph's Prometheus text (see [`crate::metrics`]).
async fn metrics<Q, M, S>(State(state): State<AppState<Q, M, S>>) -> Response {
    let name = state.subgraph.name();
    crate::metrics::refresh(name, &state.db, state.dependencies.events.as_ref()).await;
    (
        [(axum::http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        crate::metrics::METRICS.render(name),
    )
        .into_response()
}

/// `/ready`: 200 when the database and every service the process uses answer within
/// two seconds, else 503; the body names each and what it answered, e.g.
/// `{"status":"unavailable","failing":["redis"],"checks":{"redis":"…","postgresql":"ok",…}}`.
async fn ready<Q, M, S>(State(state): State<AppState<Q, M, S>>) -> Response {
    async fn within(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
        tokio::time::timeout(READY_WITHIN, check)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {READY_WITHIN:?}")))
    }
    let d = &state.dependencies;
    let database = async { state.db.ping().await.map_err(|e| e.to_string()) };
    let answers = tokio::join!(
        within(database),
        within(d.pubsub.check()),
        within(d.events.check()),
        within(d.objects.check()),
        within(d.mail.check()),
    );
    let answers = [answers.0, answers.1, answers.2, answers.3, answers.4];
    let mut failing = Vec::new();
    let mut checks = serde_json::Map::new();
    for (name, answer) in d.names.iter().zip(answers) {
        if answer.is_err() {
            failing.push(*name);
        }
        checks.insert(
            name.to_string(),
            answer.err().unwrap_or_else(|| "ok".into()).into(),
        );
    }
    // A consumer retrying a transient failure holds its partition back: named, as
    // what it is waiting for.
    let retrying = echostream_ports::events::consumer::retrying_now(state.subgraph.name());
    if !retrying.is_empty() {
        failing.push("consumers");
        let what: Vec<String> = retrying
            .iter()
            .map(|(topic, group, secs, error)| {
                format!("{group} on {topic}: retrying for {secs:.0} s: {error}")
            })
            .collect();
        checks.insert("consumers".into(), what.join("; ").into());
    } else {
        checks.insert("consumers".into(), "ok".into());
    }
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        tracing::warn!(?failing, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if failing.is_empty() { "ready" } else { "unavailable" },
        "failing": failing,
        "checks": checks,
    });
    (status, axum::Json(body)).into_response()
}
