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

use super::{Delivery, EventLog, LogConsumer, LogError, StartAt, dead_letters};

/// How a consumer retries an event before parking it.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; it doubles after each (up to 5 s).
    pub backoff: Duration,
}

/// How often a consumer looks for parked events an operator asked to replay.
const REPLAY_POLL: Duration = Duration::from_secs(2);

/// Runs `handle` on every event of `topic` for consumer `group` until `shutdown`.
///
/// A failing handler is retried with back-off; the event is not committed (and
/// later events of its partition wait) meanwhile, so order is kept. When every
/// attempt has failed, the event is parked in `dead_letters` (of the consuming
/// subgraph's database `db`) with the error and the partition goes on; while parking
/// itself fails (the database is down), the consumer keeps retrying instead. An event
/// that is not even an envelope is parked at once. Parked events an operator asked
/// to replay are applied again between deliveries.
pub fn spawn<F, Fut>(
    log: Arc<dyn EventLog>,
    db: DatabaseConnection,
    topic: &'static str,
    group: String,
    retries: Retries,
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
        let consumer_name = format!("{group}:{topic}");
        let mut replay_tick = tokio::time::interval(REPLAY_POLL);
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = replay_tick.tick() => {
                    replay_requested(&db, &consumer_name, retries, &shutdown, &handle).await;
                    continue;
                }
                next = consumer.next() => next,
            };
            let delivery = match next {
                Ok(d) => d,
                Err(LogError::Undecodable(delivery, error)) => {
                    tracing::error!(%topic, %group, offset = delivery.offset, %error,
                        "not an event envelope; parking it");
                    park_until_stored(&db, &consumer_name, &delivery, &error, 1, &shutdown).await;
                    commit(consumer.as_mut(), &delivery).await;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(%topic, %group, %err, "event log read failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            // A traced event is handled in a span following the one that published it.
            let span = match delivery.event.trace.as_deref() {
                None => tracing::Span::none(),
                Some(trace) => {
                    let span = tracing::info_span!("consume", %topic, %group,
                        event = %delivery.event.kind, otel.kind = "consumer");
                    crate::telemetry::follow(&span, Some(trace));
                    span
                }
            };
            let attempted =
                crate::telemetry::traced(span, attempt(&delivery, retries, &shutdown, &handle))
                    .await;
            match attempted {
                Attempted::Applied => {}
                Attempted::ShuttingDown => return,
                Attempted::Failed(error) => {
                    tracing::error!(%topic, %group, event = %delivery.event.id,
                        kind = %delivery.event.kind, %error, attempts = retries.attempts,
                        "event failed every attempt; parking it");
                    park_until_stored(
                        &db,
                        &consumer_name,
                        &delivery,
                        &error,
                        retries.attempts,
                        &shutdown,
                    )
                    .await;
                }
            }
            commit(consumer.as_mut(), &delivery).await;
        }
    })
}

enum Attempted {
    Applied,
    Failed(String),
    ShuttingDown,
}

/// Runs `handle` up to `retries.attempts` times with back-off.
async fn attempt<F, Fut>(
    delivery: &Delivery,
    retries: Retries,
    shutdown: &CancellationToken,
    handle: &F,
) -> Attempted
where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Result<(), crate::Error>>,
{
    let mut backoff = retries.backoff;
    let mut error = String::new();
    for n in 1..=retries.attempts.max(1) {
        match handle(delivery.clone()).await {
            Ok(()) => return Attempted::Applied,
            Err(err) => {
                error = match &err {
                    crate::Error::Internal(source) => source.to_string(),
                    other => other.to_string(),
                };
                tracing::warn!(event = %delivery.event.id, kind = %delivery.event.kind,
                    attempt = n, %error, "handler failed");
            }
        }
        if n < retries.attempts {
            tokio::select! {
                _ = shutdown.cancelled() => return Attempted::ShuttingDown,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
    Attempted::Failed(error)
}

/// Parks `delivery`, retrying while the database refuses: an event is never
/// committed before it is either applied or parked.
async fn park_until_stored(
    db: &DatabaseConnection,
    consumer: &str,
    delivery: &Delivery,
    error: &str,
    attempts: u32,
    shutdown: &CancellationToken,
) {
    loop {
        match dead_letters::park(db, consumer, delivery, error, attempts).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(%consumer, %err, "cannot park the event yet; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn commit(consumer: &mut dyn LogConsumer, delivery: &Delivery) {
    if let Err(err) = consumer.commit(delivery).await {
        tracing::warn!(%err, "commit failed; the event may be re-delivered");
    }
}

/// Applies again the parked events of `consumer` that an operator asked to replay;
/// one that fails again is parked again with the new error.
async fn replay_requested<F, Fut>(
    db: &DatabaseConnection,
    consumer: &str,
    retries: Retries,
    shutdown: &CancellationToken,
    handle: &F,
) where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Result<(), crate::Error>>,
{
    loop {
        let (delivery, before) = match dead_letters::claim_replay(db, consumer).await {
            Ok(Some(claimed)) => claimed,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%consumer, %err, "cannot read replay requests");
                return;
            }
        };
        match attempt(&delivery, retries, shutdown, handle).await {
            Attempted::Applied => {
                tracing::info!(%consumer, event = %delivery.event.id, "parked event replayed")
            }
            Attempted::Failed(error) => {
                let attempts = before + retries.attempts;
                park_until_stored(db, consumer, &delivery, &error, attempts, shutdown).await;
            }
            Attempted::ShuttingDown => {
                // Claimed but not applied: park it again, to be asked for again.
                let error = "replay interrupted by shutdown";
                park_until_stored(db, consumer, &delivery, error, before, shutdown).await;
                return;
            }
        }
    }
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
