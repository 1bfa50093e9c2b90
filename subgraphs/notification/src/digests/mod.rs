//! Email digests: a user who is offline with notifications they have not seen gets
//! one mail listing them, once they waited `notifications.digest_delay_secs`, at most
//! one per `notifications.digest_interval_secs`, never while do-not-disturb or quiet
//! hours hold, and only of notifications whose kind they want by email (and that no
//! mute silenced: `preferences::reach` decided that when each was made).
//!
//! **Exactly once, with any number of instances.** Every instance looks every
//! `digest_every_secs` for users with due notifications. Claiming a digest is one
//! transaction: it marks the user's due notifications with the digest's id (only
//! those not marked yet: of two instances, the second finds none, as its update waits
//! for the first's to commit), moves the user's slot (only if the interval has
//! passed since the last digest: the second instance finds it moved, and rolls
//! back), and writes `notification.digest.due` to the outbox. So each notification
//! goes in at most one digest, each user gets at most one per interval, and the
//! event is published once whatever crashes. Auth, which alone holds addresses,
//! mails it once per digest id (see auth's `digests.rs`).
//!
//! The clock is the clock port's: tests move it instead of waiting.

pub mod links;
pub mod render;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use echostream_config::NotificationsConfig;
use echostream_contracts::notification::DigestDue;
use echostream_ports::clock::Clock;
use echostream_ports::events::outbox::{Change, Relay};
use echostream_presence_tracking::Tracker;
use echostream_service::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::entities::{digest, digest_slot, notification};
use crate::feed::render as feed_render;
use crate::preferences;
use links::LinkKey;

/// Users looked at per round.
const USERS_PER_ROUND: u64 = 200;
/// Notifications one digest lists at most (it says how many more there are).
const LINES: usize = 20;
/// How long a digest waits for the names of the people it lists.
const NAMES_WAIT: TimeDelta = TimeDelta::minutes(5);

/// What the digest worker needs.
#[derive(Clone)]
pub struct Digests {
    pub db: DatabaseConnection,
    pub relay: Relay,
    pub presence: Arc<Tracker>,
    pub clock: Arc<dyn Clock>,
    pub config: NotificationsConfig,
    pub key: LinkKey,
    /// Where people reach the gateway (`gateway.public_url`).
    pub public_url: String,
    /// The last user looked at: each round goes on after it (and wraps around), so
    /// users who stay online with due notifications cannot keep the others waiting.
    pub after: Arc<std::sync::Mutex<Option<Uuid>>>,
}

/// The due notifications of `user` (or of everyone, with `None`) at `now`: meant for
/// email, not in a digest yet, unread, in the feed or not, made before the delay.
fn due(config: &NotificationsConfig, now: DateTime<Utc>) -> Condition {
    let cutoff = now - TimeDelta::seconds(config.digest_delay_secs as i64);
    Condition::all()
        .add(notification::Column::Email.eq(true))
        .add(notification::Column::DigestId.is_null())
        .add(notification::Column::ReadAt.is_null())
        .add(notification::Column::DismissedAt.is_null())
        .add(notification::Column::CreatedAt.lte(cutoff))
}

