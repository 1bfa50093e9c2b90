//! Forwarding: copies of one or several messages sent to one or several
//! conversations, each with an optional comment before them. Each copy is an
//! ordinary message of its target (sent by the forwarder, with the sending rules of
//! that conversation: membership, blocks, privacy, admins-only groups) that names
//! the message it copies (`forwarded`): a copy of a copy names the first.
//!
//! A copy carries the same files as its original, shared (`attachments`): nothing
//! is uploaded again, and a file stays while any message carries it.
//!
//! Idempotent per target: each copy's key is made from the client's key, the target
//! and the copy's place, so a retry after a failure midway sends what is missing
//! and nothing twice.
//!
//! Whose message it was shows only to those who may read the original where it was
//! written (its conversation's members, from where their history starts); to the
//! others a copy is just "forwarded" (`graphql/message.rs`).

use echostream_contracts::chat::Quoted;
use echostream_service::Error;
use uuid::Uuid;

use super::{Draft, Files, readable, send};
use crate::Chat;
use crate::attachments;
use crate::conversations::{self, groups};
use crate::entities::message;

/// Most messages one forward copies.
pub const MAX_MESSAGES: usize = 20;
/// Most conversations one forward reaches.
pub const MAX_TARGETS: usize = 10;
/// Longest idempotency key of a forward (each copy's key adds to it).
const MAX_KEY: usize = 64;

/// What a client asks to forward.
pub struct Forward<'a> {
    pub messages: &'a [Uuid],
    pub targets: &'a [Uuid],
    pub comment: Option<&'a str>,
    pub idempotency_key: &'a str,
}

/// Sends the copies (and comments), target by target, in the order the messages
/// were written; returns every message sent, or already sent with these keys.
pub async fn forward(
    chat: &Chat,
    sender: Uuid,
    device: &str,
    asked: Forward<'_>,
) -> Result<Vec<message::Model>, Error> {
    if asked.messages.is_empty() || asked.messages.len() > MAX_MESSAGES {
        return Err(Error::bad_input(format!(
            "forward 1 to {MAX_MESSAGES} messages at once"
        )));
    }
    if asked.targets.is_empty() || asked.targets.len() > MAX_TARGETS {
        return Err(Error::bad_input(format!(
            "forward to 1 to {MAX_TARGETS} conversations at once"
        )));
    }
    let key = asked.idempotency_key.trim();
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(Error::bad_input(format!(
            "idempotencyKey must be 1 to {MAX_KEY} characters"
        )));
    }
    let mut sources = Vec::with_capacity(asked.messages.len());
    for id in asked.messages {
        let (found, _, _) = readable(&chat.db, *id, sender).await?;
        match found.kind {
            message::Kind::Text => {}
            message::Kind::System => {
                return Err(Error::bad_input("a system item cannot be forwarded"));
            }
        }
        if found.deleted_at.is_some() {
            return Err(Error::conflict(
                "a message deleted for everyone cannot be forwarded",
            ));
        }
        if !sources.iter().any(|s: &message::Model| s.id == found.id) {
            sources.push(found);
        }
    }
    sources.sort_by_key(|m| (m.created_at, m.seq));
    // The files they carry are shared by the copies, not uploaded again.
    let ids: Vec<Uuid> = sources.iter().map(|m| m.id).collect();
    let files = attachments::of_messages(&chat.db, &ids).await?;
    // Every target is asked first, so that a refusal sends nothing anywhere.
    for target in asked.targets {
        let (conversation, me) = conversations::membership(&chat.db, *target, sender).await?;
        if !groups::may_send(&conversation, me.role) {
            return Err(Error::forbidden("only admins may send in this group"));
        }
    }
    let mut sent = Vec::new();
    for target in asked.targets {
        if let Some(comment) = asked.comment.filter(|c| !c.trim().is_empty()) {
            let draft = Draft {
                conversation_id: *target,
                body: comment,
                idempotency_key: &format!("{key}:{target}:comment"),
                reply_to: None,
                forwarded: None,
                files: Files::Uploaded(&[]),
                thread: None,
            };
            sent.push(send(chat, sender, device, draft).await?);
        }
        for (place, source) in sources.iter().enumerate() {
            let origin = match (source.forwarded_from_id, source.forwarded_sender_id) {
                (Some(message_id), Some(sender_id)) => Quoted {
                    message_id,
                    sender_id,
                },
                _ => Quoted {
                    message_id: source.id,
                    sender_id: source.sender_id,
                },
            };
            let draft = Draft {
                conversation_id: *target,
                body: &source.body,
                idempotency_key: &format!("{key}:{target}:{place}"),
                reply_to: None,
                forwarded: Some(origin),
                files: Files::Copied(
                    files
                        .get(&source.id)
                        .map(|carried| carried.iter().map(|f| f.id).collect())
                        .unwrap_or_default(),
                ),
                thread: None,
            };
            sent.push(send(chat, sender, device, draft).await?);
        }
    }
    Ok(sent)
}
