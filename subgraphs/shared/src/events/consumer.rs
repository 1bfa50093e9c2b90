//! Running a consumer: receive, process, then commit.
//!
//! The handler decides what "processed" means and must be idempotent: an event can be
//! delivered again after a crash between processing and commit. [`first_delivery`]
//! records the event id in the consuming subgraph's own database, in the same
//! transaction as the projection change, so a repeat is a no-op.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Delivery, EventLog, StartAt};

/// Runs `handle` on every event of `topic` for consumer `group` until `shutdown`.
///
/// A failing handler is retried with back-off; the event is not committed (and
/// later events of its partition wait) until it succeeds, so order is kept.
pub fn spawn<F, Fut>(
    log: Arc<dyn EventLog>,
    topic: &'static str,
    group: String,
    shutdown: CancellationToken,
    handle: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), crate::Error>> + Send,
{
    tokio::spawn(async move {
        let mut consumer = loop {
            match log.subscribe(topic, &group, StartAt::Committed).await {
                Ok(c) => break c,
                Err(err) => {
                    tracing::warn!(%topic, %group, %err, "cannot subscribe yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        loop {
            let delivery = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = consumer.next() => next,
            };
            let delivery = match delivery {
                Ok(d) => d,
                Err(err) => {
                    tracing::warn!(%topic, %group, %err, "event log read failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let mut backoff = Duration::from_millis(50);
            loop {
                match handle(delivery.clone()).await {
                    Ok(()) => break,
                    Err(err) => {
                        tracing::warn!(%topic, %group, event = %delivery.event.id,
                            kind = %delivery.event.kind, error = ?err, "handler failed; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            if let Err(err) = consumer.commit(&delivery).await {
                tracing::warn!(%topic, %group, %err, "commit failed; the event may be re-delivered");
            }
        }
    })
}

/// The work a consumer does for one event, inside its transaction.
pub type Work = Box<
    dyn for<'c> FnOnce(
            &'c DatabaseTransaction,
        )
            -> Pin<Box<dyn Future<Output = Result<(), crate::Error>> + Send + 'c>>
        + Send,
>;

/// Applies an event once per consumer: `work` runs in a transaction that also records
/// the event id, and a re-delivered event is skipped.
pub async fn apply_once(
    db: &DatabaseConnection,
    consumer: &'static str,
    event_id: Uuid,
    work: Work,
) -> Result<(), crate::Error> {
    db.transaction::<_, (), crate::Error>(move |txn| {
        Box::pin(async move {
            if first_delivery(txn, consumer, event_id).await? {
                work(txn).await?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(())
}

/// Records that `consumer` has processed `event_id`; false if it already had.
///
/// Call it inside the transaction that applies the event, and skip the work when it
/// returns false.
pub async fn first_delivery(
    db: &impl ConnectionTrait,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        }
        _ => "INSERT OR IGNORE INTO processed_events (consumer, event_id) VALUES (?, ?)",
    };
    let result = db
        .execute(Statement::from_sql_and_values(
            backend,
            sql,
            [consumer.into(), event_id.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}
