//! Privacy settings: what each one hides from whom, enforced by chat and presence
//! from profile's events (issue 9, item 6).

use serde_json::{Value, json};

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, direct_conversation, find, friends, presence_of, signed_up,
};

use crate::on_both_profiles;

const SETTINGS: &str = "{ privacySettings { directMessages presence readReceipts groupAdds } }";
const UPDATE: &str = "mutation U($i: PrivacySettingsInput!) { updatePrivacySettings(input: $i) { directMessages presence readReceipts groupAdds } }";
const START: &str = "mutation D($u: ID!) { startDirectConversation(userId: $u) { id } }";
const SEND: &str = "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id } }";

async fn change(p: &Platform, who: &Person, input: Value) -> Value {
    post(&p.gateway, UPDATE, json!({ "i": input }), Some(&who.token)).await
}

/// The code of `from` sending to `conversation` ("OK" when sent).
async fn send_code(p: &Platform, from: &Person, conversation: &str, key: &str) -> String {
    let input = json!({ "conversationId": conversation, "body": "hi", "idempotencyKey": key });
    let out = post(
        &p.gateway,
        SEND,
        json!({ "input": input }),
        Some(&from.token),
    )
    .await;
    if out["data"]["sendMessage"]["id"].is_string() {
        "OK".into()
    } else {
        error_code(&out)
    }
}

/// Waits until `probe` gives `want` (projections learn settings from events).
async fn until(what: &str, want: &str, mut probe: impl AsyncFnMut() -> String) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = probe().await;
        if got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still {got}, not {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Whether `viewer` sees `user`'s presence ("true"/"false").
async fn sees(p: &Platform, viewer: &Person, user: &Person) -> String {
    (!presence_of(p, viewer, user).await.is_null()).to_string()
}

async fn presence_privacy_is_reciprocal_and_blocks_hide_it(profile: Profile) {
    let p = crate::start(profile).await;
    let (ann, bob) = friends(&p).await;
    let carol = signed_up(&p, "carol").await;

    // The defaults.
    let mine = data(&p.gateway, SETTINGS, json!({}), Some(&ann.token)).await;
    assert_eq!(
        mine["privacySettings"],
        json!({ "directMessages": "FRIENDS", "presence": "FRIENDS", "readReceipts": true, "groupAdds": "FRIENDS" })
    );
    let refused = change(&p, &ann, json!({ "groupAdds": "NOBODY" })).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(refused.to_string().contains("groupAdds"), "{refused}");
    let anonymous = post(&p.gateway, SETTINGS, json!({}), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    until("ann sees her friend", "true", async || {
        sees(&p, &ann, &bob).await
    })
    .await;
    assert_eq!(
        sees(&p, &carol, &ann).await,
        "false",
        "strangers see nothing"
    );

    // Bob hides his presence: Ann no longer sees his, and he no longer sees hers.
    let hidden = change(&p, &bob, json!({ "presence": "NOBODY" })).await;
    assert_eq!(
        hidden["data"]["updatePrivacySettings"]["presence"],
        "NOBODY"
    );
    assert_eq!(
        hidden["data"]["updatePrivacySettings"]["readReceipts"], true,
        "unchanged"
    );
    until("bob hidden from ann", "false", async || {
        sees(&p, &ann, &bob).await
    })
    .await;
    assert_eq!(sees(&p, &bob, &ann).await, "false", "reciprocal");
    assert_eq!(
        sees(&p, &bob, &bob).await,
        "true",
        "one's own is always shown"
    );
    change(&p, &bob, json!({ "presence": "FRIENDS" })).await;
    until("bob shown again", "true", async || {
        sees(&p, &ann, &bob).await
    })
    .await;

    // Ann shows hers to everyone; Carol sees it only once she shows hers too.
    change(&p, &ann, json!({ "presence": "EVERYONE" })).await;
    until("ann's setting projected", "false", async || {
        sees(&p, &carol, &ann).await
    })
    .await;
    change(&p, &carol, json!({ "presence": "EVERYONE" })).await;
    until("carol sees ann", "true", async || {
        sees(&p, &carol, &ann).await
    })
    .await;

    // A block hides presence both ways, whatever the settings say.
    find(&p, &ann, &carol).await;
    let blocked = post(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": carol.id }),
        Some(&ann.token),
    )
    .await;
    assert!(blocked.get("errors").is_none(), "{blocked}");
    until("the block hides ann", "false", async || {
        sees(&p, &carol, &ann).await
    })
    .await;
    assert_eq!(sees(&p, &ann, &carol).await, "false");
}

async fn direct_messages_follow_the_instance_policy_and_the_recipient(profile: Profile) {
    // This instance lets anyone message anyone whose own setting allows it.
    let env = [("ECHOSTREAM_CHAT__DIRECT_MESSAGES", "anyone")];
    let p = Platform::start_with(env!("CARGO_BIN_EXE_echostream"), profile, &env).await;
    let (ann, bob) = friends(&p).await;
    let carol = signed_up(&p, "carol").await;
    let conversation = direct_conversation(&p, &bob, &ann).await;

    // Ann's default lets friends only: Carol, a stranger, cannot start one.
    let start = post(
        &p.gateway,
        START,
        json!({ "u": ann.id }),
        Some(&carol.token),
    )
    .await;
    assert_eq!(error_code(&start), "FORBIDDEN");

    // Ann opens up to everyone: Carol can.
    change(&p, &ann, json!({ "directMessages": "EVERYONE" })).await;
    let started = eventually("carol may message ann", WAIT, || async {
        let out = post(
            &p.gateway,
            START,
            json!({ "u": ann.id }),
            Some(&carol.token),
        )
        .await;
        out["data"]["startDirectConversation"]["id"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    assert_eq!(send_code(&p, &carol, &started, "c1").await, "OK");

    // Ann closes to nobody: not even Bob, her friend, may write in their
    // conversation, and Carol may not either; Ann still may write to Bob.
    change(&p, &ann, json!({ "directMessages": "NOBODY" })).await;
    let mut n = 0;
    until("bob refused", "FORBIDDEN", async || {
        n += 1;
        send_code(&p, &bob, &conversation, &format!("b{n}")).await
    })
    .await;
    assert_eq!(send_code(&p, &carol, &started, "c2").await, "FORBIDDEN");
    assert_eq!(send_code(&p, &ann, &conversation, "a1").await, "OK");
}

on_both_profiles!(
    presence_privacy_is_reciprocal_and_blocks_hide_it,
    direct_messages_follow_the_instance_policy_and_the_recipient,
);
