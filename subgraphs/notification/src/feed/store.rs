//! Storing items: a new item, or one more event collapsed into the recipient's open
//! item of the same key (at most one per user and key: the `notifications_open`
//! index). A message to a group of fifty costs one query to find the open items,
//! one to count the message into all those that already name its sender, one insert
//! for all who had none, and one update per item the sender is new to (rare: an
//! item names each actor once).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::items::Item;
use crate::entities::notification::{self, MAX_ACTORS};

/// Stores `items` (made by event `event`, which happened `at`) and returns the rows
/// they made or changed. An item's times are its events' (the feed's order is when
/// things happened, not when each was processed: events of different
/// conversations may be processed out of their order).
pub async fn store(
    txn: &impl ConnectionTrait,
    event: Uuid,
    at: DateTime<Utc>,
    items: Vec<Item>,
) -> Result<Vec<notification::Model>, Error> {
    let mut by_key: HashMap<String, Vec<Item>> = HashMap::new();
    for item in items {
        by_key.entry(item.group_key.clone()).or_default().push(item);
    }
    let mut touched = Vec::new();
    for (key, items) in by_key {
        touched.extend(store_key(txn, event, at, &key, items).await?);
    }
    Ok(touched)
}

/// The items of one key (one per recipient).
async fn store_key(
    txn: &impl ConnectionTrait,
    event: Uuid,
    at: DateTime<Utc>,
    key: &str,
    items: Vec<Item>,
) -> Result<Vec<notification::Model>, Error> {
    let users: Vec<Uuid> = items.iter().map(|i| i.user).collect();
    let once = items.iter().any(|i| i.once);
    let mut existing = notification::Entity::find()
        .filter(notification::Column::GroupKey.eq(key))
        .filter(notification::Column::UserId.is_in(users));
    if !once {
        existing = existing
            .filter(notification::Column::ReadAt.is_null())
            .filter(notification::Column::DismissedAt.is_null());
    }
    let existing: HashMap<Uuid, notification::Model> = existing
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.user_id, row))
        .collect();

    let mut fresh = Vec::new();
    // Items that already name the event's actor, by where they go now.
    let mut same_actor: HashMap<(bool, bool), Vec<Uuid>> = HashMap::new();
    let mut touched = Vec::new();
    for item in &items {
        let Some(open) = existing.get(&item.user) else {
            fresh.push(new_row(event, at, item));
            continue;
        };
        if once {
            continue;
        }
        let mut row = open.clone();
        collapse(&mut row, event, at, item);
        let mut actors = open.actors();
        if actors.contains(&item.actor) {
            same_actor
                .entry((item.reach.in_app, item.reach.email))
                .or_default()
                .push(row.id);
        } else {
            actors.push(item.actor);
            actors.truncate(MAX_ACTORS);
            row.actor_ids = json!(actors);
            notification::Entity::update(row.clone().into_active_model().reset_all())
                .exec(txn)
                .await?;
        }
        touched.push(row);
    }
    // Everything an item collapsing one more event takes from it is the same for
    // every recipient of the key but where it goes, so those that already name its
    // actor change in one statement per destination (one, unless recipients chose
    // differently).
    if let Some(item) = items.first() {
        for ((in_app, email), ids) in same_actor {
            notification::Entity::update_many()
                .col_expr(
                    notification::Column::Count,
                    Expr::col(notification::Column::Count).add(1),
                )
                .col_expr(notification::Column::SourceEvent, Expr::value(event))
                .col_expr(notification::Column::UpdatedAt, Expr::value(at))
                .col_expr(
                    notification::Column::MessageId,
                    Expr::value(item.message_id),
                )
                .col_expr(notification::Column::LastSeq, Expr::value(item.seq))
                .col_expr(
                    notification::Column::Payload,
                    Expr::value(item.payload.clone()),
                )
                .col_expr(notification::Column::InApp, Expr::value(in_app))
                .col_expr(notification::Column::Email, Expr::value(email))
                .filter(notification::Column::Id.is_in(ids))
                .exec(txn)
                .await?;
        }
    }
    if !fresh.is_empty() {
        notification::Entity::insert_many(
            fresh.iter().cloned().map(notification::ActiveModel::from),
        )
        .exec(txn)
        .await?;
        touched.extend(fresh);
    }
    Ok(touched)
}

fn new_row(event: Uuid, at: DateTime<Utc>, item: &Item) -> notification::Model {
    notification::Model {
        id: Uuid::now_v7(),
        user_id: item.user,
        kind: item.kind,
        source_event: event,
        payload: item.payload.clone(),
        created_at: at,
        read_at: None,
        group_key: item.group_key.clone(),
        count: 1,
        actor_ids: json!([item.actor]),
        conversation_id: item.conversation_id,
        message_id: item.message_id,
        subject_id: item.subject_id,
        first_seq: item.seq,
        last_seq: item.seq,
        updated_at: at,
        dismissed_at: None,
        in_app: item.reach.in_app,
        email: item.reach.email,
        digest_id: None,
        pushed_at: None,
    }
}

/// `row` with one more event of `item` in it (the newest message, preview and seq,
/// and where it goes now: the recipient may have changed their preferences since).
fn collapse(row: &mut notification::Model, event: Uuid, at: DateTime<Utc>, item: &Item) {
    row.count += 1;
    row.in_app = item.reach.in_app;
    row.email = item.reach.email;
    row.source_event = event;
    row.updated_at = at;
    row.message_id = item.message_id;
    row.last_seq = item.seq.or(row.last_seq);
    row.payload = item.payload.clone();
}
