//! The notification feed: items made from other domains' events (`items.rs`),
//! collapsed while unread (`store.rs`), resolved with their causes (`resolve.rs`),
//! written when read (`render.rs`), pushed live, and kept within a bound per user
//! (`retention.rs`).

pub mod items;
pub mod render;
pub mod resolve;
pub mod retention;
pub mod store;

use chrono::Utc;
use echostream_contracts::auth::UserDeleted;
use echostream_contracts::chat::{
    MessageDeleted, MessageEdited, MessageReacted, MessageSent, ReceiptUpdated,
};
use echostream_contracts::notification::{NotificationFrame, channel};
use echostream_contracts::profile::{
    FriendRequestCancelled, FriendRequestDeclined, FriendRequestSent, FriendshipCreated,
};
use echostream_ports::events::{Delivery, consumer::first_delivery};
use echostream_ports::pubsub::PubSub;
use echostream_service::Error;
use echostream_service::pages::{Page, fetch_newest};
use echostream_service::service::publish;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::entities::notification;
use items::Item;
use resolve::Resolved;

/// The items an event makes.
fn items_of(delivery: &Delivery) -> Result<Vec<Item>, Error> {
    let event = &delivery.event;
    if let Some(message) = event.decode::<MessageSent>()? {
        return Ok(items::of_message(&message));
    }
    if let Some(reacted) = event.decode::<MessageReacted>()? {
        return Ok(items::of_reaction(&reacted).into_iter().collect());
    }
    if let Some(request) = event.decode::<FriendRequestSent>()? {
        return Ok(vec![items::of_friend_request(&request)]);
    }
    if let Some(friendship) = event.decode::<FriendshipCreated>()? {
        return Ok(vec![items::of_friendship(&friendship)]);
    }
    Ok(Vec::new())
}

/// The events that may resolve stored items (anything else of chat's and profile's
/// passes without a transaction: most of chat's events are receipts and statuses).
const RESOLVING: [&str; 6] = [
    <MessageEdited as echostream_contracts::Event>::TYPE,
    <MessageDeleted as echostream_contracts::Event>::TYPE,
    <MessageReacted as echostream_contracts::Event>::TYPE,
    <FriendshipCreated as echostream_contracts::Event>::TYPE,
    <FriendRequestDeclined as echostream_contracts::Event>::TYPE,
    <FriendRequestCancelled as echostream_contracts::Event>::TYPE,
];

/// What an event resolves of the items already stored.
async fn resolve(db: &impl ConnectionTrait, delivery: &Delivery) -> Result<Vec<Resolved>, Error> {
    let event = &delivery.event;
    if let Some(edit) = event.decode::<MessageEdited>()? {
        return resolve::edited(db, &edit).await;
    }
    if let Some(deletion) = event.decode::<MessageDeleted>()? {
        return resolve::deleted(db, &deletion).await;
    }
    if let Some(reacted) = event.decode::<MessageReacted>()? {
        return resolve::unreacted(db, &reacted).await;
    }
    if let Some(f) = event.decode::<FriendshipCreated>()? {
        return resolve::request_answered(db, f.request_id, f.user_ids, Some("accepted")).await;
    }
    if let Some(d) = event.decode::<FriendRequestDeclined>()? {
        return resolve::request_answered(db, d.request_id, d.user_ids, Some("declined")).await;
    }
    if let Some(c) = event.decode::<FriendRequestCancelled>()? {
        return resolve::request_answered(db, c.request_id, c.user_ids, None).await;
    }
    Ok(Vec::new())
}

/// Applies one event of chat's or profile's: the people it names, what it resolves,
/// the items it makes, in one transaction that also records the event as applied;
/// then tells the users' live feeds. A push that fails fails the delivery, which is
/// retried: the retry finds the event applied and pushes what it made again (live
/// notifications are at least once, told apart by id).
pub async fn apply(
    db: &DatabaseConnection,
    pubsub: &dyn PubSub,
    delivery: Delivery,
) -> Result<(), Error> {
    if crate::people::follow(db, &delivery).await? {
        return Ok(());
    }
    // A receipt reads items by a rule that holds however often it is applied: no
    // transaction, no record (a member's every delivery and read is one).
    if let Some(receipt) = delivery.event.decode::<ReceiptUpdated>()? {
        let read = resolve::read(db, &receipt).await?;
        return tell(pubsub, read.into_iter().map(Resolved::into_row)).await;
    }
    let made = items_of(&delivery)?;
    if made.is_empty() && !RESOLVING.contains(&delivery.event.kind.as_str()) {
        return Ok(());
    }
    let (event_id, at) = (delivery.event.id, delivery.event.occurred_at);
    let topic_consumer = format!("notification:{}", delivery.topic);
    let changed = db
        .transaction::<_, Vec<notification::Model>, Error>(|txn| {
            Box::pin(async move {
                if !first_delivery(txn, &topic_consumer, event_id).await? {
                    return Ok(notification::Entity::find()
                        .filter(notification::Column::SourceEvent.eq(event_id))
                        .all(txn)
                        .await?);
                }
                let mut changed: Vec<notification::Model> = resolve(txn, &delivery)
                    .await?
                    .into_iter()
                    .map(Resolved::into_row)
                    .collect();
                if !made.is_empty() {
                    changed.extend(store::store(txn, event_id, at, made).await?);
                }
                Ok(changed)
            })
        })
        .await?;
    tell(pubsub, changed).await
}

