//! Reactions: a member marks a message with an emoji, as in Slack: several
//! different emoji each, each emoji once, at most `chat.max_reactions_per_message`
//! different emoji on one message. Members read them as counts per emoji (and
//! whether they reacted) and who reacted, in order.
//!
//! What a reaction costs the members' streams: one `MessageChanged` per member,
//! which takes the place of the message's earlier one in each member's replay
//! window (`ChatFrame::supersedes`). So a message holds one place in a window
//! however many reactions it gets, and a client resuming reads its current
//! reactions once.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use echostream_contracts::chat::MessageReacted;
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::readable;
use crate::Chat;
use crate::conversations::member_ids;
use crate::entities::{message, reaction};

/// The longest input looked up as an emoji, in bytes (the longest emoji, a family
/// with skin tones, is 35).
const MAX_EMOJI_BYTES: usize = 64;

/// The emoji `input` is, in its fully qualified form: exactly one emoji of the
/// Unicode list (skin tones included), else refused. "❤" and "❤️" are one emoji.
pub fn emoji(input: &str) -> Result<&'static str, Error> {
    let input = input.trim();
    let refused = || Error::bad_input("emoji must be exactly one emoji, such as 👍");
    if input.is_empty() || input.len() > MAX_EMOJI_BYTES {
        return Err(refused());
    }
    emojis::get(input)
        .or_else(|| emojis::get(&format!("{input}\u{fe0f}")))
        .map(emojis::Emoji::as_str)
        .ok_or_else(refused)
}

/// Adds (`add`) or removes `user`'s reaction `emoji` to message `id`; returns the
/// message. Adding a reaction already there, or removing one that is not, changes
/// nothing.
pub async fn react(
    chat: &Chat,
    user: Uuid,
    id: Uuid,
    emoji: &str,
    add: bool,
) -> Result<message::Model, Error> {
    let emoji = self::emoji(emoji)?;
    let (found, _, _) = readable(&chat.db, id, user).await?;
    match found.kind {
        message::Kind::Text => {}
        message::Kind::System => {
            return Err(Error::bad_input("a system item takes no reactions"));
        }
    }
    let limit = chat.ports.config.chat.max_reactions_per_message;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                // The message row is locked (PostgreSQL; SQLite has one writer): of
                // two new emoji at once, the second counts the first, so the limit
                // holds exactly, and no reaction lands on a message being deleted.
                let now = message::Entity::find_by_id(found.id)
                    .lock_exclusive()
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("no such message"))?;
                if now.deleted_at.is_some() {
                    return Err(Error::conflict("this message was deleted for everyone"));
                }
                let at = Utc::now().trunc_subsecs(6);
                let changed = if add {
                    let used: Vec<String> = reaction::Entity::find()
                        .select_only()
                        .column(reaction::Column::Emoji)
                        .distinct()
                        .filter(reaction::Column::MessageId.eq(now.id))
                        .into_tuple()
                        .all(txn)
                        .await?;
                    if !used.iter().any(|e| e == emoji) && used.len() as u64 >= limit {
                        return Err(Error::conflict(format!(
                            "a message carries at most {limit} different reactions \
                             (chat.max_reactions_per_message)"
                        )));
                    }
                    reaction::Entity::insert(reaction::ActiveModel {
                        message_id: Set(now.id),
                        user_id: Set(user),
                        emoji: Set(emoji.to_string()),
                        conversation_id: Set(now.conversation_id),
                        reacted_at: Set(at),
                    })
                    .on_conflict(
                        OnConflict::columns([
                            reaction::Column::MessageId,
                            reaction::Column::UserId,
                            reaction::Column::Emoji,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?
                        > 0
                } else {
                    reaction::Entity::delete_by_id((now.id, user, emoji.to_string()))
                        .exec(txn)
                        .await?
                        .rows_affected
                        > 0
                };
                if !changed {
                    return Ok(Change::new(now));
                }
                let event = MessageReacted {
                    conversation_id: now.conversation_id,
                    message_id: now.id,
                    seq: now.seq,
                    author_id: now.sender_id,
                    user_id: user,
                    emoji: emoji.to_string(),
                    added: add,
                    reacted_at: at,
                    member_ids: member_ids(txn, now.conversation_id).await?,
                };
                Ok(Change::new(now).emit(&event, Some(user)))
            })
        })
        .await
}

/// One emoji on a message: how many reacted with it, and whether the viewer did.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Summary {
    pub message_id: Uuid,
    pub emoji: String,
    pub count: i64,
    pub mine: i32,
}

/// The reactions of messages `ids` as `viewer` sees them: per message, one
/// [`Summary`] per emoji, oldest first (by each emoji's earliest reaction).
pub async fn summaries(
    db: &impl ConnectionTrait,
    viewer: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Summary>>, Error> {
    let mine = Expr::case(reaction::Column::UserId.eq(viewer), 1).finally(0);
    let rows = reaction::Entity::find()
        .select_only()
        .column(reaction::Column::MessageId)
        .column(reaction::Column::Emoji)
        .column_as(Expr::col(reaction::Column::UserId).count(), "count")
        .column_as(Expr::expr(mine).max(), "mine")
        .filter(reaction::Column::MessageId.is_in(ids.iter().copied()))
        .group_by(reaction::Column::MessageId)
        .group_by(reaction::Column::Emoji)
        .order_by_asc(Expr::col(reaction::Column::ReactedAt).min())
        .order_by_asc(reaction::Column::Emoji)
        .into_model::<Summary>()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Summary>> = HashMap::new();
    for row in rows {
        out.entry(row.message_id).or_default().push(row);
    }
    Ok(out)
}

/// Up to `limit` reactions of message `id` (of `emoji` alone, when given), oldest
/// first, after (`reacted_at`, `user_id`) `after`.
pub async fn reactors(
    db: &impl ConnectionTrait,
    id: Uuid,
    emoji: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<reaction::Model>, Error> {
    let mut query = reaction::Entity::find().filter(reaction::Column::MessageId.eq(id));
    if let Some(emoji) = emoji {
        query = query.filter(reaction::Column::Emoji.eq(emoji));
    }
    if let Some((at, user)) = after {
        query = query.filter(
            sea_orm::Condition::any()
                .add(reaction::Column::ReactedAt.gt(at))
                .add(
                    sea_orm::Condition::all()
                        .add(reaction::Column::ReactedAt.eq(at))
                        .add(reaction::Column::UserId.gt(user)),
                ),
        );
    }
    Ok(query
        .order_by_asc(reaction::Column::ReactedAt)
        .order_by_asc(reaction::Column::UserId)
        .order_by_asc(reaction::Column::Emoji)
        .limit(limit)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::emoji;

    #[test]
    fn an_emoji_is_one_emoji_in_its_fully_qualified_form() {
        assert_eq!(emoji("👍").unwrap(), "👍");
        assert_eq!(emoji(" 👍🏽 ").unwrap(), "👍🏽", "skin tones are emoji");
        assert_eq!(emoji("👨‍👩‍👧").unwrap(), "👨‍👩‍👧", "a ZWJ sequence is one");
        assert_eq!(emoji("🇳🇱").unwrap(), "🇳🇱", "a flag is one");
        assert_eq!(
            emoji("\u{2764}").unwrap(),
            "\u{2764}\u{fe0f}",
            "a heart without its presentation selector is the same heart"
        );
        for refused in [
            "",
            "a",
            "👍👍",
            "👍 ok",
            ":+1:",
            "\u{fe0f}",
            &"👍".repeat(40),
        ] {
            assert!(emoji(refused).is_err(), "{refused:?} is refused");
        }
    }
}
