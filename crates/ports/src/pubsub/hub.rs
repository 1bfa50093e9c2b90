//! One Redis pub/sub connection per process, shared by every live stream.
//!
//! A task owns the connection. Listeners register in a [`Registry`]; the first
//! listener of a channel subscribes it upstream, the last one to leave unsubscribes
//! it, both as commands the task runs in order. When the connection drops, the task
//! connects again, subscribes every channel still listened to, and tells every
//! listener it lagged: what was published meanwhile is gone from pub/sub, and
//! streams with positions catch up from their history. A ping every
//! [`HEALTH_EVERY`] finds a connection that died without closing.
//!
//! On a Redis Cluster the task holds one cluster connection (RESP3) and subscribes
//! each sharded channel (`SSUBSCRIBE`) on the node of its slot; the library
//! subscribes again after a node's connection is lost or its slots move, and tells
//! of the loss (a disconnection push), upon which every listener lags.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::PubSubError;
use super::redis::Names;
use super::registry::{Listening, Registry};

/// How often the shared connection is checked (and how long a check may take).
const HEALTH_EVERY: Duration = Duration::from_secs(2);

enum Command {
    Subscribe(Vec<String>, oneshot::Sender<Result<(), String>>),
    /// Answers once every command before it has run.
    Barrier(oneshot::Sender<Result<(), String>>),
    Unsubscribe(Vec<String>),
}

/// The process's shared pub/sub connection and its listeners.
pub struct Hub {
    registry: Arc<Registry>,
    commands: mpsc::UnboundedSender<Command>,
    names: Names,
}

impl Hub {
    /// Starts the connection task for `client`.
    pub(super) fn start(client: redis::Client, names: Names) -> Hub {
        Hub::with_task(names, |registry, rx| {
            tokio::spawn(run(client, registry, rx));
        })
    }

    /// Starts the connection task for the Redis Cluster with seed `nodes`; a
    /// subscribe waits up to `timeout` for its answer, as commands do.
    pub(super) fn start_cluster(nodes: Vec<String>, names: Names, timeout: Duration) -> Hub {
        Hub::with_task(names, |registry, rx| {
            tokio::spawn(run_cluster(nodes, timeout, registry, rx));
        })
    }

    fn with_task(
        names: Names,
        spawn: impl FnOnce(Arc<Registry>, mpsc::UnboundedReceiver<Command>),
    ) -> Hub {
        let (commands, rx) = mpsc::unbounded_channel();
        let for_registry = commands.clone();
        let registry = Registry::new(move |emptied| {
            let _ = for_registry.send(Command::Unsubscribe(emptied));
        });
        spawn(Arc::clone(&registry), rx);
        Hub {
            registry,
            commands,
            names,
        }
    }

    /// Listens to `channels` (names without the prefix); returns once they are
    /// subscribed upstream, so nothing published after this returns is missed.
    pub async fn listen(&self, channels: &[String]) -> Result<Listening, PubSubError> {
        let names: Vec<String> = channels.iter().map(|c| self.names.channel(c)).collect();
        let (ack, done) = oneshot::channel();
        let commands = &self.commands;
        let listening = self.registry.listen(&names, move |fresh| {
            let command = if fresh.is_empty() {
                Command::Barrier(ack)
            } else {
                Command::Subscribe(fresh, ack)
            };
            let _ = commands.send(command);
        });
        match done.await {
            Ok(Ok(())) => Ok(listening),
            Ok(Err(err)) => Err(PubSubError(err)),
            Err(_) => Err(PubSubError("the pub/sub connection task ended".into())),
        }
    }
}

