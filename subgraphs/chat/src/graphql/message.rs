//! Timeline items as clients see them: a message (its text, edit mark and history,
//! tombstone, reactions, delivery status, "seen by") or a system item.
//!
//! A message comes from the database (history, a mutation's answer, a changed
//! message's frame: current by construction), or from a stream frame. A frame heard
//! live is the message as it was just sent; a frame read back from the history (a
//! resume, `changesSince`) may be older than an edit or a deletion, so its changing
//! parts (text, marks) are read again, batched across the response, before they are
//! handed out: a deleted text is served by no path.

use std::borrow::Cow;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_contracts::chat::{MessageSent, SenderCard, SystemAction};
use echostream_service::pages::FromEdges;
use echostream_service::resolver::RequestExt;
use uuid::Uuid;

use super::attachments::Attachment;
use super::members_of;
use super::pins::Pin;
use super::reactions::{Reaction, ReactorConnection};
use super::threads::Thread;
use super::types::{User, settings_of, user};
use crate::entities::message;
use crate::loaders::{
    AttachmentsLoader, MessageLoader, ReadMarksLoader, ThreadReadersLoader, VersionsLoader,
};
use crate::receipts::{self, Status};
use crate::senders::Seen;
use crate::timeline;

/// A message or a system item.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MessageKind {
    /// Something a member wrote.
    Text,
    /// A membership or info change (see `system`).
    System,
}

/// A membership or info change in the timeline: `sender` did `action` to `users`
/// (`text`: the new title, description or role, or the sending setting:
/// `admins_only` / `everyone`), or pinned or unpinned `message`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SystemItem {
    pub action: SystemAction,
    pub users: Vec<User>,
    pub text: Option<String>,
    #[graphql(skip)]
    pub message_id: Option<Uuid>,
}

#[async_graphql::ComplexObject]
impl SystemItem {
    /// The message pinned or unpinned, as it is now; null for other actions, and
    /// when the viewer does not read it.
    async fn message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let Some(id) = self.message_id else {
            return Ok(None);
        };
        super::readable_message(ctx, id).await
    }
}

/// An item of a conversation's timeline: a message, or a system item.
pub struct Message {
    /// The item as sent (what never changes: id, seq, sender, time, system).
    pub item: MessageSent,
    known: Known,
    /// The sender as they were when it was sent out, for a message heard live
    /// (`senders.rs`); otherwise the sender is read as they are now.
    sender_card: Option<Box<SenderCard>>,
}

/// How much of a message's current state is at hand.
enum Known {
    /// As stored now (read from the database for this response).
    Stored(Box<message::Model>),
    /// As just sent: heard live from a stream.
    AsSent,
    /// Read back from a stream's history: may have changed since.
    Replayed,
}

impl Message {
    /// The stored item.
    pub fn of(m: &message::Model) -> Message {
        Message {
            item: timeline::sent(m, Vec::new()),
            known: Known::Stored(Box::new(m.clone())),
            sender_card: None,
        }
    }

    /// An item from a stream frame, with its sender's card: heard live (`replayed`
    /// false), or read back from the stream's history (then read again, the sender
    /// too).
    pub fn from_frame(
        item: MessageSent,
        sender_card: Option<Box<SenderCard>>,
        replayed: bool,
    ) -> Message {
        Message {
            item,
            known: if replayed {
                Known::Replayed
            } else {
                Known::AsSent
            },
            sender_card: sender_card.filter(|_| !replayed),
        }
    }

    /// Whether reactions or a pin may be on it: not on a system item, and not yet
    /// on a message heard live as just sent (a mark comes later, as `MessageChanged`).
    fn may_be_marked(&self) -> bool {
        match (&self.known, &self.item.system) {
            (Known::AsSent, _) | (_, Some(_)) => false,
            (Known::Stored(_) | Known::Replayed, None) => true,
        }
    }

