//! The profile subgraph's schema: profiles, friend requests, friendships.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{
    Blocks, DeadLetterKeys, DeadLetters, MediaFiles, PartitionLeases, Privacy, create_event_tables,
    create_media_table, index, n,
};

/// Runs the profile migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(DeadLetters),
            Box::new(ProfileDetails),
            Box::new(Blocks),
            Box::new(EmailDigests),
            Box::new(Privacy),
            Box::new(Media),
            Box::new(DeadLetterKeys),
            Box::new(MediaFiles),
            Box::new(PartitionLeases),
        ]
    }
}

struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261123_000001_profile_init"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_event_tables(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("profiles"))
                    .if_not_exists()
                    .col(pk_uuid(n("user_id")))
                    .col(string(n("username")))
                    .col(string_uniq(n("username_key")))
                    .col(string(n("display_name")))
                    .col(text_null(n("bio")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone(n("updated_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("friend_requests"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("from_user")))
                    .col(uuid(n("to_user")))
                    .col(string(n("status")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone_null(n("responded_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "friend_requests",
            "friend_requests_to",
            &["to_user", "status"],
            false,
        )
        .await?;
        index(
            manager,
            "friend_requests",
            "friend_requests_from",
            &["from_user", "status"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("friendships"))
                    .if_not_exists()
                    .col(uuid(n("user_id")))
                    .col(uuid(n("friend_id")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .primary_key(Index::create().col(n("user_id")).col(n("friend_id")))
                    .to_owned(),
            )
            .await
    }
}

struct ProfileDetails;

impl MigrationName for ProfileDetails {
    fn name(&self) -> &str {
        "m20261126_000003_profile_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ProfileDetails {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            string_null(n("location")),
            string_null(n("website")),
            date_null(n("birthdate")),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("profiles"))
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

struct EmailDigests;

impl MigrationName for EmailDigests {
    fn name(&self) -> &str {
        "m20261126_000005_profile_email_digests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EmailDigests {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(n("profiles"))
                    .add_column(string_null(n("email_digest")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "profiles",
            "profiles_email_digest",
            &["email_digest"],
            false,
        )
        .await
    }
}

/// Avatars and covers: the profile names each one's stored media (a key prefix), and
/// `media` lists uploads waiting for confirmation and media waiting to be deleted.
struct Media;

impl MigrationName for Media {
    fn name(&self) -> &str {
        "m20261127_000002_profile_media"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Media {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in ["avatar_key", "cover_key"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("profiles"))
                        .add_column(string_null(n(column)))
                        .to_owned(),
                )
                .await?;
        }
        create_media_table(manager).await
    }
}
