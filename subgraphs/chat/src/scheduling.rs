//! Scheduled messages: a member asks for a message to be sent at a time; until then
//! they list, edit and cancel it; at its time it is sent like any other message,
//! with membership, blocks and privacy asked again then (a refusal leaves it
//! `Failed`, with the reason, for its sender to see).
//!
//! The schedule is durable: rows in `scheduled_messages`, not sleeping tasks. Every
//! instance runs a [`Scheduler`] that wakes when the earliest pending message is due
//! (at least once a second, so a message scheduled on another instance goes out
//! within a second of its time too, and after a restart at once). A worker claims a
//! row by moving it from `Pending` to `Sending` in one conditional update, so of two
//! instances exactly one sends it; the message's idempotency key is the schedule's
//! id, so a worker that stopped midway and is relieved (after [`CLAIM_EXPIRES`])
//! cannot send it twice either. Editing and cancelling are the same conditional
//! update, so neither can slip in once sending began.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Chat;
use crate::conversations::{self, groups};
use crate::entities::scheduled_message::{self, State};
use crate::messages::{self, Draft};

/// Most messages one member may have waiting.
pub const MAX_PENDING: u64 = 100;
/// How far ahead a message may be scheduled.
pub const MAX_AHEAD_DAYS: i64 = 366;
/// A claim older than this is taken to be a worker that stopped: another sends.
pub const CLAIM_EXPIRES: Duration = Duration::from_secs(30);
/// The longest a worker sleeps between looks.
const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(1);
/// Rows one round takes at most.
const BATCH: u64 = 100;

/// What a member asks to send later.
pub struct Schedule<'a> {
    pub conversation_id: Uuid,
    pub body: &'a str,
    pub send_at: DateTime<Utc>,
    pub reply_to: Option<Uuid>,
}

fn checked_time(send_at: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let now = Utc::now();
    if send_at <= now || send_at > now + chrono::Duration::days(MAX_AHEAD_DAYS) {
        return Err(Error::bad_input(format!(
            "sendAt must be in the future, at most {MAX_AHEAD_DAYS} days ahead"
        )));
    }
    Ok(send_at.trunc_subsecs(6))
}

/// Schedules a message of `sender`'s (sent later from `device`).
pub async fn schedule(
    chat: &Chat,
    sender: Uuid,
    device: &str,
    asked: Schedule<'_>,
) -> Result<scheduled_message::Model, Error> {
    let body = messages::checked_body(asked.body)?.to_string();
    let send_at = checked_time(asked.send_at)?;
    let (conversation, me) =
        conversations::membership(&chat.db, asked.conversation_id, sender).await?;
    if !groups::may_send(&conversation, me.role) {
        return Err(Error::forbidden("only admins may send in this group"));
    }
    if let Some(id) = asked.reply_to {
        messages::quotable(&chat.db, id, &me).await?;
    }
    let waiting = scheduled_message::Entity::find()
        .filter(scheduled_message::Column::SenderId.eq(sender))
        .filter(scheduled_message::Column::State.eq(State::Pending))
        .count(&chat.db)
        .await?;
    if waiting >= MAX_PENDING {
        return Err(Error::conflict(format!(
            "at most {MAX_PENDING} messages may wait to be sent: cancel one first"
        )));
    }
    let saved = scheduled_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversation_id: Set(asked.conversation_id),
        sender_id: Set(sender),
        sender_device: Set(device.to_string()),
        body: Set(body),
        reply_to_id: Set(asked.reply_to),
        send_at: Set(send_at),
        created_at: Set(Utc::now().trunc_subsecs(6)),
        state: Set(State::Pending),
        claimed_at: Set(None),
        message_id: Set(None),
        failure: Set(None),
    }
    .insert(&chat.db)
    .await?;
    chat.scheduler.wake();
    Ok(saved)
}

/// Changes the text or time of `sender`'s scheduled message `id` while it waits.
pub async fn edit(
    chat: &Chat,
    sender: Uuid,
    id: Uuid,
    body: Option<&str>,
    send_at: Option<DateTime<Utc>>,
) -> Result<scheduled_message::Model, Error> {
    let mut update = scheduled_message::Entity::update_many();
    if let Some(body) = body {
        let body = messages::checked_body(body)?.to_string();
        update = update.col_expr(scheduled_message::Column::Body, Expr::value(body));
    }
    if let Some(send_at) = send_at {
        let send_at = checked_time(send_at)?;
        update = update.col_expr(scheduled_message::Column::SendAt, Expr::value(send_at));
    }
    if body.is_none() && send_at.is_none() {
        return mine(&chat.db, sender, id).await;
    }
    let saved = while_pending(chat, sender, id, update).await?;
    chat.scheduler.wake();
    Ok(saved)
}

/// Cancels `sender`'s scheduled message `id` while it waits.
pub async fn cancel(
    chat: &Chat,
    sender: Uuid,
    id: Uuid,
) -> Result<scheduled_message::Model, Error> {
    let update = scheduled_message::Entity::update_many().col_expr(
        scheduled_message::Column::State,
        Expr::value(State::Cancelled),
    );
    while_pending(chat, sender, id, update).await
}

/// Applies `update` to `sender`'s message `id` if it still waits.
async fn while_pending(
    chat: &Chat,
    sender: Uuid,
    id: Uuid,
    update: sea_orm::UpdateMany<scheduled_message::Entity>,
) -> Result<scheduled_message::Model, Error> {
    let changed = update
        .filter(scheduled_message::Column::Id.eq(id))
        .filter(scheduled_message::Column::SenderId.eq(sender))
        .filter(scheduled_message::Column::State.eq(State::Pending))
        .exec(&chat.db)
        .await?;
    let now = mine(&chat.db, sender, id).await?;
    if changed.rows_affected == 0 {
        return Err(Error::conflict(
            "this message no longer waits: it was sent, is being sent, or was cancelled",
        ));
    }
    Ok(now)
}

