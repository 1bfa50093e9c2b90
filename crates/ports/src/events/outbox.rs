//! Transactional outbox: an event commits with the row it describes, then a relay
//! publishes it.
//!
//! Writing to the database and to Kafka separately would lose events whenever the
//! second write fails. Instead the event is inserted into the subgraph's own `outbox`
//! table inside the caller's transaction; [`Relay`] publishes pending rows in insertion
//! order and marks them sent. If the log is down, rows wait; nothing is lost, and
//! consumers deduplicate the rare repeat after a crash between publish and mark.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, QueryOrder, QuerySelect, Set, TransactionTrait,
};

/// How often a relay prunes what it published.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Envelope, EventLog};
use crate::Error;
use echostream_contracts::Event;

/// One pending or sent event in a subgraph's outbox.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Insertion order; the relay publishes by it.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub event_id: Uuid,
    pub topic: String,
    pub event: Json,
    pub created_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Adds `event` to the outbox of the database `db` belongs to; call inside the
/// transaction that makes the change the event describes.
pub async fn enqueue(db: &impl ConnectionTrait, event: &Envelope) -> Result<(), DbErr> {
    let row = ActiveModel {
        event_id: Set(event.id),
        topic: Set(event.topic().to_string()),
        event: Set(serde_json::to_value(event).map_err(|e| DbErr::Custom(e.to_string()))?),
        created_at: Set(Utc::now()),
        published_at: Set(None),
        ..Default::default()
    };
    Entity::insert(row).exec(db).await?;
    Ok(())
}

/// How many rows wait to be published, and when the oldest of them was written.
pub async fn backlog(
    db: &impl ConnectionTrait,
) -> Result<(u64, Option<chrono::DateTime<Utc>>), DbErr> {
    use sea_orm::PaginatorTrait;
    let waiting = Entity::find().filter(Column::PublishedAt.is_null());
    let count = waiting.clone().count(db).await?;
    let oldest = waiting.order_by_asc(Column::Seq).one(db).await?;
    Ok((count, oldest.map(|row| row.created_at)))
}

/// What a write made, with the events it causes (see [`Relay::write`]).
pub struct Change<T> {
    value: T,
    events: Vec<Envelope>,
}

impl<T> Change<T> {
    /// A change that made `value` and causes no event (yet).
    pub fn new(value: T) -> Change<T> {
        Change {
            value,
            events: Vec::new(),
        }
    }

    /// Adds `event`, caused by `actor`, to what the change commits with.
    pub fn emit<E: Event>(mut self, event: &E, actor: Option<Uuid>) -> Change<T> {
        // The span that wrote the event, so the relay's span can follow it.
        self.events.push(Envelope {
            trace: echostream_telemetry::current_traceparent(),
            ..Envelope::of(event, actor)
        });
        self
    }
}

/// Publishes a subgraph's outbox to the event log; the one way its domain code
/// writes a change with its events ([`Relay::write`]).
#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    wake: Arc<Notify>,
}

impl Relay {
    /// A relay for `db`'s outbox; [`Relay::spawn`] starts its task.
    pub fn new(db: DatabaseConnection) -> Relay {
        Relay {
            db,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Runs `work` in a transaction of the subgraph's database, puts the events of the
    /// [`Change`] it returns in the outbox in that same transaction, commits, and
    /// wakes the relay. Either the change and its events are stored, or neither.
    pub async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: 'static
            + for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> Pin<Box<dyn Future<Output = Result<Change<T>, Error>> + Send + 'c>>
            + Send,
    {
        let change = self
            .db
            .transaction::<_, Change<T>, Error>(|txn| {
                Box::pin(async move {
                    lock_sqlite_for_writing(txn).await?;
                    let change = work(txn).await?;
                    for event in &change.events {
                        enqueue(txn, event).await?;
                    }
                    Ok(change)
                })
            })
            .await?;
        self.wake();
        Ok(change.value)
    }

    /// Asks the relay to look for new rows now (call after committing).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts publishing the outbox to `log` until `shutdown`, deleting rows
    /// published more than `retention` ago.
    pub fn spawn(
        &self,
        log: Arc<dyn EventLog>,
        retention: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let wake = Arc::clone(&self.wake);
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut pruned = tokio::time::Instant::now();
            loop {
                if pruned.elapsed() >= PRUNE_EVERY {
                    pruned = tokio::time::Instant::now();
                    if let Err(err) = prune(&db, retention).await {
                        tracing::warn!(error = %err, "outbox relay: cannot prune; will retry");
                    }
                }
                match publish_pending(&db, log.as_ref()).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "outbox relay: will retry"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        // One last pass so a clean shutdown leaves nothing behind.
                        let _ = publish_pending(&db, log.as_ref()).await;
                        return;
                    }
                    _ = wake.notified() => {}
                    // A safety net for wakes that were lost (another process wrote the row).
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        })
    }
}

