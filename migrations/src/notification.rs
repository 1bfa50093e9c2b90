//! The notification subgraph's schema: the stored notification feed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::common::{
    DeadLetterKeys, DeadLetters, PartitionLeases, People, add_column, create_event_tables, index, n,
};

/// Runs the notification migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(DeadLetters),
            Box::new(DeadLetterKeys),
            Box::new(Feed),
            Box::new(Preferences),
            Box::new(Digests),
            Box::new(Push),
            Box::new(PartitionLeases),
            Box::new(People),
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
        for column in columns {
            add_column(manager, "notifications", column).await?;
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

/// Who hears of what, on which channel: each user's preferences (the kinds × channels
/// they changed from the defaults, do-not-disturb, quiet hours), the conversations
/// they muted (chat's, followed from its events), and per item whether it shows in
/// the feed (`in_app`) and may go out by email (`email`). Earlier items show and
/// are never mailed.
struct Preferences;

impl MigrationName for Preferences {
    fn name(&self) -> &str {
        "m20261207_000005_notification_preferences"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Preferences {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            boolean(n("in_app")).default(true).to_owned(),
            boolean(n("email")).default(false).to_owned(),
        ] {
            add_column(manager, "notifications", column).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(n("preferences"))
                    .if_not_exists()
                    .col(pk_uuid(n("user_id")))
                    .col(json(n("channels")).default("{}"))
                    .col(timestamp_with_time_zone_null(n("dnd_until")))
                    .col(integer_null(n("quiet_from")))
                    .col(integer_null(n("quiet_to")))
                    .col(string_null(n("time_zone")))
                    .col(boolean(n("mentions_break_mute")).default(true))
                    .col(timestamp_with_time_zone(n("updated_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("mutes"))
                    .if_not_exists()
                    .col(uuid(n("conversation_id")))
                    .col(uuid(n("user_id")))
                    .col(timestamp_with_time_zone_null(n("until")))
                    .primary_key(Index::create().col(n("conversation_id")).col(n("user_id")))
                    .to_owned(),
            )
            .await
    }
}

/// Email digests: which digest each notification went out in (`digest_id`: at most
/// one), the digests sent (`digests`), each user's last one (`digest_slots`: the
/// row two instances contend for, so a user gets at most one per interval), and the
/// subgraph's keys (`secrets`, by name: the one unsubscribe links are signed with,
/// made by whichever instance starts first).
struct Digests;

impl MigrationName for Digests {
    fn name(&self) -> &str {
        "m20261207_000006_notification_digests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Digests {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "notifications", uuid_null(n("digest_id"))).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS notifications_digest_due ON notifications (created_at) \
                 WHERE email AND digest_id IS NULL AND read_at IS NULL AND dismissed_at IS NULL",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("digests"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(integer(n("items")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "digests",
            "digests_user",
            &["user_id", "created_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("digest_slots"))
                    .if_not_exists()
                    .col(pk_uuid(n("user_id")))
                    .col(timestamp_with_time_zone(n("last_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("secrets"))
                    .if_not_exists()
                    .col(string_len(n("name"), 32).primary_key())
                    .col(string(n("secret")))
                    .to_owned(),
            )
            .await
    }
}

/// Web Push: each device's push subscription (ending with the session that
/// registered it), the pushes waiting to be sent (`push_jobs`: claimed by one
/// instance each), and when an item was last pushed (`pushed_at`: reading it
/// elsewhere withdraws the push).
struct Push;

impl MigrationName for Push {
    fn name(&self) -> &str {
        "m20261207_000008_notification_push"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Push {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            "notifications",
            timestamp_with_time_zone_null(n("pushed_at")),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("push_subscriptions"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(uuid(n("session_id")))
                    .col(string_len(n("endpoint"), 1000).unique_key())
                    .col(string_len(n("p256dh"), 100))
                    .col(string_len(n("auth"), 40))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "push_subscriptions",
            "push_subscriptions_user",
            &["user_id"],
            false,
        )
        .await?;
        index(
            manager,
            "push_subscriptions",
            "push_subscriptions_session",
            &["session_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("push_jobs"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(uuid(n("notification_id")))
                    .col(string_len(n("action"), 16))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone_null(n("claimed_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "push_jobs",
            "push_jobs_waiting",
            &["claimed_at", "created_at"],
            false,
        )
        .await
    }
}
