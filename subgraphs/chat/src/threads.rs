//! Threads: replies to one message (the root), kept out of the conversation's
//! timeline and its unread count unless also sent to the conversation.
//!
//! A reply in a thread is a message of the conversation like any other (it takes
//! the next `seq`, so the stream orders it among the rest, and every member hears
//! it, marked with its thread: `MessageSent.thread`), with `thread_root_id` set and,
//! unless also sent to the conversation, `in_timeline` false: the timeline's pages
//! (`history.rs`), `lastItem` and unread counts (`unread.rs`) leave it out, and the
//! thread's own page (`Message.thread.replies`) reads only the thread. Threads are
//! one level deep: answering a reply in a thread answers its root's thread.
//!
//! Each member has a read position per thread (`thread_reads`, moved only forward,
//! by `markThreadRead` or by replying); a thread's unread count is its replies from
//! others after it, derived like the conversation's. Its reply count, last reply and
//! participants are derived too, from the replies not deleted for everyone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use echostream_contracts::chat::{ThreadPlace, ThreadReadUpdated};
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::Chat;
use crate::entities::{hidden_message, member, message, thread_read};
use crate::messages::readable;

/// Most participants a thread's summary names (the latest to reply first).
pub const MAX_PARTICIPANTS: usize = 10;

/// The thread a reply of `me`'s to message `root` goes in: that message's, or, for a
/// reply in a thread, its root's.
pub async fn place(
    db: &DatabaseConnection,
    root: Uuid,
    me: &member::Model,
    also_in_conversation: bool,
) -> Result<ThreadPlace, Error> {
    let (found, _, _) = readable(db, root, me.user_id).await?;
    if found.conversation_id != me.conversation_id {
        return Err(Error::bad_input(
            "threadRootId must be a message of the same conversation",
        ));
    }
    let root = match found.thread_root_id {
        Some(root) => readable(db, root, me.user_id).await?.0,
        None => found,
    };
    match root.kind {
        message::Kind::Text => {}
        message::Kind::System => {
            return Err(Error::bad_input("a system item has no thread"));
        }
    }
    if root.deleted_at.is_some() {
        return Err(Error::conflict("this message was deleted for everyone"));
    }
    Ok(ThreadPlace {
        root_id: root.id,
        also_in_conversation,
        root_sender_id: Some(root.sender_id),
    })
}

/// What a thread is, seen from its root.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub replies: i64,
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Who replied, the latest first (at most [`MAX_PARTICIPANTS`]).
    pub participants: Vec<Uuid>,
}

/// The summaries of the threads of `roots` that have replies: two grouped queries
/// on the `(thread_root_id, seq)` index, however many roots.
pub async fn summaries(
    db: &impl ConnectionTrait,
    roots: &[Uuid],
) -> Result<HashMap<Uuid, Summary>, Error> {
    if roots.is_empty() {
        return Ok(HashMap::new());
    }
    let live = || {
        message::Entity::find()
            .filter(message::Column::ThreadRootId.is_in(roots.iter().copied()))
            .filter(message::Column::DeletedAt.is_null())
            .select_only()
            .column(message::Column::ThreadRootId)
    };
    let counts: Vec<(Uuid, i64, i64)> = live()
        .column_as(Expr::col(message::Column::Id).count(), "replies")
        .column_as(Expr::col(message::Column::Seq).max(), "latest")
        .group_by(message::Column::ThreadRootId)
        .into_tuple()
        .all(db)
        .await?;
    let senders: Vec<(Uuid, Uuid, i64)> = live()
        .column(message::Column::SenderId)
        .column_as(Expr::col(message::Column::Seq).max(), "latest")
        .group_by(message::Column::ThreadRootId)
        .group_by(message::Column::SenderId)
        .into_tuple()
        .all(db)
        .await?;
    // When each thread's latest reply was written.
    let latest: Vec<(Uuid, i64, DateTime<Utc>)> = message::Entity::find()
        .filter(message::Column::ThreadRootId.is_in(counts.iter().map(|c| c.0)))
        .filter(message::Column::Seq.is_in(counts.iter().map(|c| c.2)))
        .select_only()
        .column(message::Column::ThreadRootId)
        .column(message::Column::Seq)
        .column(message::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Summary> = counts
        .into_iter()
        .map(|(root, replies, newest)| {
            let summary = Summary {
                replies,
                last_reply_at: latest
                    .iter()
                    .find(|(r, seq, _)| *r == root && *seq == newest)
                    .map(|(_, _, at)| *at),
                participants: Vec::new(),
            };
            (root, summary)
        })
        .collect();
    let mut by_root: HashMap<Uuid, Vec<(i64, Uuid)>> = HashMap::new();
    for (root, sender, latest) in senders {
        by_root.entry(root).or_default().push((latest, sender));
    }
    for (root, mut senders) in by_root {
        senders.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(summary) = out.get_mut(&root) {
            summary.participants = senders
                .into_iter()
                .take(MAX_PARTICIPANTS)
                .map(|(_, sender)| sender)
                .collect();
        }
    }
    Ok(out)
}

/// Where `user` stands in each thread of `roots`: their read position (0 before
/// they read any) and the replies from others after it, neither deleted for
/// everyone nor for them, from where their history starts. One grouped count on the
/// `(thread_root_id, seq)` index, each root's range starting where they stand.
pub async fn reads(
    db: &impl ConnectionTrait,
    user: Uuid,
    roots: &[Uuid],
) -> Result<HashMap<Uuid, (i64, i64)>, Error> {
    if roots.is_empty() {
        return Ok(HashMap::new());
    }
    let positions: HashMap<Uuid, i64> = thread_read::Entity::find()
        .filter(thread_read::Column::UserId.eq(user))
        .filter(thread_read::Column::RootId.is_in(roots.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.root_id, p.read_seq))
        .collect();
    // Where the user's history starts in each root's conversation.
    let conversations: Vec<(Uuid, Uuid)> = message::Entity::find()
        .filter(message::Column::Id.is_in(roots.iter().copied()))
        .select_only()
        .column(message::Column::Id)
        .column(message::Column::ConversationId)
        .into_tuple()
        .all(db)
        .await?;
    let starts: HashMap<Uuid, i64> = member::Entity::find()
        .filter(member::Column::UserId.eq(user))
        .filter(member::Column::ConversationId.is_in(conversations.iter().map(|c| c.1)))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.conversation_id, m.history_from_seq))
        .collect();
    let mut ranges = Condition::any();
    for (root, conversation) in &conversations {
        let Some(from) = starts.get(conversation) else {
            continue; // not a member: nothing is theirs to read
        };
        let after = positions.get(root).copied().unwrap_or(0).max(*from);
        ranges = ranges.add(
            message::Column::ThreadRootId
                .eq(*root)
                .and(message::Column::Seq.gt(after)),
        );
    }
    let hidden = Query::select()
        .column(hidden_message::Column::MessageId)
        .from(hidden_message::Entity)
        .and_where(hidden_message::Column::UserId.eq(user))
        .to_owned();
    let unread: HashMap<Uuid, i64> = match starts.is_empty() {
        true => HashMap::new(),
        false => message::Entity::find()
            .filter(ranges)
            .filter(message::Column::SenderId.ne(user))
            .filter(message::Column::DeletedAt.is_null())
            .filter(message::Column::Id.not_in_subquery(hidden))
            .select_only()
            .column(message::Column::ThreadRootId)
            .column_as(Expr::col(message::Column::Id).count(), "unread")
            .group_by(message::Column::ThreadRootId)
            .into_tuple::<(Uuid, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect(),
    };
    Ok(roots
        .iter()
        .map(|r| {
            let read = positions.get(r).copied().unwrap_or(0);
            (*r, (read, unread.get(r).copied().unwrap_or(0)))
        })
        .collect())
}