/// Rows one relay pass publishes at most.
pub const BATCH: u64 = 500;

/// SQLite: takes the file's write lock at the start of a transaction that will write
/// (waiting for it up to the busy timeout), as `BEGIN IMMEDIATE` would. A transaction
/// that reads first would otherwise fail with "database is locked" as soon as it
/// tries to write after another writer committed (its snapshot is then stale, and
/// SQLite does not wait in that case). PostgreSQL needs nothing.
async fn lock_sqlite_for_writing(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        txn.execute_unprepared("UPDATE outbox SET seq = seq WHERE 1 = 0")
            .await?;
    }
    Ok(())
}

/// Publishes up to one batch of pending rows in order; returns how many were sent.
///
/// Several instances of a subgraph share one database, and so one outbox: each pass
/// runs in a transaction that first takes a transaction-scoped advisory lock
/// (PostgreSQL), a lease released at commit or by a crash. Only its holder publishes;
/// the others find it taken and wait for their next pass. So no row is published
/// twice by two instances, and rows leave in `seq` order (with `FOR UPDATE SKIP
/// LOCKED` two instances would each take a batch and could overtake each other).
/// SQLite: the pass takes the file's write lock first, which excludes the rest.
///
/// The batch is handed to the log all at once, in order, and marked sent with one
/// `UPDATE` once every publish is acknowledged; after a failure, the rows before it
/// are marked and the rest wait for the next pass.
pub async fn publish_pending(
    db: &DatabaseConnection,
    log: &dyn EventLog,
) -> Result<usize, crate::events::LogError> {
    let map_db = |e: DbErr| crate::events::LogError::Unavailable(format!("outbox: {e}"));
    let txn = db.begin().await.map_err(map_db)?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        let lease = txn
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT pg_try_advisory_xact_lock({RELAY_LEASE})"),
            ))
            .await
            .map_err(map_db)?;
        let held: bool = match lease {
            Some(row) => row.try_get_by_index(0).map_err(map_db)?,
            None => false,
        };
        if !held {
            return Ok(0);
        }
    } else {
        lock_sqlite_for_writing(&txn).await.map_err(map_db)?;
    }
    let pending = Entity::find()
        .filter(Column::PublishedAt.is_null())
        .order_by_asc(Column::Seq)
        .limit(BATCH)
        .all(&txn)
        .await
        .map_err(map_db)?;
    let mut events = Vec::with_capacity(pending.len());
    for row in &pending {
        let event: Envelope = serde_json::from_value(row.event.clone())
            .map_err(|e| crate::events::LogError::Decode(e.to_string()))?;
        events.push(event);
    }
    // A traced event is published in a span of its own, following the span that
    // wrote it; the event then carries the publishing span's context on.
    let spans: Vec<tracing::Span> = events
        .iter_mut()
        .map(|event| {
            if event.trace.is_none() {
                return tracing::Span::none();
            }
            let span =
                tracing::info_span!("outbox publish", event = %event.kind, otel.kind = "producer");
            echostream_telemetry::follow(&span, event.trace.as_deref());
            if let Some(trace) = span.in_scope(echostream_telemetry::current_traceparent) {
                event.trace = Some(trace);
            }
            span
        })
        .collect();
    // Handed over in order (each publish is queued when first polled, and
    // `join_all` polls them in order), then awaited together.
    let results = futures::future::join_all(
        events
            .iter()
            .zip(spans)
            .map(|(e, span)| tracing::Instrument::instrument(log.publish(e), span)),
    )
    .await;
    let sent = results.iter().take_while(|r| r.is_ok()).count();
    if sent > 0 {
        Entity::update_many()
            .col_expr(Column::PublishedAt, Expr::value(Utc::now()))
            .filter(Column::Seq.is_in(pending[..sent].iter().map(|r| r.seq)))
            .exec(&txn)
            .await
            .map_err(map_db)?;
    }
    txn.commit().await.map_err(map_db)?;
    match results.into_iter().nth(sent) {
        Some(Err(err)) => Err(err),
        _ => Ok(sent),
    }
}

/// Deletes rows published longer than `retention` ago; returns how many.
pub async fn prune(db: &DatabaseConnection, retention: Duration) -> Result<u64, DbErr> {
    let before = Utc::now() - chrono::Duration::from_std(retention).unwrap_or_default();
    Ok(Entity::delete_many()
        .filter(Column::PublishedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// The advisory lock key of the relay lease (one outbox per database).
const RELAY_LEASE: i64 = 0x0EC0_5EED;
