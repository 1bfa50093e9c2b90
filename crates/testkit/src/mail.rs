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

/// A mail as received: subject, both parts, and headers by lower-case name.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub headers: std::collections::HashMap<String, String>,
}

/// The mails `address` has received so far, oldest first, as stored: the outbox's
/// lines (embedded), or the catcher's parsed mails (services).
async fn stored(platform: &Platform, address: &str) -> Vec<Value> {
    match platform.profile {
        Profile::Embedded => {
            let path = platform.data_dir.join("mail/outbox.jsonl");
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|m| m["to"] == address)
                .collect()
        }
        Profile::Services => {
            let api = service_env("TEST_ECHOSTREAM_MAILDEV");
            let Ok(response) = reqwest::get(format!("{api}/api/email")).await else {
                return Vec::new();
            };
            let all: Vec<Value> = response.json().await.unwrap_or_default();
            all.into_iter()
                .filter(|m| {
                    m["to"]
                        .as_array()
                        .is_some_and(|to| to.iter().any(|t| t["address"] == address))
                })
                .collect()
        }
    }
}

/// Every mail `address` has received so far, oldest first.
pub async fn mails(platform: &Platform, address: &str) -> Vec<Received> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut received = Vec::new();
    for m in stored(platform, address).await {
        let headers = match platform.profile {
            Profile::Embedded => m["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|pair| (text(&pair[0]).to_lowercase(), text(&pair[1])))
                .collect(),
            // The catcher's parsed `headers` leave most headers out: they are read
            // from the mail's source.
            Profile::Services => {
                let api = service_env("TEST_ECHOSTREAM_MAILDEV");
                let url = format!("{api}/api/email/{}/source", text(&m["id"]));
                let source = match reqwest::get(url).await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                headers_of(&source)
            }
        };
        received.push(Received {
            subject: text(&m["subject"]),
            text: text(&m["text"]),
            html: m["html"].as_str().map(str::to_string),
            headers,
        });
    }
    received
}

/// The headers of a raw mail, by lower-case name (folded lines unfolded).
pub fn headers_of(source: &str) -> std::collections::HashMap<String, String> {
    let mut headers = std::collections::HashMap::new();
    let mut last: Option<String> = None;
    for line in source.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(name) = &last {
                headers
                    .entry(name.clone())
                    .and_modify(|v: &mut String| v.push_str(line.trim_start()));
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_lowercase();
            headers.insert(name.clone(), value.trim().to_string());
            last = Some(name);
        }
    }
    headers
}

async fn texts_to(platform: &Platform, address: &str) -> Vec<String> {
    stored(platform, address)
        .await
        .into_iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect()
}

/// How many mails `address` has received so far.
pub async fn mails_to(platform: &Platform, address: &str) -> usize {
    texts_to(platform, address).await.len()
}

/// Waits for a mail with a code to `address` beyond the first `seen` and returns its
/// 6-digit code (the newest such).
pub async fn new_code_sent_to(platform: &Platform, address: &str, seen: usize) -> String {
    eventually(
        &format!("a new code mailed to {address}"),
        Duration::from_secs(15),
        || async {
            let texts = texts_to(platform, address).await;
            // The newest mail with a code: others (a welcome) may land in between.
            texts
                .get(seen..)
                .and_then(|new| new.iter().rev().find_map(|t| six_digits(t)))
        },
    )
    .await
}

/// Waits for a mail with a code to `address` and returns the newest 6-digit code.
pub async fn code_sent_to(platform: &Platform, address: &str) -> String {
    eventually(
        &format!("a code mailed to {address}"),
        Duration::from_secs(15),
        || async {
            texts_to(platform, address)
                .await
                .iter()
                .rev()
                .find_map(|t| six_digits(t))
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
fn headers_are_read_from_a_source_with_folded_lines() {
    let source = "Subject: hi\r\nList-Unsubscribe: <http://x/u?\r\n token=1>\r\n\r\nBody: no";
    let headers = headers_of(source);
    assert_eq!(headers["subject"], "hi");
    assert_eq!(headers["list-unsubscribe"], "<http://x/u?token=1>");
    assert!(!headers.contains_key("body"));
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