async fn run(
    client: redis::Client,
    registry: Arc<Registry>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut reconnect = false;
    loop {
        let pubsub = match client.get_async_pubsub().await {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(%err, "pub/sub: cannot connect; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let all = registry.channels();
        if !all.is_empty()
            && let Err(err) = sink.subscribe(all).await
        {
            tracing::warn!(%err, "pub/sub: cannot subscribe again; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        if reconnect {
            tracing::warn!("pub/sub: reconnected; every listener catches up");
            registry.lag_all();
        }
        reconnect = true;
        // A dead connection does not always end the stream: a ping every few seconds
        // finds out.
        let mut health = tokio::time::interval(HEALTH_EVERY);
        health.tick().await;
        loop {
            tokio::select! {
                _ = health.tick() => {
                    let ping = tokio::time::timeout(HEALTH_EVERY, sink.ping::<redis::Value>()).await;
                    if !matches!(ping, Ok(Ok(_))) {
                        break;
                    }
                }
                message = stream.next() => match message {
                    Some(message) => {
                        if let Ok(payload) = message.get_payload::<String>() {
                            registry.dispatch(message.get_channel_name(), &payload);
                        }
                    }
                    None => break,
                },
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::Subscribe(channels, ack)) => {
                        let result = sink.subscribe(channels).await.map_err(|e| e.to_string());
                        let failed = result.is_err();
                        let _ = ack.send(result);
                        if failed {
                            break;
                        }
                    }
                    Some(Command::Barrier(ack)) => {
                        let _ = ack.send(Ok(()));
                    }
                    Some(Command::Unsubscribe(channels)) => {
                        if sink.unsubscribe(channels).await.is_err() {
                            break;
                        }
                    }
                },
            }
        }
        tracing::warn!("pub/sub: connection lost; reconnecting");
    }
}

/// The task of a cluster's sharded channels (see the module's description).
async fn run_cluster(
    nodes: Vec<String>,
    timeout: Duration,
    registry: Arc<Registry>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    use redis::{PushKind, RedisError};

    let (pushes_tx, mut pushes) = mpsc::unbounded_channel::<redis::PushInfo>();
    let client = match redis::cluster::ClusterClientBuilder::new(nodes)
        .response_timeout(timeout)
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(pushes_tx)
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(%err, "pub/sub: not a Redis Cluster address; nothing is heard");
            return;
        }
    };
    let mut conn = loop {
        match client.get_async_connection().await {
            Ok(conn) => break conn,
            Err(err) => {
                tracing::warn!(%err, "pub/sub: cannot connect to the cluster; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let text = |v: &redis::Value| redis::from_redis_value_ref::<String>(v).ok();
    let mut health = tokio::time::interval(HEALTH_EVERY);
    health.tick().await;
    loop {
        tokio::select! {
            _ = health.tick() => {
                // Asking every node finds one whose connection died without closing;
                // the library then connects again and subscribes its channels again.
                let ping = redis::cmd("PING");
                let all = redis::cluster_routing::RoutingInfo::MultiNode((
                    redis::cluster_routing::MultipleNodeRoutingInfo::AllNodes,
                    None,
                ));
                let _ = tokio::time::timeout(HEALTH_EVERY, conn.route_command(ping, all)).await;
            }
            push = pushes.recv() => match push {
                None => return,
                Some(push) => match push.kind {
                    PushKind::SMessage | PushKind::Message => {
                        if let [channel, payload, ..] = push.data.as_slice()
                            && let (Some(channel), Some(payload)) = (text(channel), text(payload))
                        {
                            registry.dispatch(&channel, &payload);
                        }
                    }
                    PushKind::Disconnection => {
                        tracing::warn!("pub/sub: a cluster node's connection was lost; every listener catches up");
                        registry.lag_all();
                    }
                    _ => {}
                },
            },
            command = commands.recv() => match command {
                None => return,
                Some(Command::Subscribe(channels, ack)) => {
                    // Channels of different slots are subscribed apart.
                    let each = channels.into_iter().map(|channel| {
                        let mut conn = conn.clone();
                        async move { conn.ssubscribe(channel).await }
                    });
                    let result: Result<Vec<()>, RedisError> =
                        futures::future::try_join_all(each).await;
                    let _ = ack.send(result.map(drop).map_err(|e| e.to_string()));
                }
                Some(Command::Barrier(ack)) => {
                    let _ = ack.send(Ok(()));
                }
                Some(Command::Unsubscribe(channels)) => {
                    for channel in channels {
                        if let Err(err) = conn.sunsubscribe(channel).await {
                            tracing::warn!(%err, "pub/sub: cannot unsubscribe a channel");
                        }
                    }
                }
            },
        }
    }
}
