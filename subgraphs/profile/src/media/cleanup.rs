//! Deletes what [`super`] recorded for deletion: doomed images (replaced, removed, or
//! of deleted accounts) and uploads never confirmed within
//! `media.unconfirmed_after_secs`. Every instance runs it; a row is claimed by
//! deleting it, so exactly one instance deletes each image's objects, and a failed
//! deletion puts the row back for the next round.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use echostream_shared::Error;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::delete_objects;
use crate::Profile;
use crate::entities::media;

/// How many rows one round handles at most.
const BATCH: u64 = 100;

/// How often the worker looks: a quarter of the unconfirmed age, 1 s to 60 s.
pub fn every(app: &Profile) -> Duration {
    let after = Duration::from_secs(app.ports.config.media.unconfirmed_after_secs);
    (after / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Runs the worker until shutdown.
pub fn spawn(app: Arc<Profile>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every(&app));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = app.ports.shutdown.cancelled() => return,
                _ = tick.tick() => {}
                _ = app.media_wake.notified() => {}
            }
            if let Err(err) = round(&app).await {
                tracing::warn!(%err, "media clean-up round failed");
            }
        }
    });
}

/// Asks the worker to run now (something was just doomed).
pub fn wake(app: &Profile) {
    app.media_wake.notify_one();
}

/// One round: deletes what is due; returns how many images it deleted.
pub async fn round(app: &Profile) -> Result<usize, Error> {
    let after = chrono::Duration::seconds(app.ports.config.media.unconfirmed_after_secs as i64);
    let due = media::Entity::find()
        .filter(
            Condition::any().add(media::Column::State.eq("doomed")).add(
                media::Column::State
                    .eq("pending")
                    .and(media::Column::Since.lt(Utc::now() - after)),
            ),
        )
        .order_by_asc(media::Column::Since)
        .limit(BATCH)
        .all(&app.db)
        .await?;
    let mut deleted = 0;
    for row in due {
        let claimed = media::Entity::delete_by_id(row.id).exec(&app.db).await?;
        if claimed.rows_affected == 0 {
            continue; // another instance has it
        }
        if let Err(err) = delete_objects(app.ports.objects.as_ref(), &row.key).await {
            tracing::warn!(key = %row.key, %err, "media not deleted; retrying later");
            let mut back = row.into_active_model();
            back.state = sea_orm::Set("doomed".into());
            back.insert(&app.db).await?;
            continue;
        }
        deleted += 1;
    }
    Ok(deleted)
}
