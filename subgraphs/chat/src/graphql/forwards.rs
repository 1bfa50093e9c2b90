//! Forwarding as clients ask for it: `forwardMessages`.

use async_graphql::{Context, ID, InputObject, Object, Result};
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use super::message::Message;
use crate::messages::forwards::{self, Forward};

/// Messages to forward, and where.
#[derive(InputObject)]
pub struct ForwardMessagesInput {
    /// Messages the viewer reads (1 to 20), copied in the order they were written.
    message_ids: Vec<ID>,
    /// Conversations of the viewer's (1 to 10).
    conversation_ids: Vec<ID>,
    /// Sent before the copies in each conversation, when given.
    comment: Option<String>,
    /// Made by the client once per forward and reused on every retry (1 to 64
    /// characters): each copy is sent once per conversation.
    idempotency_key: String,
}

/// Forwarding messages.
#[derive(Default)]
pub struct ForwardMutation;

#[Object]
impl ForwardMutation {
    /// Sends copies of messages to conversations, each copy marked `forwarded`
    /// (naming the original sender only to those who read the original), after an
    /// optional comment; returns every message sent, target by target.
    async fn forward_messages(
        &self,
        ctx: &Context<'_>,
        input: ForwardMessagesInput,
    ) -> Result<Vec<Message>> {
        let me = ctx.viewer()?;
        let ids = |list: &[ID], name: &str| {
            list.iter()
                .map(|id| parse_id(id, name))
                .collect::<Result<Vec<_>, _>>()
        };
        let messages = ids(&input.message_ids, "messageIds")?;
        let targets = ids(&input.conversation_ids, "conversationIds")?;
        let asked = Forward {
            messages: &messages,
            targets: &targets,
            comment: input.comment.as_deref(),
            idempotency_key: &input.idempotency_key,
        };
        let sent = forwards::forward(app(ctx)?, me.user_id, &me.device_id, asked).await?;
        Ok(sent.iter().map(Message::of).collect())
    }
}
