//! Messages: sending them here (a reply quotes another message of the same
//! conversation; a reply in a thread names its root: `threads.rs`); forwarding copies in [`forwards`]; changing them afterwards in
//! [`edits`] and [`deletions`]; marking them in [`reactions`] and [`pins`].
//!
//! A message gets the next `seq` of its conversation (`timeline::append`) in the
//! same transaction that stores it and enqueues `chat.message.sent`; the relay
//! publishes the event and the fan-out consumer (`fanout.rs`) pushes it to every
//! member's stream.

pub mod deletions;
pub mod edits;
pub mod forwards;
pub mod mentions;
pub mod pins;
pub mod reactions;

use echostream_contracts::chat::Quoted;
use echostream_ports::events::outbox::Change;
use echostream_projections::blocks;
use echostream_service::Error;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::attachments::{self, Carried};
use crate::conversations::{self, groups};
use crate::entities::conversation::{self, ConversationKind};
use crate::entities::{member, message};
use crate::timeline::{self, Item};
use crate::{Chat, threads};

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 4000;

/// What a client asks to send.
pub struct Draft<'a> {
    pub conversation_id: Uuid,
    pub body: &'a str,
    pub idempotency_key: &'a str,
    /// The message it answers, in the same conversation.
    pub reply_to: Option<Uuid>,
    /// The message it copies (a forward; set by [`forwards`]).
    pub forwarded: Option<Quoted>,
    /// The files it carries (its text is then their caption, and may be empty).
    pub files: Files<'a>,
    /// The thread it replies in: a message of the conversation (or a reply in its
    /// thread), and whether it also goes to the conversation's timeline.
    pub thread: Option<(Uuid, bool)>,
}

/// The files a message is to carry.
pub enum Files<'a> {
    /// Uploads of the sender's, checked when it is sent.
    Uploaded(&'a [attachments::Asked]),
    /// Files other messages carry (a forward), shared.
    Copied(Vec<Uuid>),
}

impl Files<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Files::Uploaded(asked) => asked.is_empty(),
            Files::Copied(ids) => ids.is_empty(),
        }
    }
}

/// Sends a message, or returns the one already sent with this idempotency key from
/// this device in this conversation (only to a current member: membership is asked
/// first).
pub async fn send(
    chat: &Chat,
    sender: Uuid,
    device: &str,
    draft: Draft<'_>,
) -> Result<message::Model, Error> {
    let body = match draft.files.is_empty() {
        true => checked_body(draft.body)?,
        false => checked_caption(draft.body)?,
    };
    let key = draft.idempotency_key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(Error::bad_input(
            "idempotencyKey must be 1 to 128 characters",
        ));
    }
    let (conversation, me) =
        conversations::membership(&chat.db, draft.conversation_id, sender).await?;
    if let Some(existing) =
        find_by_key(&chat.db, draft.conversation_id, sender, device, key).await?
    {
        return Ok(existing);
    }
    if !groups::may_send(&conversation, me.role) {
        return Err(Error::forbidden("only admins may send in this group"));
    }
    let reply_to = match draft.reply_to {
        Some(id) => Some(quotable(&chat.db, id, &me).await?),
        None => None,
    };
    let thread = match draft.thread {
        Some((root, also)) => Some(threads::place(&chat.db, root, &me, also).await?),
        None => None,
    };
    let members = conversations::member_ids(&chat.db, draft.conversation_id).await?;
    // A block between the two makes their direct conversation read-only, both ways;
    // otherwise the recipient's privacy setting and the instance policy still rule.
    match conversation.kind {
        ConversationKind::Direct => {
            for other in members.iter().filter(|m| **m != sender) {
                if blocks::between(&chat.db, sender, *other).await? {
                    return Err(Error::forbidden(
                        "this conversation is read-only: one of you has blocked the other",
                    ));
                }
                conversations::may_message(chat, sender, *other).await?;
            }
        }
        ConversationKind::Group => {}
    }
    let mentions = mentions::read(&chat.db, &members, conversation.kind, body).await?;
    let carried = match draft.files {
        Files::Uploaded(asked) => Carried::Checked(
            attachments::check_all(chat, sender, draft.conversation_id, asked).await?,
        ),
        Files::Copied(ids) => Carried::Copied(ids),
    };
    let item = Item {
        sender,
        device: device.to_string(),
        client_key: key.to_string(),
        body: body.to_string(),
        system: None,
        reply_to,
        forwarded: draft.forwarded,
        mentions,
        thread,
    };
    let conversation_id = draft.conversation_id;
    let (retry_key, retry_device) = (key.to_string(), device.to_string());
    let written = chat
        .relay
        .write(move |txn| {
            Box::pin(async move {
                let saved = timeline::append(txn, conversation_id, item).await?;
                let files = attachments::attach(txn, saved.id, carried).await?;
                let mut event = timeline::sent(&saved, members);
                event.attachments = files.iter().map(attachments::summary).collect();
                event.thread = thread;
                let change = Change::new(saved.clone()).emit(&event, Some(sender));
                // Replying in a thread reads it up to the reply.
                match threads::read_up_to(txn, &saved, sender).await? {
                    Some(read) => Ok(change.emit(&read, Some(sender))),
                    None => Ok(change),
                }
            })
        })
        .await;
    match written {
        // The same key raced in from the same device: the unique index kept one.
        Err(Error::Conflict(_)) => {
            find_by_key(&chat.db, conversation_id, sender, &retry_device, &retry_key)
                .await?
                .ok_or_else(|| Error::internal("a duplicate message vanished"))
        }
        other => other,
    }
}

