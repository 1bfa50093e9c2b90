//! The embedded event log: topics, partitions, offsets and consumer groups in one
//! SQLite file (`<data_dir>/events.db`), so that it survives a restart and a crash
//! as the outboxes that feed it do.
//!
//! Same semantics as Kafka where consumers can tell: per-key ordering within a
//! partition, dense offsets per partition, commits per group, replay from the
//! earliest retained offset. Each group has one member per process here, so it is
//! assigned every partition.
//!
//! Durability, step by step:
//! - `publish` returns once the event is committed to the file (WAL, `synchronous =
//!   NORMAL`: a killed process loses nothing the log acknowledged), so the outbox
//!   relay marks a row sent only after it is stored here.
//! - Offsets are handed out under one lock from the stored head, so they are never
//!   reused, not even after the events below them were truncated.
//! - Commits are kept in memory and written to the file every
//!   [`FLUSH_EVERY`] (and when the log is dropped), as Kafka consumers commit every
//!   second: a crash re-delivers at most that much, which every handler takes as a
//!   repeat.
//! - The log is truncated behind the lowest *stored* commit of each partition, never
//!   in the first [`SETTLE`] after opening (while the process's consumer groups are
//!   still joining, a group not yet seen must not lose what it has not read).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
    TransactionTrait,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Delivery, Envelope, EventLog, LogConsumer, LogError, StartAt, partition_for};

/// How often commits are written to the file (and the log truncated behind them).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How long after opening the log is never truncated.
pub const SETTLE: Duration = Duration::from_secs(60);

/// How often a waiting consumer looks at the file without being woken.
const POLL: Duration = Duration::from_millis(500);

/// Events a consumer reads from the file per round trip.
const READ_BATCH: i64 = 128;

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS events (
        topic TEXT NOT NULL,
        partition INTEGER NOT NULL,
        position INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (topic, partition, position)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS commits (
        topic TEXT NOT NULL,
        consumer_group TEXT NOT NULL,
        partition INTEGER NOT NULL,
        next_position INTEGER NOT NULL,
        PRIMARY KEY (topic, consumer_group, partition)
    ) WITHOUT ROWID",
];

/// The embedded, durable event log.
pub struct EmbeddedLog {
    db: DatabaseConnection,
    partitions: i32,
    /// The next offset of each (topic, partition); offsets are assigned and stored
    /// under this lock, so they stay dense and in order.
    heads: tokio::sync::Mutex<HashMap<(String, i32), i64>>,
    /// Committed next offsets per (topic, group), per partition, and whether any
    /// changed since they were last written.
    commits: Mutex<Commits>,
    appended: Notify,
    opened: Instant,
    settle: Duration,
}

#[derive(Default)]
struct Commits {
    next: HashMap<(String, String), Vec<i64>>,
    dirty: bool,
}

fn unavailable(err: DbErr) -> LogError {
    LogError::Unavailable(format!("embedded event log: {err}"))
}

impl EmbeddedLog {
    /// Opens (or creates) the log in the SQLite file at `path`, with `partitions`
    /// partitions per topic, and starts writing its commits every [`FLUSH_EVERY`].
    pub async fn open(path: &Path, partitions: i32) -> Result<Arc<EmbeddedLog>, LogError> {
        EmbeddedLog::open_settling(path, partitions, SETTLE).await
    }

