//! Unread counts, derived and never stored: the messages from others after a
//! member's read position, in the conversation's timeline (a thread's replies count
//! in their thread: `threads.rs`). There is no counter to increment or decrement on the
//! side, so no race can make one drift; the `(conversation_id, seq)` index bounds
//! each count to the unread range itself.
//!
//! Marking unread: a member marks a message they read unread again (`unread_from_seq`),
//! and their own read position (`member::Model::read_position`), counts and devices
//! go back to before it, while their read receipts, which others already saw, stay.
//! Reading on moves the mark, and reading past their old position clears it.

use std::collections::HashMap;

use chrono::Utc;
use echostream_contracts::chat::ReceiptUpdated;
use echostream_ports::db::statement;
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Chat;
use crate::entities::{member, message};

/// `user`'s unread count in each of their conversations that has any (all of them,
/// or only `only`), in one query.
pub async fn counts(
    db: &DatabaseConnection,
    user: Uuid,
    only: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, i64>, Error> {
    let mut sql = String::from(
        "SELECT m.conversation_id, COUNT(*) FROM members mb \
         JOIN messages m ON m.conversation_id = mb.conversation_id \
         AND m.seq > COALESCE(mb.unread_from_seq - 1, mb.last_read_seq) \
         WHERE mb.user_id = $1 AND m.sender_id <> $2 AND m.kind = $3 \
         AND m.deleted_at IS NULL AND m.in_timeline \
         AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
                         WHERE h.user_id = mb.user_id AND h.message_id = m.id)",
    );
    let mut values: Vec<sea_orm::Value> =
        vec![user.into(), user.into(), message::Kind::Text.into()];
    if let Some(ids) = only {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
        sql.push_str(&format!(
            " AND mb.conversation_id IN ({})",
            marks.join(", ")
        ));
        values.extend(ids.iter().map(|id| sea_orm::Value::from(*id)));
    }
    sql.push_str(" GROUP BY m.conversation_id");
    let rows = db
        .query_all(statement(db.get_database_backend(), &sql, values))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        let id: Uuid = row.try_get_by_index(0)?;
        let n: i64 = row.try_get_by_index(1)?;
        out.insert(id, n);
    }
    Ok(out)
}

/// `user`'s unread messages over all their conversations.
pub async fn total(db: &DatabaseConnection, user: Uuid) -> Result<i64, Error> {
    Ok(counts(db, user, None).await?.values().sum())
}

/// How many of `user`'s conversations have unread messages, leaving out those they
/// muted as of `now` (what an app icon counts: a muted conversation shows its count
/// in the app, not on the icon).
pub async fn conversations_for_badge(
    db: &DatabaseConnection,
    user: Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<i64, Error> {
    let unread = counts(db, user, None).await?;
    if unread.is_empty() {
        return Ok(0);
    }
    let muted: Vec<Uuid> = member::Entity::find()
        .filter(member::Column::UserId.eq(user))
        .filter(member::Column::Muted.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| m.mute().holds(now))
        .map(|m| m.conversation_id)
        .collect();
    Ok(unread.keys().filter(|c| !muted.contains(c)).count() as i64)
}

/// Marks message `id` and everything after it unread again for `user`. Only what
/// they read can be unread again: a message they have not read, or one already
/// inside what they marked, changes nothing.
pub async fn mark_unread(chat: &Chat, user: Uuid, id: Uuid) -> Result<member::Model, Error> {
    let (found, _, me) = crate::messages::readable(&chat.db, id, user).await?;
    if found.seq > me.last_read_seq || me.unread_from_seq.is_some_and(|from| from <= found.seq) {
        return Ok(me);
    }
    set_mark(chat, me, Some(found.seq)).await
}

/// `me` read up to `up_to`, at or before their read position, with a mark set: the
/// mark moves past what they read, and goes once they reach their read position.
pub(crate) async fn reread(
    chat: &Chat,
    me: &member::Model,
    up_to: i64,
) -> Result<member::Model, Error> {
    match me.unread_from_seq {
        Some(from) if up_to >= from => {
            let mark = (up_to < me.last_read_seq).then_some(up_to + 1);
            set_mark(chat, me.clone(), mark).await
        }
        _ => Ok(me.clone()),
    }
}

/// Sets `me`'s unread mark; their devices follow their read position (a
/// `ReceiptChanged` on their own stream).
async fn set_mark(
    chat: &Chat,
    me: member::Model,
    mark: Option<i64>,
) -> Result<member::Model, Error> {
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                member::Entity::update_many()
                    .col_expr(member::Column::UnreadFromSeq, Expr::value(mark))
                    .filter(member::Column::ConversationId.eq(me.conversation_id))
                    .filter(member::Column::UserId.eq(me.user_id))
                    .exec(txn)
                    .await?;
                let now = member::Entity::find_by_id((me.conversation_id, me.user_id))
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("no such conversation"))?;
                let receipt = ReceiptUpdated {
                    conversation_id: now.conversation_id,
                    user_id: now.user_id,
                    delivered_seq: now.delivered_seq,
                    read_seq: now.read_position(),
                    at: Utc::now(),
                    member_ids: vec![now.user_id],
                };
                Ok(Change::new(now).emit(&receipt, Some(me.user_id)))
            })
        })
        .await
}
