//! A conversation's timeline: messages and system items, numbered 1, 2, 3… by `seq`
//! without gaps.
//!
//! Every item is added by [`append`], inside the transaction that makes the change
//! it records, so a membership change and its "ann added bob" commit together, in
//! order with the messages around them.

use chrono::Utc;
use echostream_contracts::chat::{
    Mentions, MessageSent, Quoted, SystemAction, SystemItem, ThreadPlace,
};
use echostream_ports::db::{Unique, conflict, statement};
use echostream_service::Error;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use crate::entities::message;

/// The unique index that stores a message once per sender device and idempotency
/// key (migrations/src/chat.rs).
const UNIQUE_CLIENT_KEY: Unique = Unique {
    name: "messages_idempotency",
    table: "messages",
    columns: &["sender_id", "sender_device", "client_key"],
    message: "this idempotency key was already used from this device",
};

/// What is added to a timeline.
pub struct Item {
    pub sender: Uuid,
    /// The sending device and its idempotency key (messages only).
    pub device: String,
    pub client_key: String,
    pub body: String,
    pub system: Option<SystemItem>,
    /// The message it answers (same conversation).
    pub reply_to: Option<Quoted>,
    /// The message it was forwarded from.
    pub forwarded: Option<Quoted>,
    /// Who its text mentions.
    pub mentions: Option<Mentions>,
    /// The thread it replies in.
    pub thread: Option<ThreadPlace>,
}

impl Item {
    /// A system item: `actor` did `action` (to `users`, with `text` where it has one).
    pub fn system(
        actor: Uuid,
        action: SystemAction,
        users: Vec<Uuid>,
        text: Option<String>,
    ) -> Item {
        Item {
            sender: actor,
            device: "system".into(),
            // Unique per item, so the idempotency index never joins two.
            client_key: Uuid::now_v7().to_string(),
            body: String::new(),
            system: Some(SystemItem {
                action,
                user_ids: users,
                text,
                message_id: None,
            }),
            reply_to: None,
            forwarded: None,
            mentions: None,
            thread: None,
        }
    }
}

impl Item {
    /// The same system item, about `message` (a pin, an unpin).
    pub fn about(mut self, message: Uuid) -> Item {
        if let Some(system) = self.system.as_mut() {
            system.message_id = Some(message);
        }
        self
    }
}

/// Stores `item` as the next item of `conversation`.
///
/// Taking the next `seq` locks the conversation row until commit, so concurrent
/// writers get distinct, gap-free numbers, and commit in `seq` order.
pub async fn append(
    txn: &DatabaseTransaction,
    conversation: Uuid,
    item: Item,
) -> Result<message::Model, Error> {
    let now = Utc::now();
    let sql = "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $1 \
               WHERE id = $2 RETURNING last_seq";
    let values: [sea_orm::Value; 2] = [now.into(), conversation.into()];
    let row = txn
        .query_one(statement(txn.get_database_backend(), sql, values))
        .await?
        .ok_or_else(|| Error::not_found("no such conversation"))?;
    let seq: i64 = row.try_get_by_index(0)?;
    let system = item
        .system
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(Error::internal)?;
    let mentions = item
        .mentions
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(Error::internal)?;
    message::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversation_id: Set(conversation),
        seq: Set(seq),
        sender_id: Set(item.sender),
        sender_device: Set(item.device),
        client_key: Set(item.client_key),
        body: Set(item.body),
        created_at: Set(now),
        kind: Set(match system {
            Some(_) => message::Kind::System,
            None => message::Kind::Text,
        }),
        system: Set(system),
        edited_at: Set(None),
        deleted_at: Set(None),
        deleted_by: Set(None),
        reply_to_id: Set(item.reply_to.map(|q| q.message_id)),
        reply_to_sender_id: Set(item.reply_to.map(|q| q.sender_id)),
        forwarded_from_id: Set(item.forwarded.map(|q| q.message_id)),
        forwarded_sender_id: Set(item.forwarded.map(|q| q.sender_id)),
        mentions: Set(mentions),
        thread_root_id: Set(item.thread.map(|t| t.root_id)),
        in_timeline: Set(item.thread.is_none_or(|t| t.also_in_conversation)),
    }
    .insert(txn)
    .await
    .map_err(|e| conflict(e, &[&UNIQUE_CLIENT_KEY]))
}

/// A stored item as events and subscriptions carry it, addressed to `members`.
pub fn sent(m: &message::Model, members: Vec<Uuid>) -> MessageSent {
    MessageSent {
        message_id: m.id,
        conversation_id: m.conversation_id,
        seq: m.seq,
        sender_id: m.sender_id,
        body: m.body.clone(),
        created_at: m.created_at,
        member_ids: members,
        reply_to: quoted(m.reply_to_id, m.reply_to_sender_id),
        forwarded: quoted(m.forwarded_from_id, m.forwarded_sender_id),
        mentions: mentions_of(m),
        // Kept in their own table: a sender adds them (`attachments::summary`).
        attachments: Vec::new(),
        thread: m.thread_root_id.map(|root_id| ThreadPlace {
            root_id,
            also_in_conversation: m.in_timeline,
            root_sender_id: None,
        }),
        system: m
            .system
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok()),
    }
}

fn quoted(message: Option<Uuid>, sender: Option<Uuid>) -> Option<Quoted> {
    Some(Quoted {
        message_id: message?,
        sender_id: sender?,
    })
}

/// The mentions a stored message's text holds.
pub fn mentions_of(m: &message::Model) -> Option<Mentions> {
    m.mentions
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}
