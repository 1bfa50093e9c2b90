//! Reading the mail the platform sent: the local outbox (embedded) or the SMTP
//! catcher's HTTP API (services).

use std::time::Duration;

use serde_json::Value;

use crate::client::eventually;
use crate::platform::{Platform, Profile, service_env};

/// The first run of exactly six digits in `text` that stands alone as a word.
fn six_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let window = &bytes[i..i + 6];
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_alphanumeric());
        (bounded && window.iter().all(u8::is_ascii_digit))
            .then(|| String::from_utf8_lossy(window).into_owned())
    })
}

async fn texts_to(platform: &Platform, address: &str) -> Vec<String> {
    match platform.profile {
        Profile::Embedded => {
            let path = platform.data_dir.join("mail/outbox.jsonl");
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|m| m["to"] == address)
                .filter_map(|m| m["text"].as_str().map(str::to_string))
                .collect()
        }
        Profile::Services => {
            let api = service_env("TEST_ECHOSTREAM_MAILDEV");
            let Ok(response) = reqwest::get(format!("{api}/api/email")).await else {
                return Vec::new();
            };
            let mails: Vec<Value> = response.json().await.unwrap_or_default();
            mails
                .into_iter()
                .filter(|m| {
                    m["to"]
                        .as_array()
                        .is_some_and(|to| to.iter().any(|t| t["address"] == address))
                })
                .filter_map(|m| m["text"].as_str().map(str::to_string))
                .collect()
        }
    }
}

/// How many mails `address` has received so far.
pub async fn mails_to(platform: &Platform, address: &str) -> usize {
    texts_to(platform, address).await.len()
}

/// Waits for a mail to `address` beyond the first `seen` and returns its 6-digit code.
pub async fn new_code_sent_to(platform: &Platform, address: &str, seen: usize) -> String {
    eventually(
        &format!("a new code mailed to {address}"),
        Duration::from_secs(15),
        || async {
            let texts = texts_to(platform, address).await;
            texts
                .get(seen..)
                .and_then(|new| new.last())
                .and_then(|t| six_digits(t))
        },
    )
    .await
}

/// Waits for a mail to `address` and returns the newest 6-digit code in it.
pub async fn code_sent_to(platform: &Platform, address: &str) -> String {
    eventually(
        &format!("a code mailed to {address}"),
        Duration::from_secs(15),
        || async {
            texts_to(platform, address)
                .await
                .last()
                .and_then(|t| six_digits(t))
        },
    )
    .await
}

/// Empties the SMTP catcher (services), so that reading a code stays cheap after
/// many sign-ups; the embedded outbox is the platform's own file and stays.
pub async fn clear_mail(platform: &Platform) {
    if platform.profile == Profile::Services {
        let api = service_env("TEST_ECHOSTREAM_MAILDEV");
        let _ = reqwest::Client::new()
            .delete(format!("{api}/api/email/all"))
            .send()
            .await;
    }
}

#[cfg(test)]
#[test]
fn six_digit_codes_are_found_alone() {
    assert_eq!(six_digits("code 123456."), Some("123456".into()));
    assert_eq!(six_digits("1234567 and 654321"), Some("654321".into()));
    assert_eq!(six_digits("12345"), None);
    assert_eq!(
        six_digits("Welcome, ann_1a234567! Your code is 042424."),
        Some("042424".into())
    );
}