    /// [`EmbeddedLog::open`], never truncating in the first `settle` (tests shorten it).
    pub async fn open_settling(
        path: &Path,
        partitions: i32,
        settle: Duration,
    ) -> Result<Arc<EmbeddedLog>, LogError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| LogError::Unavailable(format!("creating {}: {e}", dir.display())))?;
        }
        let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
        options
            .max_connections(4)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let db = Database::connect(options).await.map_err(unavailable)?;
        for pragma in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 5000",
        ] {
            db.execute_unprepared(pragma).await.map_err(unavailable)?;
        }
        for table in SCHEMA {
            db.execute_unprepared(table).await.map_err(unavailable)?;
        }
        let log = Arc::new(EmbeddedLog {
            heads: tokio::sync::Mutex::new(stored_heads(&db).await.map_err(unavailable)?),
            commits: Mutex::new(Commits {
                next: stored_commits(&db).await.map_err(unavailable)?,
                dirty: false,
            }),
            db,
            partitions: partitions.max(1),
            appended: Notify::new(),
            opened: Instant::now(),
            settle,
        });
        let weak = Arc::downgrade(&log);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(FLUSH_EVERY).await;
                let Some(log) = weak.upgrade() else { return };
                if let Err(err) = log.flush().await {
                    tracing::warn!(%err, "embedded event log: cannot store commits yet");
                }
            }
        });
        Ok(log)
    }

    /// Writes the commits that changed to the file, then truncates every partition
    /// behind the lowest stored commit of any group (not in the first [`SETTLE`]).
    pub async fn flush(&self) -> Result<(), LogError> {
        let changed = {
            let mut commits = self.commits.lock().unwrap_or_else(|p| p.into_inner());
            if !commits.dirty {
                None
            } else {
                commits.dirty = false;
                Some(commits.next.clone())
            }
        };
        if let Some(changed) = changed {
            let stored = store_commits(&self.db, &changed).await;
            if stored.is_err() {
                self.commits.lock().unwrap_or_else(|p| p.into_inner()).dirty = true;
            }
            stored.map_err(unavailable)?;
        }
        if self.opened.elapsed() >= self.settle {
            self.db
                .execute_unprepared(
                    "DELETE FROM events WHERE position < (
                        SELECT MIN(c.next_position) FROM commits c
                        WHERE c.topic = events.topic AND c.partition = events.partition)",
                )
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// The events stored now, per topic (for tests: what truncation left).
    pub async fn stored(&self, topic: &str) -> Result<u64, LogError> {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT COUNT(*) FROM events WHERE topic = ?",
                [topic.into()],
            ))
            .await
            .map_err(unavailable)?;
        Ok(row
            .and_then(|r| r.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0) as u64)
    }

    fn committed(&self, topic: &str, group: &str) -> Vec<i64> {
        let mut commits = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        let partitions = self.partitions as usize;
        let entry = commits
            .next
            .entry((topic.to_string(), group.to_string()))
            .or_insert_with(|| vec![0; partitions]);
        entry.resize(partitions.max(entry.len()), 0);
        let positions = entry.clone();
        // A new group holds back truncation from its first subscription on.
        commits.dirty = true;
        positions
    }

    async fn read(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
    ) -> Result<Vec<(i64, String)>, LogError> {
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT position, event FROM events
                 WHERE topic = ? AND partition = ? AND position >= ?
                 ORDER BY position LIMIT ?",
                [
                    topic.into(),
                    partition.into(),
                    from.into(),
                    READ_BATCH.into(),
                ],
            ))
            .await
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| {
                let position: i64 = row.try_get_by_index(0).map_err(unavailable)?;
                let event: String = row.try_get_by_index(1).map_err(unavailable)?;
                Ok((position, event))
            })
            .collect()
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // The last commits, written on the way out when a runtime is there to do it.
        let commits = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        if !commits.dirty {
            return;
        }
        let next = commits.next.clone();
        drop(commits);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let db = self.db.clone();
            handle.spawn(async move {
                let _ = store_commits(&db, &next).await;
            });
        }
    }
}

