//! Reactions as clients see them: `addReaction` / `removeReaction`, and on each
//! `Message` its `reactions` (per emoji) and `reactors` (who, as a connection).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_service::pages::{FromEdges, Page, cursor};
use echostream_service::resolver::{RequestExt, parse_id};
use uuid::Uuid;

use super::app;
use super::message::Message;
use super::types::{User, user};
use crate::entities::reaction;
use crate::loaders::ReactionsLoader;
use crate::messages::reactions;

/// One emoji on a message.
#[derive(SimpleObject)]
pub struct Reaction {
    /// The emoji, fully qualified (with its presentation selector and skin tone).
    pub emoji: String,
    /// How many members reacted with it.
    pub count: i32,
    /// Whether the viewer is one of them.
    pub reacted_by_me: bool,
}

/// A member's reaction, and when.
#[derive(SimpleObject)]
pub struct Reactor {
    pub user: User,
    pub emoji: String,
    pub reacted_at: DateTime<Utc>,
}

echostream_service::connection!(ReactorConnection, ReactorEdge, Reactor);

/// The reactions of message `id` as the viewer sees them, one per emoji, oldest
/// first (batched across the response).
pub(super) async fn of(ctx: &Context<'_>, id: Uuid) -> Result<Vec<Reaction>> {
    let me = ctx.viewer()?.user_id;
    let found = ctx
        .loader_of::<ReactionsLoader, (Uuid, Uuid)>()?
        .load_one((id, me))
        .await?
        .unwrap_or_default();
    Ok(found
        .into_iter()
        .map(|s| Reaction {
            emoji: s.emoji,
            count: i32::try_from(s.count).unwrap_or(i32::MAX),
            reacted_by_me: s.mine > 0,
        })
        .collect())
}

/// Who reacted to message `id` (with `emoji` alone, when given), oldest first.
pub(super) async fn reactors(
    ctx: &Context<'_>,
    id: Uuid,
    emoji: Option<String>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ReactorConnection> {
    let page = Page::new(first, after.as_deref())?;
    let emoji = emoji.map(|e| reactions::emoji(&e)).transpose()?;
    let db = &app(ctx)?.db;
    let mut found = reactions::reactors(db, id, emoji, page.after, page.first + 1).await?;
    let more = found.len() as u64 > page.first;
    found.truncate(page.first as usize);
    let edges = found
        .into_iter()
        .map(|r: reaction::Model| {
            (
                cursor(r.reacted_at, r.user_id),
                Reactor {
                    user: user(r.user_id),
                    emoji: r.emoji,
                    reacted_at: r.reacted_at,
                },
            )
        })
        .collect();
    Ok(ReactorConnection::from_edges(
        edges,
        page.after.is_some(),
        more,
    ))
}

/// Reacting to messages.
#[derive(Default)]
pub struct ReactionMutation;

#[Object]
impl ReactionMutation {
    /// Adds the viewer's reaction `emoji` (exactly one emoji) to a message they read;
    /// adding it again changes nothing. A message carries at most
    /// `chat.max_reactions_per_message` different emoji.
    async fn add_reaction(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        emoji: String,
    ) -> Result<Message> {
        react(ctx, message_id, &emoji, true).await
    }

    /// Removes the viewer's reaction `emoji` from a message; removing one that is not
    /// there changes nothing.
    async fn remove_reaction(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        emoji: String,
    ) -> Result<Message> {
        react(ctx, message_id, &emoji, false).await
    }
}

async fn react(ctx: &Context<'_>, message_id: ID, emoji: &str, add: bool) -> Result<Message> {
    let me = ctx.viewer()?.user_id;
    let id = parse_id(&message_id, "messageId")?;
    let saved = reactions::react(app(ctx)?, me, id, emoji, add).await?;
    Ok(Message::of(&saved))
}
