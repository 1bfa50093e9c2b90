//! Running a consumer: receive, process, then commit.
//!
//! The handler decides what "processed" means and must be idempotent: an event can be
//! delivered again after a crash between processing and commit. [`first_delivery`]
//! records the event id in the consuming subgraph's own database, in the same
//! transaction as the projection change, so a repeat is a no-op.
//!
//! A failure is one of two kinds ([`Failure::of`]). A *transient* one (a store or
//! broker unreachable, Redis refusing writes) is retried with bounded back-off until
//! it passes, however long that takes: the partition waits, nothing is skipped, and
//! the wait shows in `/ready` (`consumers`), in `/metrics`
//! (`echostream_consumer_retrying_seconds`) and in the log. A *permanent* one (an
//! undecodable event, a version this build does not read, a rule that refuses it)
//! can never pass: after its attempts the event is parked in `dead_letters` and the
//! partition goes on. Whoever could have missed something through the parked event
//! is told (`on_parked`: chat starts its members' streams anew, so their clients get
//! `ResyncRequired`).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Delivery, EventLog, LogConsumer, LogError, dead_letters};

/// How a consumer retries an event.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Attempts in all, the first included, before an event that failed
    /// permanently is parked (transient failures are retried until they pass).
    pub attempts: u32,
    /// The wait after the first failure; it doubles after each (up to [`MAX_BACKOFF`]).
    pub backoff: Duration,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a handler failed, as far as retrying goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Would pass later (a store or broker unreachable): retried until it does.
    Transient(String),
    /// Can never pass (undecodable, an unknown version, refused by a rule): parked.
    Permanent(String),
}

impl Failure {
    /// Sorts a handler's error. Only what is known to be permanent is: an event that
    /// does not decode, a domain refusal (any coded error but `INTERNAL`), and a
    /// constraint the database enforces. Everything else (connections, timeouts,
    /// Redis refusing writes, the unknown) is transient, so that an outage never
    /// parks events: waiting is visible, skipping would not be.
    pub fn of(err: &crate::Error) -> Failure {
        let text = match err {
            crate::Error::Internal(source) | crate::Error::Unavailable(source) => {
                source.to_string()
            }
            other => other.to_string(),
        };
        let source = match err {
            crate::Error::Unavailable(_) => return Failure::Transient(text),
            crate::Error::Internal(source) => source,
            _ => return Failure::Permanent(text),
        };
        if let Some(log) = source.downcast_ref::<LogError>() {
            return match log {
                LogError::Decode(_) | LogError::Undecodable(..) => Failure::Permanent(text),
                LogError::Unavailable(_) | LogError::Closed => Failure::Transient(text),
            };
        }
        if let Some(db) = source.downcast_ref::<sea_orm::DbErr>() {
            use sea_orm::SqlErr;
            if matches!(
                db.sql_err(),
                Some(
                    SqlErr::UniqueConstraintViolation(_) | SqlErr::ForeignKeyConstraintViolation(_)
                )
            ) {
                return Failure::Permanent(text);
            }
        }
        if source.downcast_ref::<serde_json::Error>().is_some() {
            return Failure::Permanent(text);
        }
        Failure::Transient(text)
    }
}

/// Since when a consumer has been retrying, and its last error.
type Retrying = (Instant, String);

/// Consumers retrying a transient failure now, by (topic, group).
static RETRYING: LazyLock<Mutex<HashMap<(String, String), Retrying>>> =
    LazyLock::new(Default::default);

fn retrying(topic: &str, group: &str, error: Option<&str>) {
    let mut retrying = RETRYING.lock().unwrap_or_else(|p| p.into_inner());
    let key = (topic.to_string(), group.to_string());
    match error {
        Some(error) => {
            let entry = retrying
                .entry(key)
                .or_insert_with(|| (Instant::now(), String::new()));
            entry.1 = error.to_string();
        }
        None => {
            retrying.remove(&key);
        }
    }
}

