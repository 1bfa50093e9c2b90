//! Tables and helpers every subgraph's first migration uses.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Adds one column (SQLite alters one column per statement).
pub async fn add_column(
    manager: &SchemaManager<'_>,
    table: &str,
    column: ColumnDef,
) -> Result<(), DbErr> {
    let mut column = column;
    manager
        .alter_table(
            Table::alter()
                .table(n(table))
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

/// A name for a table, column or index.
pub fn n(name: &str) -> Alias {
    Alias::new(name)
}

/// Creates `friendships`, a subgraph's projection of profile's friendships (one row
/// per direction; `echostream_projections::friendships`).
pub async fn create_friendships_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(n("friendships"))
                .if_not_exists()
                .col(uuid(n("user_id")))
                .col(uuid(n("friend_id")))
                .primary_key(Index::create().col(n("user_id")).col(n("friend_id")))
                .to_owned(),
        )
        .await
}

/// Creates `blocks`: who blocked whom, one row per block (profile's own table, and
/// the projection other subgraphs keep of it: `echostream_projections::blocks`).
pub async fn create_blocks_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(n("blocks"))
                .if_not_exists()
                .col(uuid(n("blocker")))
                .col(uuid(n("blocked")))
                .primary_key(Index::create().col(n("blocker")).col(n("blocked")))
                .to_owned(),
        )
        .await?;
    index(manager, "blocks", "blocks_blocked", &["blocked"], false).await
}

/// Creates `media`: a subgraph's uploads waiting for confirmation and images waiting
/// to be deleted (`echostream_media`).
pub async fn create_media_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(n("media"))
                .if_not_exists()
                .col(uuid(n("id")).primary_key())
                .col(uuid(n("user_id")))
                .col(string_len(n("kind"), 16))
                .col(string_len(n("key"), 200))
                .col(string_len(n("content_type"), 64))
                .col(big_integer(n("declared_bytes")))
                .col(string_len(n("state"), 16))
                .col(timestamp_with_time_zone(n("since")))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "media",
        "media_state_since",
        &["state", "since"],
        false,
    )
    .await?;
    index(manager, "media", "media_user", &["user_id"], false).await
}

/// Uploads of any file (chat's attachments): `media` remembers the file name an
/// upload was asked for, and holds any type's name (PostgreSQL: `text`, where 64
/// characters were too few for an Office document's type).
pub struct MediaFiles;

impl MigrationName for MediaFiles {
    fn name(&self) -> &str {
        "m20261207_000001_media_files"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MediaFiles {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(n("media"))
                    .add_column(text_null(n("file_name")))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("media"))
                        .modify_column(text(n("content_type")))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Adds `blocks` (see [`create_blocks_table`]).
pub struct Blocks;

impl MigrationName for Blocks {
    fn name(&self) -> &str {
        "m20261126_000004_blocks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Blocks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_blocks_table(manager).await
    }
}

/// Creates `privacy_settings`: one row per user who changed a default (profile's
/// own table, and the projection chat and presence keep of it:
/// `echostream_projections::privacy`).
pub async fn create_privacy_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(n("privacy_settings"))
                .if_not_exists()
                .col(uuid(n("user_id")).primary_key())
                .col(string_len(n("direct_messages"), 16))
                .col(string_len(n("presence"), 16))
                .col(boolean(n("read_receipts")))
                .col(string_len(n("group_adds"), 16))
                .to_owned(),
        )
        .await
}

/// Adds `privacy_settings` (see [`create_privacy_table`]).
pub struct Privacy;

