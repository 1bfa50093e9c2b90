//! The services-profile event log: Kafka through rdkafka.
//!
//! Topics are created explicitly at start-up (some Kafka-protocol brokers do not
//! auto-create). An offset is stored only after a consumer has processed its event
//! and committed with those around it every second, so a crash re-delivers instead
//! of losing; consumers deduplicate by event id.
//!
//! A broker can come back without its topics (one that keeps its log in memory, or
//! a cluster rebuilt from nothing). A publish that fails, or a consumer told its
//! topic is unknown, makes the log create its topics again ([`Topics::repair`], at
//! most every few seconds), so the outbox relay (which retries what failed) and the
//! consumers go on once the broker is back instead of stalling.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::shares::{Holding, Keeping, Shares};
use super::{Delivery, Envelope, EventLog, LogConsumer, LogError, StartAt, topics};
use echostream_config::KafkaConfig;

/// Kafka-backed event log.
pub struct KafkaLog {
    producer: FutureProducer,
    topics: Arc<Topics>,
    /// One idle client per consumer group, asked for the group's committed offsets
    /// (`lag`); it never joins the group.
    lag_probes: std::sync::Mutex<std::collections::HashMap<String, Arc<BaseConsumer>>>,
}

/// EchoStream's topics on the broker, created at start and again when lost.
struct Topics {
    config: KafkaConfig,
    /// When they were last made sure of after a failure.
    last_repair: tokio::sync::Mutex<Option<Instant>>,
    /// Partitions per topic as the broker told them (asked once; forgotten when the
    /// topics are created again).
    counts: std::sync::Mutex<HashMap<String, i32>>,
}

/// Least time between two topic checks after failed publishes.
const REPAIR_EVERY: Duration = Duration::from_secs(2);

fn unavailable(err: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(err.to_string())
}

impl KafkaLog {
    /// Connects a producer and makes sure every EchoStream topic exists.
    pub async fn connect(config: &KafkaConfig) -> Result<KafkaLog, LogError> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("message.timeout.ms", "10000")
            .set("enable.idempotence", "false")
            // The relay hands over a batch at once: one request in flight per
            // connection keeps a retried request from overtaking the next.
            .set("max.in.flight.requests.per.connection", "1")
            .set("linger.ms", "0")
            .create()
            .map_err(unavailable)?;
        let topics = Arc::new(Topics {
            config: config.clone(),
            last_repair: tokio::sync::Mutex::new(None),
            counts: Default::default(),
        });
        topics.create().await?;
        Ok(KafkaLog {
            producer,
            topics,
            lag_probes: Default::default(),
        })
    }
}