/// The consumers of `subgraph` (groups named after it, as `chat` and `chat-fanout`)
/// retrying a transient failure now: (topic, group, seconds so far, last error).
pub fn retrying_now(subgraph: &str) -> Vec<(String, String, f64, String)> {
    let retrying = RETRYING.lock().unwrap_or_else(|p| p.into_inner());
    let mut now: Vec<_> = retrying
        .iter()
        .filter(|((_, group), _)| {
            group == subgraph
                || group
                    .strip_prefix(subgraph)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .map(|((topic, group), (since, error))| {
            (
                topic.clone(),
                group.clone(),
                since.elapsed().as_secs_f64(),
                error.clone(),
            )
        })
        .collect();
    now.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    now
}

/// What a consumer does after parking an event: tell whoever could have missed
/// something through it (see the module's documentation).
pub type OnParked = Arc<
    dyn Fn(Delivery) -> Pin<Box<dyn Future<Output = Result<(), crate::Error>> + Send>>
        + Send
        + Sync,
>;

/// How often a consumer looks for parked events an operator asked to replay.
const REPLAY_POLL: Duration = Duration::from_secs(2);

/// Runs `handle` on every event of `topic` for consumer `group` until `shutdown`.
///
/// A failing handler is retried with back-off; the event is not committed (and
/// later events of its partition wait) meanwhile, so order is kept. A transient
/// failure is retried until it passes; when every attempt has failed permanently,
/// the event is parked in `dead_letters` (of the consuming subgraph's database `db`)
/// with the error, `on_parked` runs, and the partition goes on; while parking itself
/// fails (the database is down), the consumer keeps retrying instead. An event that
/// is not even an envelope is parked at once. Parked events an operator asked to
/// replay are applied again between deliveries, in the order they were parked,
/// unless a newer event of the same key was applied since (then the replay is
/// refused and the event stays parked, marked superseded).
#[allow(clippy::too_many_arguments)]
pub fn spawn<F, Fut>(
    log: Arc<dyn EventLog>,
    db: DatabaseConnection,
    topic: &'static str,
    group: String,
    retries: Retries,
    shutdown: CancellationToken,
    on_parked: Option<OnParked>,
    handle: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), crate::Error>> + Send,
{
    tokio::spawn(async move {
        let mut consumer = loop {
            let shares = super::shares::Shares::in_db(db.clone());
            match log.subscribe_shared(topic, &group, shares).await {
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
        // Keys with a parked event: applying a newer event of one supersedes them.
        let mut parked_keys: HashSet<String> = loop {
            match dead_letters::parked_keys(&db, &consumer_name).await {
                Ok(keys) => break keys,
                Err(err) => {
                    tracing::warn!(%topic, %group, %err, "cannot read parked keys yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
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
                    told_until_done(on_parked.as_ref(), &delivery, &shutdown).await;
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
                    echostream_telemetry::follow(&span, Some(trace));
                    span
                }
            };
            let attempted = echostream_telemetry::traced(
                span,
                attempt(&delivery, retries, &shutdown, &handle, (topic, &group)),
            )
            .await;
            match attempted {
                Attempted::Applied => {
                    if parked_keys.contains(&delivery.event.key) {
                        supersede_until_stored(&db, &consumer_name, &delivery.event.key, &shutdown)
                            .await;
                        parked_keys.remove(&delivery.event.key);
                    }
                }
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
                    parked_keys.insert(delivery.event.key.clone());
                    told_until_done(on_parked.as_ref(), &delivery, &shutdown).await;
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

/// Runs `handle` until it applies the event, with back-off: without end while it
/// fails transiently (noted as `retrying` for `/ready` and `/metrics`), up to
/// `retries.attempts` times while it fails permanently.
async fn attempt<F, Fut>(
    delivery: &Delivery,
    retries: Retries,
    shutdown: &CancellationToken,
    handle: &F,
    (topic, group): (&str, &str),
) -> Attempted
where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Result<(), crate::Error>>,
{
    let mut backoff = retries.backoff;
    let mut permanent_failures = 0;
    let mut attempts = 0u64;
    let outcome = loop {
        attempts += 1;
        match handle(delivery.clone()).await {
            Ok(()) => break Attempted::Applied,
            Err(err) => match Failure::of(&err) {
                Failure::Permanent(error) => {
                    permanent_failures += 1;
                    tracing::warn!(event = %delivery.event.id, kind = %delivery.event.kind,
                        attempt = attempts, %error, "handler refused the event");
                    if permanent_failures >= retries.attempts.max(1) {
                        break Attempted::Failed(error);
                    }
                }
                Failure::Transient(error) => {
                    // Logged on the first failure and then every tenth: an outage
                    // must show without flooding the log.
                    if attempts % 10 == 1 {
                        tracing::warn!(%topic, %group, event = %delivery.event.id,
                            kind = %delivery.event.kind, attempt = attempts, %error,
                            "handler failed transiently; retrying until it passes");
                    }
                    retrying(topic, group, Some(&error));
                }
            },
        }
        tokio::select! {
            _ = shutdown.cancelled() => break Attempted::ShuttingDown,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    };
    if attempts > 1 {
        retrying(topic, group, None);
    }
    outcome
}

/// Runs `step` every second until it passes (or the process stops): for the steps a
/// consumer must not skip before it commits, whatever is down meanwhile.
async fn until_done<F, Fut, E>(what: &str, shutdown: &CancellationToken, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        match step().await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(%err, "cannot {what} yet; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Tells whoever could have missed `delivery` (see [`OnParked`]).
async fn told_until_done(
    on_parked: Option<&OnParked>,
    delivery: &Delivery,
    shutdown: &CancellationToken,
) {
    if let Some(on_parked) = on_parked {
        until_done("tell who missed a parked event", shutdown, || {
            on_parked(delivery.clone())
        })
        .await;
    }
}

/// Marks the parked events of `key` as superseded: a replay must never apply them
/// over the newer event just applied.
async fn supersede_until_stored(
    db: &DatabaseConnection,
    consumer: &str,
    key: &str,
    shutdown: &CancellationToken,
) {
    until_done("mark parked events superseded", shutdown, || async {
        dead_letters::supersede(db, consumer, key).await.map(drop)
    })
    .await;
}

/// Parks `delivery`: an event is never committed before it is either applied or
/// parked.
async fn park_until_stored(
    db: &DatabaseConnection,
    consumer: &str,
    delivery: &Delivery,
    error: &str,
    attempts: u32,
    shutdown: &CancellationToken,
) {
    until_done("park the event", shutdown, || {
        dead_letters::park(db, consumer, delivery, error, attempts)
    })
    .await;
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
        match attempt(&delivery, retries, shutdown, handle, ("replay", consumer)).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn outages_are_retried_and_refusals_are_parked() {
        let unreachable = Error::from(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout,
        ));
        assert!(matches!(Failure::of(&unreachable), Failure::Transient(_)));
        let unknown = Error::internal(std::io::Error::other("anything else"));
        assert!(matches!(Failure::of(&unknown), Failure::Transient(_)));
        let refused = Error::forbidden("not a member");
        assert!(matches!(Failure::of(&refused), Failure::Permanent(_)));
        let undecodable = Error::internal(serde_json::from_str::<u8>("x").unwrap_err());
        assert!(matches!(Failure::of(&undecodable), Failure::Permanent(_)));
    }
}
