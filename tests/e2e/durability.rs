//! The embedded profile keeps what it acknowledged: its event log is a file, so a
//! process killed mid-traffic (`kill -9`) loses nothing once started again.

use std::collections::BTreeSet;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use echostream_testkit::client::{data, eventually};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{WAIT, direct_conversation, friends, notifications, send_to};

/// Messages sent in the burst (the feed lists at most 100).
const BURST: usize = 80;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_traffic_loses_no_event_embedded() {
    let mut p = crate::start(Profile::Embedded).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;

    // Ann sends as fast as the platform answers; the process is killed mid-burst.
    let (gateway, token, conversation) = (p.gateway.clone(), ann.token.clone(), id.clone());
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&answered);
    let burst = tokio::spawn(async move {
        for n in 0..BURST {
            let key = format!("crash-{n}");
            let body = format!("burst {n}");
            let sent = tokio::spawn({
                let (gateway, token, conversation) =
                    (gateway.clone(), token.clone(), conversation.clone());
                async move { send_to(&gateway, &token, &conversation, &body, &key).await }
            });
            // A send cut off by the crash fails: that one is simply not stored.
            if sent.await.is_err() {
                return;
            }
            counter.store(n + 1, Ordering::SeqCst);
        }
    });
    eventually("a quarter of the burst to be answered", WAIT, || async {
        (answered.load(Ordering::SeqCst) >= BURST / 4).then_some(())
    })
    .await;
    p.crash_and_restart().await;
    burst.await.unwrap();
    let answered = answered.load(Ordering::SeqCst);

    let history = data(
        &p.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages(last: 100) { nodes { id } } } }",
        json!({ "id": id }),
        Some(&bob.token),
    )
    .await;
    let stored: BTreeSet<String> = history["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        stored.len() >= 5 && stored.len() < BURST,
        "the crash came mid-burst: {} stored, {answered} answered",
        stored.len()
    );

    // Every stored message reaches bob's feed, counted once into the conversation's
    // item: nothing the outbox handed to the log, nor anything still waiting in it,
    // was lost with the process, and no redelivery counted twice.
    let counted = |feed: &[Value]| {
        feed.iter()
            .filter(|n| n["kind"] == "MESSAGE" && n["conversationId"] == id.as_str())
            .map(|n| n["count"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    let feed = eventually("every stored message to be notified", WAIT, || async {
        let feed = notifications(&p, &bob, "kind conversationId count").await;
        (counted(&feed) >= stored.len() as u64).then_some(feed)
    })
    .await;
    // A redelivery would show as one more, after a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = notifications(&p, &bob, "kind conversationId count").await;
    assert_eq!(
        (counted(&feed), counted(&again)),
        (stored.len() as u64, stored.len() as u64),
        "one count per stored message, none twice"
    );
}
