//! Pins: a member pins a message so that its conversation keeps it at hand
//! (`Conversation.pinnedMessages`), at most `chat.max_pins_per_conversation` at once.
//! Who may pin follows the roles table (`permissions.rs`): whoever may send there.
//! Each pin and unpin is a system item in the timeline that names the message
//! ("ann pinned …"), so every member's stream carries it, live and on replay, and
//! its `message` is read as it is now. A message deleted for everyone leaves the
//! pins with its text.

use chrono::{SubsecRound, Utc};
use echostream_contracts::chat::{ConversationKind, SystemAction};
use echostream_ports::events::outbox::Change;
use echostream_projections::blocks;
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::readable;
use crate::Chat;
use crate::conversations::member_ids;
use crate::conversations::permissions::{Action, allows};
use crate::entities::{conversation, member, message, pin};
use crate::timeline::{self, Item};

/// Pins (`pinned`) or unpins message `id`, as `actor`; returns the message. Pinning
/// a pinned message, or unpinning one that is not, changes nothing.
pub async fn pin(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    pinned: bool,
) -> Result<message::Model, Error> {
    let (found, conversation, me) = readable(&chat.db, id, actor).await?;
    match found.kind {
        message::Kind::Text => {}
        message::Kind::System => {
            return Err(Error::bad_input("a system item cannot be pinned"));
        }
    }
    may_pin(chat, &conversation, &me).await?;
    let limit = chat.ports.config.chat.max_pins_per_conversation;
    let conversation_id = conversation.id;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                // The conversation row is locked (PostgreSQL; SQLite has one writer):
                // pins are counted one at a time, so the limit holds exactly.
                conversation::Entity::find_by_id(conversation_id)
                    .lock_exclusive()
                    .one(txn)
                    .await?;
                let now = message::Entity::find_by_id(id)
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("no such message"))?;
                if pinned && now.deleted_at.is_some() {
                    return Err(Error::conflict("this message was deleted for everyone"));
                }
                let changed = if pinned {
                    let added = pin::Entity::insert(pin::ActiveModel {
                        conversation_id: Set(conversation_id),
                        message_id: Set(id),
                        seq: Set(now.seq),
                        pinned_by: Set(actor),
                        pinned_at: Set(Utc::now().trunc_subsecs(6)),
                    })
                    .on_conflict(
                        OnConflict::columns([pin::Column::ConversationId, pin::Column::MessageId])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?
                        > 0;
                    let count = pin::Entity::find()
                        .filter(pin::Column::ConversationId.eq(conversation_id))
                        .count(txn)
                        .await?;
                    if added && count > limit {
                        return Err(Error::conflict(format!(
                            "a conversation keeps at most {limit} pinned messages \
                             (chat.max_pins_per_conversation): unpin one first"
                        )));
                    }
                    added
                } else {
                    pin::Entity::delete_by_id((conversation_id, id))
                        .exec(txn)
                        .await?
                        .rows_affected
                        > 0
                };
                if !changed {
                    return Ok(Change::new(now));
                }
                let action = if pinned {
                    SystemAction::MessagePinned
                } else {
                    SystemAction::MessageUnpinned
                };
                let item = Item::system(actor, action, Vec::new(), None).about(id);
                let item = timeline::append(txn, conversation_id, item).await?;
                let members = member_ids(txn, conversation_id).await?;
                Ok(Change::new(now).emit(&timeline::sent(&item, members), Some(actor)))
            })
        })
        .await
}

/// Refuses `me` pinning in `conversation` where the roles table says no, or where
/// the conversation is read-only (a direct one between two who blocked).
async fn may_pin(
    chat: &Chat,
    conversation: &conversation::Model,
    me: &member::Model,
) -> Result<(), Error> {
    match conversation.kind {
        ConversationKind::Group => {
            let action = Action::Pin {
                admins_only: conversation.only_admins_send,
            };
            if !allows(me.role, action) {
                return Err(Error::forbidden("only admins may pin in this group"));
            }
        }
        ConversationKind::Direct => {
            for other in member_ids(&chat.db, conversation.id).await? {
                if other != me.user_id && blocks::between(&chat.db, me.user_id, other).await? {
                    return Err(Error::forbidden(
                        "this conversation is read-only: one of you has blocked the other",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The messages pinned in `conversation` that `me` reads, newest pin first.
pub async fn pinned(
    db: &impl ConnectionTrait,
    me: &member::Model,
) -> Result<Vec<(pin::Model, message::Model)>, Error> {
    let pins = pin::Entity::find()
        .filter(pin::Column::ConversationId.eq(me.conversation_id))
        .filter(pin::Column::Seq.gt(me.history_from_seq))
        .order_by_desc(pin::Column::PinnedAt)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = pins.iter().map(|p| p.message_id).collect();
    let hidden = super::deletions::hidden_among(db, me.user_id, &ids).await?;
    let messages = message::Entity::find()
        .filter(message::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(pins
        .into_iter()
        .filter(|p| !hidden.contains(&p.message_id))
        .filter_map(|p| {
            let m = messages.iter().find(|m| m.id == p.message_id)?.clone();
            Some((p, m))
        })
        .collect())
}

/// The pins of messages `ids`.
pub async fn of_messages(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<pin::Model>, Error> {
    Ok(pin::Entity::find()
        .filter(pin::Column::MessageId.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
