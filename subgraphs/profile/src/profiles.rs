//! Profiles: created from auth's events, searched by username.

use chrono::Utc;
use echostream_contracts::auth::{EmailChanged, UserDeleted, UserVerified, email_digest};
use echostream_ports::events::Delivery;
use echostream_ports::events::consumer::{Work, apply_once};
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use echostream_projections::blocks::block;
use echostream_projections::friendships::involving;
use echostream_projections::privacy;

use crate::entities::{friend_request, friendship, profile};

/// Applies an `auth` event: a verified account gets its profile; a deleted account
/// loses its profile, friendships and friend requests.
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    if let Some(verified) = delivery.event.decode::<UserVerified>()? {
        return create_profile(db, delivery.event.id, verified).await;
    }
    if let Some(deleted) = delivery.event.decode::<UserDeleted>()? {
        return erase_user(db, delivery.event.id, deleted).await;
    }
    if let Some(changed) = delivery.event.decode::<EmailChanged>()? {
        let work: Work = Box::new(move |txn| {
            Box::pin(async move {
                profile::Entity::update_many()
                    .col_expr(
                        profile::Column::EmailDigest,
                        sea_orm::sea_query::Expr::value(changed.email_digest),
                    )
                    .filter(profile::Column::UserId.eq(changed.user_id))
                    .exec(txn)
                    .await?;
                Ok(())
            })
        });
        return apply_once(db, "profile", delivery.event.id, work).await;
    }
    Ok(())
}

async fn erase_user(
    db: &DatabaseConnection,
    event_id: Uuid,
    UserDeleted { user_id }: UserDeleted,
) -> Result<(), Error> {
    let work: Work = Box::new(move |txn| {
        Box::pin(async move {
            // Its images and unconfirmed uploads go to the clean-up worker.
            crate::media::doom_all_of(txn, user_id).await?;
            profile::Entity::delete_by_id(user_id).exec(txn).await?;
            friendship::Entity::delete_many()
                .filter(involving(
                    friendship::Column::UserId,
                    friendship::Column::FriendId,
                    user_id,
                ))
                .exec(txn)
                .await?;
            friend_request::Entity::delete_many()
                .filter(involving(
                    friend_request::Column::FromUser,
                    friend_request::Column::ToUser,
                    user_id,
                ))
                .exec(txn)
                .await?;
            block::Entity::delete_many()
                .filter(involving(
                    block::Column::Blocker,
                    block::Column::Blocked,
                    user_id,
                ))
                .exec(txn)
                .await?;
            privacy::setting::Entity::delete_by_id(user_id)
                .exec(txn)
                .await?;
            Ok(())
        })
    });
    apply_once(db, "profile", event_id, work).await
}

async fn create_profile(
    db: &DatabaseConnection,
    event_id: Uuid,
    payload: UserVerified,
) -> Result<(), Error> {
    let work: Work = Box::new(move |txn| {
        Box::pin(async move {
            let now = Utc::now();
            let row = profile::ActiveModel {
                user_id: sea_orm::Set(payload.user_id),
                username_key: sea_orm::Set(payload.username.to_lowercase()),
                display_name: sea_orm::Set(payload.username.clone()),
                username: sea_orm::Set(payload.username),
                bio: sea_orm::Set(None),
                location: sea_orm::Set(None),
                website: sea_orm::Set(None),
                birthdate: sea_orm::Set(None),
                email_digest: sea_orm::Set(payload.email_digest),
                avatar_key: sea_orm::Set(None),
                cover_key: sea_orm::Set(None),
                created_at: sea_orm::Set(now),
                updated_at: sea_orm::Set(now),
            };
            profile::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(profile::Column::UserId)
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(txn)
                .await?;
            Ok(())
        })
    });
    apply_once(db, "profile", event_id, work).await
}

/// The query for profiles whose username or display name starts with `query`
/// (case-insensitive), or, when `query` is an email address, the one account with
/// exactly that address (never a part of one: addresses cannot be harvested by
/// prefix); `hidden` are left out. Paged by the caller.
pub fn search(query: &str, hidden: &[Uuid]) -> Result<Select<profile::Entity>, Error> {
    let query = query.trim().to_lowercase();
    let found =
        profile::Entity::find().filter(profile::Column::UserId.is_not_in(hidden.iter().copied()));
    if query.contains('@') {
        if query.len() > 254 {
            return Err(Error::bad_input(
                "an email address is at most 254 characters",
            ));
        }
        return Ok(found.filter(profile::Column::EmailDigest.eq(email_digest(&query))));
    }
    if query.is_empty() || query.len() > 64 {
        return Err(Error::bad_input("search query must be 1 to 64 characters"));
    }
    // LIKE wildcards in the query are matched literally.
    let escaped: String = query
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let pattern = || sea_orm::sea_query::LikeExpr::new(format!("{escaped}%")).escape('\\');
    Ok(found.filter(
        Condition::any()
            .add(profile::Column::UsernameKey.like(pattern()))
            .add(
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                    sea_orm::sea_query::Expr::col(profile::Column::DisplayName),
                ))
                .like(pattern()),
            ),
    ))
}

/// The profile of a username, if any.
pub async fn by_username(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<profile::Model>, Error> {
    Ok(profile::Entity::find()
        .filter(profile::Column::UsernameKey.eq(username.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// Profiles by user id (the loader's query).
pub async fn by_ids(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<profile::Model>, Error> {
    Ok(profile::Entity::find()
        .filter(profile::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
