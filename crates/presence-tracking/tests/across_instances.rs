//! Presence across server instances: two trackers, each with its own connection to
//! one store (in process, and Redis from scripts/services.sh).

use std::sync::Arc;
use std::time::Duration;

use echostream_config::RedisConfig;
use echostream_ports::pubsub::memory::MemoryPubSub;
use echostream_ports::pubsub::redis::RedisPubSub;
use echostream_ports::pubsub::{Heard, PubSub};
use futures::StreamExt;
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: services tests need the real services that scripts/test.sh starts"
        )
    })
}

async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "not within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two server instances (two trackers, each with its own connection to the same
/// store) count a user's devices together and announce each change once.
async fn presence_across_instances(one: Arc<dyn PubSub>, two: Arc<dyn PubSub>) {
    use echostream_contracts::presence::{PresenceState, channel};
    use echostream_presence_tracking::{Connection, Device, Tracker};

    let away_after = Duration::from_secs(300);
    let (a, b) = (
        Tracker::new(Arc::clone(&one), away_after),
        Tracker::new(Arc::clone(&two), away_after),
    );
    let user = Uuid::now_v7();
    let device = || Device {
        user_id: user,
        session_id: Uuid::now_v7(),
    };
    let mut changes = one
        .listen(&[channel(user).name().to_string()])
        .await
        .unwrap();
    let phone = Connection::open(Arc::clone(&a), device()).await.unwrap();
    let laptop = device();
    let _laptop = Connection::open(Arc::clone(&b), laptop).await.unwrap();
    let seen_by_a = a.status(user).await.unwrap();
    assert_eq!(seen_by_a.state, PresenceState::Online);
    assert_eq!(seen_by_a.devices, 2, "each instance sees both devices");
    assert_eq!(b.status(user).await.unwrap().devices, 2);

    // The laptop says it is away; the phone still holds the user online.
    b.declare(&laptop, true).await.unwrap();
    assert_eq!(a.status(user).await.unwrap().state, PresenceState::Online);
    drop(phone);
    eventually(|| async {
        (a.status(user).await.unwrap().state == PresenceState::Away).then_some(())
    })
    .await;
    // Both instances settle the same change: it is announced once.
    a.settle(user).await.unwrap();
    b.settle(user).await.unwrap();
    let channel = channel(user);
    let mut announced = Vec::new();
    while let Ok(Some(Heard::Frame(text))) =
        tokio::time::timeout(Duration::from_millis(300), changes.next()).await
    {
        announced.push(channel.decode(&text).unwrap().state);
    }
    assert_eq!(announced, [PresenceState::Online, PresenceState::Away]);
}

#[tokio::test]
async fn embedded_presence_spans_instances() {
    let store: Arc<dyn PubSub> = Arc::new(MemoryPubSub::new());
    presence_across_instances(Arc::clone(&store), store).await;
}

#[tokio::test]
async fn services_presence_spans_instances_on_redis() {
    let config = RedisConfig {
        url: env("TEST_ECHOSTREAM_REDIS"),
        key_prefix: format!("t{}:", Uuid::now_v7().simple()),
        ..RedisConfig::default()
    };
    let one = Arc::new(RedisPubSub::connect(&config).await.unwrap());
    let two = Arc::new(RedisPubSub::connect(&config).await.unwrap());
    presence_across_instances(one, two).await;
}
