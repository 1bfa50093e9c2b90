//! Each user's stream of everything that happens in their conversations, with
//! positions to resume from: no gap, no duplicate, and an explicit
//! `ResyncRequired` when a gap cannot be filled.
//!
//! The fan-out consumer (`fanout.rs`) appends each chat event to the streams of the
//! users it concerns (`PubSub::append`: kept for `chat.stream_window` entries and
//! `chat.stream_ttl_secs`, published live at once). A subscriber:
//!
//! 1. listens to its live channel first, so nothing published from now on is missed;
//! 2. reads the history after its `since` position (or just the head, without one);
//! 3. hands out the history, then live frames, skipping any it already handed out
//!    (offset at or below the last) and filling any hole it sees (an offset beyond
//!    the next, a full buffer, a reconnect to Redis) from the history again;
//! 4. says `ResyncRequired` when the history cannot fill a hole: the position is
//!    older than the window, or the stream's epoch changed (it expired, or Redis came
//!    back empty). The client then refetches through queries and goes on from the
//!    new position it is given.
//!
//! Typing is ephemeral: published live only, never kept, never replayed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use echostream_contracts::chat::{ChatFrame, user_channel};
use echostream_ports::pubsub::stream::{self, Live};
use echostream_ports::pubsub::{Heard, History, PubSub, PubSubError, Retention};
use echostream_service::Error;
use echostream_service::pages::{opaque, unwrap_opaque};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use sea_orm::EntityTrait;
use tokio::time::Instant;
use uuid::Uuid;

/// Which events of a user's stream they may still read: a stream keeps frames of
/// conversations the user has since left or been removed from, and authority is
/// checked when the data is read, not when it was written. So a frame is handed out
/// only while its reader is a member of its conversation now; the frame telling them
/// they left is handed out too (then nothing more of it).
pub struct Readable {
    db: sea_orm::DatabaseConnection,
    user: Uuid,
    /// Membership per conversation, asked once per stream and then followed through
    /// the stream's own join and leave frames.
    known: HashMap<Uuid, bool>,
}

impl Readable {
    /// The gate of `user`'s stream.
    pub fn new(db: sea_orm::DatabaseConnection, user: Uuid) -> Readable {
        Readable {
            db,
            user,
            known: HashMap::new(),
        }
    }

    /// Whether `event` may be handed out to the user.
    pub async fn keeps(&mut self, event: &Event) -> Result<bool, Error> {
        let frame = match event {
            Event::Kept { frame, .. } | Event::Passing { frame, .. } => frame,
            Event::ResyncRequired { .. } => return Ok(true),
        };
        let conversation = frame.conversation_id();
        match frame {
            ChatFrame::MembersLeft { user_ids, .. } if user_ids.contains(&self.user) => {
                self.known.insert(conversation, false);
                return Ok(true);
            }
            ChatFrame::MembersJoined { user_ids, .. } if user_ids.contains(&self.user) => {
                self.known.insert(conversation, true);
                return Ok(true);
            }
            _ => {}
        }
        if let Some(known) = self.known.get(&conversation) {
            return Ok(*known);
        }
        let member = crate::entities::member::Entity::find_by_id((conversation, self.user))
            .one(&self.db)
            .await?
            .is_some();
        self.known.insert(conversation, member);
        Ok(member)
    }

    /// `events` less what the user may no longer read; if membership cannot be
    /// asked, a `ResyncRequired` at that point instead (never a silent gap), and the
    /// client refetches through queries, which ask it again.
    pub async fn filter(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut kept = Vec::with_capacity(events.len());
        for event in events {
            match self.keeps(&event).await {
                Ok(true) => kept.push(event),
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%err, "cannot ask membership; the reader resyncs");
                    kept.push(Event::ResyncRequired {
                        position: event.position().clone(),
                        reason: "events may have been missed",
                    });
                    return kept;
                }
            }
        }
        kept
    }
}

impl Event {
    /// The position the event stands at.
    pub fn position(&self) -> &Position {
        match self {
            Event::Kept { position, .. }
            | Event::Passing { position, .. }
            | Event::ResyncRequired { position, .. } => position,
        }
    }
}

/// Entries read from the history per round trip.
const PAGE: usize = 200;

/// A place in a user's stream: everything up to `offset` of `epoch` was handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub epoch: String,
    pub offset: u64,
}

impl Position {
    /// The opaque form clients hold.
    pub fn encode(&self) -> String {
        opaque(&format!("{}:{}", self.epoch, self.offset))
    }