fn is_conflict(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// One past the newest stored event of a partition.
async fn stored_head(db: &DatabaseConnection, topic: &str, partition: i32) -> Result<i64, DbErr> {
    let row = db
        .query_one(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT COALESCE(MAX(position) + 1, 0) FROM events WHERE topic = ? AND partition = ?",
            [topic.into(), partition.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index(0).ok()).unwrap_or(0))
}

/// Writes `commits` to the file in one transaction (a stored commit never moves back).
async fn store_commits(
    db: &DatabaseConnection,
    commits: &HashMap<(String, String), Vec<i64>>,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    for ((topic, group), next) in commits {
        for (partition, position) in next.iter().enumerate() {
            txn.execute(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO commits (topic, consumer_group, partition, next_position)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (topic, consumer_group, partition)
                 DO UPDATE SET next_position = MAX(next_position, excluded.next_position)",
                [
                    topic.clone().into(),
                    group.clone().into(),
                    (partition as i32).into(),
                    (*position).into(),
                ],
            ))
            .await?;
        }
    }
    txn.commit().await
}

/// The next offset of every stored partition: one past its newest event, and never
/// below a stored commit (events below it may have been truncated away).
async fn stored_heads(db: &DatabaseConnection) -> Result<HashMap<(String, i32), i64>, DbErr> {
    let rows = db
        .query_all(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT topic, partition, MAX(head) FROM (
                SELECT topic, partition, MAX(position) + 1 AS head FROM events GROUP BY topic, partition
                UNION ALL
                SELECT topic, partition, MAX(next_position) AS head FROM commits GROUP BY topic, partition
             ) GROUP BY topic, partition",
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
                row.try_get_by_index(2)?,
            ))
        })
        .collect()
}

async fn stored_commits(
    db: &DatabaseConnection,
) -> Result<HashMap<(String, String), Vec<i64>>, DbErr> {
    let rows = db
        .query_all(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT topic, consumer_group, partition, next_position FROM commits",
        ))
        .await?;
    let mut commits: HashMap<(String, String), Vec<i64>> = HashMap::new();
    for row in rows {
        let topic: String = row.try_get_by_index(0)?;
        let group: String = row.try_get_by_index(1)?;
        let partition: i32 = row.try_get_by_index(2)?;
        let next: i64 = row.try_get_by_index(3)?;
        let slots = commits.entry((topic, group)).or_default();
        if slots.len() <= partition as usize {
            slots.resize(partition as usize + 1, 0);
        }
        slots[partition as usize] = next;
    }
    Ok(commits)
}

#[async_trait]
impl EventLog for Arc<EmbeddedLog> {
    async fn publish(&self, event: &Envelope) -> Result<(), LogError> {
        let partition = partition_for(&event.key, self.partitions);
        let topic = event.topic().to_string();
        let text = serde_json::to_string(event).map_err(|e| LogError::Decode(e.to_string()))?;
        {
            let mut heads = self.heads.lock().await;
            let head = heads.entry((topic.clone(), partition)).or_insert(0);
            // The file is the authority on offsets: when another process (subgraphs
            // served one per process) appended meanwhile, the insert clashes and
            // the head is read again from the file.
            let mut attempts = 0;
            loop {
                let inserted = self
                    .db
                    .execute(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "INSERT INTO events (topic, partition, position, event) VALUES (?, ?, ?, ?)",
                        [
                            topic.clone().into(),
                            partition.into(),
                            (*head).into(),
                            text.clone().into(),
                        ],
                    ))
                    .await;
                match inserted {
                    Ok(_) => break,
                    Err(err) if attempts < 3 && is_conflict(&err) => {
                        attempts += 1;
                        *head = stored_head(&self.db, &topic, partition)
                            .await
                            .map_err(unavailable)?
                            .max(*head + 1);
                    }
                    Err(err) => return Err(unavailable(err)),
                }
            }
            *head += 1;
        }
        self.appended.notify_waiters();
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        start: StartAt,
    ) -> Result<Box<dyn LogConsumer>, LogError> {
        let committed = self.committed(topic, group);
        let positions = match start {
            StartAt::Committed => committed,
            StartAt::Earliest => vec![0; committed.len()],
        };
        Ok(Box::new(EmbeddedConsumer {
            log: Arc::clone(self),
            topic: topic.to_string(),
            group: group.to_string(),
            positions,
            next_partition: 0,
            buffered: VecDeque::new(),
        }))
    }

    async fn check(&self) -> Result<(), String> {
        self.db.ping().await.map_err(|e| e.to_string())
    }

    async fn lag(&self, topic: &str, group: &str) -> Result<i64, LogError> {
        let heads = self.heads.lock().await;
        let commits = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        let done = commits.next.get(&(topic.to_string(), group.to_string()));
        Ok((0..self.partitions)
            .map(|p| {
                let head = heads.get(&(topic.to_string(), p)).copied().unwrap_or(0);
                let committed = done.and_then(|c| c.get(p as usize)).copied().unwrap_or(0);
                (head - committed).max(0)
            })
            .sum())
    }
}