    /// Whom its text mentions now.
    async fn mentioned(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<echostream_contracts::chat::Mentions>> {
        Ok(match self.stored(ctx).await? {
            Some(row) if row.deleted_at.is_some() => None,
            Some(row) => timeline::mentions_of(&row),
            None => self.item.mentions.clone(),
        })
    }

    /// The message as stored now; `None` for one just sent (nothing changed it yet).
    async fn stored(&self, ctx: &Context<'_>) -> Result<Option<Cow<'_, message::Model>>> {
        Ok(match &self.known {
            Known::Stored(row) => Some(Cow::Borrowed(row.as_ref())),
            Known::AsSent => None,
            Known::Replayed => {
                let loader = ctx.data::<DataLoader<MessageLoader>>()?;
                // Rows are never removed (a deletion leaves a tombstone).
                let found = loader.load_one(self.item.message_id).await?;
                Some(Cow::Owned(found.ok_or_else(|| {
                    echostream_service::Error::not_found("no such message")
                })?))
            }
        })
    }
}

#[Object]
impl Message {
    async fn id(&self) -> ID {
        ID(self.item.message_id.to_string())
    }

    async fn conversation_id(&self) -> ID {
        ID(self.item.conversation_id.to_string())
    }

    /// Position in the conversation: 1, 2, 3… without gaps (replies kept in their
    /// thread take theirs too, so the timeline skips them).
    async fn seq(&self) -> i64 {
        self.item.seq
    }

    // Name and avatar come from chat's own copy of people (`senders.rs`).
    /// Who wrote it (or, for a system item, who made the change).
    #[graphql(provides = "displayName avatar { small medium large }")]
    async fn sender(&self, ctx: &Context<'_>) -> User {
        let mut sender = user(self.item.sender_id);
        if let (Some(card), Some(viewer)) = (&self.sender_card, ctx.viewer_opt()) {
            sender.seen = Some(Seen::of_card(card, viewer.user_id));
        }
        sender
    }

    async fn kind(&self) -> MessageKind {
        if self.item.system.is_some() {
            MessageKind::System
        } else {
            MessageKind::Text
        }
    }

    /// The text; null for a system item and for a message deleted for everyone.
    async fn body(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if self.item.system.is_some() {
            return Ok(None);
        }
        Ok(match self.stored(ctx).await? {
            Some(row) if row.deleted_at.is_some() => None,
            Some(row) => Some(row.body.clone()),
            None => Some(self.item.body.clone()),
        })
    }

    /// When its sender last edited it (null: never).
    async fn edited_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.stored(ctx).await?.and_then(|row| row.edited_at))
    }

    /// Its earlier texts, oldest first, each with when it was written (empty when
    /// never edited, or deleted for everyone).
    async fn edits(&self, ctx: &Context<'_>) -> Result<Vec<MessageVersion>> {
        let Some(row) = self.stored(ctx).await? else {
            return Ok(Vec::new());
        };
        if row.edited_at.is_none() || row.deleted_at.is_some() {
            return Ok(Vec::new());
        }
        let loader = ctx.data::<DataLoader<VersionsLoader>>()?;
        let versions = loader.load_one(row.id).await?.unwrap_or_default();
        Ok(versions
            .into_iter()
            .map(|v| MessageVersion {
                body: v.body,
                written_at: v.written_at,
            })
            .collect())
    }