    /// Reads a position a client sent back; `BAD_USER_INPUT` naming `name` if it is
    /// not one.
    pub fn decode(value: &str, name: &str) -> Result<Position, Error> {
        let bad = || Error::bad_input(format!("{name} is not a stream position"));
        let text = unwrap_opaque(value).ok_or_else(bad)?;
        let (epoch, offset) = text.split_once(':').ok_or_else(bad)?;
        if epoch.is_empty() || epoch.len() > 64 {
            return Err(bad());
        }
        Ok(Position {
            epoch: epoch.to_string(),
            offset: offset.parse().map_err(|_| bad())?,
        })
    }
}

/// What a stream hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A kept event, at `position`, with the W3C trace context of the event it
    /// came from (when traced). `replayed` when it was read back from the history
    /// (a resume, `changesSince`), not heard live: what it tells may have changed
    /// since, so a message in it is read again before it is handed out.
    Kept {
        position: Position,
        frame: ChatFrame,
        trace: Option<String>,
        replayed: bool,
    },
    /// An ephemeral frame (typing), heard at `position` (the last kept one).
    Passing {
        position: Position,
        frame: ChatFrame,
    },
    /// What came before `position` cannot be replayed: refetch, then go on from it.
    ResyncRequired {
        position: Position,
        reason: &'static str,
    },
}

/// The stream (and channel) name of `user`'s events.
pub fn name(user: Uuid) -> String {
    user_channel(user).name().to_string()
}

/// Where `user`'s stream stands now (made if missing).
pub async fn head(
    pubsub: &dyn PubSub,
    user: Uuid,
    keep: Retention,
) -> Result<Position, PubSubError> {
    let h = pubsub.history(&name(user), u64::MAX, 0, keep).await?;
    Ok(Position {
        epoch: h.epoch,
        offset: h.top,
    })
}

/// A frame as streams keep it: its own fields, and the trace context of the span
/// that appended it (see `echostream_telemetry`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<F> {
    #[serde(flatten)]
    frame: F,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
}

/// A frame as streams keep it, with the current span's trace context.
pub fn encode(frame: &ChatFrame) -> String {
    let stored = Stored {
        frame,
        trace: echostream_telemetry::current_traceparent(),
    };
    serde_json::to_string(&stored).expect("chat frames serialize")
}

/// A kept or ephemeral frame read back, with its trace context; `None` (logged)
/// when it is not one.
fn decode(data: &str) -> Option<(ChatFrame, Option<String>)> {
    serde_json::from_str::<Stored<ChatFrame>>(data)
        .inspect_err(|err| tracing::warn!(%err, "undecodable chat frame"))
        .ok()
        .map(|stored| (stored.frame, stored.trace))
}

/// What `user` missed after `since`: at most `limit` events, the position to ask
/// from next, and whether more wait there.
pub async fn changes_since(
    pubsub: &dyn PubSub,
    user: Uuid,
    since: &Position,
    limit: usize,
    keep: Retention,
) -> Result<(Vec<Event>, Position, bool), Error> {
    let h = pubsub
        .history(&name(user), since.offset, limit, keep)
        .await?;
    let top = h.top;
    let mut events = Vec::new();
    let next = replay(&mut events, since, h);
    let resync = matches!(events.last(), Some(Event::ResyncRequired { .. }));
    let more = !resync && next.offset < top;
    Ok((events, next, more))
}

/// Turns a history read after `from` into events; returns the new last position.
fn replay(out: &mut Vec<Event>, from: &Position, h: History) -> Position {
    let unreplayable = if h.epoch != from.epoch {
        Some("the stream behind this position was lost")
    } else if !h.complete {
        Some("this position is older than the replay window")
    } else {
        None
    };
    if let Some(reason) = unreplayable {
        let position = Position {
            epoch: h.epoch,
            offset: h.top,
        };
        out.push(Event::ResyncRequired {
            position: position.clone(),
            reason,
        });
        return position;
    }
    let mut last = from.clone();
    for entry in h.entries {
        last.offset = entry.offset;
        let Some((frame, trace)) = decode(&entry.data) else {
            continue;
        };
        out.push(Event::Kept {
            position: last.clone(),
            frame,
            trace,
            replayed: true,
        });
    }
    last
}

