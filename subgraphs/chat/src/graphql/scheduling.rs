//! Scheduled messages as clients see them: `scheduleMessage`,
//! `editScheduledMessage`, `cancelScheduledMessage` and `scheduledMessages`.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use super::message::Message;
use crate::entities::scheduled_message::{self, State};
use crate::scheduling::{self, Schedule};

/// A message to send later.
#[derive(InputObject)]
pub struct ScheduleMessageInput {
    conversation_id: ID,
    body: String,
    /// When to send it: in the future, at most a year ahead.
    send_at: DateTime<Utc>,
    /// The message it answers, in the same conversation.
    reply_to: Option<ID>,
}

/// A message the viewer asked to send later.
pub struct ScheduledMessage(scheduled_message::Model);

#[Object]
impl ScheduledMessage {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn conversation_id(&self) -> ID {
        ID(self.0.conversation_id.to_string())
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn send_at(&self) -> DateTime<Utc> {
        self.0.send_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn state(&self) -> State {
        self.0.state
    }

    /// Why it could not be sent when its time came (state FAILED).
    async fn failure(&self) -> Option<&str> {
        self.0.failure.as_deref()
    }

    /// The message it became, once sent (while the viewer reads it).
    async fn message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        match self.0.message_id {
            Some(id) => super::readable_message(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// Reading the viewer's schedule.
#[derive(Default)]
pub struct SchedulingQuery;

#[Object]
impl SchedulingQuery {
    /// The viewer's messages waiting to be sent, and those that could not be (in one
    /// conversation, when given), soonest first.
    async fn scheduled_messages(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> Result<Vec<ScheduledMessage>> {
        let me = ctx.viewer()?.user_id;
        let conversation = conversation_id
            .map(|id| parse_id(&id, "conversationId"))
            .transpose()?;
        let found = scheduling::list(&app(ctx)?.db, me, conversation).await?;
        Ok(found.into_iter().map(ScheduledMessage).collect())
    }
}

/// Sending later.
#[derive(Default)]
pub struct SchedulingMutation;

#[Object]
impl SchedulingMutation {
    /// Schedules a message: sent at `sendAt` (within a second, even across a
    /// restart), once, if the viewer may still send there then.
    async fn schedule_message(
        &self,
        ctx: &Context<'_>,
        input: ScheduleMessageInput,
    ) -> Result<ScheduledMessage> {
        let me = ctx.viewer()?;
        let asked = Schedule {
            conversation_id: parse_id(&input.conversation_id, "conversationId")?,
            body: &input.body,
            send_at: input.send_at,
            reply_to: input
                .reply_to
                .map(|id| parse_id(&id, "replyTo"))
                .transpose()?,
        };
        let saved = scheduling::schedule(app(ctx)?, me.user_id, &me.device_id, asked).await?;
        Ok(ScheduledMessage(saved))
    }

    /// Changes the text or the time of a message still waiting (`CONFLICT` once it
    /// is being sent).
    async fn edit_scheduled_message(
        &self,
        ctx: &Context<'_>,
        id: ID,
        body: Option<String>,
        send_at: Option<DateTime<Utc>>,
    ) -> Result<ScheduledMessage> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        let saved = scheduling::edit(app(ctx)?, me, id, body.as_deref(), send_at).await?;
        Ok(ScheduledMessage(saved))
    }

    /// Cancels a message still waiting (`CONFLICT` once it is being sent).
    async fn cancel_scheduled_message(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<ScheduledMessage> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        let saved = scheduling::cancel(app(ctx)?, me, id).await?;
        Ok(ScheduledMessage(saved))
    }
}