/// `sender`'s scheduled message `id` (`NOT_FOUND` for anyone else's).
async fn mine(
    db: &DatabaseConnection,
    sender: Uuid,
    id: Uuid,
) -> Result<scheduled_message::Model, Error> {
    scheduled_message::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| s.sender_id == sender)
        .ok_or_else(|| Error::not_found("no such scheduled message"))
}

/// `sender`'s messages still waiting, and those that failed (in `conversation`
/// alone, when given), soonest first.
pub async fn list(
    db: &DatabaseConnection,
    sender: Uuid,
    conversation: Option<Uuid>,
) -> Result<Vec<scheduled_message::Model>, Error> {
    let mut query = scheduled_message::Entity::find()
        .filter(scheduled_message::Column::SenderId.eq(sender))
        .filter(scheduled_message::Column::State.is_in([
            State::Pending,
            State::Sending,
            State::Failed,
        ]));
    if let Some(c) = conversation {
        query = query.filter(scheduled_message::Column::ConversationId.eq(c));
    }
    Ok(query
        .order_by_asc(scheduled_message::Column::SendAt)
        .limit(MAX_PENDING * 2)
        .all(db)
        .await?)
}

/// One instance's worker that sends scheduled messages when they are due.
#[derive(Default)]
pub struct Scheduler {
    wake: Notify,
}

impl Scheduler {
    /// Asks the worker to look again now (a schedule was made or moved).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs the worker until `shutdown`.
    pub fn spawn(chat: Arc<Chat>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            loop {
                let wait = match next_due(&chat.db).await {
                    Ok(Some(at)) => (at - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .min(LOOK_AT_LEAST_EVERY),
                    Ok(None) => LOOK_AT_LEAST_EVERY,
                    Err(err) => {
                        tracing::warn!(%err, "scheduled messages: cannot read the schedule");
                        LOOK_AT_LEAST_EVERY
                    }
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                    _ = chat.scheduler.wake.notified() => continue,
                }
                if let Err(err) = round(&chat).await {
                    tracing::warn!(%err, "scheduled messages: a round failed");
                }
            }
        });
    }
}

/// When the earliest waiting message is due.
async fn next_due(db: &DatabaseConnection) -> Result<Option<DateTime<Utc>>, Error> {
    Ok(scheduled_message::Entity::find()
        .select_only()
        .column(scheduled_message::Column::SendAt)
        .filter(scheduled_message::Column::State.eq(State::Pending))
        .order_by_asc(scheduled_message::Column::SendAt)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await?)
}

/// Sends what is due (and what a stopped worker left claimed); returns how many
/// this instance sent.
pub async fn round(chat: &Chat) -> Result<usize, Error> {
    let now = Utc::now();
    let relieved = now - chrono::Duration::from_std(CLAIM_EXPIRES).unwrap_or_default();
    let claimable = Condition::any()
        .add(
            Condition::all()
                .add(scheduled_message::Column::State.eq(State::Pending))
                .add(scheduled_message::Column::SendAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(scheduled_message::Column::State.eq(State::Sending))
                .add(scheduled_message::Column::ClaimedAt.lt(relieved)),
        );
    let due = scheduled_message::Entity::find()
        .filter(claimable.clone())
        .order_by_asc(scheduled_message::Column::SendAt)
        .limit(BATCH)
        .all(&chat.db)
        .await?;
    let mut sent = 0;
    for row in due {
        let claimed = scheduled_message::Entity::update_many()
            .col_expr(
                scheduled_message::Column::State,
                Expr::value(State::Sending),
            )
            .col_expr(
                scheduled_message::Column::ClaimedAt,
                Expr::value(Utc::now()),
            )
            .filter(scheduled_message::Column::Id.eq(row.id))
            .filter(claimable.clone())
            .exec(&chat.db)
            .await?;
        if claimed.rows_affected == 0 {
            continue; // another instance has it, or it was cancelled meanwhile
        }
        // Read again: the text as it was when the claim closed it to edits.
        let Some(row) = scheduled_message::Entity::find_by_id(row.id)
            .one(&chat.db)
            .await?
        else {
            continue;
        };
        let draft = Draft {
            conversation_id: row.conversation_id,
            body: &row.body,
            idempotency_key: &format!("scheduled:{}", row.id),
            reply_to: row.reply_to_id,
            forwarded: None,
            files: messages::Files::Uploaded(&[]),
            thread: None,
        };
        let outcome = messages::send(chat, row.sender_id, &row.sender_device, draft).await;
        let mut done: scheduled_message::ActiveModel = row.clone().into();
        match outcome {
            Ok(message) => {
                done.state = Set(State::Sent);
                done.message_id = Set(Some(message.id));
                sent += 1;
            }
            // Not sent for now: the claim lapses and a worker tries again.
            Err(err @ (Error::Internal(_) | Error::Unavailable(_))) => {
                tracing::warn!(%err, id = %row.id, "scheduled message not sent yet");
                continue;
            }
            Err(refused) => {
                done.state = Set(State::Failed);
                done.failure = Set(Some(refused.to_string()));
            }
        }
        done.update(&chat.db).await?;
    }
    Ok(sent)
}
