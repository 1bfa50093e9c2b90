//! The embedded event log: topics, partitions, offsets and consumer groups in memory.
//!
//! Same semantics as Kafka where consumers can tell: per-key ordering within a
//! partition, offsets per partition, commits per group, replay from the earliest
//! offset. Each group has one member per process here, so it is assigned every
//! partition. History lives as long as the process; the outboxes in each subgraph's
//! database are what make writes durable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{Delivery, Envelope, EventLog, LogConsumer, LogError, StartAt, partition_for};

#[derive(Default)]
struct Topic {
    partitions: Vec<Vec<Envelope>>,
    /// Committed next-offset per group, per partition.
    commits: HashMap<String, Vec<i64>>,
}

/// The in-process event log.
pub struct MemoryLog {
    partitions: i32,
    topics: Mutex<HashMap<String, Topic>>,
    appended: Notify,
}

impl MemoryLog {
    /// A log whose topics have `partitions` partitions each.
    pub fn new(partitions: i32) -> Arc<MemoryLog> {
        Arc::new(MemoryLog {
            partitions: partitions.max(1),
            topics: Mutex::new(HashMap::new()),
            appended: Notify::new(),
        })
    }

    fn with_topic<R>(&self, name: &str, f: impl FnOnce(&mut Topic) -> R) -> R {
        let mut topics = self.topics.lock().expect("event log lock poisoned");
        let topic = topics.entry(name.to_string()).or_insert_with(|| Topic {
            partitions: vec![Vec::new(); self.partitions as usize],
            commits: HashMap::new(),
        });
        f(topic)
    }
}

#[async_trait]
impl EventLog for Arc<MemoryLog> {
    async fn publish(&self, event: &Envelope) -> Result<(), LogError> {
        let partition = partition_for(&event.key, self.partitions) as usize;
        self.with_topic(event.topic(), |t| {
            t.partitions[partition].push(event.clone())
        });
        self.appended.notify_waiters();
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        start: StartAt,
    ) -> Result<Box<dyn LogConsumer>, LogError> {
        let positions = self.with_topic(topic, |t| {
            let committed = t
                .commits
                .entry(group.to_string())
                .or_insert_with(|| vec![0; t.partitions.len()])
                .clone();
            match start {
                StartAt::Committed => committed,
                StartAt::Earliest => vec![0; t.partitions.len()],
            }
        });
        Ok(Box::new(MemoryConsumer {
            log: Arc::clone(self),
            topic: topic.to_string(),
            group: group.to_string(),
            positions,
            next_partition: 0,
        }))
    }
    async fn lag(&self, topic: &str, group: &str) -> Result<i64, LogError> {
        Ok(self.with_topic(topic, |t| {
            let committed = t.commits.get(group);
            t.partitions
                .iter()
                .enumerate()
                .map(|(p, events)| {
                    let done = committed.map_or(0, |c| c[p]);
                    events.len() as i64 - done
                })
                .sum()
        }))
    }
}

struct MemoryConsumer {
    log: Arc<MemoryLog>,
    topic: String,
    group: String,
    /// Next offset to read, per partition.
    positions: Vec<i64>,
    /// Round-robin start, so one busy partition cannot starve the others.
    next_partition: usize,
}

impl MemoryConsumer {
    fn poll(&mut self) -> Option<Delivery> {
        let n = self.positions.len();
        self.log.with_topic(&self.topic, |t| {
            for i in 0..n {
                let p = (self.next_partition + i) % n;
                let offset = self.positions[p];
                if let Some(event) = t.partitions[p].get(offset as usize) {
                    self.positions[p] += 1;
                    self.next_partition = (p + 1) % n;
                    return Some(Delivery {
                        event: event.clone(),
                        topic: self.topic.clone(),
                        partition: p as i32,
                        offset,
                    });
                }
            }
            None
        })
    }
}

#[async_trait]
impl LogConsumer for MemoryConsumer {
    async fn next(&mut self) -> Result<Delivery, LogError> {
        loop {
            // Register interest before polling so an append between the poll and the
            // wait cannot be missed.
            let log = Arc::clone(&self.log);
            let appended = log.appended.notified();
            if let Some(delivery) = self.poll() {
                return Ok(delivery);
            }
            appended.await;
        }
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), LogError> {
        let group = self.group.clone();
        self.log.with_topic(&self.topic, |t| {
            let commits = t
                .commits
                .entry(group)
                .or_insert_with(|| vec![0; t.partitions.len()]);
            let slot = &mut commits[delivery.partition as usize];
            *slot = (*slot).max(delivery.offset + 1);
        });
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
        let log = MemoryLog::new(3);
        for n in 0..10 {
            log.publish(&event("conv-a", n)).await.unwrap();
        }
        let mut consumer = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        for n in 0..10 {
            let d = consumer.next().await.unwrap();
            assert_eq!(d.event.payload["n"], n);
        }
    }

    #[tokio::test]
    async fn a_group_resumes_after_its_commit_and_replay_starts_over() {
        let log = MemoryLog::new(1);
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

    // Paused time: the sleep below ends only once every task is idle, so the
    // consumer is surely waiting when the event is published.
    #[tokio::test(start_paused = true)]
    async fn a_waiting_consumer_wakes_on_publish() {
        let log = MemoryLog::new(2);
        let mut c = log
            .subscribe("chat", "g", StartAt::Committed)
            .await
            .unwrap();
        let waiter =
            tokio::spawn(async move { c.next().await.unwrap().event.payload["n"].clone() });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log.publish(&event("x", 7)).await.unwrap();
        assert_eq!(waiter.await.unwrap(), 7);
    }
}
