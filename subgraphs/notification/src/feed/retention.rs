//! Keeping the feed within its bound (`notifications.*`): each user's newest
//! `keep_per_user` items, and no read or dismissed item older than
//! `keep_read_days`. Pruning is deletion by a rule any instance may apply at any
//! time, so two instances pruning at once delete the same rows once between them and
//! nothing else; an unread item inside the bound is never pruned.

use std::time::Duration;

use chrono::Utc;
use echostream_config::NotificationsConfig;
use echostream_service::Error;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use tokio_util::sync::CancellationToken;

use crate::entities::notification;

/// One pruning; how many items it deleted.
pub async fn prune(db: &DatabaseConnection, keep: &NotificationsConfig) -> Result<u64, Error> {
    let cutoff = Utc::now() - chrono::Duration::days(keep.keep_read_days as i64);
    let old = notification::Entity::delete_many()
        .filter(notification::Column::UpdatedAt.lt(cutoff))
        .filter(
            Condition::any()
                .add(notification::Column::ReadAt.is_not_null())
                .add(notification::Column::DismissedAt.is_not_null()),
        )
        .exec(db)
        .await?
        .rows_affected;
    // Past the newest `keep_per_user` of each user (only users past it are ranked);
    // the bound is a configured integer, written into the statement.
    let n = keep.keep_per_user;
    let over = db
        .execute_unprepared(&format!(
            "DELETE FROM notifications WHERE id IN (SELECT id FROM ( \
               SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY updated_at DESC, id DESC) AS place \
               FROM notifications WHERE user_id IN ( \
                 SELECT user_id FROM notifications GROUP BY user_id HAVING count(*) > {n})) ranked \
             WHERE place > {n})"
        ))
        .await?
        .rows_affected();
    Ok(old + over)
}

/// Prunes every `prune_every_secs` until `shutdown`.
pub fn spawn(db: DatabaseConnection, keep: NotificationsConfig, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(keep.prune_every_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match prune(&db, &keep).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(deleted = n, "notifications pruned"),
                Err(err) => tracing::warn!(%err, "pruning notifications failed"),
            }
        }
    });
}
