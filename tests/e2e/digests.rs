//! Email digests through the gateway on both profiles, read back as received (the
//! SMTP catcher's API, or the embedded outbox): an offline user's unseen
//! notifications in one mail with a text and an HTML part once the delay has passed
//! (the clock is moved, never waited for), at most one per interval, never the same
//! notification twice, none during quiet hours or for a kind turned off by email; a
//! one-click unsubscribe (RFC 8058) that works without signing in, and a forged link
//! refused. With two instances sharing the services, each digest is sent once.

use std::time::Duration;

use echostream_testkit::client::{data, eventually};
use echostream_testkit::mail::{Received, mails};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, direct_conversation, friends, login, send, signed_up,
};
use serde_json::json;

use crate::on_both_profiles;

/// A platform whose digest worker looks every second, so a digest that is due
/// goes out within a second or two of the clock being moved.
async fn start(profile: Profile) -> Platform {
    Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_NOTIFICATIONS__DIGEST_EVERY_SECS", "1")],
    )
    .await
}

fn address(who: &Person) -> String {
    format!("{}@example.com", who.username)
}

/// `who`'s digests received so far (mail with an unsubscribe header).
async fn digests(p: &Platform, who: &Person) -> Vec<Received> {
    mails(p, &address(who))
        .await
        .into_iter()
        .filter(|m| m.headers.contains_key("list-unsubscribe"))
        .collect()
}

/// Waits until `who` has received `n` digests; returns them.
async fn digests_at_least(p: &Platform, who: &Person, n: usize) -> Vec<Received> {
    eventually(&format!("{n} digests"), WAIT, || async {
        let got = digests(p, who).await;
        (got.len() >= n).then_some(got)
    })
    .await
}

/// `who` signs out of their only device: offline at once.
async fn goes_offline(p: &Platform, who: &Person) {
    let out = data(
        &p.gateway,
        "mutation { logout }",
        json!({}),
        Some(&who.token),
    )
    .await;
    assert_eq!(out["logout"], true);
}

/// Lets the worker look a few times, for asserting that nothing was sent: rounds
/// are a second apart, so three seconds are at least two looks.
async fn a_few_rounds() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

/// The unsubscribe link of a digest (`List-Unsubscribe: <url>`).
fn unsubscribe_url(mail: &Received) -> String {
    mail.headers["list-unsubscribe"]
        .trim_matches(|c| c == '<' || c == '>')
        .to_string()
}