    /// When it was deleted for everyone (null: it was not); its text is gone, and
    /// this tombstone keeps its place.
    async fn deleted_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.stored(ctx).await?.and_then(|row| row.deleted_at))
    }

    /// Who deleted it for everyone: its sender, or a group's owner or admin.
    async fn deleted_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(self
            .stored(ctx)
            .await?
            .and_then(|row| row.deleted_by)
            .map(user))
    }

    /// The thread it replies in (its root's id); null for a message of the
    /// conversation's timeline that is not in a thread.
    async fn thread_root_id(&self) -> Option<ID> {
        self.item.thread.map(|t| ID(t.root_id.to_string()))
    }

    /// Whether a reply in a thread was also sent to the conversation (it shows in
    /// the timeline); false for every other message.
    async fn also_sent_to_conversation(&self) -> bool {
        self.item.thread.is_some_and(|t| t.also_in_conversation)
    }

    /// The replies to this message, once it has some: their count, the last, who
    /// replied, the viewer's read position and unread count, and the replies.
    async fn thread(&self, ctx: &Context<'_>) -> Result<Option<Thread>> {
        if self.item.thread.is_some() || self.item.system.is_some() {
            return Ok(None);
        }
        Thread::of(ctx, self.item.conversation_id, self.item.message_id).await
    }

    /// The files it carries, in order (none once deleted for everyone).
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<Attachment>> {
        // A message heard from a stream says what it was sent with, and files are
        // only ever taken off a message: one sent without any needs no query (most
        // messages, on every live event a client selects `attachments` of).
        let sent_without = match self.known {
            Known::AsSent | Known::Replayed => self.item.attachments.is_empty(),
            Known::Stored(_) => false,
        };
        if self.item.system.is_some() || sent_without {
            return Ok(Vec::new());
        }
        let loader = ctx.data::<DataLoader<AttachmentsLoader>>()?;
        let files = loader.load_one(self.item.message_id).await?;
        Ok(files
            .unwrap_or_default()
            .into_iter()
            .map(Attachment)
            .collect())
    }

    /// Its reactions, one per emoji, oldest first (by each emoji's earliest reaction).
    async fn reactions(&self, ctx: &Context<'_>) -> Result<Vec<Reaction>> {
        if !self.may_be_marked() {
            return Ok(Vec::new());
        }
        super::reactions::of(ctx, self.item.message_id).await
    }

    /// The message this one answers, as it is now (its edits and deletion show);
    /// null when it is not a reply, or when the viewer does not read that message.
    async fn reply_to(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let Some(quoted) = self.item.reply_to else {
            return Ok(None);
        };
        super::readable_message(ctx, quoted.message_id).await
    }

    /// Set when this message is a forwarded copy.
    async fn forwarded(&self) -> Option<Forwarded> {
        self.item.forwarded.map(|origin| Forwarded { origin })
    }

    /// The members its text mentions by `@username`, where each stands (in UTF-16
    /// code units, the `@` included), as the text is now.
    async fn mentions(&self, ctx: &Context<'_>) -> Result<Vec<MentionOf>> {
        Ok(self
            .mentioned(ctx)
            .await?
            .map(|m| {
                m.users
                    .into_iter()
                    .map(|u| MentionOf {
                        user: user(u.user_id),
                        offset: u.offset as i32,
                        length: u.length as i32,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Whether its text says `@all` (in a group: every member is meant).
    async fn mentions_everyone(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.mentioned(ctx).await?.is_some_and(|m| m.everyone))
    }

    /// Who pinned it, and when; null when it is not pinned.
    async fn pinned(&self, ctx: &Context<'_>) -> Result<Option<Pin>> {
        if !self.may_be_marked() {
            return Ok(None);
        }
        super::pins::of(ctx, self.item.message_id).await
    }

    /// Who reacted (with `emoji` alone, when given), oldest first.
    async fn reactors(
        &self,
        ctx: &Context<'_>,
        emoji: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ReactorConnection> {
        super::reactions::reactors(ctx, self.item.message_id, emoji, first, after).await
    }

    /// What a system item tells; null for a message.
    async fn system(&self) -> Option<SystemItem> {
        self.item.system.as_ref().map(|s| SystemItem {
            action: s.action,
            users: s.user_ids.iter().map(|u| user(*u)).collect(),
            text: s.text.clone(),
            message_id: s.message_id,
        })
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.item.created_at
    }

    /// For its sender, while a member: SENT, DELIVERED (to every other member) or
    /// READ (by every other member whose read receipts show). Null for anyone else.
    async fn status(&self, ctx: &Context<'_>) -> Result<Option<Status>> {
        let me = ctx.viewer()?.user_id;
        if me != self.item.sender_id || self.item.system.is_some() {
            return Ok(None);
        }
        let mut members = members_of(ctx, self.item.conversation_id).await?;
        // A sender who is no longer a member no longer watches who reads.
        if !members.iter().any(|m| m.user_id == me) {
            return Ok(None);
        }
        // A reply kept in its thread is read in the thread.
        if let Some(thread) = self.item.thread.filter(|t| !t.also_in_conversation) {
            let reads = ctx
                .data::<DataLoader<ThreadReadersLoader>>()?
                .load_one(thread.root_id)
                .await?
                .unwrap_or_default();
            for member in &mut members {
                member.last_read_seq = reads.get(&member.user_id).copied().unwrap_or(0);
            }
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let settings = settings_of(ctx, &ids).await?;
        Ok(Some(receipts::status(
            me,
            self.item.seq,
            &members,
            &settings,
        )))
    }

    /// For its sender, while a member: the other members who read it, with when,
    /// earliest first (only those whose read receipts show, reciprocally). Null for
    /// anyone else, and for a reply kept in its thread (its `status` tells whether
    /// everyone read the thread that far).
    async fn seen_by(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<SeenByConnection>> {
        let me = ctx.viewer()?.user_id;
        let in_thread = self.item.thread.is_some_and(|t| !t.also_in_conversation);
        if me != self.item.sender_id || self.item.system.is_some() || in_thread {
            return Ok(None);
        }
        let page = echostream_service::pages::Page::new(first, after.as_deref())?;
        let members = members_of(ctx, self.item.conversation_id).await?;
        if !members.iter().any(|m| m.user_id == me) {
            return Ok(None);
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let settings = settings_of(ctx, &ids).await?;
        let marks = ctx
            .loader_of::<ReadMarksLoader, (Uuid, i64)>()?
            .load_one((self.item.conversation_id, self.item.seq))
            .await?
            .unwrap_or_default();
        let seen = receipts::seen_by(me, &self.item, &marks, &settings);
        let present: Vec<(Uuid, DateTime<Utc>)> =
            seen.into_iter().filter(|(u, _)| ids.contains(u)).collect();
        let rest: Vec<(Uuid, DateTime<Utc>)> = match page.after {
            Some(after) => present
                .into_iter()
                .filter(|(u, at)| (*at, *u) > after)
                .collect(),
            None => present,
        };
        let more = rest.len() as u64 > page.first;
        let edges = rest
            .into_iter()
            .take(page.first as usize)
            .map(|(u, at)| {
                (
                    echostream_service::pages::cursor(at, u),
                    Reader {
                        user: user(u),
                        read_at: at,
                    },
                )
            })
            .collect();
        Ok(Some(SeenByConnection::from_edges(
            edges,
            page.after.is_some(),
            more,
        )))
    }
}

/// A member a message mentions, and where in its text.
#[derive(SimpleObject)]
#[graphql(name = "Mention")]
pub struct MentionOf {
    pub user: User,
    pub offset: i32,
    pub length: i32,
}

/// Where a forwarded copy came from.
pub struct Forwarded {
    origin: echostream_contracts::chat::Quoted,
}

#[Object]
impl Forwarded {
    /// The message first forwarded, as it is now, and so who wrote it: only for
    /// those who read it where it was written (null for the others, who see only
    /// that the message was forwarded).
    async fn original(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        super::readable_message(ctx, self.origin.message_id).await
    }
}

/// An earlier text of an edited message.
#[derive(SimpleObject)]
pub struct MessageVersion {
    pub body: String,
    /// When this text was written (sent, or put in by an earlier edit).
    pub written_at: DateTime<Utc>,
}

/// A member who read a message, and when.
#[derive(SimpleObject)]
pub struct Reader {
    pub user: User,
    pub read_at: DateTime<Utc>,
}

echostream_service::connection!(SeenByConnection, SeenByEdge, Reader);
echostream_service::connection!(MessageConnection, MessageEdge, Message);
