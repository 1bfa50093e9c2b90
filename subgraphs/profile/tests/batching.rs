//! Where the viewer stands with many users costs a fixed number of queries: a list of
//! twelve users with their friendship states is answered in four (profiles,
//! friendships, pending requests, blocks), not several per user.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use echostream_config::Subgraph;
use echostream_migrations::profile::Migrator;
use echostream_ports::db::count_queries;
use echostream_profile::Profile;
use echostream_profile::entities::{friend_request, friendship, profile};
use echostream_service::service::Ports;
use echostream_service::token::Viewer;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;
use uuid::Uuid;

async fn person(db: &sea_orm::DatabaseConnection, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    let now = Utc::now();
    profile::ActiveModel {
        user_id: Set(id),
        username: Set(name.into()),
        username_key: Set(name.into()),
        display_name: Set(name.into()),
        bio: Set(None),
        location: Set(None),
        website: Set(None),
        birthdate: Set(None),
        email_digest: Set(None),
        avatar_key: Set(None),
        cover_key: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    id
}

async fn request(db: &sea_orm::DatabaseConnection, from: Uuid, to: Uuid) {
    friend_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        from_user: Set(from),
        to_user: Set(to),
        status: Set(friend_request::Status::Pending),
        created_at: Set(Utc::now()),
        responded_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
}

#[tokio::test]
async fn friendship_states_of_many_users_take_four_queries() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::embedded_at(dir.path()).await.unwrap();
    let mut db = ports.database::<Migrator>(Subgraph::Profile).await.unwrap();
    // The relay polls its outbox in the background: on a connection not counted.
    let relay = ports.relay(&db);
    let queries = count_queries(&mut db);

    let me = person(&db, "me").await;
    let mut others = Vec::new();
    for n in 0..12 {
        others.push(person(&db, &format!("u{n}")).await);
    }
    for (a, b) in [(me, others[0]), (others[0], me)] {
        friendship::ActiveModel {
            user_id: Set(a),
            friend_id: Set(b),
            created_at: Set(Utc::now()),
        }
        .insert(&db)
        .await
        .unwrap();
    }
    request(&db, me, others[1]).await;
    request(&db, others[2], me).await;

    let app = Arc::new(Profile {
        relay,
        ports: ports.clone(),
        cleanup: echostream_media::cleanup::Cleanup::new(
            db.clone(),
            ports.objects.clone(),
            std::time::Duration::from_secs(60),
        ),
        db,
    });
    let schema = echostream_profile::graphql::schema(Some(app));
    let representations: Vec<_> = others
        .iter()
        .chain([&me])
        .map(|id| json!({ "__typename": "User", "id": id }))
        .collect();
    let query = "query E($r: [_Any!]!) { _entities(representations: $r) { ... on User { displayName friendship } } }";
    let viewer = Viewer {
        user_id: me,
        session_id: Uuid::now_v7(),
        device_id: "d".into(),
        expires_at: i64::MAX,
    };
    queries.store(0, Ordering::SeqCst);
    let response = schema
        .execute(
            async_graphql::Request::new(query)
                .variables(async_graphql::Variables::from_json(
                    json!({ "r": representations }),
                ))
                .data(viewer),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let used = queries.load(Ordering::SeqCst);
    let data = response.data.into_json().unwrap();
    let states: Vec<&str> = data["_entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["friendship"].as_str().unwrap())
        .collect();
    assert_eq!(
        &states[..4],
        &["FRIENDS", "REQUEST_SENT", "REQUEST_RECEIVED", "NONE"]
    );
    assert_eq!(states[12], "MYSELF");
    assert_eq!(
        used, 4,
        "13 users' profiles and friendship states in {used} queries"
    );
}
