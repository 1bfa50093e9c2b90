//! A subgraph's own copy of profile's blocks, built from `profile.blocked` and
//! `profile.unblocked` and erased by `auth.user.deleted`: chat needs it to keep a
//! blocked user from starting or writing in a direct conversation, without calling
//! profile.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{Condition, DatabaseConnection, Set};

use crate::friendships::both_ways;
use echostream_contracts::profile::{UserBlocked, UserUnblocked};
use echostream_ports::Error;
use echostream_ports::events::Delivery;
use echostream_ports::events::consumer::{Work, apply_once};

/// The `blocks` table.
pub mod block {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "blocks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub blocker: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub blocked: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Whether either of `a` and `b` has blocked the other.
pub async fn between(db: &DatabaseConnection, a: Uuid, b: Uuid) -> Result<bool, Error> {
    Ok(block::Entity::find()
        .filter(both_ways(
            block::Column::Blocker,
            block::Column::Blocked,
            a,
            b,
        ))
        .one(db)
        .await?
        .is_some())
}

/// The ones of `others` whom `blocker` has blocked (one way only), in one query.
pub async fn blocked_by(
    db: &DatabaseConnection,
    blocker: Uuid,
    others: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    Ok(block::Entity::find()
        .filter(block::Column::Blocker.eq(blocker))
        .filter(block::Column::Blocked.is_in(others.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.blocked)
        .collect())
}

/// The ones of `others` between whom and `user` there is a block, either way, in
/// one query.
pub async fn blocked_among(
    db: &DatabaseConnection,
    user: Uuid,
    others: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, Error> {
    let others = || others.iter().copied();
    Ok(block::Entity::find()
        .filter(
            Condition::any()
                .add(
                    block::Column::Blocker
                        .eq(user)
                        .and(block::Column::Blocked.is_in(others())),
                )
                .add(
                    block::Column::Blocked
                        .eq(user)
                        .and(block::Column::Blocker.is_in(others())),
                ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|b| {
            if b.blocker == user {
                b.blocked
            } else {
                b.blocker
            }
        })
        .collect())
}

/// Applies profile's block events, once per `consumer`.
pub async fn apply_profile_event(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: &Delivery,
) -> Result<(), Error> {
    let work: Work = if let Some(UserBlocked {
        blocker_id,
        blocked_id,
    }) = delivery.event.decode()?
    {
        Box::new(move |txn| {
            Box::pin(async move {
                block::Entity::insert(block::ActiveModel {
                    blocker: Set(blocker_id),
                    blocked: Set(blocked_id),
                })
                .on_conflict(
                    OnConflict::columns([block::Column::Blocker, block::Column::Blocked])
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(txn)
                .await?;
                Ok(())
            })
        })
    } else if let Some(UserUnblocked {
        blocker_id,
        blocked_id,
    }) = delivery.event.decode()?
    {
        Box::new(move |txn| {
            Box::pin(async move {
                block::Entity::delete_by_id((blocker_id, blocked_id))
                    .exec(txn)
                    .await?;
                Ok(())
            })
        })
    } else {
        return Ok(());
    };
    apply_once(db, consumer, delivery.event.id, work).await
}

/// Forgets a deleted account's blocks, both ways, once per `consumer`.
pub async fn apply_auth_event(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: &Delivery,
) -> Result<(), Error> {
    let (blocker, blocked) = (block::Column::Blocker, block::Column::Blocked);
    super::erase_deleted_user::<block::Entity>(db, consumer, delivery, blocker, blocked).await
}
