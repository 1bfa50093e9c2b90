//! The notification subgraph's schema: the stored notification feed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::common::{DeadLetterKeys, DeadLetters, create_event_tables, index, n};

/// Runs the notification migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(DeadLetters),
            Box::new(DeadLetterKeys),
            Box::new(Feed),
        ]
    }
}

struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261123_000001_notification_init"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_event_tables(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("notifications"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(string(n("kind")))
                    .col(uuid(n("source_event")))
                    .col(json(n("payload")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone_null(n("read_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "notifications",
            "notifications_user",
            &["user_id", "created_at"],
            false,
        )
        .await?;
        index(
            manager,
            "notifications",
            "notifications_source",
            &["user_id", "source_event"],
            true,
        )
        .await
    }
}

/// The feed people can live with: items that collapse (`group_key`: one open item
/// per user and key), counting what they collapse (`count`), who caused them
/// (`actor_ids`, in order of first appearance), what they point at
/// (`conversation_id`, `message_id`, `subject_id`), the messages they cover
/// (`first_seq` to `last_seq`, so reading a conversation resolves them), when they
/// last changed and whether they were dismissed. Earlier rows become items of their
/// own (`legacy:{id}`).
struct Feed;

impl MigrationName for Feed {
    fn name(&self) -> &str {
        "m20261207_000003_notification_feed"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Feed {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            string(n("group_key")).default("").to_owned(),
            integer(n("count")).default(1).to_owned(),
            json(n("actor_ids")).default("[]").to_owned(),
            uuid_null(n("conversation_id")),
            uuid_null(n("message_id")),
            uuid_null(n("subject_id")),
            big_integer_null(n("first_seq")),
            big_integer_null(n("last_seq")),
            timestamp_with_time_zone_null(n("updated_at")),
            timestamp_with_time_zone_null(n("dismissed_at")),
        ];
        // SQLite adds one column per statement.
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("notifications"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let legacy = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE notifications SET group_key = 'legacy:' || id::text, updated_at = created_at"
            }
            _ => {
                "UPDATE notifications SET group_key = 'legacy:' || hex(id), updated_at = created_at"
            }
        };
        let db = manager.get_connection();
        db.execute_unprepared(legacy).await?;
        for sql in [
            "CREATE UNIQUE INDEX IF NOT EXISTS notifications_open ON notifications (user_id, group_key) \
             WHERE read_at IS NULL AND dismissed_at IS NULL",
            "CREATE INDEX IF NOT EXISTS notifications_feed ON notifications (user_id, updated_at, id)",
            "CREATE INDEX IF NOT EXISTS notifications_conversation ON notifications (user_id, conversation_id) \
             WHERE conversation_id IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS notifications_message ON notifications (message_id) \
             WHERE message_id IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(n("people"))
                    .if_not_exists()
                    .col(pk_uuid(n("user_id")))
                    .col(string(n("username")).default(""))
                    .col(string(n("display_name")).default(""))
                    .to_owned(),
            )
            .await
    }
}
