//! Deletes what [`super`] recorded for deletion in one subgraph's `media` table:
//! doomed images (replaced, removed, or of deleted accounts and groups) and uploads
//! never confirmed within `media.unconfirmed_after_secs`, and objects past their
//! expiry (data exports). Every instance runs it; a
//! row is claimed by deleting it, so exactly one instance deletes each image's
//! objects, and a failed deletion puts the row back for the next round.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{MediaState, delete_objects, stored};
use echostream_ports::Error;
use echostream_ports::objects::ObjectStore;

/// How many rows one round handles at most.
const BATCH: u64 = 100;

/// One subgraph's clean-up worker.
pub struct Cleanup {
    db: DatabaseConnection,
    objects: Arc<dyn ObjectStore>,
    unconfirmed_after: Duration,
    wake: Notify,
}

impl Cleanup {
    /// A worker over `db`'s `media` table; uploads unconfirmed for
    /// `unconfirmed_after` are deleted.
    pub fn new(
        db: DatabaseConnection,
        objects: Arc<dyn ObjectStore>,
        unconfirmed_after: Duration,
    ) -> Arc<Cleanup> {
        Arc::new(Cleanup {
            db,
            objects,
            unconfirmed_after,
            wake: Notify::new(),
        })
    }

    /// How often the worker looks: a quarter of the unconfirmed age, 1 s to 60 s.
    pub fn every(&self) -> Duration {
        (self.unconfirmed_after / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Runs the worker until `shutdown`.
    pub fn spawn(self: &Arc<Self>, shutdown: CancellationToken) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.every());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                    _ = this.wake.notified() => {}
                }
                if let Err(err) = this.round().await {
                    tracing::warn!(%err, "media clean-up round failed");
                }
            }
        });
    }

    /// Asks the worker to run now (something was just doomed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One round: deletes what is due; returns how many images it deleted.
    pub async fn round(&self) -> Result<usize, Error> {
        let after = chrono::Duration::from_std(self.unconfirmed_after).unwrap_or_default();
        let due = stored::Entity::find()
            .filter(
                Condition::any()
                    .add(stored::Column::State.eq(MediaState::Doomed))
                    .add(
                        stored::Column::State
                            .eq(MediaState::Pending)
                            .and(stored::Column::Since.lt(Utc::now() - after)),
                    )
                    .add(
                        stored::Column::State
                            .eq(MediaState::Expires)
                            .and(stored::Column::Since.lt(Utc::now())),
                    ),
            )
            .order_by_asc(stored::Column::Since)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut deleted = 0;
        for row in due {
            let claimed = stored::Entity::delete_by_id(row.id).exec(&self.db).await?;
            if claimed.rows_affected == 0 {
                continue; // another instance has it
            }
            let gone = match row.state {
                MediaState::Expires => self.objects.delete(&row.key).await.map_err(Error::from),
                MediaState::Pending | MediaState::Doomed => {
                    delete_objects(self.objects.as_ref(), &row.key).await
                }
            };
            if let Err(err) = gone {
                tracing::warn!(key = %row.key, %err, "media not deleted; retrying later");
                // An unconfirmed upload that could not go is now simply to go.
                let state = match row.state {
                    MediaState::Expires => MediaState::Expires,
                    MediaState::Pending | MediaState::Doomed => MediaState::Doomed,
                };
                let mut back = row.into_active_model();
                back.state = sea_orm::Set(state);
                back.insert(&self.db).await?;
                continue;
            }
            deleted += 1;
        }
        Ok(deleted)
    }
}
