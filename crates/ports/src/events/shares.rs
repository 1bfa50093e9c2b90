//! Who reads which partition: the instances of a subgraph that consume one topic as
//! one group share its partitions through leases kept in their own database.
//!
//! A broker's consumer-group protocol would do this too, but only as well as the
//! broker keeps its members: one that never expires a member killed without a word
//! (tansu 0.6 does not) leaves that member's partitions unread for good. Leases in
//! the subgraph's database hold on any broker, and a dead instance's partitions move
//! as soon as its leases run out.
//!
//! Each consumer has a keeper ([`Shares::keep`]) that, every [`Keeping::round`]:
//! 1. marks its consumer alive (`consumer_members`, leased until now + lease);
//! 2. renews its partitions' leases (`partition_leases`); one that another consumer
//!    took meanwhile (its lease had run out) is dropped at once;
//! 3. works out its share: the partitions divided by the live members, the first
//!    members (by id) taking one more when they do not divide evenly, so that the
//!    shares add up to every partition;
//! 4. gives back what is above its share — only once its consumer has stopped
//!    reading it (and committed), so no partition is ever read by two consumers —
//!    and takes free or lapsed partitions up to its share.
//!
//! The consumer reads what the keeper allows ([`Holding::allowed`]) and reports what
//! it reads ([`Holding::reading`]). Should the database stay out of reach for longer
//! than a lease, the keeper takes every partition back from its consumer: another
//! instance may hold them by then. When the consumer is dropped (its instance shuts
//! down) the keeper deletes its rows, so the others take over at their next round.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Value};
use tokio::sync::watch;

use crate::db::statement;

/// How long a lease runs unless renewed, and how often a keeper renews.
#[derive(Debug, Clone, Copy)]
pub struct Keeping {
    pub lease: Duration,
    pub round: Duration,
}

impl Keeping {
    /// Renewing five times per lease: a slow round or two never loses a lease.
    pub fn lease(lease: Duration) -> Keeping {
        Keeping {
            lease,
            round: lease / 5,
        }
    }
}

/// Where the leases of the consumers of one subgraph are kept: its own database.
#[derive(Clone)]
pub struct Shares {
    db: DatabaseConnection,
}

/// A consumer's side of its keeper: what it may read, and what it reads.
pub struct Holding {
    /// The partitions the consumer may read now.
    pub allowed: watch::Receiver<BTreeSet<i32>>,
    /// The partitions the consumer reads now (it stopped reading, and committed,
    /// every partition missing here).
    pub reading: watch::Sender<BTreeSet<i32>>,
}

impl Shares {
    pub fn in_db(db: DatabaseConnection) -> Shares {
        Shares { db }
    }

    /// Starts the keeper of `consumer` (group and topic, as `chat-fanout:chat`) over
    /// partitions `0..partitions`, and returns the consumer's side of it.
    pub fn keep(self, consumer: String, partitions: i32, keeping: Keeping) -> Holding {
        let (allowed_tx, allowed) = watch::channel(BTreeSet::new());
        let (reading, reading_rx) = watch::channel(BTreeSet::new());
        let keeper = Keeper {
            db: self.db,
            consumer,
            holder: uuid::Uuid::now_v7().to_string(),
            partitions,
            keeping,
            held: BTreeSet::new(),
            renewed: None,
            rounds: 0,
        };
        tokio::spawn(keeper.run(allowed_tx, reading_rx));
        Holding { allowed, reading }
    }
}

struct Keeper {
    db: DatabaseConnection,
    consumer: String,
    /// This consumer's id among the group's members; v7, so older members sort first.
    holder: String,
    partitions: i32,
    keeping: Keeping,
    /// The partitions whose leases this keeper holds (some maybe being given back).
    held: BTreeSet<i32>,
    /// When the leases were last renewed.
    renewed: Option<Instant>,
    /// Rounds so far.
    rounds: u64,
}

