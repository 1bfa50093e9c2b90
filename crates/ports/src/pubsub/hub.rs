//! One Redis pub/sub connection per process, shared by every live stream.
//!
//! A task owns the connection. Listeners register in a [`Registry`]; the first
//! listener of a channel subscribes it upstream, the last one to leave unsubscribes
//! it, both as commands the task runs in order. When the connection drops, the task
//! connects again, subscribes every channel still listened to, and tells every
//! listener it lagged: what was published meanwhile is gone from pub/sub, and
//! streams with positions catch up from their history. A ping every
//! [`HEALTH_EVERY`] finds a connection that died without closing.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::PubSubError;
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
    prefix: String,
}

impl Hub {
    /// Starts the connection task for `client`; channel names carry `prefix`.
    pub fn start(client: redis::Client, prefix: String) -> Hub {
        let (commands, rx) = mpsc::unbounded_channel();
        let for_registry = commands.clone();
        let registry = Registry::new(move |emptied| {
            let _ = for_registry.send(Command::Unsubscribe(emptied));
        });
        tokio::spawn(run(client, Arc::clone(&registry), rx));
        Hub {
            registry,
            commands,
            prefix,
        }
    }

    /// Listens to `channels` (names without the prefix); returns once they are
    /// subscribed upstream, so nothing published after this returns is missed.
    pub async fn listen(&self, channels: &[String]) -> Result<Listening, PubSubError> {
        let names: Vec<String> = channels
            .iter()
            .map(|c| format!("{}{c}", self.prefix))
            .collect();
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
