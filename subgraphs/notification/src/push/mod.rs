//! Web Push to users' devices: the subscriptions devices register (each ending with
//! the session that registered it, and removed when its push service says it is
//! gone), and the pushes waiting to be sent (`sender.rs`).
//!
//! A notification is pushed when it is made or collapsed into, to a user who wants
//! its kind by push (and no mute silenced it: `preferences::reach`), has a
//! subscription, has no live connection (an open app hears it as it happens), and is not in
//! do-not-disturb or quiet hours (then it waits in the feed). Reading it elsewhere
//! withdraws it: a push of the same `Topic` replaces it at the push service if not
//! delivered yet, and tells the service worker to close it if shown.
//!
//! **Exactly once, with any number of instances.** A push is a `push_jobs` row,
//! written in the transaction that made the notification (so once per event); an
//! instance claims a row with a conditional update (of two, one wins) before
//! sending, and deletes it after. A claim older than [`sender::STALE_CLAIM`] is
//! deleted unsent: its instance died while sending, and sending again could push
//! twice.

pub mod sender;

use chrono::{DateTime, Utc};
use echostream_ports::push::{Subscription, validate};
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::entities::push_job::{self, Action};
use crate::entities::push_subscription;

/// The most subscriptions one user keeps (a new one beyond it replaces the oldest).
pub const MAX_PER_USER: u64 = 20;

/// Registers `sub` for `user`'s device signed in as `session`; a device registering
/// its endpoint again (new keys, or another account on it now) takes it over.
/// `BAD_USER_INPUT` for an endpoint or keys that are not a push subscription's.
pub async fn register(
    db: &impl ConnectionTrait,
    user: Uuid,
    session: Uuid,
    sub: Subscription,
    allow_loopback: bool,
    now: DateTime<Utc>,
) -> Result<push_subscription::Model, Error> {
    validate(&sub, allow_loopback)?;
    push_subscription::Entity::insert(push_subscription::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        session_id: Set(session),
        endpoint: Set(sub.endpoint.clone()),
        p256dh: Set(sub.p256dh),
        auth: Set(sub.auth),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(push_subscription::Column::Endpoint)
            .update_columns([
                push_subscription::Column::UserId,
                push_subscription::Column::SessionId,
                push_subscription::Column::P256dh,
                push_subscription::Column::Auth,
                push_subscription::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    // At most MAX_PER_USER + 1 rows: the cap holds after every registration.
    let mine = of_user(db, user).await?;
    let over: Vec<Uuid> = mine
        .iter()
        .skip(MAX_PER_USER as usize)
        .map(|s| s.id)
        .collect();
    if !over.is_empty() {
        push_subscription::Entity::delete_many()
            .filter(push_subscription::Column::Id.is_in(over))
            .exec(db)
            .await?;
    }
    push_subscription::Entity::find()
        .filter(push_subscription::Column::Endpoint.eq(sub.endpoint))
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("a registered push subscription vanished"))
}

/// `user`'s subscriptions, the newest first.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user: Uuid,
) -> Result<Vec<push_subscription::Model>, Error> {
    Ok(push_subscription::Entity::find()
        .filter(push_subscription::Column::UserId.eq(user))
        .order_by_desc(push_subscription::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Removes `user`'s subscription `id`; whether there was one.
pub async fn remove(db: &impl ConnectionTrait, user: Uuid, id: Uuid) -> Result<bool, Error> {
    Ok(push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::Id.eq(id))
        .filter(push_subscription::Column::UserId.eq(user))
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Ends the subscriptions a session registered (it was signed out or revoked).
pub async fn end_session(db: &impl ConnectionTrait, session: Uuid) -> Result<u64, Error> {
    Ok(push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::SessionId.eq(session))
        .exec(db)
        .await?
        .rows_affected)
}

/// Forgets everything a deleted account registered or had waiting.
pub async fn forget(db: &impl ConnectionTrait, user: Uuid) -> Result<(), Error> {
    push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::UserId.eq(user))
        .exec(db)
        .await?;
    push_job::Entity::delete_many()
        .filter(push_job::Column::UserId.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// Which of `users` have a push subscription (one query for all of a message's
/// recipients: most have none, and get no job).
async fn subscribed(db: &impl ConnectionTrait, users: &[Uuid]) -> Result<Vec<Uuid>, Error> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    Ok(push_subscription::Entity::find()
        .select_only()
        .column(push_subscription::Column::UserId)
        .distinct()
        .filter(push_subscription::Column::UserId.is_in(users.iter().copied()))
        .into_tuple()
        .all(db)
        .await?)
}

/// Writes a job for each `(user, notification)` of `wanted` whose user has a push
/// subscription; how many.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    wanted: &[(Uuid, Uuid)],
    action: Action,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    let users: Vec<Uuid> = wanted.iter().map(|(user, _)| *user).collect();
    let subscribed = subscribed(db, &users).await?;
    let jobs: Vec<push_job::ActiveModel> = wanted
        .iter()
        .filter(|(user, _)| subscribed.contains(user))
        .map(|(user, notification)| push_job::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(*user),
            notification_id: Set(*notification),
            action: Set(action),
            created_at: Set(now),
            claimed_at: Set(None),
        })
        .collect();
    let n = jobs.len();
    if n > 0 {
        push_job::Entity::insert_many(jobs).exec(db).await?;
    }
    Ok(n)
}
