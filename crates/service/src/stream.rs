//! Reading a user's replayable stream (chat's `chatEvents`, notification's
//! `notificationEvents`) with positions to resume from: no gap, no duplicate, and an
//! explicit `ResyncRequired` when a gap cannot be filled. The streams themselves,
//! their windows, epochs and superseding, are the pub/sub port's
//! ([`echostream_ports::pubsub::stream`]).
//!
//! A writer appends frames with [`append`]. A subscriber ([`follow`]):
//!
//! 1. listens to the live channel first, so nothing published from now on is missed;
//! 2. reads the history after its `since` position (or just the head, without one);
//! 3. hands out the history, then live frames, skipping any it already handed out
//!    (offset at or below the last) and filling any hole it sees (an offset beyond
//!    the next, a full buffer, a reconnect to Redis) from the history again;
//! 4. says `ResyncRequired` when the history cannot fill a hole: the position is
//!    older than the window, or the stream's epoch changed (it expired, or Redis came
//!    back empty). The client then refetches through queries and goes on from the
//!    new position it is given.
//!
//! Ephemeral frames (typing) are published live only, never kept, never replayed;
//! one that holds until refreshed ([`StreamFrame::lease`]) is ended by the reader
//! when it lapses.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use echostream_contracts::StreamFrame;
use echostream_ports::pubsub::stream::{self, Live};
use echostream_ports::pubsub::{Heard, History, PubSub, PubSubError, Retention};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::Error;
use crate::pages::{opaque, unwrap_opaque};

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
pub enum Event<F> {
    /// A kept frame, at `position`, with the W3C trace context of the span that
    /// appended it (when traced). `replayed` when it was read back from the history
    /// (a resume, a catch-up query), not heard live: what it tells may have changed
    /// since, so what it names is read again before it is handed out.
    Kept {
        position: Position,
        frame: F,
        trace: Option<String>,
        replayed: bool,
    },
    /// An ephemeral frame (typing), heard at `position` (the last kept one).
    Passing { position: Position, frame: F },
    /// What came before `position` cannot be replayed: refetch, then go on from it.
    ResyncRequired {
        position: Position,
        reason: &'static str,
    },
}