struct EmbeddedConsumer {
    log: Arc<EmbeddedLog>,
    topic: String,
    group: String,
    /// Next offset to read, per partition.
    positions: Vec<i64>,
    /// Round-robin start, so one busy partition cannot starve the others.
    next_partition: usize,
    /// Events read from the file and not handed out yet, of one partition.
    buffered: VecDeque<Delivery>,
}

impl EmbeddedConsumer {
    /// Reads the next batch of the first partition (in round-robin order) that has
    /// events after its position; false when none has.
    async fn fill(&mut self) -> Result<bool, LogError> {
        let n = self.positions.len();
        for i in 0..n {
            let p = (self.next_partition + i) % n;
            let rows = self
                .log
                .read(&self.topic, p as i32, self.positions[p])
                .await?;
            let Some((last, _)) = rows.last() else {
                continue;
            };
            self.positions[p] = last + 1;
            self.next_partition = (p + 1) % n;
            for (offset, text) in rows {
                let event = serde_json::from_str::<Envelope>(&text).unwrap_or_else(|_| {
                    Envelope::new("", None, "", serde_json::Value::String(text))
                });
                self.buffered.push_back(Delivery {
                    event,
                    topic: self.topic.clone(),
                    partition: p as i32,
                    offset,
                });
            }
            return Ok(true);
        }
        Ok(false)
    }
}

