//! A page of history from a conversation of a million messages is index range scans,
//! and a search over them a scan of the full-text index, never a scan of the table: the statement `history::page` runs for each kind
//! of page (`history::statement`), explained by PostgreSQL on real data (services
//! profile; scripts/test.sh starts PostgreSQL).

use echostream_chat::history::{self, Window};
use echostream_config::{Config, DatabaseConfig, Profile, Subgraph};
use echostream_migrations::MigratorTrait;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

const MESSAGES: i64 = 1_000_000;

#[tokio::test]
async fn a_page_of_a_million_message_conversation_is_one_index_range_scan() {
    let base = std::env::var("TEST_ECHOSTREAM_POSTGRES")
        .expect("TEST_ECHOSTREAM_POSTGRES: scripts/test.sh starts PostgreSQL for this test");
    let name = format!("t{}", Uuid::now_v7().simple());
    let config = Config {
        profile: Profile::Services,
        database: DatabaseConfig {
            url: format!("{base}/{name}"),
            ..DatabaseConfig::default()
        },
        ..Config::default()
    };
    let db = echostream_ports::db::connect(&config, Subgraph::Chat)
        .await
        .unwrap();
    echostream_migrations::chat::Migrator::up(&db, None)
        .await
        .unwrap();
    let big = Uuid::now_v7();
    let other = Uuid::now_v7();
    // One conversation of a million messages, and another beside it.
    for (conversation, count) in [(big, MESSAGES), (other, 10_000)] {
        db.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO messages (id, conversation_id, seq, sender_id, sender_device, client_key, body, created_at, kind) \
             SELECT gen_random_uuid(), $1, s, $2, 'd', 'k' || s, 'message ' || s, now(), 'text' \
             FROM generate_series(1, $3::bigint) AS s",
            [conversation.into(), Uuid::now_v7().into(), count.into()],
        ))
        .await
        .unwrap();
    }
    // What readers deleted for themselves: some messages of this reader's in each
    // page asked for below, and many of other readers'.
    let reader = Uuid::now_v7();
    db.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO hidden_messages (user_id, message_id, conversation_id, seq) \
         SELECT CASE WHEN seq % 250000 = 10 THEN $2 ELSE gen_random_uuid() END, id, conversation_id, seq \
         FROM messages WHERE conversation_id = $1 AND seq % 100 = 10",
        [big.into(), reader.into()],
    ))
    .await
    .unwrap();
    db.execute_unprepared("ANALYZE messages").await.unwrap();
    db.execute_unprepared("ANALYZE hidden_messages")
        .await
        .unwrap();
    let history = history::Reader {
        conversation: big,
        user: reader,
        from: 0,
        thread: None,
    };

    // The pages clients ask for: the newest, one in the middle, one forward, one
    // around a message. Each is read as it is served, then the very statement
    // `history::page` runs for it is explained.
    for window in [
        Window::Backward {
            before: None,
            size: 50,
        },
        Window::Backward {
            before: Some(500_000),
            size: 50,
        },
        Window::Forward {
            after: 250_000,
            size: 50,
        },
        Window::Around {
            seq: 750_000,
            size: 50,
        },
    ] {
        let page = history::page(&db, history, window.clone()).await.unwrap();
        assert_eq!(page.items.len(), 50, "{window:?}");
        assert!(
            page.items.iter().all(|m| m.seq % 250_000 != 10),
            "{window:?}: what the reader deleted for themselves is left out"
        );
        let built = history::statement(DbBackend::Postgres, history, &window);
        let text = explain(&db, &built).await;
        println!("{window:?}, {MESSAGES} messages:\n{}\n{text}", built.sql);
        assert!(
            text.contains("Index Scan") && text.contains("using messages_conversation_seq"),
            "{window:?}: an index range scan:\n{text}"
        );
        assert!(
            !text.contains("Seq Scan"),
            "{window:?}: never a scan of the table:\n{text}"
        );
        assert!(
            !text.contains("Sort"),
            "{window:?}: the index gives the order:\n{text}"
        );
    }
    // Search over the same million: the full-text index finds the candidates (a
    // bitmap scan of the GIN index), never a scan of the table.
    db.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO members (conversation_id, user_id, role, last_read_seq, joined_at, delivered_seq, history_from_seq) \
         VALUES ($1, $2, 'member', 0, now(), 0, 0)",
        [big.into(), reader.into()],
    ))
    .await
    .unwrap();
    for words in ["654321", "message 777777"] {
        let asked = echostream_chat::search::Query {
            words,
            conversation: None,
            sender: None,
            since: None,
            until: None,
            before: None,
            limit: 21,
        };
        let hits = echostream_chat::search::search(&db, reader, &asked)
            .await
            .unwrap();
        assert_eq!(hits.len(), 1, "{words}: one message holds it");
        let built =
            echostream_chat::search::statement(DbBackend::Postgres, reader, &asked).unwrap();
        let text = explain(&db, &built).await;
        println!("search {words:?}, {MESSAGES} messages:\n{text}");
        assert!(
            text.contains("Bitmap Index Scan on messages_search"),
            "{words}: the full-text index:\n{text}"
        );
        assert!(
            !text.contains("Seq Scan on messages"),
            "{words}: never a scan of the table:\n{text}"
        );
    }

    // Leave no million rows behind in the shared server.
    db.close().await.unwrap();
    let server = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .unwrap();
    server
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
}

/// PostgreSQL's plan of `statement`, run (`EXPLAIN ANALYZE`), one line a node.
async fn explain(db: &sea_orm::DatabaseConnection, statement: &Statement) -> String {
    let plan = db
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement.sql),
            statement.values.clone().map(|v| v.0).unwrap_or_default(),
        ))
        .await
        .unwrap();
    plan.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}
