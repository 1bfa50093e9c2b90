//! Mute as clients see it: `muteConversation` / `unmuteConversation`, and
//! `Conversation.muted` / `mutedUntil` (see `mutes.rs`).

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use echostream_contracts::chat::Mute;
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use super::types::Conversation;
use crate::mutes;

/// Muting conversations.
#[derive(Default)]
pub struct MuteMutation;

#[Object]
impl MuteMutation {
    /// Mutes a conversation for the viewer: no notification of its messages, replies
    /// or reactions reaches them (a mention does, unless their preferences say
    /// otherwise), on any channel, until `until` (at most 366 days ahead) or, without
    /// it, until they unmute it. Its unread count still shows.
    async fn mute_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        until: Option<DateTime<Utc>>,
    ) -> Result<Conversation> {
        let mute = match until {
            Some(until) => Mute::Until { until },
            None => Mute::Always,
        };
        set(ctx, conversation_id, mute).await
    }

    /// Ends the viewer's mute of a conversation.
    async fn unmute_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> Result<Conversation> {
        set(ctx, conversation_id, Mute::Off).await
    }
}

async fn set(ctx: &Context<'_>, conversation_id: ID, mute: Mute) -> Result<Conversation> {
    let me = ctx.viewer()?.user_id;
    let id = parse_id(&conversation_id, "conversationId")?;
    Ok(Conversation(mutes::set(app(ctx)?, me, id, mute).await?))
}

/// Whether `mute` holds now, by the platform's clock.
pub(super) fn holds(ctx: &Context<'_>, mute: Mute) -> Result<bool> {
    Ok(mute.holds(app(ctx)?.ports.clock.now()))
}
