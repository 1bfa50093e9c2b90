//! Unread counts, derived and never stored: the messages from others after a
//! member's read position. There is no counter to increment or decrement on the
//! side, so no race can make one drift; the `(conversation_id, seq)` index bounds
//! each count to the unread range itself.

use std::collections::HashMap;

use echostream_ports::db::statement;
use echostream_service::Error;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use crate::entities::message;

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
         AND m.seq > mb.last_read_seq \
         WHERE mb.user_id = $1 AND m.sender_id <> $2 AND m.kind = $3 \
         AND m.deleted_at IS NULL \
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