#[async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn next(&mut self) -> Result<Delivery, LogError> {
        loop {
            if let Some(delivery) = self.buffered.pop_front() {
                if delivery.event.kind.is_empty() {
                    let raw = delivery.event.payload.to_string();
                    return Err(LogError::Undecodable(Box::new(delivery), raw));
                }
                return Ok(delivery);
            }
            // Register interest before reading so an append between the read and
            // the wait cannot be missed.
            let log = Arc::clone(&self.log);
            let appended = log.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            if self.fill().await? {
                continue;
            }
            // Woken by an append of this process; another process sharing the file
            // (subgraphs served one per process) is heard within the poll interval.
            let _ = tokio::time::timeout(POLL, appended).await;
        }
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), LogError> {
        let mut commits = self.log.commits.lock().unwrap_or_else(|p| p.into_inner());
        let partitions = self.positions.len();
        let slots = commits
            .next
            .entry((self.topic.clone(), self.group.clone()))
            .or_insert_with(|| vec![0; partitions]);
        let slot = &mut slots[delivery.partition as usize];
        if *slot < delivery.offset + 1 {
            *slot = delivery.offset + 1;
            commits.dirty = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(key: &str, n: i32) -> Envelope {
        Envelope::new("chat.message.sent", None, key, json!({ "n": n }))
    }

    #[tokio::test]
    async fn events_of_one_key_arrive_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(&dir.path().join("log.db"), 3)
            .await
            .unwrap();
        for n in 0..300 {
            log.publish(&event("conv-a", n)).await.unwrap();
        }
        let mut consumer = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        for n in 0..300 {
            let d = consumer.next().await.unwrap();
            assert_eq!(d.event.payload["n"], n);
            assert_eq!(d.offset, i64::from(n), "offsets are dense");
        }
    }

    #[tokio::test]
    async fn a_group_resumes_after_its_commit_and_replay_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(&dir.path().join("log.db"), 1)
            .await
            .unwrap();
        for n in 0..3 {
            log.publish(&event("k", n)).await.unwrap();
        }
        let mut c = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        let first = c.next().await.unwrap();
        c.commit(&first).await.unwrap();
        drop(c);

        let mut resumed = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        assert_eq!(resumed.next().await.unwrap().event.payload["n"], 1);

        let mut replay = log.subscribe("chat", "g", StartAt::Earliest).await.unwrap();
        assert_eq!(replay.next().await.unwrap().event.payload["n"], 0);
    }

    #[tokio::test]
    async fn events_and_commits_survive_reopening_and_offsets_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        {
            let log = EmbeddedLog::open(&path, 1).await.unwrap();
            for n in 0..5 {
                log.publish(&event("k", n)).await.unwrap();
            }
            let mut c = log
                .subscribe("chat", "g", StartAt::Committed)
                .await
                .unwrap();
            let mut last = None;
            for _ in 0..2 {
                last = Some(c.next().await.unwrap());
            }
            c.commit(&last.unwrap()).await.unwrap();
            log.flush().await.unwrap();
            // Gone without another flush, as a killed process is.
        }
        let log = EmbeddedLog::open(&path, 1).await.unwrap();
        let mut c = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        let next = c.next().await.unwrap();
        assert_eq!(
            next.event.payload["n"], 2,
            "resumes after the stored commit"
        );
        log.publish(&event("k", 5)).await.unwrap();
        let mut all = log
            .subscribe("chat", "other", StartAt::Earliest)
            .await
            .unwrap();
        let offsets: Vec<i64> = {
            let mut v = Vec::new();
            for _ in 0..6 {
                v.push(all.next().await.unwrap().offset);
            }
            v
        };
        assert_eq!(offsets, vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn the_log_is_truncated_behind_the_lowest_commit_once_settled() {
        let dir = tempfile::tempdir().unwrap();
        let settle = Duration::from_millis(300);
        let log = EmbeddedLog::open_settling(&dir.path().join("log.db"), 1, settle)
            .await
            .unwrap();
        for n in 0..10 {
            log.publish(&event("k", n)).await.unwrap();
        }
        let mut fast = log
            .subscribe("chat", "fast", StartAt::Committed)
            .await
            .unwrap();
        let mut slow = log
            .subscribe("chat", "slow", StartAt::Committed)
            .await
            .unwrap();
        let mut seen = None;
        for _ in 0..8 {
            seen = Some(fast.next().await.unwrap());
        }
        fast.commit(&seen.unwrap()).await.unwrap();
        let three = {
            let mut d = None;
            for _ in 0..3 {
                d = Some(slow.next().await.unwrap());
            }
            d.unwrap()
        };
        slow.commit(&three).await.unwrap();
        log.flush().await.unwrap();
        assert_eq!(
            log.stored("chat").await.unwrap(),
            10,
            "nothing truncated while settling"
        );
        tokio::time::sleep(settle).await;
        log.flush().await.unwrap();
        assert_eq!(
            log.stored("chat").await.unwrap(),
            7,
            "truncated behind the slowest group's commit (3), not the fastest's (8)"
        );
        assert_eq!(
            slow.next().await.unwrap().offset,
            3,
            "the slow group reads on"
        );
        log.publish(&event("k", 10)).await.unwrap();
        let mut replay = log
            .subscribe("chat", "new", StartAt::Earliest)
            .await
            .unwrap();
        assert_eq!(
            replay.next().await.unwrap().offset,
            3,
            "replay starts at the earliest kept"
        );
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_on_publish() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(&dir.path().join("log.db"), 2)
            .await
            .unwrap();
        let mut c = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        let waiter =
            tokio::spawn(async move { c.next().await.unwrap().event.payload["n"].clone() });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        log.publish(&event("x", 7)).await.unwrap();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), waiter)
                .await
                .unwrap()
                .unwrap(),
            7
        );
    }
}
