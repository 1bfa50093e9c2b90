//! Deleting: for me (the message leaves my history and my unread counts; nobody
//! else's) or for everyone (its sender within `chat.delete_window_secs` of sending, a
//! group's owner and admins at any time). Deleted for everyone, a message's text,
//! earlier versions, reactions, pin and files (those no forwarded copy still
//! carries: `attachments::release`) are erased from the database in the same transaction; a
//! tombstone (who deleted it, when) keeps its place in the timeline, so `seq`s,
//! unread counts and receipts stay exact. Frames already in streams carry no text
//! of a change, and a message frame read back from a stream is read again from the
//! database before it is handed out (`graphql/types.rs`), so the text is served by
//! nobody afterwards.

use chrono::{SubsecRound, Utc};
use echostream_contracts::chat::{ConversationKind, MessageDeleted, MessageHidden};
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::readable;
use crate::Chat;
use crate::attachments;
use crate::conversations::member_ids;
use crate::conversations::permissions::{Action, allows};
use crate::entities::{hidden_message, message, message_version, pin, reaction};

/// Deletes message `id` for everyone, as `actor`; deleting it again changes nothing.
pub async fn for_everyone(chat: &Chat, actor: Uuid, id: Uuid) -> Result<message::Model, Error> {
    let (found, conversation, me) = readable(&chat.db, id, actor).await?;
    match found.kind {
        message::Kind::Text => {}
        message::Kind::System => {
            return Err(Error::bad_input(
                "a system item cannot be deleted for everyone",
            ));
        }
    }
    if found.deleted_at.is_some() {
        return Ok(found);
    }
    let window = chat.ports.config.chat.delete_window_secs;
    let in_window = Utc::now() - found.created_at <= chrono::Duration::seconds(window as i64);
    let moderates = match conversation.kind {
        ConversationKind::Group => allows(me.role, Action::DeleteForEveryone),
        ConversationKind::Direct => false,
    };
    match (found.sender_id == actor, in_window, moderates) {
        (_, _, true) | (true, true, _) => {}
        (true, false, false) => {
            return Err(Error::forbidden(format!(
                "a message may be deleted for everyone only within {} of sending \
                 (chat.delete_window_secs); delete it for yourself instead",
                super::span(window)
            )));
        }
        (false, _, false) => {
            return Err(Error::forbidden(
                "only its sender, or a group's owner and admins, may delete a message for everyone",
            ));
        }
    }
    let deleted = chat
        .relay
        .write(move |txn| {
            Box::pin(async move {
                // As stored (microseconds), so the answer equals a later read.
                let now = Utc::now().trunc_subsecs(6);
                let erased = message::Entity::update_many()
                    .col_expr(message::Column::Body, Expr::value(""))
                    .col_expr(message::Column::DeletedAt, Expr::value(now))
                    .col_expr(message::Column::DeletedBy, Expr::value(actor))
                    .filter(message::Column::Id.eq(found.id))
                    .filter(message::Column::DeletedAt.is_null())
                    .exec(txn)
                    .await?;
                if erased.rows_affected == 0 {
                    // Deleted meanwhile (by someone else, or another device).
                    let now = message::Entity::find_by_id(found.id)
                        .one(txn)
                        .await?
                        .ok_or_else(|| Error::not_found("no such message"))?;
                    return Ok(Change::new(now));
                }
                message_version::Entity::delete_many()
                    .filter(message_version::Column::MessageId.eq(found.id))
                    .exec(txn)
                    .await?;
                reaction::Entity::delete_many()
                    .filter(reaction::Column::MessageId.eq(found.id))
                    .exec(txn)
                    .await?;
                pin::Entity::delete_many()
                    .filter(pin::Column::MessageId.eq(found.id))
                    .exec(txn)
                    .await?;
                attachments::release(txn, &[found.id]).await?;
                let saved = message::Model {
                    body: String::new(),
                    deleted_at: Some(now),
                    deleted_by: Some(actor),
                    ..found
                };
                let event = MessageDeleted {
                    conversation_id: saved.conversation_id,
                    message_id: saved.id,
                    seq: saved.seq,
                    deleted_by: actor,
                    deleted_at: now,
                    member_ids: member_ids(txn, saved.conversation_id).await?,
                };
                Ok(Change::new(saved).emit(&event, Some(actor)))
            })
        })
        .await;
    // Files no other message carries are deleted now.
    chat.cleanup.wake();
    deleted
}

/// Deletes message `id` for `user` alone; deleting it again changes nothing.
pub async fn for_me(chat: &Chat, user: Uuid, id: Uuid) -> Result<(), Error> {
    let (found, _, _) = readable(&chat.db, id, user).await?;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let hidden = hidden_message::Entity::insert(hidden_message::ActiveModel {
                    user_id: sea_orm::Set(user),
                    message_id: sea_orm::Set(found.id),
                    conversation_id: sea_orm::Set(found.conversation_id),
                    seq: sea_orm::Set(found.seq),
                })
                .on_conflict(
                    OnConflict::columns([
                        hidden_message::Column::UserId,
                        hidden_message::Column::MessageId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
                let change = Change::new(());
                if hidden == 0 {
                    return Ok(change);
                }
                let event = MessageHidden {
                    conversation_id: found.conversation_id,
                    message_id: found.id,
                    seq: found.seq,
                    user_id: user,
                };
                Ok(change.emit(&event, Some(user)))
            })
        })
        .await
}

/// Which of `ids` `user` deleted for themselves.
pub async fn hidden_among(
    db: &impl sea_orm::ConnectionTrait,
    user: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    Ok(hidden_message::Entity::find()
        .filter(hidden_message::Column::UserId.eq(user))
        .filter(hidden_message::Column::MessageId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|h| h.message_id)
        .collect())
}
