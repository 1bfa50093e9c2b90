//! A subgraph's own copy of profile's friendships, one row per direction, built from
//! `profile.friendship.created`, ended by `profile.friendship.ended` and erased by
//! `auth.user.deleted`. Chat needs it to
//! allow direct conversations; presence to show status only to friends.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{Condition, DatabaseConnection, Set};

use echostream_contracts::profile::{FriendshipCreated, FriendshipEnded};
use echostream_ports::Error;
use echostream_ports::events::Delivery;
use echostream_ports::events::consumer::{Work, apply_once};

/// The `friendships` table.
pub mod friendship {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "friendships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub friend_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The rows of a friendship table (`user`, `friend` columns) that pair `a` and `b`,
/// in either direction.
pub fn both_ways<C: ColumnTrait>(user: C, friend: C, a: Uuid, b: Uuid) -> Condition {
    Condition::any()
        .add(user.eq(a).and(friend.eq(b)))
        .add(user.eq(b).and(friend.eq(a)))
}

/// The rows that name `user` in either of two columns (to erase a deleted account).
pub fn involving<C: ColumnTrait>(one: C, other: C, user: Uuid) -> Condition {
    Condition::any().add(one.eq(user)).add(other.eq(user))
}

/// Whether `a` and `b` are friends, in this subgraph's `friendships` table (profile's
/// own, or another subgraph's projection of it: same name and key).
pub async fn are_friends(db: &DatabaseConnection, a: Uuid, b: Uuid) -> Result<bool, Error> {
    Ok(friendship::Entity::find_by_id((a, b))
        .one(db)
        .await?
        .is_some())
}

/// The ones of `others` who are `user`'s friends, in one query.
pub async fn friends_among(
    db: &DatabaseConnection,
    user: Uuid,
    others: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, Error> {
    Ok(friendship::Entity::find()
        .filter(friendship::Column::UserId.eq(user))
        .filter(friendship::Column::FriendId.is_in(others.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.friend_id)
        .collect())
}

/// Records friendships made and ended from profile's events, once per `consumer`.
pub async fn apply_profile_event(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: Delivery,
) -> Result<(), Error> {
    if let Some(FriendshipEnded { user_ids: [a, b] }) = delivery.event.decode()? {
        let work: Work = Box::new(move |txn| {
            Box::pin(async move {
                let (user, friend) = (friendship::Column::UserId, friendship::Column::FriendId);
                friendship::Entity::delete_many()
                    .filter(both_ways(user, friend, a, b))
                    .exec(txn)
                    .await?;
                Ok(())
            })
        });
        return apply_once(db, consumer, delivery.event.id, work).await;
    }
    let Some(payload) = delivery.event.decode::<FriendshipCreated>()? else {
        return Ok(());
    };
    let work: Work = Box::new(move |txn| {
        Box::pin(async move {
            let [a, b] = payload.user_ids;
            for (user, friend) in [(a, b), (b, a)] {
                friendship::Entity::insert(friendship::ActiveModel {
                    user_id: Set(user),
                    friend_id: Set(friend),
                })
                .on_conflict(
                    OnConflict::columns([friendship::Column::UserId, friendship::Column::FriendId])
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(txn)
                .await?;
            }
            Ok(())
        })
    });
    apply_once(db, consumer, delivery.event.id, work).await
}

/// Forgets a deleted account's friendships, once per `consumer`.
pub async fn apply_auth_event(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: Delivery,
) -> Result<(), Error> {
    let (user, friend) = (friendship::Column::UserId, friendship::Column::FriendId);
    super::erase_deleted_user::<friendship::Entity>(db, consumer, &delivery, user, friend).await
}
