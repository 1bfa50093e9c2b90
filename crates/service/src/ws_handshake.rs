//! graphql-transport-ws requires `connection_init` before anything else and says a
//! `subscribe` before it closes the socket with 4401 (Unauthorized). async-graphql
//! closes it with 1011 (internal error) instead; this puts the protocol's answer in
//! front of it.

use axum::extract::ws::{CloseFrame, Message};
use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use serde::Deserialize;

/// graphql-transport-ws's close code for an operation before the handshake.
pub const UNAUTHORIZED: u16 = 4401;

/// Passes the client's frames on until a `subscribe` (or the older protocol's
/// `start`) arrives before `connection_init`; then queues close 4401 on `out` (the
/// socket's outgoing queue) and ends the client's stream there.
pub fn handshake_first<S>(client: S, mut out: mpsc::Sender<Message>) -> impl Stream<Item = S::Item>
where
    S: Stream<Item = Result<Message, axum::Error>>,
{
    let mut initialised = false;
    client.take_while(move |frame| {
        let go_on = match frame {
            Ok(Message::Text(text)) => match kind(text.as_str()).as_deref() {
                Some("connection_init") => {
                    initialised = true;
                    true
                }
                Some("subscribe" | "start") if !initialised => {
                    let _ = out.try_send(Message::Close(Some(CloseFrame {
                        code: UNAUTHORIZED,
                        reason: "Unauthorized".into(),
                    })));
                    false
                }
                _ => true,
            },
            _ => true,
        };
        std::future::ready(go_on)
    })
}

/// The `type` of a protocol message, if it is one.
fn kind(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_str::<Kind>(text).ok().map(|k| k.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<Message, axum::Error> {
        Ok(Message::Text(s.to_string().into()))
    }

    #[tokio::test]
    async fn a_subscribe_before_the_handshake_closes_with_4401() {
        let (out, mut outgoing) = mpsc::channel(4);
        let client = futures::stream::iter([
            text(r#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#),
            text(r#"{"type":"connection_init"}"#),
        ]);
        let passed: Vec<_> = handshake_first(client, out).collect().await;
        assert!(passed.is_empty());
        match outgoing.next().await {
            Some(Message::Close(Some(frame))) => assert_eq!(frame.code, UNAUTHORIZED),
            other => panic!("expected close 4401, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn after_the_handshake_everything_passes() {
        let (out, mut outgoing) = mpsc::channel(4);
        let client = futures::stream::iter([
            text(r#"{"type":"connection_init"}"#),
            text(r#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#),
            text("not json"),
        ]);
        let passed: Vec<_> = handshake_first(client, out).collect().await;
        assert_eq!(passed.len(), 3);
        assert!(outgoing.next().await.is_none());
    }
}
