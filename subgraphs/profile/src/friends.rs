//! Friend requests and friendships.

use chrono::Utc;
use echostream_contracts::profile::{
    FriendRequestCancelled, FriendRequestDeclined, FriendRequestSent, FriendshipCreated,
    FriendshipEnded,
};
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use echostream_service::pages::{self, Page};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use echostream_projections::friendships::{are_friends, both_ways};

use crate::Profile;
use crate::entities::friend_request::{self, Status};
use crate::entities::friendship;
use crate::profiles;

/// Sends a friend request to the user with `username`.
pub async fn send_request(
    app: &Profile,
    from: Uuid,
    username: &str,
) -> Result<friend_request::Model, Error> {
    let target = profiles::by_username(&app.db, username)
        .await?
        .ok_or_else(|| Error::not_found("no user with that username"))?;
    if target.user_id == from {
        return Err(Error::bad_input("you cannot befriend yourself"));
    }
    let blocks = crate::blocks::among(&app.db, [from, target.user_id]).await?;
    // Someone who blocked you is someone you cannot find.
    if blocks.contains(&(target.user_id, from)) {
        return Err(Error::not_found("no user with that username"));
    }
    if blocks.contains(&(from, target.user_id)) {
        return Err(Error::forbidden(
            "you have blocked this user: unblock them first",
        ));
    }
    if are_friends(&app.db, from, target.user_id).await? {
        return Err(Error::conflict("you are already friends"));
    }
    match pending_between(&app.db, from, target.user_id).await? {
        // They already asked: asking back is saying yes.
        Some(theirs) if theirs.from_user == target.user_id => {
            return respond(app, from, theirs.id, true).await;
        }
        Some(_) => {
            return Err(Error::conflict(
                "you already sent this person a friend request",
            ));
        }
        None => {}
    }
    let to = target.user_id;
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                let saved = friend_request::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    from_user: Set(from),
                    to_user: Set(to),
                    status: Set(Status::Pending),
                    created_at: Set(Utc::now()),
                    responded_at: Set(None),
                }
                .insert(txn)
                .await?;
                let event = FriendRequestSent {
                    request_id: saved.id,
                    from_user_id: from,
                    to_user_id: to,
                };
                Ok(Change::new(saved).emit(&event, Some(from)))
            })
        })
        .await
}

/// Accepts (or declines) a pending request addressed to `me`.
pub async fn respond(
    app: &Profile,
    me: Uuid,
    request_id: Uuid,
    accept: bool,
) -> Result<friend_request::Model, Error> {
    let request = still_pending(&app.db, request_id, |r| r.to_user == me).await?;
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                let now = Utc::now();
                let (from, to) = (request.from_user, request.to_user);
                let mut active: friend_request::ActiveModel = request.into();
                active.status = Set(if accept {
                    Status::Accepted
                } else {
                    Status::Declined
                });
                active.responded_at = Set(Some(now));
                let saved = active.update(txn).await?;
                let user_ids = [from, to];
                let change = Change::new(saved.clone());
                if accept {
                    for (a, b) in [(from, to), (to, from)] {
                        friendship::ActiveModel {
                            user_id: Set(a),
                            friend_id: Set(b),
                            created_at: Set(now),
                        }
                        .insert(txn)
                        .await?;
                    }
                    let event = FriendshipCreated {
                        request_id: saved.id,
                        user_ids,
                    };
                    Ok(change.emit(&event, Some(me)))
                } else {
                    let event = FriendRequestDeclined {
                        request_id: saved.id,
                        user_ids,
                    };
                    Ok(change.emit(&event, Some(me)))
                }
            })
        })
        .await
}

/// The request `id` when `mine` says it is the caller's to answer (else `NOT_FOUND`)
/// and it is still pending (else `CONFLICT`).
async fn still_pending(
    db: &DatabaseConnection,
    id: Uuid,
    mine: impl FnOnce(&friend_request::Model) -> bool,
) -> Result<friend_request::Model, Error> {
    let request = friend_request::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(mine)
        .ok_or_else(|| Error::not_found("no such friend request"))?;
    match request.status {
        Status::Pending => Ok(request),
        Status::Accepted | Status::Declined | Status::Cancelled => Err(Error::conflict(format!(
            "this request is already {}",
            sea_orm::ActiveEnum::to_value(&request.status)
        ))),
    }
}

/// Takes back a pending request `me` sent.
pub async fn cancel(
    app: &Profile,
    me: Uuid,
    request_id: Uuid,
) -> Result<friend_request::Model, Error> {
    let request = still_pending(&app.db, request_id, |r| r.from_user == me).await?;
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                let user_ids = [request.from_user, request.to_user];
                let mut active: friend_request::ActiveModel = request.into();
                active.status = Set(Status::Cancelled);
                active.responded_at = Set(Some(Utc::now()));
                let saved = active.update(txn).await?;
                let event = FriendRequestCancelled {
                    request_id: saved.id,
                    user_ids,
                };
                Ok(Change::new(saved).emit(&event, Some(me)))
            })
        })
        .await
}

