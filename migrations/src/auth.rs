//! The auth subgraph's schema: users, one-time codes, sessions, signing keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{DeadLetterKeys, DeadLetters, PartitionLeases, create_event_tables, index, n};

/// Runs the auth migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(Sessions),
            Box::new(Identities),
            Box::new(DeadLetters),
            Box::new(DeadLetterKeys),
            Box::new(MailsSent),
            Box::new(PartitionLeases),
        ]
    }
}

struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261123_000001_auth_init"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_event_tables(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("users"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(string(n("email")))
                    .col(string_uniq(n("email_key")))
                    .col(string(n("username")))
                    .col(string_uniq(n("username_key")))
                    .col(string(n("password_hash")))
                    .col(timestamp_with_time_zone_null(n("email_verified_at")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("email_codes"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(string(n("purpose")))
                    .col(string(n("code_hash")))
                    .col(integer(n("attempts")))
                    .col(timestamp_with_time_zone(n("expires_at")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone_null(n("consumed_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "email_codes",
            "email_codes_user",
            &["user_id", "purpose"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("sessions"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(string(n("device_id")))
                    .col(string(n("device_name")))
                    .col(string_uniq(n("refresh_hash")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone(n("last_used_at")))
                    .col(timestamp_with_time_zone(n("expires_at")))
                    .col(timestamp_with_time_zone_null(n("revoked_at")))
                    .to_owned(),
            )
            .await?;
        index(manager, "sessions", "sessions_user", &["user_id"], false).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("signing_keys"))
                    .if_not_exists()
                    .col(string(n("kid")).primary_key())
                    .col(text(n("private_pem")))
                    .col(string(n("public_x")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await
    }
}

/// Session details (client address), refresh-token reuse detection, and codes that
/// carry a target (the new address of an email change).
struct Sessions;

impl MigrationName for Sessions {
    fn name(&self) -> &str {
        "m20261123_000002_auth_sessions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Sessions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(n("sessions"))
                    .add_column(string(n("ip")).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(n("email_codes"))
                    .add_column(string_null(n("target")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("spent_refresh_tokens"))
                    .if_not_exists()
                    .col(string(n("hash")).primary_key())
                    .col(uuid(n("session_id")))
                    .col(timestamp_with_time_zone(n("spent_at")))
                    .to_owned(),
            )
            .await
    }
}

/// Accounts at OpenID Connect providers linked to EchoStream accounts.
struct Identities;

impl MigrationName for Identities {
    fn name(&self) -> &str {
        "m20261123_000003_auth_identities"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Identities {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("identities"))
                    .if_not_exists()
                    .col(string(n("provider")))
                    .col(string(n("subject")))
                    .col(uuid(n("user_id")))
                    .col(string_null(n("email")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .primary_key(Index::create().col(n("provider")).col(n("subject")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "identities",
            "identities_user",
            &["user_id"],
            false,
        )
        .await
    }
}

/// The mails auth sends for other domains (notification digests), by their id: a
/// row is taken before sending and marked sent after, so none is sent twice.
struct MailsSent;

impl MigrationName for MailsSent {
    fn name(&self) -> &str {
        "m20261207_000007_auth_mails_sent"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MailsSent {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("mails_sent"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(string_len(n("state"), 16))
                    .col(timestamp_with_time_zone(n("at")))
                    .to_owned(),
            )
            .await
    }
}
