//! Editing: a message's sender changes its text within `chat.edit_window_secs` of
//! sending. Each text it replaces is kept as a numbered version, which members read
//! as the message's edit history (`Message.edits`); the members' streams get a
//! `MessageChanged`, and whoever reads the message afterwards reads the new text.

use chrono::{SubsecRound, Utc};
use echostream_contracts::chat::MessageEdited;
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{checked_body, readable};
use crate::Chat;
use crate::conversations::member_ids;
use crate::entities::{message, message_version};

/// Replaces the text of `editor`'s message `id` with `body`; the same text again
/// changes nothing.
pub async fn edit(
    chat: &Chat,
    editor: Uuid,
    id: Uuid,
    body: &str,
) -> Result<message::Model, Error> {
    let (found, conversation, _) = readable(&chat.db, id, editor).await?;
    // A caption may be emptied: the files still say something.
    let carries = crate::attachments::of_messages(&chat.db, &[found.id]).await?;
    let body = match carries.is_empty() {
        true => checked_body(body)?.to_string(),
        false => super::checked_caption(body)?.to_string(),
    };
    match found.kind {
        message::Kind::Text => {}
        message::Kind::System => {
            return Err(Error::bad_input("a system item cannot be edited"));
        }
    }
    if found.sender_id != editor {
        return Err(Error::forbidden("only its sender may edit a message"));
    }
    if found.deleted_at.is_some() {
        return Err(Error::conflict("this message was deleted for everyone"));
    }
    let window = chat.ports.config.chat.edit_window_secs;
    if Utc::now() - found.created_at > chrono::Duration::seconds(window as i64) {
        return Err(Error::forbidden(format!(
            "a message may be edited only within {} of sending (chat.edit_window_secs)",
            super::span(window)
        )));
    }
    if found.body == body {
        return Ok(found);
    }
    let members = member_ids(&chat.db, found.conversation_id).await?;
    let mentions = super::mentions::read(&chat.db, &members, conversation.kind, &body)
        .await?
        .map(serde_json::to_value)
        .transpose()
        .map_err(Error::internal)?;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                // As stored (microseconds), so the answer equals a later read.
                let now = Utc::now().trunc_subsecs(6);
                // Only over the text read above: of two edits at once, or an edit and
                // a deletion, the second finds the message changed and is refused.
                let mut changed = message::Entity::update_many()
                    .col_expr(message::Column::Body, Expr::value(body.clone()))
                    .col_expr(message::Column::EditedAt, Expr::value(now))
                    .col_expr(message::Column::Mentions, Expr::value(mentions.clone()))
                    .filter(message::Column::Id.eq(found.id))
                    .filter(message::Column::Body.eq(found.body.clone()))
                    .filter(message::Column::DeletedAt.is_null());
                changed = match found.edited_at {
                    Some(at) => changed.filter(message::Column::EditedAt.eq(at)),
                    None => changed.filter(message::Column::EditedAt.is_null()),
                };
                if changed.exec(txn).await?.rows_affected == 0 {
                    return Err(Error::conflict(
                        "the message changed meanwhile: read it again, then edit",
                    ));
                }
                let earlier = message_version::Entity::find()
                    .filter(message_version::Column::MessageId.eq(found.id))
                    .count(txn)
                    .await?;
                message_version::ActiveModel {
                    message_id: Set(found.id),
                    version: Set(earlier as i64 + 1),
                    body: Set(found.body.clone()),
                    written_at: Set(found.edited_at.unwrap_or(found.created_at)),
                }
                .insert(txn)
                .await?;
                let saved = message::Model {
                    body: body.clone(),
                    edited_at: Some(now),
                    mentions,
                    ..found
                };
                let event = MessageEdited {
                    conversation_id: saved.conversation_id,
                    message_id: saved.id,
                    seq: saved.seq,
                    body,
                    edited_at: now,
                    member_ids: member_ids(txn, saved.conversation_id).await?,
                };
                Ok(Change::new(saved).emit(&event, Some(editor)))
            })
        })
        .await
}

/// The earlier texts of messages `ids`, oldest first per message.
pub async fn versions(
    db: &impl sea_orm::ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<message_version::Model>, Error> {
    use sea_orm::QueryOrder;
    Ok(message_version::Entity::find()
        .filter(message_version::Column::MessageId.is_in(ids.iter().copied()))
        .order_by_asc(message_version::Column::MessageId)
        .order_by_asc(message_version::Column::Version)
        .all(db)
        .await?)
}
