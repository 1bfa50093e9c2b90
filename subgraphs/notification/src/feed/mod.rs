//! The notification feed: items made from other domains' events (`items.rs`),
//! collapsed while unread (`store.rs`), resolved with their causes (`resolve.rs`),
//! written when read (`render.rs`), told live and replayable (`live.rs`), and kept
//! within a bound per user (`retention.rs`).

pub mod items;
pub mod live;
pub mod render;
pub mod resolve;
pub mod retention;
pub mod store;

use chrono::Utc;
use echostream_contracts::auth::{SessionRevoked, UserDeleted};
use echostream_contracts::chat::{
    MembersChanged, MessageDeleted, MessageEdited, MessageReacted, MessageSent, MuteChanged,
    ReceiptUpdated,
};
use echostream_contracts::profile::{
    FriendRequestCancelled, FriendRequestDeclined, FriendRequestSent, FriendshipCreated,
};
use echostream_ports::clock::Clock;
use echostream_ports::events::{Delivery, consumer::first_delivery};
use echostream_service::Error;
use echostream_service::pages::{Page, fetch_newest};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::entities::notification;
use crate::entities::push_job::Action;
use crate::{preferences, push};
use items::Item;
use live::Streams;

/// What applying events and marks needs beside the database: the users' live feeds,
/// the clock, and the push sender to wake when pushes were written.
#[derive(Clone)]
pub struct Feed {
    pub streams: Streams,
    pub clock: std::sync::Arc<dyn Clock>,
    pub pushes: std::sync::Arc<tokio::sync::Notify>,
}
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

/// Applies one event of chat's or profile's: the people it names, the mutes it
/// changes, what it resolves, the items it makes (where the recipients' preferences
/// and mutes send them, at the `clock`'s time), in one transaction that also
/// records the event as applied;
/// then tells the users' live feeds. A push that fails fails the delivery, which is
/// retried: the retry finds the event applied and tells what it made again (each
/// item's change is appended once per event; see `live.rs`).
pub async fn apply(db: &DatabaseConnection, feed: &Feed, delivery: Delivery) -> Result<(), Error> {
    let streams = &feed.streams;
    if echostream_projections::people::follow(db, &delivery).await? {
        return Ok(());
    }
    // Mutes are state that applying twice leaves the same.
    if let Some(change) = delivery.event.decode::<MuteChanged>()? {
        return preferences::mutes::apply(db, &change).await;
    }
    if let Some(members) = delivery.event.decode::<MembersChanged>()? {
        return preferences::mutes::left(db, members.conversation_id, &members.removed).await;
    }
    // A receipt reads items by a rule that holds however often it is applied: no
    // transaction, no record (a member's every delivery and read is one).
    if let Some(receipt) = delivery.event.decode::<ReceiptUpdated>()? {
        let read: Vec<notification::Model> = resolve::read(db, &receipt)
            .await?
            .into_iter()
            .map(Resolved::into_row)
            .collect();
        withdraw(db, feed, &read).await?;
        let cause = delivery.event.id.to_string();
        return streams.tell(&cause, read).await;
    }
    let made = items_of(&delivery)?;
    if made.is_empty() && !RESOLVING.contains(&delivery.event.kind.as_str()) {
        return Ok(());
    }
    let now = feed.clock.now();
    let made = if made.is_empty() {
        made
    } else {
        preferences::reach(db, made, now).await?
    };
    // Who wants the items made by push, by (user, key).
    let by_push: std::collections::HashSet<(Uuid, String)> = made
        .iter()
        .filter(|item| item.reach.push)
        .map(|item| (item.user, item.group_key.clone()))
        .collect();
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
                    let stored = store::store(txn, event_id, at, made).await?;
                    let pushes: Vec<(Uuid, Uuid)> = stored
                        .iter()
                        .filter(|row| by_push.contains(&(row.user_id, row.group_key.clone())))
                        .map(|row| (row.user_id, row.id))
                        .collect();
                    // Written with the items, so each is pushed once per event.
                    push::enqueue(txn, &pushes, Action::Show, now).await?;
                    changed.extend(stored);
                }
                Ok(changed)
            })
        })
        .await?;
    feed.pushes.notify_one();
    streams.tell(&event_id.to_string(), changed).await
}

/// Withdraws the pushes of `rows` that were pushed (read or dismissed since).
async fn withdraw(
    db: &DatabaseConnection,
    feed: &Feed,
    rows: &[notification::Model],
) -> Result<(), Error> {
    let pushed: Vec<(Uuid, Uuid)> = rows
        .iter()
        .filter(|row| row.pushed_at.is_some())
        .map(|row| (row.user_id, row.id))
        .collect();
    if pushed.is_empty() {
        return Ok(());
    }
    push::enqueue(db, &pushed, Action::Withdraw, feed.clock.now()).await?;
    feed.pushes.notify_one();
    Ok(())
}

/// Ends the push subscriptions of a session that ended; erases a deleted account's
/// notifications, preferences and subscriptions, the previews of the messages it
/// sent in everyone else's (the item stays: that messages came, when), and its name.
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    if echostream_projections::people::follow(db, &delivery).await? {
        return Ok(());
    }
    if let Some(SessionRevoked { session_id, .. }) = delivery.event.decode()? {
        push::end_session(db, session_id).await?;
        return Ok(());
    }
    let Some(UserDeleted { user_id: user }) = delivery.event.decode()? else {
        return Ok(());
    };
    notification::Entity::delete_many()
        .filter(notification::Column::UserId.eq(user))
        .exec(db)
        .await?;
    preferences::forget(db, user).await?;
    push::forget(db, user).await?;
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

/// One page of a user's feed, the most recently changed first; dismissed items, and
/// items for other channels only, are never shown. One more row than asked when there are more.
pub async fn page(
    db: &DatabaseConnection,
    user: Uuid,
    filter: Filter,
    page: &Page,
) -> Result<Vec<notification::Model>, Error> {
    let mut query = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::InApp.eq(true))
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

/// How many of a user's items in their feed are unread (and not dismissed).
pub async fn unread_count(db: &DatabaseConnection, user: Uuid) -> Result<u64, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::InApp.eq(true))
        .filter(notification::Column::ReadAt.is_null())
        .filter(notification::Column::DismissedAt.is_null())
        .count(db)
        .await?)
}

/// How many of a user's unread items are about something chat's unread counts do
/// not count already (everything but new messages, mentions and replies): the
/// feed's part of an app icon's badge.
pub async fn unread_beyond_messages(db: &DatabaseConnection, user: Uuid) -> Result<u64, Error> {
    use echostream_contracts::notification::NotificationKind as Kind;
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::InApp.eq(true))
        .filter(notification::Column::ReadAt.is_null())
        .filter(notification::Column::DismissedAt.is_null())
        .filter(notification::Column::Kind.is_not_in([Kind::Message, Kind::Mention, Kind::Reply]))
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
    feed: &Feed,
    user: Uuid,
    which: Which<'_>,
) -> Result<u64, Error> {
    set_now(db, feed, user, which, notification::Column::ReadAt).await
}

/// Dismisses a user's items: gone from their feed and counts, read or not.
pub async fn dismiss(
    db: &DatabaseConnection,
    feed: &Feed,
    user: Uuid,
    which: Which<'_>,
) -> Result<u64, Error> {
    set_now(db, feed, user, which, notification::Column::DismissedAt).await
}

async fn set_now(
    db: &DatabaseConnection,
    feed: &Feed,
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
    withdraw(db, feed, &rows).await?;
    feed.streams.tell(&Uuid::now_v7().to_string(), rows).await?;
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