impl MigrationName for Privacy {
    fn name(&self) -> &str {
        "m20261127_000001_privacy"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Privacy {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_privacy_table(manager).await
    }
}

/// Creates `outbox` (events waiting for the relay) and `processed_events` (event ids
/// a consumer has applied, for idempotency).
pub async fn create_event_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a bigint.
    let seq = match manager.get_database_backend() {
        DbBackend::Sqlite => integer(n("seq")).auto_increment().primary_key().take(),
        _ => big_integer(n("seq")).auto_increment().primary_key().take(),
    };
    manager
        .create_table(
            Table::create()
                .table(n("outbox"))
                .if_not_exists()
                .col(seq)
                .col(uuid(n("event_id")))
                .col(string(n("topic")))
                .col(json(n("event")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone_null(n("published_at")))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("outbox_pending")
                .table(n("outbox"))
                .col(n("published_at"))
                .col(n("seq"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(n("processed_events"))
                .if_not_exists()
                .col(string(n("consumer")))
                .col(uuid(n("event_id")))
                .primary_key(Index::create().col(n("consumer")).col(n("event_id")))
                .to_owned(),
        )
        .await
}

/// Creates a (possibly unique) index over `cols` of `table`.
pub async fn index(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    cols: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(n(table));
    for col in cols {
        stmt.col(n(col));
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}

/// Adds `dead_letters`: events a consumer of this subgraph could not decode or apply
/// after its retries, parked with the error so the partition goes on
/// (`echostream_ports::events::dead_letters`).
pub struct DeadLetters;

impl MigrationName for DeadLetters {
    fn name(&self) -> &str {
        "m20261126_000002_dead_letters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DeadLetters {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("dead_letters"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(string(n("consumer")))
                    .col(string(n("topic")))
                    .col(integer(n("partition")))
                    .col(big_integer(n("offset")))
                    .col(uuid(n("event_id")))
                    .col(json(n("event")))
                    .col(text(n("error")))
                    .col(integer(n("attempts")))
                    .col(timestamp_with_time_zone(n("parked_at")))
                    .col(timestamp_with_time_zone_null(n("replay_requested_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("dead_letters_consumer")
                    .table(n("dead_letters"))
                    .col(n("consumer"))
                    .col(n("replay_requested_at"))
                    .to_owned(),
            )
            .await
    }
}

/// Adds the partition key of each parked event and when a newer event of that key
/// superseded it, so that a replay never applies an old change over a newer one.
pub struct DeadLetterKeys;

impl MigrationName for DeadLetterKeys {
    fn name(&self) -> &str {
        "m20261206_000001_dead_letter_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DeadLetterKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds columns one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(n("dead_letters"))
                    .add_column(string_null(n("event_key")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(n("dead_letters"))
                    .add_column(timestamp_with_time_zone_null(n("superseded_at")))
                    .to_owned(),
            )
            .await
    }
}

/// Adds the tables where the instances of a subgraph agree who reads which
/// partition of a topic (`echostream_ports::events::shares`): `consumer_members`,
/// one row per live consumer of a group and topic, and `partition_leases`, one row
/// per partition, with its holder and until when the lease runs.
pub struct PartitionLeases;

impl MigrationName for PartitionLeases {
    fn name(&self) -> &str {
        "m20261207_000001_partition_leases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PartitionLeases {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("consumer_members"))
                    .if_not_exists()
                    .col(string(n("consumer")))
                    .col(string(n("holder")))
                    .col(timestamp_with_time_zone(n("until")))
                    .primary_key(Index::create().col(n("consumer")).col(n("holder")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("partition_leases"))
                    .if_not_exists()
                    .col(string(n("consumer")))
                    .col(integer(n("part")))
                    .col(string(n("holder")))
                    .col(timestamp_with_time_zone(n("until")))
                    .primary_key(Index::create().col(n("consumer")).col(n("part")))
                    .to_owned(),
            )
            .await
    }
}

/// `people`: what a subgraph's projection knows of each person
/// (`echostream_projections::people`): username, display name and avatar. The
/// table is made where missing (chat), and the avatar added where it was not kept
/// (notification's names).
pub struct People;

impl MigrationName for People {
    fn name(&self) -> &str {
        "m20261207_000010_people"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for People {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
            .await?;
        add_column(manager, "people", text_null(n("avatar_key"))).await
    }
}