impl<F> Event<F> {
    /// The position the event stands at.
    pub fn position(&self) -> &Position {
        match self {
            Event::Kept { position, .. }
            | Event::Passing { position, .. }
            | Event::ResyncRequired { position, .. } => position,
        }
    }
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
pub fn encode<F: StreamFrame>(frame: &F) -> String {
    let stored = Stored {
        frame,
        trace: echostream_telemetry::current_traceparent(),
    };
    serde_json::to_string(&stored).expect("stream frames serialize")
}

/// A kept or ephemeral frame read back, with its trace context; `None` (logged)
/// when it is not one.
fn decode<F: StreamFrame>(data: &str) -> Option<(F, Option<String>)> {
    serde_json::from_str::<Stored<F>>(data)
        .inspect_err(|err| tracing::warn!(%err, "undecodable stream frame"))
        .ok()
        .map(|stored| (stored.frame, stored.trace))
}

/// Appends `frame` to each of `streams`, once per `dedupe` (a repeated delivery of
/// the same event appends nothing), in place of the frame it supersedes.
pub async fn append<F: StreamFrame>(
    pubsub: &dyn PubSub,
    streams: &[String],
    dedupe: &str,
    frame: &F,
    keep: Retention,
) -> Result<(), Error> {
    if streams.is_empty() {
        return Ok(());
    }
    let data = encode(frame);
    let supersedes = frame.supersedes();
    pubsub
        .append(streams, dedupe, &data, supersedes.as_deref(), keep)
        .await?;
    Ok(())
}

/// Where stream `name` stands now (made if missing).
pub async fn head(
    pubsub: &dyn PubSub,
    name: &str,
    keep: Retention,
) -> Result<Position, PubSubError> {
    let h = pubsub.history(name, u64::MAX, 0, keep).await?;
    Ok(Position {
        epoch: h.epoch,
        offset: h.top,
    })
}

/// What stream `name` holds after `since`: at most `limit` events, the position to
/// ask from next, and whether more wait there.
pub async fn changes_since<F: StreamFrame>(
    pubsub: &dyn PubSub,
    name: &str,
    since: &Position,
    limit: usize,
    keep: Retention,
) -> Result<(Vec<Event<F>>, Position, bool), Error> {
    let h = pubsub.history(name, since.offset, limit, keep).await?;
    let top = h.top;
    let mut events = Vec::new();
    let next = replay(&mut events, since, h);
    let resync = matches!(events.last(), Some(Event::ResyncRequired { .. }));
    let more = !resync && next.offset < top;
    Ok((events, next, more))
}

/// Turns a history read after `from` into events; returns the new last position.
fn replay<F: StreamFrame>(out: &mut Vec<Event<F>>, from: &Position, h: History) -> Position {
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

/// Stream `name`'s events after `since` (or from now), then live, for as long as
/// the stream is polled. A leased ephemeral frame not refreshed within `lease_ttl`
/// is ended by its [`StreamFrame::lapsed`] frame.
pub async fn follow<F: StreamFrame>(
    pubsub: Arc<dyn PubSub>,
    name: String,
    since: Option<Position>,
    keep: Retention,
    lease_ttl: Duration,
) -> Result<impl Stream<Item = Event<F>> + Send + 'static, PubSubError> {
    // Listen first: whatever is appended from now on is heard.
    let live = pubsub.listen(std::slice::from_ref(&name)).await?;
    let mut follower = Follower {
        pubsub,
        name,
        keep,
        live,
        last: Position {
            epoch: String::new(),
            offset: 0,
        },
        ready: VecDeque::new(),
        leases: HashMap::new(),
        lease_ttl,
    };
    match since {
        Some(since) => {
            follower.last = since;
            follower.catch_up().await?;
        }
        None => follower.last = head(follower.pubsub.as_ref(), &follower.name, keep).await?,
    }
    // Boxed: an idle stream waits inside this future for its whole life (see
    // `crate::subscriptions`, memory of an idle subscription).
    Ok(futures::stream::unfold(follower, |mut f| {
        Box::pin(async move {
            let event = f.next().await?;
            Some((event, f))
        })
    }))
}

struct Follower<F: StreamFrame> {
    pubsub: Arc<dyn PubSub>,
    name: String,
    keep: Retention,
    live: BoxStream<'static, Heard>,
    last: Position,
    ready: VecDeque<Event<F>>,
    /// Leases held, until when (lapsed without refresh: ended).
    leases: HashMap<F::Lease, Instant>,
    lease_ttl: Duration,
}

impl<F: StreamFrame> Follower<F> {
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

    async fn next(&mut self) -> Option<Event<F>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let deadline = self.leases.values().min().copied();
            let heard = tokio::select! {
                heard = self.live.next() => heard?,
                _ = sleep_until(deadline) => {
                    self.lapse();
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
                if let Some((frame, _)) = decode::<F>(data) {
                    match frame.lease() {
                        Some((lease, true)) => {
                            self.leases.insert(lease, Instant::now() + self.lease_ttl);
                        }
                        Some((lease, false)) => {
                            self.leases.remove(&lease);
                        }
                        None => {}
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

    /// Ends the leases whose time ran out.
    fn lapse(&mut self) {
        let now = Instant::now();
        let lapsed: Vec<F::Lease> = self
            .leases
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(lease, _)| *lease)
            .collect();
        for lease in lapsed {
            self.leases.remove(&lease);
            if let Some(frame) = F::lapsed(lease) {
                self.ready.push_back(Event::Passing {
                    position: self.last.clone(),
                    frame,
                });
            }
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
