//! Each user's stream of everything that happens in their conversations, with
//! positions to resume from: no gap, no duplicate, and an explicit
//! `ResyncRequired` when a gap cannot be filled. How streams are read and resumed
//! is the same for every stream: see [`echostream_service::stream`].
//!
//! The fan-out consumer (`fanout.rs`) appends each chat event to the streams of the
//! users it concerns (kept for `chat.stream_window` entries and
//! `chat.stream_ttl_secs`, published live at once). What is chat's own is who may
//! read what ([`Readable`]): a frame is handed out only while its reader is a member
//! of its conversation.
//!
//! Typing is ephemeral: published live only, never kept, never replayed; a typist
//! not heard from for `chat.typing_ttl_secs` stopped.

use std::collections::HashMap;

use echostream_contracts::chat::{ChatFrame, user_channel};
use echostream_service::Error;
use sea_orm::EntityTrait;
use uuid::Uuid;

pub use echostream_service::stream::Position;

/// What a user's chat stream hands out.
pub type Event = echostream_service::stream::Event<ChatFrame>;

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

/// The stream (and channel) name of `user`'s events.
pub fn name(user: Uuid) -> String {
    user_channel(user).name().to_string()
}