/// Ends the friendship between `me` and `other`, both ways.
pub async fn unfriend(app: &Profile, me: Uuid, other: Uuid) -> Result<(), Error> {
    if !are_friends(&app.db, me, other).await? {
        return Err(Error::not_found("you are not friends with this user"));
    }
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                let (user, friend) = (friendship::Column::UserId, friendship::Column::FriendId);
                friendship::Entity::delete_many()
                    .filter(both_ways(user, friend, me, other))
                    .exec(txn)
                    .await?;
                let event = FriendshipEnded {
                    user_ids: [me, other],
                };
                Ok(Change::new(()).emit(&event, Some(me)))
            })
        })
        .await
}

/// `me`'s friends' ids, oldest friendship first.
pub async fn friends_of(db: &DatabaseConnection, me: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(friendship::Entity::find()
        .filter(friendship::Column::UserId.eq(me))
        .order_by_asc(friendship::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.friend_id)
        .collect())
}

/// One page of `me`'s friendships, oldest first, with one more row than asked when
/// there are more (how the caller knows there is a next page).
pub async fn friends_page(
    db: &DatabaseConnection,
    me: Uuid,
    page: &Page,
) -> Result<Vec<friendship::Model>, Error> {
    let (at, id) = (friendship::Column::CreatedAt, friendship::Column::FriendId);
    let query = friendship::Entity::find().filter(friendship::Column::UserId.eq(me));
    pages::fetch(db, query, at, id, page).await
}

/// One page of pending requests to `me` (`incoming`) or from `me`, oldest first, with
/// one more row than asked when there are more.
pub async fn pending_page(
    db: &DatabaseConnection,
    me: Uuid,
    incoming: bool,
    page: &Page,
) -> Result<Vec<friend_request::Model>, Error> {
    let party = if incoming {
        friend_request::Column::ToUser
    } else {
        friend_request::Column::FromUser
    };
    let (at, id) = (
        friend_request::Column::CreatedAt,
        friend_request::Column::Id,
    );
    let query = friend_request::Entity::find()
        .filter(party.eq(me))
        .filter(friend_request::Column::Status.eq(Status::Pending));
    pages::fetch(db, query, at, id, page).await
}

/// Where each viewer stands with each other user, for many (viewer, other) pairs in
/// three queries: friendships, pending requests in either direction, and blocks.
pub async fn standings(
    db: &DatabaseConnection,
    pairs: &[(Uuid, Uuid)],
) -> Result<std::collections::HashMap<(Uuid, Uuid), Standing>, Error> {
    let people: std::collections::HashSet<Uuid> =
        pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let friends: std::collections::HashSet<(Uuid, Uuid)> = friendship::Entity::find()
        .filter(friendship::Column::UserId.is_in(pairs.iter().map(|(me, _)| *me)))
        .filter(friendship::Column::FriendId.is_in(pairs.iter().map(|(_, other)| *other)))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.user_id, f.friend_id))
        .collect();
    let pending = friend_request::Entity::find()
        .filter(friend_request::Column::Status.eq(Status::Pending))
        .filter(friend_request::Column::FromUser.is_in(people.iter().copied()))
        .filter(friend_request::Column::ToUser.is_in(people.iter().copied()))
        .all(db)
        .await?;
    let blocks: std::collections::HashSet<(Uuid, Uuid)> =
        crate::blocks::among(db, people.iter().copied())
            .await?
            .into_iter()
            .collect();
    Ok(pairs
        .iter()
        .map(|&(me, other)| {
            let standing = if me == other {
                Standing::Myself
            } else if blocks.contains(&(me, other)) {
                Standing::Blocked
            } else if blocks.contains(&(other, me)) {
                Standing::BlockedBy
            } else if friends.contains(&(me, other)) {
                Standing::Friends
            } else if pending
                .iter()
                .any(|r| r.from_user == me && r.to_user == other)
            {
                Standing::RequestSent
            } else if pending
                .iter()
                .any(|r| r.from_user == other && r.to_user == me)
            {
                Standing::RequestReceived
            } else {
                Standing::None
            };
            ((me, other), standing)
        })
        .collect())
}

/// Where one user stands with another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Myself,
    /// The viewer has blocked the user.
    Blocked,
    /// The user has blocked the viewer (never shown as such).
    BlockedBy,
    Friends,
    RequestSent,
    RequestReceived,
    None,
}

/// The pending request between `a` and `b`, in either direction.
pub async fn pending_between(
    db: &DatabaseConnection,
    a: Uuid,
    b: Uuid,
) -> Result<Option<friend_request::Model>, Error> {
    let direction = |from: Uuid, to: Uuid| {
        Condition::all()
            .add(friend_request::Column::FromUser.eq(from))
            .add(friend_request::Column::ToUser.eq(to))
    };
    Ok(friend_request::Entity::find()
        .filter(friend_request::Column::Status.eq(Status::Pending))
        .filter(Condition::any().add(direction(a, b)).add(direction(b, a)))
        .one(db)
        .await?)
}

/// Pending requests addressed to `me` (incoming) or sent by `me` (outgoing).
pub async fn pending(
    db: &DatabaseConnection,
    me: Uuid,
    incoming: bool,
) -> Result<Vec<friend_request::Model>, Error> {
    let column = if incoming {
        friend_request::Column::ToUser
    } else {
        friend_request::Column::FromUser
    };
    Ok(friend_request::Entity::find()
        .filter(column.eq(me))
        .filter(friend_request::Column::Status.eq(Status::Pending))
        .order_by_desc(friend_request::Column::CreatedAt)
        .all(db)
        .await?)
}
