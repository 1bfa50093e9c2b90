//! The viewer's conversation list costs a fixed number of queries, however many
//! conversations there are: the page, then one batch each for members, unread
//! counts and last items (DataLoaders).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use echostream_chat::Chat;
use echostream_chat::entities::{conversation, member, message, read_mark};
use echostream_config::Subgraph;
use echostream_migrations::chat::Migrator;
use echostream_ports::db::count_queries;
use echostream_service::service::Ports;
use echostream_service::token::Viewer;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

/// Ten group conversations of three members, each with one message from a stranger
/// and one from `me` that the other two have read; the schema, its query counter,
/// `me`, and an uncounted handle on the database.
async fn ten_conversations(
    dir: &std::path::Path,
) -> (
    echostream_chat::graphql::ChatSchema,
    Arc<std::sync::atomic::AtomicUsize>,
    Viewer,
    sea_orm::DatabaseConnection,
) {
    let ports = Ports::embedded_at(dir).await.unwrap();
    let mut db = ports.database::<Migrator>(Subgraph::Chat).await.unwrap();
    let uncounted = db.clone();
    // The relay polls its outbox in the background: on a connection not counted.
    let relay = ports.relay(&db);
    let queries = count_queries(&mut db);

    let me = Uuid::now_v7();
    for n in 0..10 {
        let id = Uuid::now_v7();
        let now = Utc::now();
        conversation::ActiveModel {
            id: Set(id),
            kind: Set(conversation::ConversationKind::Group),
            direct_key: Set(None),
            title: Set(Some(format!("c{n}"))),
            created_by: Set(me),
            last_seq: Set(2),
            created_at: Set(now),
            description: Set(None),
            avatar_key: Set(None),
            only_admins_send: Set(false),
            new_members_see_history: Set(true),
            last_activity_at: Set(Some(now)),
        }
        .insert(&db)
        .await
        .unwrap();
        let others = [Uuid::now_v7(), Uuid::now_v7()];
        for user in [me, others[0], others[1]] {
            member::ActiveModel {
                conversation_id: Set(id),
                user_id: Set(user),
                role: Set(member::Role::Member),
                last_read_seq: Set(0),
                joined_at: Set(now),
                delivered_seq: Set(0),
                history_from_seq: Set(0),
                unread_from_seq: Set(None),
                muted: Set(false),
                muted_until: Set(None),
            }
            .insert(&db)
            .await
            .unwrap();
        }
        for (seq, sender) in [(1, Uuid::now_v7()), (2, me)] {
            message::ActiveModel {
                id: Set(Uuid::now_v7()),
                conversation_id: Set(id),
                seq: Set(seq),
                sender_id: Set(sender),
                sender_device: Set("d".into()),
                client_key: Set(format!("k{n}.{seq}")),
                body: Set("hello".into()),
                created_at: Set(now),
                kind: Set(message::Kind::Text),
                system: Set(None),
                edited_at: Set(None),
                deleted_at: Set(None),
                deleted_by: Set(None),
                ..Default::default()
            }
            .insert(&db)
            .await
            .unwrap();
        }
        for reader in &others {
            read_mark::ActiveModel {
                conversation_id: Set(id),
                seq: Set(2),
                user_id: Set(*reader),
                at: Set(now),
            }
            .insert(&db)
            .await
            .unwrap();
        }
    }
    let app = Arc::new(Chat {
        relay,
        ports: ports.clone(),
        cleanup: echostream_media::cleanup::Cleanup::new(
            db.clone(),
            ports.objects.clone(),
            std::time::Duration::from_secs(60),
        ),
        scheduler: echostream_chat::scheduling::Scheduler::default(),
        db,
    });
    let schema = echostream_chat::graphql::schema(Some(app));
    let viewer = Viewer {
        user_id: me,
        session_id: Uuid::now_v7(),
        device_id: "d".into(),
        expires_at: i64::MAX,
    };
    (schema, queries, viewer, uncounted)
}

#[tokio::test]
/// The list, its members, unread counts, last items, and whether the viewer deleted
/// any last item for themselves: five queries, however many conversations.
async fn the_conversation_list_takes_five_queries_however_long() {
    let dir = tempfile::tempdir().unwrap();
    let (schema, queries, viewer, _) = ten_conversations(dir.path()).await;
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
        assert_eq!(c["unreadCount"], 1, "the stranger's message");
        assert_eq!(c["lastItem"]["body"], "hello");
        assert_eq!(c["myRole"], "MEMBER");
    }
    assert_eq!(
        used, 5,
        "10 conversations with members, unread counts and last items in {used} queries"
    );
}

/// "Seen by" of every message of every conversation in a response reads the read
/// marks through one loader: the marks of any number of messages in any number of
/// conversations in one query (the loader is asked once per tick of the response).
#[tokio::test]
async fn seen_by_across_conversations_and_messages_is_batched() {
    use async_graphql::dataloader::Loader;
    let dir = tempfile::tempdir().unwrap();
    let (schema, _, viewer, db) = ten_conversations(dir.path()).await;
    let response = schema
        .execute(
            async_graphql::Request::new(
                "{ conversations { edges { node { id messages(first: 5) { edges { node { seq \
                 seenBy { edges { node { user { id } readAt } } } } } } } } } }",
            )
            .data(viewer),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let conversations = data["conversations"]["edges"].as_array().unwrap();
    let readers: usize = conversations
        .iter()
        .flat_map(|c| c["node"]["messages"]["edges"].as_array().unwrap().clone())
        .filter_map(|m| m["node"]["seenBy"]["edges"].as_array().map(Vec::len))
        .sum();
    assert_eq!(readers, 20, "both others read each of my ten messages");

    // The loader itself: ten messages of ten conversations, one query.
    let keys: Vec<(Uuid, i64)> = conversations
        .iter()
        .map(|c| (c["node"]["id"].as_str().unwrap().parse().unwrap(), 2))
        .collect();
    let mut counted = db;
    let count = count_queries(&mut counted);
    let marks = echostream_chat::loaders::ReadMarksLoader(counted)
        .load(&keys)
        .await
        .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(marks.len(), 10);
    assert!(marks.values().all(|m| m.len() == 2));
}