/// Moves `user`'s read position in the thread of `reply` (a message just stored in
/// a thread) up to it; the event for their other devices, when it moved.
pub async fn read_up_to(
    txn: &impl ConnectionTrait,
    reply: &message::Model,
    user: Uuid,
) -> Result<Option<ThreadReadUpdated>, Error> {
    let Some(root) = reply.thread_root_id else {
        return Ok(None);
    };
    advance(txn, reply.conversation_id, root, user, reply.seq).await
}

/// Moves `user`'s read position in thread `root` forward to `seq` (never back);
/// the event, when it moved.
async fn advance(
    txn: &impl ConnectionTrait,
    conversation: Uuid,
    root: Uuid,
    user: Uuid,
    seq: i64,
) -> Result<Option<ThreadReadUpdated>, Error> {
    let before = thread_read::Entity::find_by_id((root, user))
        .one(txn)
        .await?;
    if before.as_ref().is_some_and(|b| b.read_seq >= seq) {
        return Ok(None);
    }
    thread_read::Entity::insert(thread_read::ActiveModel {
        root_id: sea_orm::Set(root),
        user_id: sea_orm::Set(user),
        conversation_id: sea_orm::Set(conversation),
        read_seq: sea_orm::Set(seq),
    })
    .on_conflict(
        OnConflict::columns([thread_read::Column::RootId, thread_read::Column::UserId])
            .update_column(thread_read::Column::ReadSeq)
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(Some(ThreadReadUpdated {
        conversation_id: conversation,
        root_id: root,
        user_id: user,
        read_seq: seq,
    }))
}

/// Records that `user` read the thread of message `root` up to `up_to` (beyond its
/// newest reply, up to that reply); positions only move forward. Returns the root.
pub async fn mark_read(
    chat: &Chat,
    user: Uuid,
    root: Uuid,
    up_to: i64,
) -> Result<message::Model, Error> {
    let (found, _, _) = readable(&chat.db, root, user).await?;
    if found.thread_root_id.is_some() {
        return Err(Error::bad_input(
            "messageId must be a thread's root, not a reply in it",
        ));
    }
    let newest: Option<i64> = message::Entity::find()
        .filter(message::Column::ThreadRootId.eq(found.id))
        .select_only()
        .column(message::Column::Seq)
        .order_by_desc(message::Column::Seq)
        .limit(1)
        .into_tuple()
        .one(&chat.db)
        .await?;
    let Some(newest) = newest else {
        return Ok(found);
    };
    let seq = up_to.min(newest);
    if seq <= 0 {
        return Ok(found);
    }
    let conversation = found.conversation_id;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let moved = advance(txn, conversation, found.id, user, seq).await?;
                let change = Change::new(found);
                Ok(match moved {
                    Some(event) => change.emit(&event, Some(user)),
                    None => change,
                })
            })
        })
        .await
}
