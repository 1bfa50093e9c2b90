//! Parked events: what a consumer could not decode or apply after its retries.
//!
//! A consumer commits offsets in order, so one event that always fails would hold up
//! its whole partition forever. After bounded retries the consumer parks it here, in
//! its own subgraph's `dead_letters` table, with the error, and goes on. An operator
//! lists parked events (`echostream dead-letters list`) and, once the cause is fixed,
//! asks for a replay (`echostream dead-letters replay`); a running consumer of the
//! same group picks the request up within seconds and applies the event again (see
//! [`crate::events::consumer`]). A replay that fails again parks the event again.
//!
//! Order per key is kept: once the consumer has applied a newer event of the same
//! key (`event_key`, the partition key), the parked one is marked `superseded_at`,
//! and a replay of it is refused (it would apply an old change over a newer one,
//! e.g. a `blocked` after an `unblocked`): the row stays, with the refusal as its
//! error, for an operator to resolve by hand.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect, Set};

use super::{Delivery, Envelope};

/// One parked event.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "dead_letters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The consumer group that parked it.
    pub consumer: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub event_id: Uuid,
    /// The whole envelope, as it came.
    pub event: Json,
    /// Why the last attempt failed.
    pub error: String,
    pub attempts: i32,
    pub parked_at: DateTimeUtc,
    /// Set by an operator: apply this event again.
    pub replay_requested_at: Option<DateTimeUtc>,
    /// The event's partition key (its aggregate).
    pub event_key: Option<String>,
    /// When a newer event of the same key was applied: replaying this one would
    /// break the key's order, so it is refused.
    pub superseded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Parks `delivery` for `consumer` with the error of its last attempt.
pub async fn park(
    db: &DatabaseConnection,
    consumer: &str,
    delivery: &Delivery,
    error: &str,
    attempts: u32,
) -> Result<(), DbErr> {
    let event = serde_json::to_value(&delivery.event).map_err(|e| DbErr::Custom(e.to_string()))?;
    ActiveModel {
        id: Set(Uuid::now_v7()),
        consumer: Set(consumer.to_string()),
        topic: Set(delivery.topic.clone()),
        partition: Set(delivery.partition),
        offset: Set(delivery.offset),
        event_id: Set(delivery.event.id),
        event: Set(event),
        error: Set(error.to_string()),
        attempts: Set(attempts as i32),
        parked_at: Set(Utc::now()),
        replay_requested_at: Set(None),
        event_key: Set(Some(delivery.event.key.clone())),
        superseded_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Every parked event, oldest first (of one consumer when given).
pub async fn list(db: &DatabaseConnection, consumer: Option<&str>) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().order_by_asc(Column::ParkedAt);
    if let Some(consumer) = consumer {
        query = query.filter(Column::Consumer.eq(consumer));
    }
    query.all(db).await
}

/// How many events are parked (the figure to alert on).
pub async fn count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Entity::find().count(db).await
}

/// Asks for parked events to be applied again: the one with `id`, or all when `None`
/// (all but the superseded ones, whose replay would be refused; asked for by id, a
/// superseded one is refused with the reason in its `error`). Returns how many were
/// marked.
pub async fn request_replay(db: &DatabaseConnection, id: Option<Uuid>) -> Result<u64, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::ReplayRequestedAt, Expr::value(Utc::now()))
        .filter(Column::ReplayRequestedAt.is_null());
    update = match id {
        Some(id) => update.filter(Column::Id.eq(id)),
        None => update.filter(Column::SupersededAt.is_null()),
    };
    Ok(update.exec(db).await?.rows_affected)
}

/// The keys of `consumer`'s parked events that no newer event has superseded yet.
pub async fn parked_keys(
    db: &DatabaseConnection,
    consumer: &str,
) -> Result<std::collections::HashSet<String>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Consumer.eq(consumer))
        .filter(Column::SupersededAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|row| row.event_key)
        .collect())
}

/// Marks `consumer`'s parked events of `key` superseded (a newer event of the key
/// was applied); returns how many.
pub async fn supersede(db: &DatabaseConnection, consumer: &str, key: &str) -> Result<u64, DbErr> {
    Ok(Entity::update_many()
        .col_expr(Column::SupersededAt, Expr::value(Utc::now()))
        .filter(Column::Consumer.eq(consumer))
        .filter(Column::EventKey.eq(key))
        .filter(Column::SupersededAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Takes the next event of `consumer` whose replay was asked for, removing it from
/// the table: with two instances of a consumer, only the one whose delete succeeds
/// replays it. `None` when there is none. A superseded event is not taken: its
/// request is answered with a refusal in its `error`, and it stays parked.
pub async fn claim_replay(
    db: &DatabaseConnection,
    consumer: &str,
) -> Result<Option<(Delivery, u32)>, DbErr> {
    Entity::update_many()
        .col_expr(
            Column::ReplayRequestedAt,
            Expr::value(Option::<DateTimeUtc>::None),
        )
        .col_expr(
            Column::Error,
            Expr::value(
                "replay refused: a newer event of the same key was applied since; \
                 replaying this one would undo it",
            ),
        )
        .filter(Column::Consumer.eq(consumer))
        .filter(Column::ReplayRequestedAt.is_not_null())
        .filter(Column::SupersededAt.is_not_null())
        .exec(db)
        .await?;
    let requested = Entity::find()
        .filter(Column::Consumer.eq(consumer))
        .filter(Column::ReplayRequestedAt.is_not_null())
        .filter(Column::SupersededAt.is_null())
        .order_by_asc(Column::ParkedAt)
        .limit(8)
        .all(db)
        .await?;
    for row in requested {
        let claimed = Entity::delete_many()
            .filter(Column::Id.eq(row.id))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            continue;
        }
        let event: Envelope =
            serde_json::from_value(row.event).map_err(|e| DbErr::Custom(e.to_string()))?;
        let delivery = Delivery {
            event,
            topic: row.topic,
            partition: row.partition,
            offset: row.offset,
        };
        return Ok(Some((delivery, row.attempts.max(0) as u32)));
    }
    Ok(None)
}
