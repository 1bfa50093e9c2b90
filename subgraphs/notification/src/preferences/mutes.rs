//! The conversations users muted, as chat tells them (`chat.member.muted`, ordered
//! per conversation): a row while muted, none otherwise. Applying an event twice
//! leaves the same row, so it needs no record of what was applied.

use std::collections::HashMap;

use echostream_contracts::chat::{Mute, MuteChanged};
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entities::mute;

/// Follows one mute change.
pub async fn apply(db: &impl ConnectionTrait, change: &MuteChanged) -> Result<(), Error> {
    let until = match change.mute {
        Mute::Off => {
            mute::Entity::delete_by_id((change.conversation_id, change.user_id))
                .exec(db)
                .await?;
            return Ok(());
        }
        Mute::Until { until } => Some(until),
        Mute::Always => None,
    };
    mute::Entity::insert(mute::ActiveModel {
        conversation_id: Set(change.conversation_id),
        user_id: Set(change.user_id),
        until: Set(until),
    })
    .on_conflict(
        OnConflict::columns([mute::Column::ConversationId, mute::Column::UserId])
            .update_column(mute::Column::Until)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// How each of `users` who muted conversation `conversation` muted it (the rest did
/// not): one query for a message's every recipient.
pub async fn of(
    db: &impl ConnectionTrait,
    conversation: Uuid,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Mute>, Error> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(mute::Entity::find()
        .filter(mute::Column::ConversationId.eq(conversation))
        .filter(mute::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            let mute = match row.until {
                Some(until) => Mute::Until { until },
                None => Mute::Always,
            };
            (row.user_id, mute)
        })
        .collect())
}

/// Forgets the mutes of `users`, who left conversation `conversation` (a member who
/// comes back starts unmuted, as chat's new membership does).
pub async fn left(
    db: &impl ConnectionTrait,
    conversation: Uuid,
    users: &[Uuid],
) -> Result<(), Error> {
    if users.is_empty() {
        return Ok(());
    }
    mute::Entity::delete_many()
        .filter(mute::Column::ConversationId.eq(conversation))
        .filter(mute::Column::UserId.is_in(users.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets everything a deleted account muted.
pub async fn forget(db: &impl ConnectionTrait, user: Uuid) -> Result<(), Error> {
    mute::Entity::delete_many()
        .filter(mute::Column::UserId.eq(user))
        .exec(db)
        .await?;
    Ok(())
}
