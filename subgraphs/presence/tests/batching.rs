//! Friends' presence costs a fixed number of round trips, however many friends:
//! the figure behind `friendsPresence` and `User.presence` (issue 9: 500 friends).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use echostream_config::Subgraph;
use echostream_migrations::presence::Migrator;
use echostream_ports::db::count_queries;
use echostream_ports::pubsub::memory::MemoryPubSub;
use echostream_ports::pubsub::{Heard, History, PubSub, PubSubError, Retention};
use echostream_presence::Presence;
use echostream_presence_tracking::{Connection, Tracker};
use echostream_projections::friendships::friendship;
use echostream_service::service::Ports;
use echostream_service::token::Viewer;
use futures::stream::BoxStream;
use sea_orm::{EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

/// The in-process pub/sub, counting round trips (each call is one to Redis).
#[derive(Default)]
struct Counted {
    inner: MemoryPubSub,
    calls: AtomicUsize,
}

impl Counted {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl PubSub for Counted {
    async fn publish(&self, channel: &str, message: &str) -> Result<(), PubSubError> {
        self.count();
        self.inner.publish(channel, message).await
    }
    async fn listen(&self, channels: &[String]) -> Result<BoxStream<'static, Heard>, PubSubError> {
        self.count();
        self.inner.listen(channels).await
    }
    async fn append(
        &self,
        streams: &[String],
        dedupe: &str,
        data: &str,
        supersedes: Option<&str>,
        keep: Retention,
    ) -> Result<(), PubSubError> {
        self.count();
        self.inner
            .append(streams, dedupe, data, supersedes, keep)
            .await
    }
    async fn restart_streams(
        &self,
        streams: &[String],
        keep: Retention,
    ) -> Result<(), PubSubError> {
        self.count();
        self.inner.restart_streams(streams, keep).await
    }
    async fn history(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
        keep: Retention,
    ) -> Result<History, PubSubError> {
        self.count();
        self.inner.history(stream, after, limit, keep).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), PubSubError> {
        self.count();
        self.inner.set(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> Result<Option<String>, PubSubError> {
        self.count();
        self.inner.get(key).await
    }
    async fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, PubSubError> {
        self.count();
        self.inner.swap(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), PubSubError> {
        self.count();
        self.inner.delete(key).await
    }
    async fn take(&self, key: &str) -> Result<Option<String>, PubSubError> {
        self.count();
        self.inner.take(key).await
    }
    async fn increment(&self, key: &str, window: Duration) -> Result<(i64, u64), PubSubError> {
        self.count();
        self.inner.increment(key, window).await
    }
    async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), PubSubError> {
        self.count();
        self.inner.hash_set(key, field, value, ttl).await
    }
    async fn hash_delete(&self, key: &str, field: &str) -> Result<(), PubSubError> {
        self.count();
        self.inner.hash_delete(key, field).await
    }
    async fn hash_get_all(&self, key: &str) -> Result<HashMap<String, String>, PubSubError> {
        self.count();
        self.inner.hash_get_all(key).await
    }
    async fn hash_get_all_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<HashMap<String, String>>, PubSubError> {
        self.count();
        self.inner.hash_get_all_many(keys).await
    }
    async fn hold(
        &self,
        key: &str,
        holder: &str,
        cap: usize,
        lease: Duration,
    ) -> Result<bool, PubSubError> {
        self.count();
        self.inner.hold(key, holder, cap, lease).await
    }
    async fn renew(&self, places: &[(String, String)], lease: Duration) -> Result<(), PubSubError> {
        self.count();
        self.inner.renew(places, lease).await
    }
    async fn release(&self, key: &str, holder: &str) -> Result<(), PubSubError> {
        self.count();
        self.inner.release(key, holder).await
    }
}

fn device(user: Uuid) -> Viewer {
    Viewer {
        user_id: user,
        session_id: Uuid::now_v7(),
        device_id: "d".into(),
        expires_at: i64::MAX,
    }
}

#[tokio::test]
async fn five_hundred_friends_presence_in_three_queries_and_one_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut ports = Ports::embedded_at(dir.path()).await.unwrap();
    let pubsub = Arc::new(Counted::default());
    ports.presence = Tracker::new(pubsub.clone(), Duration::from_secs(300));
    let mut db = ports
        .database::<Migrator>(Subgraph::Presence)
        .await
        .unwrap();
    let queries = count_queries(&mut db);

    let me = Uuid::now_v7();
    let friends: Vec<Uuid> = (0..500).map(|_| Uuid::now_v7()).collect();
    let rows: Vec<friendship::ActiveModel> = friends
        .iter()
        .flat_map(|f| [(me, *f), (*f, me)])
        .map(|(user_id, friend_id)| friendship::ActiveModel {
            user_id: Set(user_id),
            friend_id: Set(friend_id),
        })
        .collect();
    for chunk in rows.chunks(200) {
        friendship::Entity::insert_many(chunk.to_vec())
            .exec(&db)
            .await
            .unwrap();
    }
    // A hundred of them online.
    let mut online = Vec::new();
    for friend in &friends[..100] {
        let tracker = Arc::clone(&ports.presence);
        online.push(
            Connection::open(tracker, device(*friend).device())
                .await
                .unwrap(),
        );
    }

    let app = Arc::new(Presence {
        ports: ports.clone(),
        db,
    });
    let schema = echostream_presence::graphql::schema(Some(app));
    let viewer = device(me);

    queries.store(0, Ordering::SeqCst);
    pubsub.calls.store(0, Ordering::SeqCst);
    let request = async_graphql::Request::new("{ friendsPresence { user { id } status } }");
    let response = schema.execute(request.data(viewer.clone())).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let list = data["friendsPresence"].as_array().unwrap();
    assert_eq!(list.len(), 500);
    let onliners = list.iter().filter(|p| p["status"] == "ONLINE").count();
    assert_eq!(onliners, 100);
    let used = queries.load(Ordering::SeqCst);
    let trips = pubsub.calls.load(Ordering::SeqCst);
    assert_eq!(used, 3, "friends, blocks, privacy");
    assert_eq!(trips, 1, "one pipelined read of 500 presence hashes");

    // The same through entity resolution (what the gateway asks for a friends list).
    let representations: Vec<_> = friends
        .iter()
        .map(|id| json!({ "__typename": "User", "id": id }))
        .collect();
    queries.store(0, Ordering::SeqCst);
    pubsub.calls.store(0, Ordering::SeqCst);
    let request = async_graphql::Request::new(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status } } } }",
    )
    .variables(async_graphql::Variables::from_json(
        json!({ "r": representations }),
    ))
    .data(viewer);
    let response = schema.execute(request).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    // The loader batches what arrives within its delay (one batch in a release
    // build; a slow debug build may cut a few): each batch costs three queries
    // (friendships, blocks, privacy) and one pub/sub round trip, never one per user.
    let (used, batches) = (
        queries.load(Ordering::SeqCst),
        pubsub.calls.load(Ordering::SeqCst),
    );
    assert_eq!(used, 3 * batches, "{used} queries in {batches} batches");
    assert!(batches <= 50, "500 users in {batches} batches");
    drop(online);
}