async fn an_offline_user_gets_one_digest_and_can_unsubscribe_in_one_click(profile: Profile) {
    let p = start(profile).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let now = chrono::Utc::now();
    p.set_clock(now).await;
    goes_offline(&p, &bob).await;

    send(&p, &ann, &direct, "are you there?", "m1").await;
    send(&p, &ann, &direct, "lunch at noon", "m2").await;
    // Not due before the delay (15 minutes by default).
    a_few_rounds().await;
    assert!(
        digests(&p, &bob).await.is_empty(),
        "nothing before the delay"
    );

    p.advance_clock(16 * 60).await;
    let got = digests_at_least(&p, &bob, 1).await;
    let digest = &got[0];
    assert_eq!(
        digest.subject,
        format!("{}: 2 new messages", ann.username),
        "{digest:?}"
    );
    assert!(
        digest
            .text
            .contains(&format!("- {}: 2 new messages", ann.username)),
        "{}",
        digest.text
    );
    let html = digest.html.as_deref().expect("an HTML part");
    assert!(
        html.contains(&format!("<strong>{}</strong>", ann.username)),
        "{html}"
    );
    let url = unsubscribe_url(digest);
    assert!(
        url.starts_with(&format!("{}/unsubscribe?token=", p.gateway_base())),
        "{url}"
    );
    assert_eq!(
        digest.headers["list-unsubscribe-post"],
        "List-Unsubscribe=One-Click"
    );
    assert!(html.contains("Unsubscribe"));

    // The same notifications never again, however long bob stays away, and more
    // messages into the same item do not send it again.
    p.advance_clock(3 * 3600).await;
    send(&p, &ann, &direct, "hello?", "m3").await;
    p.advance_clock(3600).await;
    a_few_rounds().await;
    assert_eq!(
        digests(&p, &bob).await.len(),
        1,
        "one digest per notification"
    );

    // A new notification, after the delay and the interval: a second digest, of it
    // alone.
    let cat = signed_up(&p, "cat").await;
    echostream_testkit::scenario::ask_friendship(&p, &cat, &bob).await;
    p.advance_clock(2 * 3600).await;
    let got = digests_at_least(&p, &bob, 2).await;
    assert_eq!(
        got[1].subject,
        format!("{}: wants to be your friend", cat.username),
        "{:?}",
        got[1]
    );
    assert!(!got[1].text.contains("new messages"), "{}", got[1].text);

    // A forged link is refused and changes nothing; the real one unsubscribes with
    // one POST, no sign-in.
    let client = reqwest::Client::new();
    let forged = url.replace("token=", "token=AAAA");
    let refused = client
        .post(&forged)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let opened = client.get(&url).send().await.unwrap();
    assert_eq!(opened.status(), 200, "opening the link changes nothing");
    let bob_again = login(&p, &bob.username).await;
    let email_on = |prefs: &serde_json::Value| {
        prefs["notificationPreferences"]["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["email"] == true)
    };
    let query = "{ notificationPreferences { kinds { kind email } } }";
    let before = data(&p.gateway, query, json!({}), Some(&bob_again.token)).await;
    assert!(email_on(&before), "still subscribed: {before}");
    let done = client
        .post(&url)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let after = data(&p.gateway, query, json!({}), Some(&bob_again.token)).await;
    assert!(!email_on(&after), "no kind by email any more: {after}");
}

async fn digests_wait_out_quiet_hours_and_skip_kinds_off_by_email(profile: Profile) {
    let p = start(profile).await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    // 21:00 UTC, inside quiet hours 20:00 to 23:00 UTC.
    let evening: chrono::DateTime<chrono::Utc> = "2030-03-04T21:00:00Z".parse().unwrap();
    p.set_clock(evening).await;
    data(
        &p.gateway,
        "mutation { setQuietHours(hours: { from: \"20:00\", to: \"23:00\", timeZone: \"UTC\" }) { quietNow } }",
        json!({}),
        Some(&bob.token),
    )
    .await;
    goes_offline(&p, &bob).await;
    send(&p, &ann, &direct, "evening", "e1").await;
    p.advance_clock(30 * 60).await;
    a_few_rounds().await;
    assert!(
        digests(&p, &bob).await.is_empty(),
        "held during quiet hours"
    );
    // Past 23:00: it goes.
    p.set_clock("2030-03-04T23:01:00Z".parse().unwrap()).await;
    let got = digests_at_least(&p, &bob, 1).await;
    assert_eq!(got[0].subject, format!("{}: evening", ann.username));

    // Messages turned off by email: nothing more is mailed for them.
    let bob_again = login(&p, &bob.username).await;
    data(
        &p.gateway,
        "mutation { setNotificationChannel(kind: MESSAGE, channel: EMAIL, enabled: false) { kinds { kind email } } }",
        json!({}),
        Some(&bob_again.token),
    )
    .await;
    goes_offline(&p, &bob_again).await;
    let team = echostream_testkit::scenario::group(&p, &ann, "team", &[&bob]).await;
    // Being added to a group is mailed by default; the messages after are not.
    send(&p, &ann, &team, "in the group", "g1").await;
    p.advance_clock(3 * 3600).await;
    let got = digests_at_least(&p, &bob, 2).await;
    assert_eq!(
        got[1].subject,
        format!("{}: added you to team", ann.username),
        "{:?}",
        got[1]
    );
    assert!(!got[1].text.contains("in the group"), "{}", got[1].text);
}

/// Two instances sharing the services both look for due digests: each is sent once.
async fn two_instances_send_each_digest_once(profile: Profile) {
    let p = start(profile).await;
    let q = p.another_instance().await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let now = chrono::Utc::now();
    p.set_clock(now).await;
    q.set_clock(now).await;
    goes_offline(&p, &bob).await;
    for n in 0..5 {
        send(&p, &ann, &direct, &format!("message {n}"), &format!("k{n}")).await;
    }
    p.advance_clock(16 * 60).await;
    q.advance_clock(16 * 60).await;
    digests_at_least(&p, &bob, 1).await;
    a_few_rounds().await;
    assert_eq!(
        digests(&p, &bob).await.len(),
        1,
        "sent once by two instances"
    );
}

on_both_profiles!(
    an_offline_user_gets_one_digest_and_can_unsubscribe_in_one_click,
    digests_wait_out_quiet_hours_and_skip_kinds_off_by_email,
);

mod two_instances {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn services() {
        super::two_instances_send_each_digest_once(echostream_testkit::platform::Profile::Services)
            .await;
    }
}
