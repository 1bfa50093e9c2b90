//! Threads at the edge: a root message's `thread` (its summary, the viewer's place
//! in it, its replies as a connection) and `markThreadRead`; thin translations to
//! `threads.rs`.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use echostream_service::pages::FromEdges;
use echostream_service::resolver::{RequestExt, parse_id};
use uuid::Uuid;

use super::message::{Message, MessageConnection};
use super::types::{User, user};
use super::{app, members_of};
use crate::history::{self, Arguments, Window};
use crate::loaders::{ThreadReadsLoader, ThreadsLoader};
use crate::threads::{self, Summary};

/// The replies to one message, seen from it.
pub struct Thread {
    pub conversation_id: Uuid,
    pub root_id: Uuid,
    pub summary: Summary,
}

impl Thread {
    /// The thread of `root` in `conversation`, when it has replies.
    pub async fn of(
        ctx: &Context<'_>,
        conversation_id: Uuid,
        root_id: Uuid,
    ) -> Result<Option<Thread>> {
        let loader = ctx.loader::<ThreadsLoader>()?;
        Ok(loader.load_one(root_id).await?.map(|summary| Thread {
            conversation_id,
            root_id,
            summary,
        }))
    }

    /// The viewer's (read position, unread replies) here.
    async fn mine(&self, ctx: &Context<'_>) -> Result<(i64, i64)> {
        let me = ctx.viewer()?.user_id;
        let loader = ctx.loader_of::<ThreadReadsLoader, (Uuid, Uuid)>()?;
        Ok(loader.load_one((me, self.root_id)).await?.unwrap_or((0, 0)))
    }
}

#[Object]
impl Thread {
    /// Replies, not counting those deleted for everyone.
    async fn reply_count(&self) -> i64 {
        self.summary.replies
    }

    async fn last_reply_at(&self) -> Option<DateTime<Utc>> {
        self.summary.last_reply_at
    }

    /// Who replied, the latest first (at most ten).
    async fn participants(&self) -> Vec<User> {
        self.summary.participants.iter().map(|u| user(*u)).collect()
    }

    /// The `seq` of the last reply the viewer read here (0: none).
    async fn last_read_seq(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.mine(ctx).await?.0)
    }

    /// Replies from others after the viewer's read position.
    async fn unread_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.mine(ctx).await?.1)
    }

    /// The replies, paged by `seq` as a conversation's messages are: `first`/`after`
    /// forward, `last`/`before` backward (the newest 50 by default).
    async fn replies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<MessageConnection> {
        let me = ctx.viewer()?.user_id;
        let db = &app(ctx)?.db;
        let members = members_of(ctx, self.conversation_id).await?;
        let Some(mine) = members.iter().find(|m| m.user_id == me) else {
            return Ok(MessageConnection::from_edges(Vec::new(), false, false));
        };
        let args = Arguments {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
            around: None,
        };
        let from = mine.history_from_seq;
        let window = Window::new(db, self.conversation_id, from, args).await?;
        let reader = history::Reader {
            conversation: self.conversation_id,
            user: me,
            from,
            thread: Some(self.root_id),
        };
        let page = history::page(db, reader, window).await?;
        let edges = page
            .items
            .iter()
            .map(|m| (history::cursor(self.conversation_id, m.seq), Message::of(m)))
            .collect();
        Ok(MessageConnection::from_edges(
            edges,
            page.has_previous,
            page.has_next,
        ))
    }
}

/// Thread writes.
#[derive(Default)]
pub struct ThreadMutation;

#[Object]
impl ThreadMutation {
    /// Records that the viewer read the thread of message `messageId` (its root) up
    /// to `upToSeq` (beyond its newest reply, up to that reply); positions only move
    /// forward, and the viewer's other devices hear `ThreadReadChanged`. Returns the
    /// root.
    async fn mark_thread_read(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        up_to_seq: i64,
    ) -> Result<Message> {
        let me = ctx.viewer()?.user_id;
        let root = parse_id(&message_id, "messageId")?;
        let found = threads::mark_read(app(ctx)?, me, root, up_to_seq).await?;
        Ok(Message::of(&found))
    }
}
