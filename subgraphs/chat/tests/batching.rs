//! The viewer's conversation list costs a fixed number of queries, however many
//! conversations there are: the page, then one batch each for members, unread
//! counts and last items (DataLoaders).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use echostream_chat::Chat;
use echostream_chat::entities::{conversation, member, message};
use echostream_migrations::chat::Migrator;
use echostream_shared::config::Subgraph;
use echostream_shared::db::count_queries;
use echostream_shared::service::Ports;
use echostream_shared::token::Viewer;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

#[tokio::test]
async fn the_conversation_list_takes_four_queries_however_long() {
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
            last_seq: Set(1),
            created_at: Set(now),
            description: Set(None),
            avatar_key: Set(None),
            only_admins_send: Set(false),
            last_activity_at: Set(Some(now)),
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
                delivered_seq: Set(0),
            }
            .insert(&db)
            .await
            .unwrap();
        }
        message::ActiveModel {
            id: Set(Uuid::now_v7()),
            conversation_id: Set(id),
            seq: Set(1),
            sender_id: Set(Uuid::now_v7()),
            sender_device: Set("d".into()),
            client_key: Set(format!("k{n}")),
            body: Set("hello".into()),
            created_at: Set(now),
            kind: Set("text".into()),
            system: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let app = Arc::new(Chat {
        relay,
        ports: ports.clone(),
        cleanup: echostream_shared::media::cleanup::Cleanup::new(
            db.clone(),
            ports.objects.clone(),
            std::time::Duration::from_secs(60),
        ),
        db,
    });
    let schema = echostream_chat::graphql::schema(Some(app));
    let viewer = Viewer {
        user_id: me,
        session_id: Uuid::now_v7(),
        device_id: "d".into(),
        expires_at: i64::MAX,
    };
    queries.store(0, Ordering::SeqCst);
    let response = schema
        .execute(
            async_graphql::Request::new(
                "{ conversations { edges { node { id myRole unreadCount \
                 lastItem { body } members { user { id } } } } } }",
            )
            .data(viewer),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let used = queries.load(Ordering::SeqCst);
    let data = response.data.into_json().unwrap();
    let edges = data["conversations"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 10);
    for edge in edges {
        let c = &edge["node"];
        assert_eq!(c["members"].as_array().unwrap().len(), 3);
        assert_eq!(c["unreadCount"], 1);
        assert_eq!(c["lastItem"]["body"], "hello");
        assert_eq!(c["myRole"], "MEMBER");
    }
    assert_eq!(
        used, 4,
        "10 conversations with members, unread counts and last items in {used} queries"
    );
}
