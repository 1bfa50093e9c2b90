//! Blocking: a user blocks another, which ends their friendship and pending requests
//! and keeps the blocked one from finding, asking or reading the blocker; chat and
//! presence learn it from `profile.blocked` / `profile.unblocked`.

use echostream_contracts::profile::{
    FriendRequestCancelled, FriendshipEnded, UserBlocked, UserUnblocked,
};
use echostream_ports::events::outbox::Change;
use echostream_projections::blocks::block;
use echostream_projections::friendships::both_ways;
use echostream_service::Error;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::Profile;
use crate::entities::{friend_request, friendship, profile};

/// `me` blocks `other`. Blocking someone already blocked changes nothing.
pub async fn block(app: &Profile, me: Uuid, other: Uuid) -> Result<(), Error> {
    if me == other {
        return Err(Error::bad_input("you cannot block yourself"));
    }
    if profile::Entity::find_by_id(other)
        .one(&app.db)
        .await?
        .is_none()
    {
        return Err(Error::not_found("no such user"));
    }
    if block::Entity::find_by_id((me, other))
        .one(&app.db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                block::ActiveModel {
                    blocker: Set(me),
                    blocked: Set(other),
                }
                .insert(txn)
                .await?;
                let mut change = Change::new(());
                let (user, friend) = (friendship::Column::UserId, friendship::Column::FriendId);
                let ended = friendship::Entity::delete_many()
                    .filter(both_ways(user, friend, me, other))
                    .exec(txn)
                    .await?;
                if ended.rows_affected > 0 {
                    change = change.emit(
                        &FriendshipEnded {
                            user_ids: [me, other],
                        },
                        Some(me),
                    );
                }
                let (from, to) = (
                    friend_request::Column::FromUser,
                    friend_request::Column::ToUser,
                );
                let pending = friend_request::Entity::find()
                    .filter(friend_request::Column::Status.eq(friend_request::Status::Pending))
                    .filter(both_ways(from, to, me, other))
                    .all(txn)
                    .await?;
                for request in pending {
                    let user_ids = [request.from_user, request.to_user];
                    let mut row: friend_request::ActiveModel = request.into();
                    row.status = Set(friend_request::Status::Cancelled);
                    row.responded_at = Set(Some(chrono::Utc::now()));
                    let saved = row.update(txn).await?;
                    let event = FriendRequestCancelled {
                        request_id: saved.id,
                        user_ids,
                    };
                    change = change.emit(&event, Some(me));
                }
                let event = UserBlocked {
                    blocker_id: me,
                    blocked_id: other,
                };
                Ok(change.emit(&event, Some(me)))
            })
        })
        .await
}

/// `me` lifts the block on `other`.
pub async fn unblock(app: &Profile, me: Uuid, other: Uuid) -> Result<(), Error> {
    if block::Entity::find_by_id((me, other))
        .one(&app.db)
        .await?
        .is_none()
    {
        return Err(Error::not_found("you have not blocked this user"));
    }
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                block::Entity::delete_by_id((me, other)).exec(txn).await?;
                let event = UserUnblocked {
                    blocker_id: me,
                    blocked_id: other,
                };
                Ok(Change::new(()).emit(&event, Some(me)))
            })
        })
        .await
}

/// The users `me` has blocked.
pub async fn blocked_by(db: &DatabaseConnection, me: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(block::Entity::find()
        .filter(block::Column::Blocker.eq(me))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.blocked)
        .collect())
}

/// The users who have blocked `me` (whom `me` must not find).
pub async fn blocking(db: &DatabaseConnection, me: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(block::Entity::find()
        .filter(block::Column::Blocked.eq(me))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.blocker)
        .collect())
}

/// Blocks among `people`, as (blocker, blocked) pairs (the standings loader's query).
pub async fn among(
    db: &DatabaseConnection,
    people: impl IntoIterator<Item = Uuid> + Clone,
) -> Result<Vec<(Uuid, Uuid)>, Error> {
    Ok(block::Entity::find()
        .filter(
            Condition::all()
                .add(block::Column::Blocker.is_in(people.clone()))
                .add(block::Column::Blocked.is_in(people)),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.blocker, b.blocked))
        .collect())
}
