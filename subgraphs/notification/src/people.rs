//! The names notifications are written with, kept from auth's and profile's events
//! (`entities::person`): a user's username when they register, their display name
//! when they change it, nothing once they are deleted.

use echostream_contracts::auth::{UserDeleted, UserRegistered};
use echostream_contracts::profile::ProfileUpdated;
use echostream_ports::events::Delivery;
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entities::person;

/// Follows one event of auth's or profile's; whether it was one of these.
pub async fn follow(db: &impl ConnectionTrait, delivery: &Delivery) -> Result<bool, Error> {
    let event = &delivery.event;
    if let Some(UserRegistered {
        user_id, username, ..
    }) = event.decode()?
    {
        upsert(db, user_id, Some(username), None).await?;
        return Ok(true);
    }
    if let Some(ProfileUpdated {
        user_id,
        display_name,
        ..
    }) = event.decode()?
    {
        upsert(db, user_id, None, Some(display_name)).await?;
        return Ok(true);
    }
    if let Some(UserDeleted { user_id }) = event.decode()? {
        person::Entity::delete_many()
            .filter(person::Column::UserId.eq(user_id))
            .exec(db)
            .await?;
        // Not consumed: the feed erases the account's notifications too.
        return Ok(false);
    }
    Ok(false)
}

async fn upsert(
    db: &impl ConnectionTrait,
    user: Uuid,
    username: Option<String>,
    display_name: Option<String>,
) -> Result<(), Error> {
    let mut update = Vec::new();
    if username.is_some() {
        update.push(person::Column::Username);
    }
    if display_name.is_some() {
        update.push(person::Column::DisplayName);
    }
    let row = person::ActiveModel {
        user_id: Set(user),
        username: Set(username.unwrap_or_default()),
        display_name: Set(display_name.unwrap_or_default()),
    };
    person::Entity::insert(row)
        .on_conflict(
            OnConflict::column(person::Column::UserId)
                .update_columns(update)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The people of `ids` that are known.
pub async fn named(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<person::Model>, Error> {
    Ok(person::Entity::find()
        .filter(person::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