/// `user`'s events after `since` (or from now), then live, for as long as the
/// stream is polled.
pub async fn follow(
    pubsub: Arc<dyn PubSub>,
    user: Uuid,
    since: Option<Position>,
    keep: Retention,
    typing_ttl: Duration,
) -> Result<impl Stream<Item = Event> + Send + 'static, PubSubError> {
    let stream_name = name(user);
    // Listen first: whatever is appended from now on is heard.
    let live = pubsub.listen(std::slice::from_ref(&stream_name)).await?;
    let mut follower = Follower {
        pubsub,
        name: stream_name,
        keep,
        live,
        last: Position {
            epoch: String::new(),
            offset: 0,
        },
        ready: VecDeque::new(),
        typing: HashMap::new(),
        typing_ttl,
    };
    match since {
        Some(since) => {
            follower.last = since;
            follower.catch_up().await?;
        }
        None => follower.last = head(follower.pubsub.as_ref(), user, keep).await?,
    }
    Ok(futures::stream::unfold(follower, |mut f| async move {
        let event = f.next().await?;
        Some((event, f))
    }))
}

struct Follower {
    pubsub: Arc<dyn PubSub>,
    name: String,
    keep: Retention,
    live: BoxStream<'static, Heard>,
    last: Position,
    ready: VecDeque<Event>,
    /// Who is typing where, until when (expired without refresh: typing stopped).
    typing: HashMap<(Uuid, Uuid), Instant>,
    typing_ttl: Duration,
}

impl Follower {
    /// Reads what follows `last` from the history into `ready`, page by page.
    async fn catch_up(&mut self) -> Result<(), PubSubError> {
        loop {
            let h = self
                .pubsub
                .history(&self.name, self.last.offset, PAGE, self.keep)
                .await?;
            let full = h.entries.len() == PAGE;
            let mut out = Vec::new();
            self.last = replay(&mut out, &self.last, h);
            let resync = matches!(out.last(), Some(Event::ResyncRequired { .. }));
            self.ready.extend(out);
            if resync || !full {
                return Ok(());
            }
        }
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let deadline = self.typing.values().min().copied();
            let heard = tokio::select! {
                heard = self.live.next() => heard?,
                _ = sleep_until(deadline) => {
                    self.expire_typing();
                    continue;
                }
            };
            match heard {
                Heard::Lagged => self.recover().await,
                Heard::Frame(text) => self.hear(&text).await,
            }
        }
    }

    async fn hear(&mut self, text: &str) {
        match stream::parse(text) {
            Some(Live::Ephemeral(data)) => {
                if let Some((frame, _)) = decode(data) {
                    if let ChatFrame::Typing {
                        conversation_id,
                        user_id,
                        typing,
                    } = &frame
                    {
                        let key = (*conversation_id, *user_id);
                        if *typing {
                            self.typing.insert(key, Instant::now() + self.typing_ttl);
                        } else {
                            self.typing.remove(&key);
                        }
                    }
                    self.ready.push_back(Event::Passing {
                        position: self.last.clone(),
                        frame,
                    });
                }
            }
            Some(Live::Entry {
                epoch,
                offset,
                data,
            }) => {
                if epoch == self.last.epoch && offset <= self.last.offset {
                    return; // handed out already (from the history)
                }
                if epoch == self.last.epoch && offset == self.last.offset + 1 {
                    self.last.offset = offset;
                    if let Some((frame, trace)) = decode(data) {
                        self.ready.push_back(Event::Kept {
                            position: self.last.clone(),
                            frame,
                            trace,
                            replayed: false,
                        });
                    }
                    return;
                }
                // A hole, or a new epoch: the history says which.
                self.recover().await;
            }
            None => {}
        }
    }

    /// Fills a hole from the history; if the history cannot be read, ends the
    /// stream's certainty with a resync from wherever it stands.
    async fn recover(&mut self) {
        if let Err(err) = self.catch_up().await {
            tracing::warn!(%err, stream = %self.name, "cannot read the stream's history");
            self.ready.push_back(Event::ResyncRequired {
                position: self.last.clone(),
                reason: "events may have been missed",
            });
        }
    }

    fn expire_typing(&mut self) {
        let now = Instant::now();
        let expired: Vec<(Uuid, Uuid)> = self
            .typing
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(k, _)| *k)
            .collect();
        for (conversation_id, user_id) in expired {
            self.typing.remove(&(conversation_id, user_id));
            self.ready.push_back(Event::Passing {
                position: self.last.clone(),
                frame: ChatFrame::Typing {
                    conversation_id,
                    user_id,
                    typing: false,
                },
            });
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_junk_is_refused_by_name() {
        let p = Position {
            epoch: "abc123".into(),
            offset: 42,
        };
        assert_eq!(Position::decode(&p.encode(), "since").unwrap(), p);
        let err = Position::decode("junk", "since").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().contains("since"));
    }
}
