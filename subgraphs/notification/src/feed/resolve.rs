//! Items follow their causes: reading a conversation reads what it covers, an edit
//! updates a preview, a deletion for everyone counts its message out (and takes its
//! text with it), a reaction taken back counts out of its item, and an answered
//! friend request is resolved. Each is idempotent, so a repeated delivery changes
//! nothing more; each returns the rows it changed, for the live feed.

use chrono::Utc;
use echostream_contracts::chat::{MessageDeleted, MessageEdited, MessageReacted, ReceiptUpdated};
use echostream_contracts::notification::NotificationKind;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, ModelTrait,
    QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::items::PREVIEW_CHARS;
use crate::entities::notification;

/// What a resolution did to a user's items.
pub enum Resolved {
    /// Changed (read, updated): the rows as they are now.
    Changed(notification::Model),
    /// Gone with their cause.
    Removed(notification::Model),
}

impl Resolved {
    /// The row, as it is now or as it was when it went.
    pub fn into_row(self) -> notification::Model {
        match self {
            Resolved::Changed(row) | Resolved::Removed(row) => row,
        }
    }
}

/// The kinds that point at messages a member reads in their conversation.
const READ_WITH_CONVERSATION: [NotificationKind; 3] = [
    NotificationKind::Message,
    NotificationKind::Mention,
    NotificationKind::Reply,
];

/// A member read a conversation up to `read_seq`: their items that cover nothing
/// newer are read.
pub async fn read(
    db: &impl ConnectionTrait,
    receipt: &ReceiptUpdated,
) -> Result<Vec<Resolved>, Error> {
    let covered = notification::Entity::find()
        .filter(notification::Column::UserId.eq(receipt.user_id))
        .filter(notification::Column::ConversationId.eq(receipt.conversation_id))
        .filter(notification::Column::ReadAt.is_null())
        .filter(notification::Column::Kind.is_in(READ_WITH_CONVERSATION))
        .filter(notification::Column::LastSeq.lte(receipt.read_seq))
        .all(db)
        .await?;
    if covered.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::Id.is_in(covered.iter().map(|n| n.id)))
        .exec(db)
        .await?;
    Ok(covered
        .into_iter()
        .map(|mut n| {
            n.read_at = Some(now);
            Resolved::Changed(n)
        })
        .collect())
}

/// An edit: the items showing the message's text show the new one.
pub async fn edited(
    db: &impl ConnectionTrait,
    edit: &MessageEdited,
) -> Result<Vec<Resolved>, Error> {
    let showing = notification::Entity::find()
        .filter(notification::Column::MessageId.eq(edit.message_id))
        .all(db)
        .await?;
    let preview: String = edit.body.chars().take(PREVIEW_CHARS).collect();
    let mut changed = Vec::new();
    for mut row in showing {
        if row.payload.get("preview").is_none() {
            continue;
        }
        row.payload["preview"] = json!(preview);
        save(db, &row).await?;
        changed.push(Resolved::Changed(row));
    }
    Ok(changed)
}

/// A deletion for everyone: items about that message alone go; an item that
/// collapsed it with others counts it out, and forgets its text if it showed it.
pub async fn deleted(
    db: &impl ConnectionTrait,
    deletion: &MessageDeleted,
) -> Result<Vec<Resolved>, Error> {
    let about = notification::Entity::find()
        .filter(notification::Column::MessageId.eq(deletion.message_id))
        .all(db)
        .await?;
    let covering = notification::Entity::find()
        .filter(notification::Column::ConversationId.eq(deletion.conversation_id))
        .filter(notification::Column::Kind.eq(NotificationKind::Message))
        .filter(notification::Column::FirstSeq.lte(deletion.seq))
        .filter(notification::Column::LastSeq.gt(deletion.seq))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for row in about.into_iter().chain(covering) {
        out.push(count_out(db, row, true).await?);
    }
    Ok(out)
}

