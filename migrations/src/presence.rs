//! The presence subgraph's schema. Live presence is ephemeral (pub/sub port); the
//! database holds only the event tables for now.

use sea_orm_migration::prelude::*;

use crate::common::create_event_tables;

/// Runs the presence migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Init)]
    }
}

struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261123_000001_presence_init"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_event_tables(manager).await
    }
}
