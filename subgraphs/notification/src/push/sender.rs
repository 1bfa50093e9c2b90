//! Sends the pushes waiting in `push_jobs`: each instance looks every second (and
//! at once when this process wrote one), claims each job with a conditional update,
//! sends it to every subscription of its user, and deletes it (see `push/mod.rs`
//! for why each is sent once).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use echostream_config::PushConfig;
use echostream_contracts::notification::NotificationKind;
use echostream_ports::clock::Clock;
use echostream_ports::push::{Outcome, Push, PushError, Pusher, Subscription, Urgency};
use echostream_presence_tracking::Tracker;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::entities::push_job::{self, Action};
use crate::entities::{notification, push_subscription};
use crate::feed::render;
use crate::preferences;

/// A claim this old belongs to an instance that died sending it: deleted unsent.
pub const STALE_CLAIM: TimeDelta = TimeDelta::minutes(10);
/// Jobs claimed per round.
const BATCH: u64 = 100;
/// How long a push waits for the names of the people it is about.
const NAMES_WAIT: TimeDelta = TimeDelta::minutes(1);

/// What became of a job.
enum Handled {
    /// Sent, or not to be sent: the job goes.
    Done,
    /// Not yet: the job stays for a later round.
    Later,
}

/// What the sender needs.
#[derive(Clone)]
pub struct Sender {
    pub db: DatabaseConnection,
    pub pusher: Arc<dyn Pusher>,
    pub presence: Arc<Tracker>,
    pub clock: Arc<dyn Clock>,
    pub config: PushConfig,
    /// Woken by this process's writes of jobs.
    pub wake: Arc<Notify>,
}

impl Sender {
    /// Sends until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) {
        tokio::spawn(async move {
            loop {
                match self.round().await {
                    Ok(n) if n == BATCH as usize => continue,
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "sending pushes failed; will retry"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }

    /// One round: the jobs this instance claimed and handled.
    pub async fn round(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        push_job::Entity::delete_many()
            .filter(push_job::Column::ClaimedAt.lt(Utc::now() - STALE_CLAIM))
            .exec(&self.db)
            .await?;
        let waiting = push_job::Entity::find()
            .filter(push_job::Column::ClaimedAt.is_null())
            .order_by_asc(push_job::Column::CreatedAt)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut handled = 0;
        for job in waiting {
            let claimed = push_job::Entity::update_many()
                .col_expr(push_job::Column::ClaimedAt, Expr::value(Utc::now()))
                .filter(push_job::Column::Id.eq(job.id))
                .filter(push_job::Column::ClaimedAt.is_null())
                .exec(&self.db)
                .await?
                .rows_affected;
            if claimed == 0 {
                continue; // another instance has it
            }
            match self.handle(&job, now).await {
                Ok(Handled::Done) => {}
                Ok(Handled::Later) => {
                    // Given back, for a later round.
                    push_job::Entity::update_many()
                        .col_expr(
                            push_job::Column::ClaimedAt,
                            Expr::value(Option::<DateTime<Utc>>::None),
                        )
                        .filter(push_job::Column::Id.eq(job.id))
                        .exec(&self.db)
                        .await?;
                    continue;
                }
                Err(err) => tracing::warn!(%err, job = %job.id, "a push was not sent"),
            }
            push_job::Entity::delete_by_id(job.id)
                .exec(&self.db)
                .await?;
            handled += 1;
        }
        Ok(handled)
    }

    async fn handle(&self, job: &push_job::Model, now: DateTime<Utc>) -> Result<Handled, Error> {
        let item = notification::Entity::find_by_id(job.notification_id)
            .one(&self.db)
            .await?;
        let (payload, urgency) = match job.action {
            Action::Show => {
                let Some(item) = item.filter(|n| n.read_at.is_none() && n.dismissed_at.is_none())
                else {
                    return Ok(Handled::Done); // read or gone since
                };
                if preferences::of(&self.db, job.user_id).await?.quiet(now) {
                    return Ok(Handled::Done); // held back: the feed has it
                }
                if self.presence.status(job.user_id).await?.connected > 0 {
                    return Ok(Handled::Done); // an open app hears it live
                }
                let written =
                    render::written(&self.db, std::slice::from_ref(&item), job.user_id).await?;
                // Names trail the notifications by a moment at most: the push waits
                // for them rather than say "Someone" (by the real clock, a minute).
                if !written.all_named && Utc::now() - item.created_at < NAMES_WAIT {
                    return Ok(Handled::Later);
                }
                let (title, text) = written.lines.into_iter().next().unwrap_or_default();
                let urgency = match item.kind {
                    NotificationKind::Mention | NotificationKind::Reply => Urgency::High,
                    _ => Urgency::Normal,
                };
                let payload = json!({
                    "type": "show",
                    "id": item.id,
                    "kind": item.kind,
                    "title": title,
                    "text": text,
                    "count": item.count,
                    "conversationId": item.conversation_id,
                    "messageId": item.message_id,
                    "userId": item.subject_id,
                });
                (payload, urgency)
            }
            Action::Withdraw => (
                json!({ "type": "withdraw", "id": job.notification_id }),
                Urgency::Normal,
            ),
        };
        if job.action == Action::Show {
            // Marked before sending: a read that comes while it is on its way
            // withdraws it.
            notification::Entity::update_many()
                .col_expr(notification::Column::PushedAt, Expr::value(now))
                .filter(notification::Column::Id.eq(job.notification_id))
                .exec(&self.db)
                .await?;
        }
        let mut payload = serde_json::to_vec(&payload).unwrap_or_default();
        payload.truncate(echostream_ports::push::MAX_PAYLOAD);
        let topic = job.notification_id.simple().to_string();
        let subscriptions = super::of_user(&self.db, job.user_id).await?;
        for sub in subscriptions {
            let to = Subscription {
                endpoint: sub.endpoint.clone(),
                p256dh: sub.p256dh.clone(),
                auth: sub.auth.clone(),
            };
            let push = Push {
                to: &to,
                payload: &payload,
                topic: Some(&topic),
                ttl: Duration::from_secs(self.config.ttl_secs),
                urgency,
            };
            match self.pusher.push(&push).await {
                Ok(Outcome::Accepted) => {}
                Ok(Outcome::Gone) => {
                    tracing::info!(subscription = %sub.id, "a push subscription is gone: removed");
                    push_subscription::Entity::delete_by_id(sub.id)
                        .exec(&self.db)
                        .await?;
                }
                Err(PushError::Subscription(why)) => {
                    tracing::warn!(subscription = %sub.id, %why, "a push was refused")
                }
                Err(err) => tracing::warn!(subscription = %sub.id, %err, "a push was not sent"),
            }
        }
        Ok(Handled::Done)
    }
}
