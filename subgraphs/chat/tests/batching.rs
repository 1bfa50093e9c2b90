//! The viewer's conversations with their members cost a fixed number of queries,
//! however many conversations there are (members through `MembersLoader`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use echostream_chat::Chat;
use echostream_chat::entities::{conversation, member};
use echostream_migrations::chat::Migrator;
use echostream_shared::config::Subgraph;
use echostream_shared::db::count_queries;
use echostream_shared::service::Ports;
use echostream_shared::token::Viewer;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

#[tokio::test]
async fn conversations_with_their_members_take_three_queries() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::embedded_at(dir.path()).await.unwrap();
    let mut db = ports.database::<Migrator>(Subgraph::Chat).await.unwrap();
    // The relay polls its outbox in the background: on a connection not counted.
    let relay = ports.relay(&db);
    let queries = count_queries(&mut db);

    let me = Uuid::now_v7();
    for n in 0..10 {
        let id = Uuid::now_v7();
        let now = Utc::now();
        conversation::ActiveModel {
            id: Set(id),
            kind: Set("group".into()),
            direct_key: Set(None),
            title: Set(Some(format!("c{n}"))),
            created_by: Set(me),
            last_seq: Set(0),
            created_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
        for user in [me, Uuid::now_v7(), Uuid::now_v7()] {
            member::ActiveModel {
                conversation_id: Set(id),
                user_id: Set(user),
                role: Set("member".into()),
                last_read_seq: Set(0),
                joined_at: Set(now),
            }
            .insert(&db)
            .await
            .unwrap();
        }
    }
    let app = Arc::new(Chat {
        relay,
        ports: ports.clone(),
        db,
    });
    let schema = echostream_chat::graphql::schema(Some(app));
    let viewer = Viewer {
        user_id: me,
        session_id: Uuid::now_v7(),
        device_id: "d".into(),
    };
    queries.store(0, Ordering::SeqCst);
    let response = schema
        .execute(
            async_graphql::Request::new("{ conversations { id members { user { id } } } }")
                .data(viewer),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let used = queries.load(Ordering::SeqCst);
    let data = response.data.into_json().unwrap();
    let conversations = data["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 10);
    assert!(
        conversations
            .iter()
            .all(|c| c["members"].as_array().unwrap().len() == 3)
    );
    assert_eq!(
        used, 3,
        "10 conversations and their members in {used} queries"
    );
}