/// A reaction taken back: its item counts it out (gone with the last one).
pub async fn unreacted(
    db: &impl ConnectionTrait,
    reacted: &MessageReacted,
) -> Result<Vec<Resolved>, Error> {
    if reacted.added {
        return Ok(Vec::new());
    }
    let open = notification::Entity::find()
        .filter(notification::Column::UserId.eq(reacted.author_id))
        .filter(notification::Column::GroupKey.eq(format!("reaction:{}", reacted.message_id)))
        .filter(notification::Column::ReadAt.is_null())
        .all(db)
        .await?;
    let mut out = Vec::new();
    for mut row in open {
        let mut actors = row.actors();
        if !actors.contains(&reacted.user_id) {
            continue;
        }
        actors.retain(|a| *a != reacted.user_id);
        row.actor_ids = json!(actors);
        out.push(count_out(db, row, false).await?);
    }
    Ok(out)
}

/// One event fewer in `row`; with none left it goes. `forget` drops the preview.
async fn count_out(
    db: &impl ConnectionTrait,
    mut row: notification::Model,
    forget: bool,
) -> Result<Resolved, Error> {
    row.count -= 1;
    // An item about the message alone goes with it; one that counts several
    // messages (new messages, replies) keeps the others.
    let about_it_alone = matches!(
        row.kind,
        NotificationKind::Mention | NotificationKind::Reaction
    );
    if row.count <= 0 || (forget && about_it_alone) {
        row.clone().delete(db).await?;
        return Ok(Resolved::Removed(row));
    }
    if forget && let Some(map) = row.payload.as_object_mut() {
        map.remove("preview");
    }
    save(db, &row).await?;
    Ok(Resolved::Changed(row))
}

/// A friend request was answered (`answer`: accepted, declined) or taken back
/// (`None`): its item is resolved, read with the answer, or gone. An answer that
/// arrives before the request's item was stored (its events are keyed apart) makes
/// the item as resolved, so the request's own event, when it comes, makes none
/// (`Item::once`): either order ends the same.
pub async fn request_answered(
    db: &impl ConnectionTrait,
    request: Uuid,
    [asker, asked]: [Uuid; 2],
    answer: Option<&str>,
) -> Result<Vec<Resolved>, Error> {
    let key = format!("friend_request:{request}");
    let found = notification::Entity::find()
        .filter(notification::Column::UserId.eq(asked))
        .filter(notification::Column::GroupKey.eq(&key))
        .all(db)
        .await?;
    let now = Utc::now();
    if found.is_empty() {
        let row = notification::Model {
            id: Uuid::now_v7(),
            user_id: asked,
            kind: NotificationKind::FriendRequest,
            source_event: Uuid::now_v7(),
            payload: json!({
                "requestId": request,
                "fromUserId": asker,
                "answer": answer.unwrap_or("cancelled"),
            }),
            created_at: now,
            read_at: Some(now),
            group_key: key,
            count: 1,
            actor_ids: json!([asker]),
            conversation_id: None,
            message_id: None,
            subject_id: Some(asker),
            first_seq: None,
            last_seq: None,
            updated_at: now,
            // Taken back: nothing to show (the row only keeps the request's own
            // event from making an item).
            dismissed_at: answer.is_none().then_some(now),
            in_app: true,
            // Answered already: nothing to mail.
            email: false,
            digest_id: None,
            pushed_at: None,
        };
        notification::Entity::insert(notification::ActiveModel::from(row))
            .exec(db)
            .await?;
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for mut row in found {
        match answer {
            Some(answer) => {
                row.payload["answer"] = json!(answer);
                row.read_at = row.read_at.or(Some(now));
                save(db, &row).await?;
                out.push(Resolved::Changed(row));
            }
            None => {
                row.clone().delete(db).await?;
                out.push(Resolved::Removed(row));
            }
        }
    }
    Ok(out)
}

async fn save(db: &impl ConnectionTrait, row: &notification::Model) -> Result<(), Error> {
    notification::Entity::update(row.clone().into_active_model().reset_all())
        .exec(db)
        .await?;
    Ok(())
}