impl Keeper {
    async fn run(
        mut self,
        allowed: watch::Sender<BTreeSet<i32>>,
        mut reading: watch::Receiver<BTreeSet<i32>>,
    ) {
        let mut tick = tokio::time::interval(self.keeping.round);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = reading.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
            let now_reading = reading.borrow_and_update().clone();
            match self.round(&now_reading).await {
                Ok(target) => {
                    allowed.send_if_modified(|current| {
                        let modified = *current != target;
                        *current = target;
                        modified
                    });
                }
                Err(err) => {
                    tracing::warn!(consumer = %self.consumer, %err,
                        "partition leases could not be renewed");
                    // Past its lease another consumer may hold a partition: stop.
                    if self
                        .renewed
                        .is_none_or(|at| at.elapsed() + self.keeping.round >= self.keeping.lease)
                        && !self.held.is_empty()
                    {
                        tracing::warn!(consumer = %self.consumer,
                            "leases may have run out; reading no partition until renewed");
                        self.held.clear();
                        allowed.send_replace(BTreeSet::new());
                    }
                }
            }
        }
        // The consumer is gone: leave at once rather than when the leases run out.
        if let Err(err) = self.leave().await {
            tracing::warn!(consumer = %self.consumer, %err, "partition leases left to run out");
        }
    }

    /// One round (see the module's description); returns what the consumer may read.
    async fn round(&mut self, reading: &BTreeSet<i32>) -> Result<BTreeSet<i32>, DbErr> {
        let started = Instant::now();
        let now = Utc::now();
        let lease =
            chrono::TimeDelta::from_std(self.keeping.lease).unwrap_or(chrono::TimeDelta::hours(1));
        let until = now + lease;
        let backend = self.db.get_database_backend();
        let text = |s: &str| Value::from(s.to_string());
        self.db
            .execute(statement(
                backend,
                "INSERT INTO consumer_members (consumer, holder, until) VALUES ($1, $2, $3) \
                 ON CONFLICT (consumer, holder) DO UPDATE SET until = excluded.until",
                [text(&self.consumer), text(&self.holder), until.into()],
            ))
            .await?;
        let mine: BTreeSet<i32> = self
            .db
            .query_all(statement(
                backend,
                "UPDATE partition_leases SET until = $1 WHERE consumer = $2 AND holder = $3 \
                 RETURNING part",
                [until.into(), text(&self.consumer), text(&self.holder)],
            ))
            .await?
            .iter()
            .map(|row| row.try_get::<i32>("", "part"))
            .collect::<Result<_, _>>()?;
        for lost in self.held.difference(&mine) {
            tracing::warn!(consumer = %self.consumer, partition = lost,
                "partition lease lost to another consumer");
        }
        self.held = mine;
        self.renewed = Some(started);

        let members: Vec<String> = self
            .db
            .query_all(statement(
                backend,
                "SELECT holder FROM consumer_members WHERE consumer = $1 AND until > $2 \
                 ORDER BY holder",
                [text(&self.consumer), now.into()],
            ))
            .await?
            .iter()
            .map(|row| row.try_get::<String>("", "holder"))
            .collect::<Result<_, _>>()?;
        let share = share_of(&members, &self.holder, self.partitions);

        // Above the share: give back the highest partitions, each once the consumer
        // no longer reads it.
        let surplus: BTreeSet<i32> = self
            .held
            .iter()
            .rev()
            .take(self.held.len().saturating_sub(share))
            .copied()
            .collect();
        for part in &surplus {
            if !reading.contains(part) {
                self.db
                    .execute(statement(
                        backend,
                        "DELETE FROM partition_leases \
                         WHERE consumer = $1 AND part = $2 AND holder = $3",
                        [text(&self.consumer), (*part).into(), text(&self.holder)],
                    ))
                    .await?;
                self.held.remove(part);
            }
        }
        // Below it: take what is free or lapsed.
        for part in 0..self.partitions {
            if self.held.len() >= share {
                break;
            }
            if self.held.contains(&part) {
                continue;
            }
            let taken = self
                .db
                .execute(statement(
                    backend,
                    "INSERT INTO partition_leases (consumer, part, holder, until) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, part) DO UPDATE \
                     SET holder = excluded.holder, until = excluded.until \
                     WHERE partition_leases.until < $5",
                    [
                        text(&self.consumer),
                        part.into(),
                        text(&self.holder),
                        until.into(),
                        now.into(),
                    ],
                ))
                .await?
                .rows_affected();
            if taken == 1 {
                self.held.insert(part);
            }
        }
        // Members gone for a while: their rows only take room (looked for now and
        // then).
        self.rounds += 1;
        if self.rounds.is_multiple_of(16) {
            self.db
                .execute(statement(
                    backend,
                    "DELETE FROM consumer_members WHERE consumer = $1 AND until < $2",
                    [text(&self.consumer), (now - lease * 6).into()],
                ))
                .await?;
        }
        Ok(self.held.difference(&surplus).copied().collect())
    }

    /// Deletes this consumer's member row and leases.
    async fn leave(&self) -> Result<(), DbErr> {
        let backend = self.db.get_database_backend();
        for table in ["partition_leases", "consumer_members"] {
            self.db
                .execute(statement(
                    backend,
                    &format!("DELETE FROM {table} WHERE consumer = $1 AND holder = $2"),
                    [
                        Value::from(self.consumer.clone()),
                        Value::from(self.holder.clone()),
                    ],
                ))
                .await?;
        }
        Ok(())
    }
}

/// The number of partitions `holder` should read among the live `members` (sorted):
/// an even share, one more for the first members while some are left over.
fn share_of(members: &[String], holder: &str, partitions: i32) -> usize {
    let partitions = partitions.max(0) as usize;
    let Some(index) = members.iter().position(|m| m == holder) else {
        return 0;
    };
    let count = members.len();
    partitions / count + usize::from(index < partitions % count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_every_partition() {
        for partitions in [1, 3, 8, 16] {
            for count in 1..6 {
                let members: Vec<String> = (0..count).map(|i| format!("m{i}")).collect();
                let shares: Vec<usize> = members
                    .iter()
                    .map(|m| share_of(&members, m, partitions))
                    .collect();
                assert_eq!(
                    shares.iter().sum::<usize>(),
                    partitions as usize,
                    "{partitions} over {count}: {shares:?}"
                );
                let (min, max) = (shares.iter().min(), shares.iter().max());
                assert!(max.unwrap() - min.unwrap() <= 1, "uneven: {shares:?}");
            }
        }
        assert_eq!(share_of(&["a".into()], "stranger", 3), 0);
    }
}