impl Topics {
    /// The broker's name of EchoStream topic `topic`.
    fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.config.topic_prefix)
    }

    async fn create(&self) -> Result<(), LogError> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.config.brokers)
            .create()
            .map_err(unavailable)?;
        let names: Vec<String> = topics().iter().map(|t| self.name(t)).collect();
        let new_topics: Vec<NewTopic> = names
            .iter()
            .map(|n| NewTopic::new(n, self.config.partitions, TopicReplication::Fixed(1)))
            .collect();
        let options = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(10)))
            .request_timeout(Some(Duration::from_secs(5)));
        let results = admin
            .create_topics(&new_topics, &options)
            .await
            .map_err(unavailable)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(LogError::Unavailable(format!(
                        "creating topic {topic}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// After a failure that may mean the broker lost topics: creates whatever is
    /// missing. One caller at a time, at most every [`REPAIR_EVERY`]; the others go
    /// on at once (the relay retries its batch in order, consumers read again).
    async fn repair(&self) {
        let Ok(mut last) = self.last_repair.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < REPAIR_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        match self.create().await {
            Ok(()) => self
                .counts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear(),
            Err(err) => tracing::warn!(%err, "event log topics could not be checked yet"),
        }
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    /// Asks the broker for a topic's metadata (librdkafka blocks meanwhile, so on a
    /// blocking thread), which needs a broker that answers.
    async fn check(&self) -> Result<(), String> {
        let producer = self.producer.clone();
        let topic = self.topics.name(topics()[0]);
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(2))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// The partitions' high watermarks less the group's committed offsets (a
    /// partition the group never committed counts from its low watermark); asked on
    /// a blocking thread, as librdkafka blocks meanwhile.
    async fn lag(&self, topic: &str, group: &str) -> Result<i64, LogError> {
        let group_id = format!("{}{group}", self.topics.config.topic_prefix);
        let probe = {
            let mut probes = self.lag_probes.lock().expect("lag probes lock");
            match probes.get(&group_id) {
                Some(probe) => Arc::clone(probe),
                None => {
                    let probe: BaseConsumer = ClientConfig::new()
                        .set("bootstrap.servers", &self.topics.config.brokers)
                        .set("group.id", &group_id)
                        .set("enable.auto.commit", "false")
                        .create()
                        .map_err(unavailable)?;
                    let probe = Arc::new(probe);
                    probes.insert(group_id, Arc::clone(&probe));
                    probe
                }
            }
        };
        let full = self.topics.name(topic);
        let partitions = self.partition_count(topic).await;
        tokio::task::spawn_blocking(move || {
            let within = Duration::from_secs(2);
            let mut asked = TopicPartitionList::new();
            for p in 0..partitions {
                asked.add_partition(&full, p);
            }
            let committed = probe
                .committed_offsets(asked, within)
                .map_err(unavailable)?;
            let mut lag = 0;
            for p in 0..partitions {
                let (low, high) = probe
                    .fetch_watermarks(&full, p, within)
                    .map_err(unavailable)?;
                let done = match committed.find_partition(&full, p).map(|e| e.offset()) {
                    Some(Offset::Offset(at)) => at,
                    _ => low,
                };
                lag += (high - done).max(0);
            }
            Ok(lag)
        })
        .await
        .map_err(unavailable)?
    }

    async fn publish(&self, event: &Envelope) -> Result<(), LogError> {
        let topic = self.topics.name(event.topic());
        let body = serde_json::to_vec(event).map_err(|e| LogError::Decode(e.to_string()))?;
        let id = event.id.to_string();
        let record = FutureRecord::to(&topic)
            .key(&event.key)
            .payload(&body)
            .headers(
                rdkafka::message::OwnedHeaders::new()
                    .insert(rdkafka::message::Header {
                        key: "event-id",
                        value: Some(id.as_bytes()),
                    })
                    .insert(rdkafka::message::Header {
                        key: "traceparent",
                        value: event.trace.as_deref().map(str::as_bytes),
                    }),
            );
        let sent = self
            .producer
            .send(record, Timeout::After(Duration::from_secs(10)))
            .await;
        if let Err((err, _)) = sent {
            self.topics.repair().await;
            return Err(unavailable(err));
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        start: StartAt,
    ) -> Result<Box<dyn LogConsumer>, LogError> {
        let (group_id, from) = match start {
            StartAt::Committed => (
                format!("{}{group}", self.topics.config.topic_prefix),
                Offset::Stored,
            ),
            // A throwaway group reads from the beginning without disturbing the
            // real group's committed offsets.
            StartAt::Earliest => (
                format!(
                    "{}{group}-replay-{}",
                    self.topics.config.topic_prefix,
                    uuid::Uuid::now_v7()
                ),
                Offset::Beginning,
            ),
        };
        let mut consumer = self.consumer(topic, &group_id)?;
        let every: BTreeSet<i32> = (0..self.partition_count(topic).await).collect();
        consumer.assign(&every, from)?;
        Ok(Box::new(consumer))
    }

    async fn subscribe_shared(
        &self,
        topic: &str,
        group: &str,
        shares: Shares,
    ) -> Result<Box<dyn LogConsumer>, LogError> {
        let prefix = &self.topics.config.topic_prefix;
        let mut consumer = self.consumer(topic, &format!("{prefix}{group}"))?;
        let keeping = Keeping::lease(Duration::from_millis(self.topics.config.partition_lease_ms));
        consumer.holding = Some(shares.keep(
            format!("{prefix}{group}:{topic}"),
            self.partition_count(topic).await,
            keeping,
        ));
        Ok(Box::new(consumer))
    }
}

impl KafkaLog {
    /// A consumer of `topic` in group `group_id` (the broker's name) that reads no
    /// partition until assigned some.
    fn consumer(&self, topic: &str, group_id: &str) -> Result<KafkaConsumer, LogError> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.topics.config.brokers)
            .set("group.id", group_id)
            // `commit` stores the processed offset locally; librdkafka sends what is
            // stored every second and when the consumer closes (and a partition given
            // back is committed at once). A request per event would cost the broker
            // as much as the event itself; a crash re-delivers at most a second's
            // events, which every handler takes as a repeat.
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            // Low fetch wait: chat events are small and latency-bound, not batch-bound.
            .set("fetch.wait.max.ms", "10")
            // A broker that came back without a topic gets it again from the
            // relay (see the module's description); a consumer learns that from
            // metadata, which librdkafka refreshes every 5 minutes by default.
            .set("topic.metadata.refresh.interval.ms", "5000")
            // A partition whose fetch failed is asked again after this, not after
            // librdkafka's 500 ms: a transient error must not stall a chat.
            .set("fetch.error.backoff.ms", "50")
            .create()
            .map_err(unavailable)?;
        Ok(KafkaConsumer {
            consumer,
            topics: Arc::clone(&self.topics),
            topic: topic.to_string(),
            full_topic: self.topics.name(topic),
            holding: None,
            reading: BTreeSet::new(),
            stored: HashMap::new(),
            unsettled: false,
        })
    }

    /// The partitions `topic` has on the broker (it may have been created with
    /// another count than configured now), asked once and kept; the configured count
    /// while the broker does not say.
    async fn partition_count(&self, topic: &str) -> i32 {
        let full = self.topics.name(topic);
        let counts = || self.topics.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts().get(&full) {
            return *count;
        }
        let producer = self.producer.clone();
        let name = full.clone();
        let asked = tokio::task::spawn_blocking(move || {
            let metadata = producer
                .client()
                .fetch_metadata(Some(&name), Duration::from_secs(5))
                .ok()?;
            let count = metadata.topics().first()?.partitions().len();
            i32::try_from(count).ok().filter(|n| *n > 0)
        })
        .await;
        match asked.ok().flatten() {
            Some(count) => {
                counts().insert(full, count);
                count
            }
            None => self.topics.config.partitions,
        }
    }
}

/// A consumer whose partitions are assigned by EchoStream, not by the broker's group
/// protocol: every partition for a lone reader, its share for one of a group.
struct KafkaConsumer {
    consumer: StreamConsumer,
    topics: Arc<Topics>,
    topic: String,
    full_topic: String,
    /// Its keeper's side, for a consumer that shares its group ([`shares`]).
    holding: Option<Holding>,
    /// The partitions assigned now.
    reading: BTreeSet<i32>,
    /// Per partition read, the offset stored last (the next one to read).
    stored: HashMap<i32, i64>,
    /// Following the keeper failed: try again before the next read.
    unsettled: bool,
}

impl KafkaConsumer {
    /// Starts reading `partitions` at `from`.
    fn assign(&mut self, partitions: &BTreeSet<i32>, from: Offset) -> Result<(), LogError> {
        let mut list = TopicPartitionList::new();
        for part in partitions {
            list.add_partition_offset(&self.full_topic, *part, from)
                .map_err(unavailable)?;
        }
        self.consumer
            .incremental_assign(&list)
            .map_err(unavailable)?;
        self.reading.extend(partitions);
        Ok(())
    }

    /// Reads what the keeper allows now: commits and stops reading the partitions
    /// taken away, then starts the new ones at their committed offsets, and tells
    /// the keeper.
    fn follow(&mut self) -> Result<(), LogError> {
        let Some(holding) = self.holding.as_mut() else {
            return Ok(());
        };
        let target = holding.allowed.borrow_and_update().clone();
        let gone: BTreeSet<i32> = self.reading.difference(&target).copied().collect();
        let new: BTreeSet<i32> = target.difference(&self.reading).copied().collect();
        if !gone.is_empty() {
            let mut done = TopicPartitionList::new();
            let mut stop = TopicPartitionList::new();
            for part in &gone {
                stop.add_partition(&self.full_topic, *part);
                if let Some(at) = self.stored.remove(part) {
                    done.add_partition_offset(&self.full_topic, *part, Offset::Offset(at))
                        .map_err(unavailable)?;
                }
            }
            if done.count() > 0
                && let Err(err) = self.consumer.commit(&done, CommitMode::Sync)
            {
                // Whoever takes the partition re-reads from the last commit; every
                // handler takes a repeat as one.
                tracing::warn!(topic = %self.topic, %err, "offsets of a partition given back not committed");
            }
            self.consumer
                .incremental_unassign(&stop)
                .map_err(unavailable)?;
            self.reading.retain(|part| !gone.contains(part));
        }
        if !new.is_empty() {
            self.assign(&new, Offset::Stored)?;
        }
        tracing::info!(topic = %self.topic, partitions = ?self.reading, "reading partitions");
        if let Some(holding) = self.holding.as_ref() {
            holding.reading.send_replace(self.reading.clone());
        }
        Ok(())
    }
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn next(&mut self) -> Result<Delivery, LogError> {
        loop {
            if self.unsettled {
                self.unsettled = false;
                if let Err(err) = self.follow() {
                    self.unsettled = true;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return Err(err);
                }
            }
            let received = match self.holding.as_mut() {
                None => self.consumer.recv().await,
                Some(holding) => tokio::select! {
                    changed = holding.allowed.changed() => {
                        if changed.is_err() {
                            return Err(LogError::Closed);
                        }
                        self.unsettled = true;
                        continue;
                    }
                    received = self.consumer.recv() => received,
                },
            };
            let message = match received {
                Ok(message) => message,
                Err(err) => {
                    if err.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) {
                        self.topics.repair().await;
                    }
                    return Err(unavailable(err));
                }
            };
            // Fetched before its partition was given back: its new reader has it.
            if !self.reading.contains(&message.partition()) {
                continue;
            }
            return delivery_of(&message, &self.topic);
        }
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), LogError> {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(
            &self.full_topic,
            delivery.partition,
            Offset::Offset(delivery.offset + 1),
        )
        .map_err(unavailable)?;
        self.consumer.store_offsets(&list).map_err(unavailable)?;
        self.stored.insert(delivery.partition, delivery.offset + 1);
        Ok(())
    }
}

/// The delivery of a message, or the stand-in of one that is not an envelope.
fn delivery_of(message: &impl Message, topic: &str) -> Result<Delivery, LogError> {
    let payload = message.payload().unwrap_or_default();
    let place = |event| Delivery {
        event,
        topic: topic.to_string(),
        partition: message.partition(),
        offset: message.offset(),
    };
    match serde_json::from_slice::<Envelope>(payload) {
        // The header carries the trace context (W3C, as other Kafka clients read
        // it); it wins over the copy in the envelope.
        Ok(mut event) => {
            if let Some(trace) = traceparent_header(message) {
                event.trace = Some(trace);
            }
            Ok(place(event))
        }
        Err(err) => {
            let raw = String::from_utf8_lossy(payload).into_owned();
            let stand_in = Envelope::new("", None, "", serde_json::Value::String(raw));
            Err(LogError::Undecodable(
                Box::new(place(stand_in)),
                err.to_string(),
            ))
        }
    }
}

/// The message's `traceparent` header, when it has a readable one.
fn traceparent_header(message: &impl Message) -> Option<String> {
    use rdkafka::message::Headers;
    message
        .headers()?
        .iter()
        .find(|header| header.key == "traceparent")
        .and_then(|header| header.value)
        .and_then(|value| std::str::from_utf8(value).ok())
        .map(str::to_string)
}
