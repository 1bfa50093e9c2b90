//! Pins as clients see them: `pinMessage` / `unpinMessage`, `Message.pinned` and
//! `Conversation.pinnedMessages`.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_service::resolver::{RequestExt, parse_id};
use uuid::Uuid;

use super::app;
use super::message::Message;
use super::types::{User, user};
use crate::entities::{member, pin};
use crate::loaders::PinsLoader;
use crate::messages::pins;

/// Who pinned a message, and when.
#[derive(SimpleObject)]
pub struct Pin {
    pub pinned_by: User,
    pub pinned_at: DateTime<Utc>,
}

impl From<pin::Model> for Pin {
    fn from(p: pin::Model) -> Pin {
        Pin {
            pinned_by: user(p.pinned_by),
            pinned_at: p.pinned_at,
        }
    }
}

/// The pin of message `id`, if it is pinned (batched across the response).
pub(super) async fn of(ctx: &Context<'_>, id: Uuid) -> Result<Option<Pin>> {
    let found = ctx.loader_of::<PinsLoader, Uuid>()?.load_one(id).await?;
    Ok(found.map(Pin::from))
}

/// The messages pinned where `me` is a member that `me` reads, newest pin first.
pub(super) async fn pinned(ctx: &Context<'_>, me: &member::Model) -> Result<Vec<Message>> {
    let found = pins::pinned(&app(ctx)?.db, me).await?;
    Ok(found.iter().map(|(_, m)| Message::of(m)).collect())
}

/// Pinning messages.
#[derive(Default)]
pub struct PinMutation;

#[Object]
impl PinMutation {
    /// Pins a message in its conversation, for every member to see
    /// (`Conversation.pinnedMessages`), with a system item in the timeline. Whoever
    /// may send there may pin; at most `chat.max_pins_per_conversation` at once.
    async fn pin_message(&self, ctx: &Context<'_>, message_id: ID) -> Result<Message> {
        pin_or_unpin(ctx, message_id, true).await
    }

    /// Unpins a message, with a system item in the timeline.
    async fn unpin_message(&self, ctx: &Context<'_>, message_id: ID) -> Result<Message> {
        pin_or_unpin(ctx, message_id, false).await
    }
}

async fn pin_or_unpin(ctx: &Context<'_>, message_id: ID, pinned: bool) -> Result<Message> {
    let me = ctx.viewer()?.user_id;
    let id = parse_id(&message_id, "messageId")?;
    let saved = pins::pin(app(ctx)?, me, id, pinned).await?;
    Ok(Message::of(&saved))
}
