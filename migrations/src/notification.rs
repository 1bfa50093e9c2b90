//! The notification subgraph's schema: the stored notification feed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{DeadLetterKeys, DeadLetters, create_event_tables, index, n};

/// Runs the notification migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(DeadLetters),
            Box::new(DeadLetterKeys),
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