/// A message's text, trimmed: refused when empty or longer than [`MAX_BODY_CHARS`].
pub fn checked_body(body: &str) -> Result<&str, Error> {
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::bad_input("a message cannot be empty"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::bad_input(format!(
            "a message is at most {MAX_BODY_CHARS} characters"
        )));
    }
    Ok(body)
}

/// A caption (the text of a message that carries files), trimmed: may be empty,
/// at most [`MAX_BODY_CHARS`].
pub fn checked_caption(body: &str) -> Result<&str, Error> {
    match body.trim() {
        "" => Ok(""),
        text => checked_body(text),
    }
}

/// `secs` in words: "90 seconds", "15 minutes", "48 hours".
fn span(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    match n {
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}

/// Message `id` as a reply of `me` quotes it: one they read in the same
/// conversation, a message (not a system item), not deleted for everyone.
pub(crate) async fn quotable(
    db: &DatabaseConnection,
    id: Uuid,
    me: &member::Model,
) -> Result<Quoted, Error> {
    let (found, _, _) = readable(db, id, me.user_id).await?;
    if found.conversation_id != me.conversation_id {
        return Err(Error::bad_input(
            "replyTo must be a message of the same conversation",
        ));
    }
    match found.kind {
        message::Kind::Text => {}
        message::Kind::System => return Err(Error::bad_input("a system item cannot be quoted")),
    }
    if found.deleted_at.is_some() {
        return Err(Error::conflict("this message was deleted for everyone"));
    }
    Ok(Quoted {
        message_id: found.id,
        sender_id: found.sender_id,
    })
}

/// Message `id` with its conversation and `user`'s membership in it, when `user` is a
/// member who may read it now (else `NOT_FOUND`, whether it exists or not).
pub async fn readable(
    db: &impl ConnectionTrait,
    id: Uuid,
    user: Uuid,
) -> Result<(message::Model, conversation::Model, member::Model), Error> {
    let missing = || Error::not_found("no such message");
    let found = message::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(missing)?;
    let (conversation, me) = conversations::membership(db, found.conversation_id, user)
        .await
        .map_err(|_| missing())?;
    if found.seq <= me.history_from_seq {
        return Err(missing());
    }
    Ok((found, conversation, me))
}

/// The message `sender` already sent from `device` with `key` in `conversation`
/// (keys are scoped to their conversation, which the caller is a member of now).
async fn find_by_key(
    db: &DatabaseConnection,
    conversation: Uuid,
    sender: Uuid,
    device: &str,
    key: &str,
) -> Result<Option<message::Model>, Error> {
    Ok(message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation))
        .filter(message::Column::SenderId.eq(sender))
        .filter(message::Column::SenderDevice.eq(device))
        .filter(message::Column::ClientKey.eq(key))
        .one(db)
        .await?)
}
