//! Delivered and read, per member: one delivered and one read position each, only
//! ever moving forward. A message's status for its sender, "seen by" in groups and
//! unread counts (`unread.rs`) all derive from these positions, so none can drift.
//!
//! Read receipts are reciprocal, as in WhatsApp: a member's read position shows to
//! another only when both have `readReceipts` on. Delivery always shows. A member
//! who hides their reads hides them completely: reading does not raise their
//! delivered position, leaves no read mark ("seen by" times that could reappear),
//! and tells the others nothing.
//!
//! What a move costs the members' streams (their replay windows): the reader's own
//! stream gets one `ReceiptChanged` (their other devices follow their read state),
//! and a member gets a `MessagesStatusChanged` only when the move takes the
//! aggregate of *their own* messages (delivered to every other member, read by
//! every other member) past one of them. So one message in a group of N, delivered
//! and read by everyone, costs about 2(N-1) appends in all, two per reader's own
//! stream and at most two to its sender, instead of one per member per move
//! (2N(N-1): 131,000 for 256 members).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use echostream_contracts::chat::{MessageSent, ReceiptUpdated, StatusChanged};
use echostream_contracts::profile::PrivacySettings;
use echostream_ports::events::outbox::Change;
use echostream_projections::privacy;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use crate::Chat;
use crate::conversations;
use crate::entities::{member, message, read_mark};

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
    // Reading what the member marked unread again moves that mark alone.
    if which == Mark::Read && me.unread_from_seq.is_some() && up_to <= me.last_read_seq {
        return crate::unread::reread(chat, &me, up_to).await;
    }
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
                let mut members = conversations::members(txn, conversation).await?;
                let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
                let settings = privacy::of_many(txn, &ids).await?;
                let hides_reads = !settings[&user].read_receipts;
                let mine = members
                    .iter()
                    .position(|m| m.user_id == user)
                    .ok_or_else(|| Error::not_found("no such conversation"))?;
                let before = members[mine].clone();
                // Reading implies delivery, unless the reader hides their reads: then
                // delivery moves only when marked, so that it cannot tell a read.
                let raise_delivered = which == Mark::Delivered || !hides_reads;
                let mut update = member::Entity::update_many()
                    .filter(member::Column::ConversationId.eq(conversation))
                    .filter(member::Column::UserId.eq(user));
                if raise_delivered {
                    let delivered = Expr::case(member::Column::DeliveredSeq.lt(up_to), up_to)
                        .finally(Expr::col(member::Column::DeliveredSeq));
                    update = update.col_expr(member::Column::DeliveredSeq, delivered.into());
                }
                update = match which {
                    Mark::Delivered => update.filter(member::Column::DeliveredSeq.lt(up_to)),
                    Mark::Read => update
                        .col_expr(member::Column::LastReadSeq, Expr::value(up_to))
                        .col_expr(member::Column::UnreadFromSeq, Expr::value(None::<i64>))
                        .filter(member::Column::LastReadSeq.lt(up_to)),
                };
                let moved = update.exec(txn).await?.rows_affected > 0;
                let now_me = member::Entity::find_by_id((conversation, user))
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("no such conversation"))?;
                members[mine] = now_me.clone();
                if !moved {
                    // Another call got there first.
                    return Ok(Change::new(now_me));
                }
                if which == Mark::Read && !hides_reads {
                    read_mark::ActiveModel {
                        conversation_id: Set(conversation),
                        seq: Set(up_to),
                        user_id: Set(user),
                        at: Set(now),
                    }
                    .insert(txn)
                    .await?;
                }
                let statuses =
                    status_changes(txn, conversation, &before, &members, &settings).await?;
                let receipt = ReceiptUpdated {
                    conversation_id: conversation,
                    user_id: user,
                    delivered_seq: now_me.delivered_seq,
                    read_seq: now_me.last_read_seq,
                    at: now,
                    member_ids: ids,
                };
                let mut change = Change::new(now_me).emit(&receipt, Some(user));
                for status in &statuses {
                    change = change.emit(status, Some(user));
                }
                Ok(change)
            })
        })
        .await
}

/// How far `member` has received, as the others see it: their delivered position,
/// raised by their read position only when their reads show at all (else reading
/// would show as delivery).
pub fn delivered_position(member: &member::Model, settings: &PrivacySettings) -> i64 {
    if settings.read_receipts {
        member.delivered_seq.max(member.last_read_seq)
    } else {
        member.delivered_seq
    }
}

