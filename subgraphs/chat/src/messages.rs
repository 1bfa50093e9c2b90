//! Sending and reading messages.
//!
//! A message gets the next `seq` of its conversation in the same transaction that
//! stores it and enqueues `chat.message.sent`; the relay publishes the event and the
//! fan-out consumer (`fanout.rs`) pushes it to every member's channel.

use chrono::Utc;
use echostream_shared::Error;
use echostream_shared::contracts::chat::MessageSent;
use echostream_shared::db::{Unique, conflict};
use echostream_shared::events::outbox::Change;
use echostream_shared::projections::blocks;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use crate::Chat;
use crate::conversations;
use crate::entities::message;

/// The unique index that stores a message once per sender device and idempotency
/// key (migrations/src/chat.rs).
const UNIQUE_CLIENT_KEY: Unique = Unique {
    name: "messages_idempotency",
    table: "messages",
    columns: &["sender_id", "sender_device", "client_key"],
    message: "this idempotency key was already used from this device",
};

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 4000;

/// A stored message as events and subscriptions carry it (without its members).
pub fn sent(m: &message::Model) -> MessageSent {
    MessageSent {
        message_id: m.id,
        conversation_id: m.conversation_id,
        seq: m.seq,
        sender_id: m.sender_id,
        body: m.body.clone(),
        created_at: m.created_at,
        member_ids: Vec::new(),
    }
}

/// What a client asks to send.
pub struct Draft<'a> {
    pub conversation_id: Uuid,
    pub body: &'a str,
    pub idempotency_key: &'a str,
}

/// Sends a message, or returns the one already sent with this idempotency key from
/// this device.
pub async fn send(
    chat: &Chat,
    sender: Uuid,
    device: &str,
    draft: Draft<'_>,
) -> Result<message::Model, Error> {
    let body = draft.body.trim();
    if body.is_empty() {
        return Err(Error::bad_input("a message cannot be empty"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::bad_input(format!(
            "a message is at most {MAX_BODY_CHARS} characters"
        )));
    }
    let key = draft.idempotency_key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(Error::bad_input(
            "idempotencyKey must be 1 to 128 characters",
        ));
    }
    let conversation = conversations::for_member(&chat.db, draft.conversation_id, sender).await?;
    if let Some(existing) = find_by_key(&chat.db, sender, device, key).await? {
        return Ok(existing);
    }
    let members: Vec<Uuid> = conversations::members(&chat.db, draft.conversation_id)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    // A block between the two makes their direct conversation read-only, both ways;
    // otherwise the recipient's privacy setting and the instance policy still rule.
    if conversation.kind == "direct" {
        for other in members.iter().filter(|m| **m != sender) {
            if blocks::between(&chat.db, sender, *other).await? {
                return Err(Error::forbidden(
                    "this conversation is read-only: one of you has blocked the other",
                ));
            }
            conversations::may_message(chat, sender, *other).await?;
        }
    }
    let (conversation_id, body, key, device) = (
        draft.conversation_id,
        body.to_string(),
        key.to_string(),
        device.to_string(),
    );
    let (retry_key, retry_device) = (key.clone(), device.clone());
    let written = chat
        .relay
        .write(move |txn| {
            Box::pin(async move {
                // Taking the next seq locks the conversation row until commit, so
                // concurrent senders get distinct, gap-free numbers.
                let backend = txn.get_database_backend();
                let sql = match backend {
                    sea_orm::DbBackend::Postgres => {
                        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq"
                    }
                    _ => "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
                };
                let row = txn
                    .query_one(Statement::from_sql_and_values(backend, sql, [conversation_id.into()]))
                    .await?
                    .ok_or_else(|| Error::not_found("no such conversation"))?;
                let seq: i64 = row.try_get_by_index(0)?;
                let saved = message::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    conversation_id: Set(conversation_id),
                    seq: Set(seq),
                    sender_id: Set(sender),
                    sender_device: Set(device),
                    client_key: Set(key),
                    body: Set(body),
                    created_at: Set(Utc::now()),
                }
                .insert(txn)
                .await
                .map_err(|e| conflict(e, &[&UNIQUE_CLIENT_KEY]))?;
                let mut event = sent(&saved);
                event.member_ids = members;
                Ok(Change::new(saved).emit(&event, Some(sender)))
            })
        })
        .await;
    match written {
        // The same key raced in from the same device: the unique index kept one.
        Err(Error::Conflict(_)) => find_by_key(&chat.db, sender, &retry_device, &retry_key)
            .await?
            .ok_or_else(|| Error::internal("a duplicate message vanished")),
        other => other,
    }
}

async fn find_by_key(
    db: &DatabaseConnection,
    sender: Uuid,
    device: &str,
    key: &str,
) -> Result<Option<message::Model>, Error> {
    Ok(message::Entity::find()
        .filter(message::Column::SenderId.eq(sender))
        .filter(message::Column::SenderDevice.eq(device))
        .filter(message::Column::ClientKey.eq(key))
        .one(db)
        .await?)
}

/// Up to `limit` messages before `before_seq` (newest when absent), oldest first.
pub async fn history(
    db: &DatabaseConnection,
    conversation_id: Uuid,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<message::Model>, Error> {
    let mut query =
        message::Entity::find().filter(message::Column::ConversationId.eq(conversation_id));
    if let Some(before) = before_seq {
        query = query.filter(message::Column::Seq.lt(before));
    }
    let mut page = query
        .order_by_desc(message::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    page.reverse();
    Ok(page)
}

/// Everything chat holds about `user`: memberships and the messages they sent.
pub async fn export(db: &DatabaseConnection, user: Uuid) -> Result<serde_json::Value, Error> {
    let conversations = conversations::of_user(db, user).await?;
    let sent = message::Entity::find()
        .filter(message::Column::SenderId.eq(user))
        .order_by_asc(message::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(serde_json::json!({
        "conversations": conversations.iter().map(|c| serde_json::json!({
            "id": c.id, "kind": c.kind, "title": c.title, "createdAt": c.created_at,
        })).collect::<Vec<_>>(),
        "messagesSent": sent.iter().map(|m| serde_json::json!({
            "id": m.id, "conversationId": m.conversation_id, "seq": m.seq,
            "body": m.body, "createdAt": m.created_at,
        })).collect::<Vec<_>>(),
    }))
}
