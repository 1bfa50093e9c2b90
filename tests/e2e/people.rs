//! People: profile details and the friend graph (issue 9, first part).

use serde_json::{Value, json};

use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    self, Person, WAIT, direct_conversation, find, friends, signed_up,
};

use crate::on_both_profiles;
use crate::start as start_platform;

const UPDATE: &str = "mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { id displayName bio location website birthdate } }";
const PROFILE: &str =
    "query P($id: ID!) { user(id: $id) { displayName bio location website birthdate friendship } }";

async fn update(p: &Platform, who: &Person, input: Value) -> Value {
    post(
        &p.gateway,
        UPDATE,
        json!({ "input": input }),
        Some(&who.token),
    )
    .await
}

async fn profile_of(p: &Platform, viewer: &Person, user: &Person) -> Value {
    data(
        &p.gateway,
        PROFILE,
        json!({ "id": user.id }),
        Some(&viewer.token),
    )
    .await["user"]
        .clone()
}

async fn profile_details_are_validated_and_changed_only_as_given(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let eve = signed_up(&p, "eve").await;
    let set = update(
        &p,
        &ann,
        json!({
            "displayName": "  Ann Lee ", "bio": "Hi!\nI chat.", "location": "Lisbon",
            "website": "https://ann.example/", "birthdate": "1990-02-28",
        }),
    )
    .await;
    assert!(set["errors"].is_null(), "{set}");
    let mine = &set["data"]["updateProfile"];
    assert_eq!(mine["displayName"], "Ann Lee");
    assert_eq!(mine["bio"], "Hi!\nI chat.");
    assert_eq!(mine["birthdate"], "1990-02-28");

    // Only what is given changes; null clears.
    let partial = update(&p, &ann, json!({ "location": null, "bio": "New bio" })).await;
    let mine = &partial["data"]["updateProfile"];
    assert_eq!(
        (
            mine["displayName"].as_str(),
            mine["bio"].as_str(),
            mine["website"].as_str()
        ),
        (
            Some("Ann Lee"),
            Some("New bio"),
            Some("https://ann.example/")
        )
    );
    assert!(mine["location"].is_null(), "{partial}");

    // Every bad field is refused with its name, and nothing changes.
    for (input, field) in [
        (json!({ "displayName": "" }), "displayName"),
        (json!({ "displayName": "x".repeat(65) }), "displayName"),
        (json!({ "bio": "x".repeat(501) }), "bio"),
        (json!({ "location": "a\u{7}b" }), "location"),
        (json!({ "website": "javascript:alert(1)" }), "website"),
        (json!({ "website": "ftp://ann.example" }), "website"),
        (json!({ "birthdate": "2999-01-01" }), "birthdate"),
        (json!({ "birthdate": "1990-02-30" }), "birthdate"),
    ] {
        let refused = update(&p, &ann, input.clone()).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{input}: {refused}");
        let message = refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.contains(field) || message.contains("NaiveDate"),
            "{input}: {message}"
        );
    }
    let unchanged = profile_of(&p, &ann, &ann).await;
    assert_eq!(unchanged["displayName"], "Ann Lee");
    assert_eq!(unchanged["website"], "https://ann.example/");

    // Public details for anyone signed in; the birthdate for friends only.
    let to_friend = profile_of(&p, &bob, &ann).await;
    assert_eq!(to_friend["bio"], "New bio");
    assert_eq!(to_friend["birthdate"], "1990-02-28");
    let to_stranger = profile_of(&p, &eve, &ann).await;
    assert_eq!(to_stranger["displayName"], "Ann Lee");
    assert!(to_stranger["birthdate"].is_null(), "{to_stranger}");

    // Signed out: refused.
    let anonymous = post(&p.gateway, UPDATE, json!({ "input": { "bio": "x" } }), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

const SEND: &str = "mutation S($u: String!) { sendFriendRequest(username: $u) { id status } }";

async fn send_request(p: &Platform, from: &Person, to: &Person) -> Value {
    post(
        &p.gateway,
        SEND,
        json!({ "u": to.username }),
        Some(&from.token),
    )
    .await
}

async fn incoming(p: &Platform, who: &Person) -> Vec<Value> {
    data(
        &p.gateway,
        "{ friendRequests(incoming: true) { edges { node { id status from { id } } } } }",
        json!({}),
        Some(&who.token),
    )
    .await["friendRequests"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn friendship(p: &Platform, viewer: &Person, user: &Person) -> String {
    profile_of(p, viewer, user).await["friendship"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn the_friend_graph_cancels_crosses_and_ends(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    find(&p, &ann, &bob).await;
    find(&p, &bob, &ann).await;

    // Cancel an outgoing request: gone from the recipient's list, not twice.
    let sent = send_request(&p, &ann, &bob).await;
    let id = sent["data"]["sendFriendRequest"]["id"].clone();
    assert_eq!(incoming(&p, &bob).await.len(), 1);
    let cancel = "mutation C($id: ID!) { cancelFriendRequest(id: $id) { status } }";
    let by_recipient = post(&p.gateway, cancel, json!({ "id": id }), Some(&bob.token)).await;
    assert_eq!(
        error_code(&by_recipient),
        "NOT_FOUND",
        "only the sender cancels"
    );
    let cancelled = data(&p.gateway, cancel, json!({ "id": id }), Some(&ann.token)).await;
    assert_eq!(cancelled["cancelFriendRequest"]["status"], "CANCELLED");
    assert!(incoming(&p, &bob).await.is_empty());
    let again = post(&p.gateway, cancel, json!({ "id": id }), Some(&ann.token)).await;
    assert_eq!(error_code(&again), "CONFLICT");

    // Asking someone who already asked you makes you friends.
    send_request(&p, &bob, &ann).await;
    let crossed = send_request(&p, &ann, &bob).await;
    assert_eq!(
        crossed["data"]["sendFriendRequest"]["status"], "ACCEPTED",
        "{crossed}"
    );
    assert_eq!(friendship(&p, &ann, &bob).await, "FRIENDS");
    assert_eq!(friendship(&p, &bob, &ann).await, "FRIENDS");
    // Bob hears that his request was accepted.
    eventually("bob's accepted notice", WAIT, || async {
        echostream_testkit::scenario::notifications(&p, &bob, "kind")
            .await
            .iter()
            .any(|n| n["kind"] == "FRIEND_REQUEST_ACCEPTED")
            .then_some(())
    })
    .await;
    direct_conversation(&p, &ann, &bob).await;

    // Unfriend: over for both, and chat stops new direct conversations.
    let unfriend = "mutation F($u: ID!) { unfriend(userId: $u) { id friendship } }";
    let ended = data(
        &p.gateway,
        unfriend,
        json!({ "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(ended["unfriend"]["friendship"], "NONE");
    assert_eq!(friendship(&p, &bob, &ann).await, "NONE");
    let twice = post(
        &p.gateway,
        unfriend,
        json!({ "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&twice), "NOT_FOUND");
    eventually("chat to learn the friendship ended", WAIT, || async {
        let refused = post(
            &p.gateway,
            "mutation D($u: ID!) { startDirectConversation(userId: $u) { id } }",
            json!({ "u": bob.id }),
            Some(&ann.token),
        )
        .await;
        // The existing conversation is returned while chat still counts them friends.
        (refused["errors"][0]["extensions"]["code"] == "FORBIDDEN").then_some(())
    })
    .await;
}

async fn search(p: &Platform, who: &Person, query: &str) -> Vec<String> {
    scenario::search(p, who, query)
        .await
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

async fn a_blocked_user_cannot_reach_the_blocker(profile: Profile) {
    let p = start_platform(profile).await;
    let (ann, bob) = friends(&p).await;
    let conversation = direct_conversation(&p, &ann, &bob).await;
    update(
        &p,
        &ann,
        json!({ "bio": "Ann's bio", "website": "https://ann.example" }),
    )
    .await;
    let carl = signed_up(&p, "carl").await;
    find(&p, &ann, &carl).await;
    send_request(&p, &ann, &carl).await;

    let block = "mutation B($u: ID!) { blockUser(userId: $u) { id friendship } }";
    let blocked = data(&p.gateway, block, json!({ "u": bob.id }), Some(&ann.token)).await;
    assert_eq!(blocked["blockUser"]["friendship"], "BLOCKED");
    // Blocking twice changes nothing; blocking yourself is refused.
    data(&p.gateway, block, json!({ "u": bob.id }), Some(&ann.token)).await;
    let myself = post(&p.gateway, block, json!({ "u": ann.id }), Some(&ann.token)).await;
    assert_eq!(error_code(&myself), "BAD_USER_INPUT");
    let list = data(
        &p.gateway,
        "{ blockedUsers { id } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    assert_eq!(list["blockedUsers"], json!([{ "id": bob.id }]));

    // The friendship is over; to Bob, Ann is a stranger he cannot find or ask.
    assert_eq!(friendship(&p, &bob, &ann).await, "NONE");
    assert!(!search(&p, &bob, &ann.username).await.contains(&ann.id));
    let ann_email = format!("{}@example.com", ann.username);
    assert!(search(&p, &bob, &ann_email).await.is_empty());
    let ask = send_request(&p, &bob, &ann).await;
    assert_eq!(error_code(&ask), "NOT_FOUND", "{ask}");
    let ask_back = send_request(&p, &ann, &bob).await;
    assert_eq!(error_code(&ask_back), "FORBIDDEN", "{ask_back}");
    let seen = profile_of(&p, &bob, &ann).await;
    assert!(seen["bio"].is_null() && seen["website"].is_null(), "{seen}");
    // Ann's other pending request is untouched.
    assert_eq!(incoming(&p, &carl).await.len(), 1);

    // Chat learns it: the direct conversation is read-only for both, still readable.
    let write = |who: &Person, key: String| {
        let (gateway, token, conversation) =
            (p.gateway.clone(), who.token.clone(), conversation.clone());
        async move {
            post(
                &gateway,
                "mutation M($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
                json!({ "input": { "conversationId": conversation, "body": "hi", "idempotencyKey": key } }),
                Some(&token),
            )
            .await
        }
    };
    // A new key each time: a retried key returns the message it already stored.
    eventually("chat to learn the block", WAIT, || async {
        let refused = write(&bob, uuid::Uuid::now_v7().to_string()).await;
        (refused["errors"][0]["extensions"]["code"] == "FORBIDDEN").then_some(())
    })
    .await;
    assert_eq!(error_code(&write(&ann, "a-1".into()).await), "FORBIDDEN");
    let start = post(
        &p.gateway,
        "mutation D($u: ID!) { startDirectConversation(userId: $u) { id } }",
        json!({ "u": ann.id }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&start), "FORBIDDEN");
    let history = data(
        &p.gateway,
        "query H($id: ID!) { conversation(id: $id) { messages { nodes { id } } } }",
        json!({ "id": conversation }),
        Some(&bob.token),
    )
    .await;
    assert!(
        history["conversation"]["messages"]["nodes"].is_array(),
        "{history}"
    );

    // Unblocked: found again, and may ask again (the friendship does not come back).
    let unblock = "mutation U($u: ID!) { unblockUser(userId: $u) { id friendship } }";
    let lifted = data(
        &p.gateway,
        unblock,
        json!({ "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(lifted["unblockUser"]["friendship"], "NONE");
    let twice = post(
        &p.gateway,
        unblock,
        json!({ "u": bob.id }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(error_code(&twice), "NOT_FOUND");
    assert!(search(&p, &bob, &ann.username).await.contains(&ann.id));
    let asked = send_request(&p, &bob, &ann).await;
    assert_eq!(
        asked["data"]["sendFriendRequest"]["status"], "PENDING",
        "{asked}"
    );

    // Anonymous callers can do none of it.
    for (query, vars) in [
        (block, json!({ "u": bob.id })),
        (unblock, json!({ "u": bob.id })),
        ("{ blockedUsers { id } }", json!({})),
    ] {
        let refused = post(&p.gateway, query, vars, None).await;
        assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{query}");
    }
}

const FRIENDS_PAGE: &str = "query F($first: Int, $after: String) { friends(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }";

async fn friends_and_requests_page_through_opaque_cursors(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let mut expected = Vec::new();
    for name in ["b", "c", "d"] {
        let other = signed_up(&p, name).await;
        find(&p, &other, &ann).await;
        send_request(&p, &other, &ann).await;
        expected.push(other);
    }
    // Three pending requests to Ann, oldest first, two per page.
    let requests = "query R($after: String) { friendRequests(first: 2, after: $after) { edges { cursor node { from { id } } } pageInfo { hasNextPage endCursor } } }";
    let first = data(&p.gateway, requests, json!({}), Some(&ann.token)).await;
    let page = &first["friendRequests"];
    assert_eq!(page["edges"].as_array().unwrap().len(), 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let rest = data(
        &p.gateway,
        requests,
        json!({ "after": page["pageInfo"]["endCursor"] }),
        Some(&ann.token),
    )
    .await;
    let rest = &rest["friendRequests"];
    assert_eq!(rest["edges"].as_array().unwrap().len(), 1);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    let order: Vec<&str> = page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["edges"].as_array().unwrap())
        .map(|e| e["node"]["from"]["id"].as_str().unwrap())
        .collect();
    let asked: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(order, asked);

    // Accept all three; Ann's friends come the same way.
    for request in incoming(&p, &ann).await {
        data(
            &p.gateway,
            "mutation A($id: ID!) { acceptFriendRequest(id: $id) { status } }",
            json!({ "id": request["id"] }),
            Some(&ann.token),
        )
        .await;
    }
    let one = data(
        &p.gateway,
        FRIENDS_PAGE,
        json!({ "first": 1 }),
        Some(&ann.token),
    )
    .await;
    let info = &one["friends"]["pageInfo"];
    assert_eq!(
        (info["hasNextPage"].clone(), info["hasPreviousPage"].clone()),
        (json!(true), json!(false))
    );
    let next = data(
        &p.gateway,
        FRIENDS_PAGE,
        json!({ "first": 5, "after": info["endCursor"] }),
        Some(&ann.token),
    )
    .await;
    assert_eq!(next["friends"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(next["friends"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(next["friends"]["pageInfo"]["hasPreviousPage"], true);

    // Bad arguments are named.
    for (vars, named) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
    ] {
        let refused = post(&p.gateway, FRIENDS_PAGE, vars.clone(), Some(&ann.token)).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{vars}");
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(named),
            "{refused}"
        );
    }

    // Search results page the same way: three people named alike, two per page.
    for other in &expected {
        let renamed = update(&p, other, json!({ "displayName": "Zed Alike" })).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");
    }
    let search = "query S($after: String) { searchUsers(query: \"zed al\", first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let first = data(&p.gateway, search, json!({}), Some(&ann.token)).await;
    assert_eq!(first["searchUsers"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(first["searchUsers"]["pageInfo"]["hasNextPage"], true);
    let after = json!({ "after": first["searchUsers"]["pageInfo"]["endCursor"] });
    let rest = data(&p.gateway, search, after, Some(&ann.token)).await;
    let ids: Vec<&Value> = first["searchUsers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["searchUsers"]["edges"].as_array().unwrap())
        .map(|e| &e["node"]["id"])
        .collect();
    let want: Vec<Value> = expected.iter().map(|o| json!(o.id)).collect();
    assert_eq!(
        ids,
        want.iter().collect::<Vec<_>>(),
        "oldest first, none twice"
    );
    assert_eq!(rest["searchUsers"]["pageInfo"]["hasNextPage"], false);
}

async fn users_are_found_by_exact_email_only(profile: Profile) {
    let p = start_platform(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let email = format!("{}@example.com", ann.username);
    // Search is eventually consistent with sign-up (profile learns from auth).
    eventually("ann to be found by her address", WAIT, || async {
        let found = search(&p, &bob, &email).await;
        (found == std::slice::from_ref(&ann.id)).then_some(())
    })
    .await;
    assert_eq!(
        search(&p, &bob, &email.to_uppercase()).await,
        std::slice::from_ref(&ann.id)
    );
    // Never by a part of the address.
    for part in [
        &email[..email.len() - 4],
        &email[..ann.username.len() + 1],
        "@example.com",
    ] {
        assert!(search(&p, &bob, part).await.is_empty(), "{part}");
    }
    let too_long = format!("{}@example.com", "a".repeat(250));
    let refused = post(
        &p.gateway,
        "query S($q: String!) { searchUsers(query: $q) { edges { cursor } } }",
        json!({ "q": too_long }),
        Some(&bob.token),
    )
    .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
}

on_both_profiles!(
    users_are_found_by_exact_email_only,
    friends_and_requests_page_through_opaque_cursors,
    profile_details_are_validated_and_changed_only_as_given,
    the_friend_graph_cancels_crosses_and_ends,
    a_blocked_user_cannot_reach_the_blocker,
);