/// What every member but `owner` has received, and (when all their reads show to
/// `owner`) read; `None` when `owner` is alone.
fn aggregate(
    owner: Uuid,
    members: &[member::Model],
    settings: &HashMap<Uuid, PrivacySettings>,
) -> Option<(i64, Option<i64>)> {
    let mine = settings.get(&owner).copied().unwrap_or_default();
    let others: Vec<&member::Model> = members.iter().filter(|m| m.user_id != owner).collect();
    let delivered = others
        .iter()
        .map(|m| delivered_position(m, &settings.get(&m.user_id).copied().unwrap_or_default()))
        .min()?;
    let reads_show = others.iter().all(|m| {
        sees_reads(
            &mine,
            &settings.get(&m.user_id).copied().unwrap_or_default(),
        )
    });
    let read = reads_show.then(|| others.iter().map(|m| m.last_read_seq).min().unwrap_or(0));
    Some((delivered, read))
}

/// The members whose own messages' aggregate moved past one of them when one
/// member's position went from `before` to where `members` now have it.
async fn status_changes(
    txn: &impl ConnectionTrait,
    conversation: Uuid,
    before: &member::Model,
    members: &[member::Model],
    settings: &HashMap<Uuid, PrivacySettings>,
) -> Result<Vec<StatusChanged>, Error> {
    let earlier: Vec<member::Model> = members
        .iter()
        .map(|m| {
            if m.user_id == before.user_id {
                before.clone()
            } else {
                m.clone()
            }
        })
        .collect();
    // Each candidate with the ranges of seq its aggregate moved over.
    let mut candidates = Vec::new();
    let mut ranges: BTreeMap<(i64, i64), HashSet<Uuid>> = BTreeMap::new();
    for owner in members.iter().map(|m| m.user_id) {
        if owner == before.user_id {
            continue;
        }
        let (Some(was), Some(now)) = (
            aggregate(owner, &earlier, settings),
            aggregate(owner, members, settings),
        ) else {
            continue;
        };
        let mut moved = Vec::new();
        if now.0 > was.0 {
            moved.push((was.0, now.0));
        }
        if let (Some(from), Some(to)) = (was.1, now.1)
            && to > from
        {
            moved.push((from, to));
        }
        if moved.is_empty() {
            continue;
        }
        for range in &moved {
            ranges.entry(*range).or_default();
        }
        candidates.push((owner, now, moved));
    }
    // Who sent messages in each range: a handful of distinct ranges (the
    // aggregate is the lowest position but one's, or the lowest but two's).
    for ((from, to), senders) in ranges.iter_mut() {
        let found: Vec<Uuid> = message::Entity::find()
            .select_only()
            .column(message::Column::SenderId)
            .distinct()
            .filter(message::Column::ConversationId.eq(conversation))
            .filter(message::Column::Seq.gt(*from))
            .filter(message::Column::Seq.lte(*to))
            .filter(message::Column::Kind.eq(message::Kind::Text))
            .into_tuple()
            .all(txn)
            .await?;
        senders.extend(found);
    }
    Ok(candidates
        .into_iter()
        .filter(|(owner, _, moved)| moved.iter().any(|r| ranges[r].contains(owner)))
        .map(|(owner, (delivered, read), _)| StatusChanged {
            conversation_id: conversation,
            user_id: owner,
            delivered_seq: delivered,
            read_seq: read,
        })
        .collect())
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
    let delivered = others.iter().all(|m| {
        delivered_position(m, &settings.get(&m.user_id).copied().unwrap_or_default()) >= seq
    });
    if delivered {
        Status::Delivered
    } else {
        Status::Sent
    }
}

/// Who among the other members has read the item at `seq`, and when their read
/// position first passed it, earliest first; only members whose read receipts
/// `viewer` sees. `marks` are the conversation's read marks at or after the item
/// (`loaders::ReadMarksLoader` fetches them for a whole response at once).
pub fn seen_by(
    viewer: Uuid,
    item: &MessageSent,
    marks: &[read_mark::Model],
    settings: &HashMap<Uuid, PrivacySettings>,
) -> Vec<(Uuid, DateTime<Utc>)> {
    let mut first: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for mark in marks.iter().filter(|m| m.seq >= item.seq) {
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
    seen
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
            role: crate::conversations::permissions::Role::Member,
            last_read_seq: read,
            joined_at: Utc::now(),
            delivered_seq: delivered,
            history_from_seq: 0,
            unread_from_seq: None,
            muted: false,
            muted_until: None,
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
