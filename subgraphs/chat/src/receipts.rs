//! Delivered and read, per member: one delivered and one read position each, only
//! ever moving forward. A message's status for its sender, "seen by" in groups and
//! unread counts (`unread.rs`) all derive from these positions, so none can drift.
//!
//! Read receipts are reciprocal, as in WhatsApp: a member's read position shows to
//! another only when both have `readReceipts` on. Delivery always shows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use echostream_shared::Error;
use echostream_shared::contracts::chat::{MessageSent, ReceiptUpdated};
use echostream_shared::contracts::profile::PrivacySettings;
use echostream_shared::events::outbox::Change;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use uuid::Uuid;

use crate::Chat;
use crate::conversations;
use crate::entities::{member, read_mark};

/// Which position a client moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The items reached one of the member's devices.
    Delivered,
    /// The member saw them (reading implies delivery).
    Read,
}

/// A message's progress, as its sender sees it.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored; not yet on every other member's device.
    Sent,
    /// On a device of every other member.
    Delivered,
    /// Read by every other member (as far as read receipts show).
    Read,
}

/// Moves `user`'s delivered or read position in `conversation` up to `up_to`
/// (clamped to the newest item); a position never moves back, so a late or
/// repeated call changes nothing. Returns the member as it now stands.
pub async fn mark(
    chat: &Chat,
    user: Uuid,
    conversation: Uuid,
    up_to: i64,
    which: Mark,
) -> Result<member::Model, Error> {
    if up_to < 0 {
        return Err(Error::bad_input("upToSeq cannot be negative"));
    }
    let (found, me) = conversations::membership(&chat.db, conversation, user).await?;
    let up_to = up_to.min(found.last_seq);
    let moves = match which {
        Mark::Delivered => me.delivered_seq < up_to,
        Mark::Read => me.last_read_seq < up_to,
    };
    if !moves {
        return Ok(me);
    }
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let now = Utc::now();
                let delivered = Expr::case(member::Column::DeliveredSeq.lt(up_to), up_to)
                    .finally(Expr::col(member::Column::DeliveredSeq));
                let mut update = member::Entity::update_many()
                    .col_expr(member::Column::DeliveredSeq, delivered.into())
                    .filter(member::Column::ConversationId.eq(conversation))
                    .filter(member::Column::UserId.eq(user));
                update = match which {
                    Mark::Delivered => update.filter(member::Column::DeliveredSeq.lt(up_to)),
                    Mark::Read => update
                        .col_expr(member::Column::LastReadSeq, Expr::value(up_to))
                        .filter(member::Column::LastReadSeq.lt(up_to)),
                };
                let moved = update.exec(txn).await?.rows_affected > 0;
                let now_me = member::Entity::find_by_id((conversation, user))
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("no such conversation"))?;
                if !moved {
                    // Another call got there first.
                    return Ok(Change::new(now_me));
                }
                if which == Mark::Read {
                    read_mark::ActiveModel {
                        conversation_id: Set(conversation),
                        seq: Set(up_to),
                        user_id: Set(user),
                        at: Set(now),
                    }
                    .insert(txn)
                    .await?;
                }
                let event = ReceiptUpdated {
                    conversation_id: conversation,
                    user_id: user,
                    delivered_seq: now_me.delivered_seq,
                    read_seq: now_me.last_read_seq,
                    at: now,
                    member_ids: conversations::member_ids(txn, conversation).await?,
                };
                Ok(Change::new(now_me).emit(&event, Some(user)))
            })
        })
        .await
}

/// Whether `viewer` sees `member`'s read position (reciprocal read receipts).
pub fn sees_reads(viewer: &PrivacySettings, member: &PrivacySettings) -> bool {
    viewer.read_receipts && member.read_receipts
}

/// The status of the item at `seq` for `viewer`, who sent it, from the other
/// members' positions (`members`) and everyone's settings (`settings`).
pub fn status(
    viewer: Uuid,
    seq: i64,
    members: &[member::Model],
    settings: &HashMap<Uuid, PrivacySettings>,
) -> Status {
    let mine = settings.get(&viewer).copied().unwrap_or_default();
    let others: Vec<&member::Model> = members.iter().filter(|m| m.user_id != viewer).collect();
    if others.is_empty() {
        return Status::Read;
    }
    let read = others.iter().all(|m| {
        m.last_read_seq >= seq
            && sees_reads(
                &mine,
                &settings.get(&m.user_id).copied().unwrap_or_default(),
            )
    });
    if read {
        return Status::Read;
    }
    let delivered = others
        .iter()
        .all(|m| m.delivered_seq.max(m.last_read_seq) >= seq);
    if delivered {
        Status::Delivered
    } else {
        Status::Sent
    }
}

/// Who among the other members has read the item at `seq`, and when their read
/// position first passed it, earliest first; only members whose read receipts
/// `viewer` sees.
pub async fn seen_by(
    db: &DatabaseConnection,
    viewer: Uuid,
    item: &MessageSent,
    settings: &HashMap<Uuid, PrivacySettings>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, Error> {
    let marks = read_mark::Entity::find()
        .filter(read_mark::Column::ConversationId.eq(item.conversation_id))
        .filter(read_mark::Column::Seq.gte(item.seq))
        .all(db)
        .await?;
    let mut first: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for mark in marks {
        let at = first.entry(mark.user_id).or_insert(mark.at);
        if mark.at < *at {
            *at = mark.at;
        }
    }
    let mine = settings.get(&viewer).copied().unwrap_or_default();
    let mut seen: Vec<(Uuid, DateTime<Utc>)> = first
        .into_iter()
        .filter(|(user, _)| {
            *user != viewer
                && *user != item.sender_id
                && sees_reads(&mine, &settings.get(user).copied().unwrap_or_default())
        })
        .collect();
    seen.sort_by_key(|(user, at)| (*at, *user));
    Ok(seen)
}

/// Forgets read marks of members who are gone (kept small: one row per advance).
pub async fn forget(
    db: &impl ConnectionTrait,
    conversation: Uuid,
    user: Uuid,
) -> Result<(), Error> {
    read_mark::Entity::delete_many()
        .filter(read_mark::Column::ConversationId.eq(conversation))
        .filter(read_mark::Column::UserId.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user: Uuid, delivered: i64, read: i64) -> member::Model {
        member::Model {
            conversation_id: Uuid::nil(),
            user_id: user,
            role: "member".into(),
            last_read_seq: read,
            joined_at: Utc::now(),
            delivered_seq: delivered,
        }
    }

    #[test]
    fn status_needs_every_other_member_and_visible_reads() {
        let (me, bob, cat) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut settings: HashMap<Uuid, PrivacySettings> = [me, bob, cat]
            .into_iter()
            .map(|u| (u, PrivacySettings::default()))
            .collect();
        let members = vec![member(me, 5, 5), member(bob, 5, 5), member(cat, 5, 2)];
        assert_eq!(status(me, 5, &members, &settings), Status::Delivered);
        assert_eq!(status(me, 2, &members, &settings), Status::Read);
        assert_eq!(status(me, 6, &members, &settings), Status::Sent);
        // Cat hides read receipts: her reads never show, so at most delivered.
        settings.get_mut(&cat).unwrap().read_receipts = false;
        assert_eq!(status(me, 2, &members, &settings), Status::Delivered);
        // And if I hide mine, I see nobody's (reciprocal).
        settings.get_mut(&cat).unwrap().read_receipts = true;
        settings.get_mut(&me).unwrap().read_receipts = false;
        assert_eq!(status(me, 2, &members, &settings), Status::Delivered);
    }
}