/// Tells the users' live feeds that these items changed.
async fn tell(
    pubsub: &dyn PubSub,
    rows: impl IntoIterator<Item = notification::Model>,
) -> Result<(), Error> {
    for row in rows {
        let frame = NotificationFrame {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            created_at: row.created_at,
        };
        publish(pubsub, &channel(row.user_id), &frame).await?;
    }
    Ok(())
}

/// Erases a deleted account's notifications, the previews of the messages it sent in
/// everyone else's (the item stays: that messages came, when), and its name.
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    if crate::people::follow(db, &delivery).await? {
        return Ok(());
    }
    let Some(UserDeleted { user_id: user }) = delivery.event.decode()? else {
        return Ok(());
    };
    notification::Entity::delete_many()
        .filter(notification::Column::UserId.eq(user))
        .exec(db)
        .await?;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE notifications SET payload = (payload::jsonb - 'preview')::json \
             WHERE payload->>'senderId' = $1"
        }
        _ => {
            "UPDATE notifications SET payload = json_remove(payload, '$.preview') \
             WHERE json_extract(payload, '$.senderId') = ?"
        }
    };
    db.execute(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [user.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// Which of a user's items a page shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Unread ones only.
    pub unread_only: bool,
}

/// One page of a user's feed, the most recently changed first; dismissed items are
/// never shown. One more row than asked when there are more.
pub async fn page(
    db: &DatabaseConnection,
    user: Uuid,
    filter: Filter,
    page: &Page,
) -> Result<Vec<notification::Model>, Error> {
    let mut query = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::DismissedAt.is_null());
    if filter.unread_only {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    fetch_newest(
        db,
        query,
        notification::Column::UpdatedAt,
        notification::Column::Id,
        page,
    )
    .await
}

/// Every item of a user's (their data export), newest first, at most `limit`.
pub async fn latest(
    db: &DatabaseConnection,
    user: Uuid,
    limit: u64,
) -> Result<Vec<notification::Model>, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .order_by_desc(notification::Column::UpdatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many of a user's items are unread (and not dismissed).
pub async fn unread_count(db: &DatabaseConnection, user: Uuid) -> Result<u64, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .filter(notification::Column::DismissedAt.is_null())
        .count(db)
        .await?)
}

/// Which of a user's items a mark or a dismissal applies to.
pub enum Which<'a> {
    All,
    These(&'a [Uuid]),
}

/// Marks a user's items read (all, or those of `which` that are theirs); how many
/// changed. The user's live feeds hear of each.
pub async fn mark_read(
    db: &DatabaseConnection,
    pubsub: &dyn PubSub,
    user: Uuid,
    which: Which<'_>,
) -> Result<u64, Error> {
    set_now(db, pubsub, user, which, notification::Column::ReadAt).await
}

/// Dismisses a user's items: gone from their feed and counts, read or not.
pub async fn dismiss(
    db: &DatabaseConnection,
    pubsub: &dyn PubSub,
    user: Uuid,
    which: Which<'_>,
) -> Result<u64, Error> {
    set_now(db, pubsub, user, which, notification::Column::DismissedAt).await
}

async fn set_now(
    db: &DatabaseConnection,
    pubsub: &dyn PubSub,
    user: Uuid,
    which: Which<'_>,
    column: notification::Column,
) -> Result<u64, Error> {
    let mut query = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(column.is_null());
    if let Which::These(ids) = which {
        query = query.filter(notification::Column::Id.is_in(ids.iter().copied()));
    }
    let rows = query.all(db).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let changed = notification::Entity::update_many()
        .col_expr(column, Expr::value(now))
        .filter(notification::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .filter(column.is_null())
        .exec(db)
        .await?
        .rows_affected;
    tell(pubsub, rows).await?;
    Ok(changed)
}

/// Items by id (the entity loader's query).
pub async fn by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<Vec<notification::Model>, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
