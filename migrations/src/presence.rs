//! The presence subgraph's schema. Live presence is ephemeral (pub/sub port); the
//! database holds the event tables and the friendship, block and privacy projections
//! that decide who may see whose presence.

use sea_orm_migration::prelude::*;

use crate::common::{
    Blocks, DeadLetterKeys, DeadLetters, PartitionLeases, Privacy, create_event_tables,
    create_friendships_table,
};

/// Runs the presence migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(Friendships),
            Box::new(DeadLetters),
            Box::new(Blocks),
            Box::new(Privacy),
            Box::new(DeadLetterKeys),
            Box::new(PartitionLeases),
        ]
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

struct Friendships;

impl MigrationName for Friendships {
    fn name(&self) -> &str {
        "m20261126_000001_presence_friendships"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Friendships {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_friendships_table(manager).await
    }
}
