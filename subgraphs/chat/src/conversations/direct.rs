//! Direct conversations: one per pair of people, only as privacy and blocks allow.

use chrono::Utc;
use echostream_config::DirectMessagePolicy;
use echostream_contracts::chat::ConversationCreated;
use echostream_ports::db::{Unique, conflict};
use echostream_ports::events::outbox::Change;
use echostream_projections::{blocks, friendships, privacy};
use echostream_service::Error;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::permissions::Role;
use crate::Chat;
use crate::entities::conversation::{self, ConversationKind};
use crate::entities::member;

/// One direct conversation per pair of people (migrations/src/chat.rs).
const UNIQUE_DIRECT_KEY: Unique = Unique {
    name: "conversations_direct_key_key",
    table: "conversations",
    columns: &["direct_key"],
    message: "this direct conversation already exists",
};

/// The one direct conversation between `me` and `other`, made on first use.
///
/// Refused between people one of whom blocked the other, and where [`may_message`]
/// says no.
pub async fn start_direct(
    chat: &Chat,
    me: Uuid,
    other: Uuid,
) -> Result<conversation::Model, Error> {
    if me == other {
        return Err(Error::bad_input(
            "a direct conversation needs another person",
        ));
    }
    if blocks::between(&chat.db, me, other).await? {
        return Err(Error::forbidden(
            "you cannot start a conversation with this person",
        ));
    }
    may_message(chat, me, other).await?;
    let (a, b) = if me < other { (me, other) } else { (other, me) };
    let key = format!("{a}:{b}");
    if let Some(existing) = conversation::Entity::find()
        .filter(conversation::Column::DirectKey.eq(&key))
        .one(&chat.db)
        .await?
    {
        return Ok(existing);
    }
    let direct_key = key.clone();
    let created = chat
        .relay
        .write(move |txn| {
            Box::pin(async move {
                let now = Utc::now();
                let saved = conversation::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    kind: Set(ConversationKind::Direct),
                    direct_key: Set(Some(direct_key)),
                    title: Set(None),
                    created_by: Set(me),
                    last_seq: Set(0),
                    created_at: Set(now),
                    description: Set(None),
                    avatar_key: Set(None),
                    only_admins_send: Set(false),
                    new_members_see_history: Set(true),
                    last_activity_at: Set(Some(now)),
                }
                .insert(txn)
                .await
                .map_err(|e| conflict(e, &[&UNIQUE_DIRECT_KEY]))?;
                for user in [me, other] {
                    member::ActiveModel {
                        conversation_id: Set(saved.id),
                        user_id: Set(user),
                        role: Set(Role::Member),
                        last_read_seq: Set(0),
                        joined_at: Set(now),
                        delivered_seq: Set(0),
                        history_from_seq: Set(0),
                        unread_from_seq: Set(None),
                        muted: Set(false),
                        muted_until: Set(None),
                    }
                    .insert(txn)
                    .await?;
                }
                let event = ConversationCreated {
                    conversation_id: saved.id,
                    kind: ConversationKind::Direct,
                    member_ids: vec![me, other],
                };
                Ok(Change::new(saved).emit(&event, Some(me)))
            })
        })
        .await;
    match created {
        // Both sides started it at once: the unique key kept one; return it.
        Err(Error::Conflict(_)) => conversation::Entity::find()
            .filter(conversation::Column::DirectKey.eq(&key))
            .one(&chat.db)
            .await?
            .ok_or_else(|| Error::internal("a direct conversation vanished")),
        other => other,
    }
}

/// Refuses unless `sender` may message `recipient` directly: the instance's policy
/// (`chat.direct_messages`) and the recipient's own setting, read from chat's
/// projections of profile's friendships and privacy settings.
pub async fn may_message(chat: &Chat, sender: Uuid, recipient: Uuid) -> Result<(), Error> {
    let policy = chat.ports.config.chat.direct_messages;
    let friends = friendships::are_friends(&chat.db, sender, recipient).await?;
    let settings = privacy::of(&chat.db, recipient).await?;
    if privacy::may_message(policy, &settings, friends) {
        return Ok(());
    }
    Err(Error::forbidden(
        if friends || policy == DirectMessagePolicy::Anyone {
            "this person does not accept direct messages from you"
        } else {
            "you can only message your friends directly"
        },
    ))
}
