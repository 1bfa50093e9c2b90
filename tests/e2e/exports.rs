//! A conversation's export through the gateway, as JSON and as CSV: the member's own
//! view (what they deleted for themselves left out, a message deleted for everyone as
//! a tombstone without its text), downloaded from storage; members only.

use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::Profile;
use echostream_testkit::scenario::{direct_conversation, friends, send, signed_up};
use serde_json::{Value, json};

use crate::on_both_profiles;

const EXPORT: &str = "mutation X($c: ID!, $f: ExportFormat!) { exportConversation(conversationId: $c, format: $f) { url expiresAt byteSize } }";

async fn download(export: &Value) -> Vec<u8> {
    let response = reqwest::get(export["url"].as_str().unwrap()).await.unwrap();
    assert!(response.status().is_success(), "{export}");
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(bytes.len() as i64, export["byteSize"].as_i64().unwrap());
    bytes
}

async fn a_conversation_exports_as_its_member_reads_it(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let id = direct_conversation(&p, &ann, &bob).await;
    let first = send(&p, &ann, &id, "first", "x1").await;
    let tricky = "with, comma and \"quotes\"\nand a new line";
    send(&p, &ann, &id, tricky, "x2").await;
    let secret = send(&p, &ann, &id, "the secret", "x3").await;
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForMe(messageId: $m) }",
        json!({ "m": first["id"] }),
        Some(&bob.token),
    )
    .await;
    data(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }",
        json!({ "m": secret["id"] }),
        Some(&ann.token),
    )
    .await;

    // JSON: bob's view, the tombstone without text.
    let export = data(
        &p.gateway,
        EXPORT,
        json!({ "c": id, "f": "JSON" }),
        Some(&bob.token),
    )
    .await;
    let bytes = download(&export["exportConversation"]).await;
    assert!(!String::from_utf8_lossy(&bytes).contains("secret"));
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["conversation"]["id"], id.as_str());
    let messages = doc["messages"].as_array().unwrap();
    let texts: Vec<&Value> = messages
        .iter()
        .filter(|m| m["kind"] == "text")
        .map(|m| &m["body"])
        .collect();
    assert_eq!(texts, [&json!(tricky), &Value::Null], "{doc}");
    assert!(messages.last().unwrap()["deletedAt"].is_string());

    // CSV: the same rows, quoted as RFC 4180 says.
    let export = data(
        &p.gateway,
        EXPORT,
        json!({ "c": id, "f": "CSV" }),
        Some(&ann.token),
    )
    .await;
    let bytes = download(&export["exportConversation"]).await;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "seq",
            "id",
            "created_at",
            "sender_id",
            "kind",
            "body",
            "edited_at",
            "deleted_at",
            "deleted_by",
            "attachments"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let bodies: Vec<&str> = rows
        .iter()
        .filter(|r| &r[4] == "text")
        .map(|r| &r[5])
        .collect();
    assert_eq!(
        bodies,
        ["first", tricky, ""],
        "ann deleted nothing for herself"
    );
    let tombstone = rows.last().unwrap();
    assert!(!tombstone[7].is_empty(), "deleted_at");
    assert_eq!(&tombstone[8], ann.id.as_str());

    // Members only.
    let cat = signed_up(&p, "cat").await;
    let refused = post(
        &p.gateway,
        EXPORT,
        json!({ "c": id, "f": "CSV" }),
        Some(&cat.token),
    )
    .await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
}

on_both_profiles!(a_conversation_exports_as_its_member_reads_it);