impl Digests {
    /// Looks every `digest_every_secs` until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let every = Duration::from_secs(self.config.digest_every_secs);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                match self.round().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(digests = n, "email digests due"),
                    Err(err) => tracing::warn!(%err, "looking for digests failed; will retry"),
                }
            }
        });
    }

    /// One look: the digests claimed (and told to auth) now.
    pub async fn round(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let after = *self.after.lock().unwrap_or_else(|p| p.into_inner());
        let mut query = notification::Entity::find()
            .select_only()
            .column(notification::Column::UserId)
            .distinct()
            .filter(due(&self.config, now))
            .order_by_asc(notification::Column::UserId)
            .limit(USERS_PER_ROUND);
        if let Some(after) = after {
            query = query.filter(notification::Column::UserId.gt(after));
        }
        let users: Vec<Uuid> = query.into_tuple().all(&self.db).await?;
        // A short round has reached the end: the next starts from the beginning.
        *self.after.lock().unwrap_or_else(|p| p.into_inner()) = users
            .last()
            .copied()
            .filter(|_| users.len() as u64 == USERS_PER_ROUND);
        let mut claimed = 0;
        for user in users {
            let prefs = preferences::of(&self.db, user).await?;
            if prefs.quiet(now) {
                continue;
            }
            let present = self.presence.status(user).await?.devices > 0;
            if present {
                continue;
            }
            if self.claim(user, now).await? {
                claimed += 1;
            }
        }
        Ok(claimed)
    }

    /// Claims and writes `user`'s digest at `now`; false when another instance
    /// claimed it first or the interval has not passed.
    async fn claim(&self, user: Uuid, now: DateTime<Utc>) -> Result<bool, Error> {
        let digest_id = Uuid::now_v7();
        let interval = TimeDelta::seconds(self.config.digest_interval_secs as i64);
        let this = self.clone();
        let claimed = self
            .relay
            .write(move |txn| {
                Box::pin(async move {
                    let marked = notification::Entity::update_many()
                        .col_expr(notification::Column::DigestId, Expr::value(digest_id))
                        .filter(notification::Column::UserId.eq(user))
                        .filter(due(&this.config, now))
                        .exec(txn)
                        .await?
                        .rows_affected;
                    if marked == 0 {
                        return Ok(Change::new(false));
                    }
                    if !take_slot(txn, user, now, interval).await? {
                        // Not due yet (or another instance sent one): undo the marks.
                        return Err(Error::conflict("digest not due"));
                    }
                    let event = this.write(txn, digest_id, user, marked, now).await?;
                    Ok(Change::new(true).emit(&event, None))
                })
            })
            .await;
        match claimed {
            Ok(claimed) => Ok(claimed),
            Err(Error::Conflict(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Records digest `id` of `user`'s `count` marked notifications and writes it.
    async fn write(
        &self,
        txn: &impl ConnectionTrait,
        id: Uuid,
        user: Uuid,
        count: u64,
        now: DateTime<Utc>,
    ) -> Result<DigestDue, Error> {
        let rows = notification::Entity::find()
            .filter(notification::Column::DigestId.eq(id))
            .order_by_desc(notification::Column::UpdatedAt)
            .limit(LINES as u64)
            .all(txn)
            .await?;
        let written = feed_render::written(txn, &rows, user).await?;
        // Names come from auth's and profile's events, which may trail the
        // notifications by a moment: a digest waits for them (a few minutes at most,
        // by the real clock: it is about events travelling, not about people).
        let newest = rows.iter().map(|r| r.created_at).max();
        if !written.all_named && newest.is_some_and(|at| Utc::now() - at < NAMES_WAIT) {
            return Err(Error::conflict("names not known yet"));
        }
        let name = written.reader;
        let mut lines: Vec<render::Line> = written
            .lines
            .into_iter()
            .map(|(title, text)| render::Line { title, text })
            .collect();
        let more = count as usize - lines.len().min(count as usize);
        if more > 0 {
            lines.push(render::Line {
                title: "and more".into(),
                text: format!("{more} other notifications"),
            });
        }
        let unsubscribe_url = format!(
            "{}/unsubscribe?token={}",
            self.public_url,
            self.key.sign(UNSUBSCRIBE, user)
        );
        let written = render::digest(
            name.as_deref().unwrap_or("there"),
            &lines,
            &self.public_url,
            &unsubscribe_url,
        );
        digest::Entity::insert(digest::ActiveModel {
            id: Set(id),
            user_id: Set(user),
            items: Set(count as i32),
            created_at: Set(now),
        })
        .exec_without_returning(txn)
        .await?;
        Ok(DigestDue {
            digest_id: id,
            user_id: user,
            subject: written.subject,
            text: written.text,
            html: written.html,
            unsubscribe_url,
        })
    }
}

/// What unsubscribe links are signed for.
pub const UNSUBSCRIBE: &str = "unsubscribe";

/// Moves `user`'s digest slot to `now` if their last digest is at least `interval`
/// old; whether it moved (of two instances, the second waits for the first's row
/// lock and then finds it moved).
async fn take_slot(
    txn: &impl ConnectionTrait,
    user: Uuid,
    now: DateTime<Utc>,
    interval: TimeDelta,
) -> Result<bool, Error> {
    digest_slot::Entity::insert(digest_slot::ActiveModel {
        user_id: Set(user),
        last_at: Set(DateTime::<Utc>::UNIX_EPOCH),
    })
    .on_conflict(
        OnConflict::column(digest_slot::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let moved = digest_slot::Entity::update_many()
        .col_expr(digest_slot::Column::LastAt, Expr::value(now))
        .filter(digest_slot::Column::UserId.eq(user))
        .filter(digest_slot::Column::LastAt.lte(now - interval))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(moved == 1)
}

/// Unsubscribes whoever `token` names from notification email: every kind's email
/// channel off. `BAD_USER_INPUT` for a token this subgraph did not sign.
pub async fn unsubscribe(
    db: &DatabaseConnection,
    key: &LinkKey,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let user = key
        .verify(UNSUBSCRIBE, token)
        .ok_or_else(|| Error::bad_input("this unsubscribe link is not valid"))?;
    preferences::change(db, user, preferences::Change::NoEmail, now).await?;
    Ok(user)
}

/// `POST /unsubscribe` (`{"token": "..."}`): what the gateway forwards of a one-click
/// unsubscribe (RFC 8058), signed as the gateway signs (whatever
/// `gateway.require_signature` says: the link itself needs no sign-in, so only the
/// gateway may ask on its behalf). `200` once done, `400` for a link not signed here.
pub fn route(
    db: DatabaseConnection,
    key: LinkKey,
    clock: Arc<dyn Clock>,
    trust: echostream_service::trust::GatewayTrust,
) -> axum::Router {
    use axum::http::{HeaderMap, StatusCode};
    #[derive(serde::Deserialize)]
    struct Request {
        token: String,
    }
    let handler = move |headers: HeaderMap, body: axum::Json<Request>| async move {
        let signature = headers
            .get(echostream_service::trust::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok());
        if trust.origin(signature, Utc::now().timestamp())
            != Ok(echostream_service::trust::Origin::Gateway)
        {
            return (
                StatusCode::FORBIDDEN,
                "only the gateway may ask".to_string(),
            );
        }
        match unsubscribe(&db, &key, &body.token, clock.now()).await {
            Ok(_) => (StatusCode::OK, "unsubscribed".to_string()),
            Err(err @ Error::BadUserInput(_)) => (StatusCode::BAD_REQUEST, err.to_string()),
            Err(err) => {
                tracing::warn!(%err, "unsubscribing failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "try again shortly".to_string(),
                )
            }
        }
    };
    axum::Router::new().route("/unsubscribe", axum::routing::post(handler))
}
