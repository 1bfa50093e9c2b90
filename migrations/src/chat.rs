//! The chat subgraph's schema: conversations, members, messages, and the friendship
//! projection chat needs to allow direct conversations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::common::{
    Blocks, DeadLetterKeys, DeadLetters, MediaFiles, PartitionLeases, People, Privacy, add_column,
    create_event_tables, create_friendships_table, create_media_table, index, n,
};

/// Runs the chat migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(DeadLetters),
            Box::new(Blocks),
            Box::new(Privacy),
            Box::new(Groups),
            Box::new(Media),
            Box::new(DeadLetterKeys),
            Box::new(IdempotencyPerConversation),
            Box::new(HistoryForNewMembers),
            Box::new(EditsAndDeletions),
            Box::new(Reactions),
            Box::new(Pins),
            Box::new(Search),
            Box::new(MarkUnread),
            Box::new(RepliesAndForwards),
            Box::new(ScheduledMessages),
            Box::new(Mentions),
            Box::new(Attachments),
            Box::new(MediaFiles),
            Box::new(Threads),
            Box::new(Mutes),
            Box::new(PartitionLeases),
            Box::new(People),
        ]
    }
}

struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261123_000001_chat_init"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_event_tables(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("conversations"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(string(n("kind")))
                    .col(string_null(n("direct_key")).unique_key())
                    .col(string_null(n("title")))
                    .col(uuid(n("created_by")))
                    .col(big_integer(n("last_seq")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("members"))
                    .if_not_exists()
                    .col(uuid(n("conversation_id")))
                    .col(uuid(n("user_id")))
                    .col(string(n("role")))
                    .col(big_integer(n("last_read_seq")))
                    .col(timestamp_with_time_zone(n("joined_at")))
                    .primary_key(Index::create().col(n("conversation_id")).col(n("user_id")))
                    .to_owned(),
            )
            .await?;
        index(manager, "members", "members_user", &["user_id"], false).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("messages"))
                    .if_not_exists()
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("conversation_id")))
                    .col(big_integer(n("seq")))
                    .col(uuid(n("sender_id")))
                    .col(string(n("sender_device")))
                    .col(string(n("client_key")))
                    .col(text(n("body")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "messages",
            "messages_conversation_seq",
            &["conversation_id", "seq"],
            true,
        )
        .await?;
        // Idempotency: one message per (sender, device, client key).
        index(
            manager,
            "messages",
            "messages_idempotency",
            &["sender_id", "sender_device", "client_key"],
            true,
        )
        .await?;
        create_friendships_table(manager).await
    }
}

/// Groups, timeline items, delivery and read state: conversation info and settings,
/// last activity (the list's order), system items among messages, each member's
/// delivered position, and the read marks "seen by" is told from.
struct Groups;

impl MigrationName for Groups {
    fn name(&self) -> &str {
        "m20261127_000002_chat_groups"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Groups {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "conversations", text_null(n("description"))).await?;
        add_column(manager, "conversations", string_null(n("avatar_key"))).await?;
        add_column(
            manager,
            "conversations",
            boolean(n("only_admins_send")).default(false).take(),
        )
        .await?;
        add_column(
            manager,
            "conversations",
            timestamp_with_time_zone_null(n("last_activity_at")),
        )
        .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE conversations SET last_activity_at = created_at WHERE last_activity_at IS NULL",
            )
            .await?;
        add_column(
            manager,
            "messages",
            string_len(n("kind"), 16).default("text").take(),
        )
        .await?;
        add_column(manager, "messages", json_null(n("system"))).await?;
        add_column(
            manager,
            "members",
            big_integer(n("delivered_seq")).default(0).take(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("read_marks"))
                    .if_not_exists()
                    .col(uuid(n("conversation_id")))
                    .col(uuid(n("user_id")))
                    .col(big_integer(n("seq")))
                    .col(timestamp_with_time_zone(n("at")))
                    .primary_key(
                        Index::create()
                            .col(n("conversation_id"))
                            .col(n("seq"))
                            .col(n("user_id")),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// Group avatars: uploads waiting for confirmation and replaced avatars waiting to
/// be deleted (`echostream_media`).
struct Media;

impl MigrationName for Media {
    fn name(&self) -> &str {
        "m20261127_000003_chat_media"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Media {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_media_table(manager).await
    }
}

/// An idempotency key is scoped to its conversation: one message per (conversation,
/// sender, device, client key), so a key reused in another conversation sends there
/// instead of answering with a message of the first.
struct IdempotencyPerConversation;

impl MigrationName for IdempotencyPerConversation {
    fn name(&self) -> &str {
        "m20261206_000002_idempotency_per_conversation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for IdempotencyPerConversation {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("messages_idempotency")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "messages",
            "messages_idempotency_per_conversation",
            &[
                "conversation_id",
                "sender_id",
                "sender_device",
                "client_key",
            ],
            true,
        )
        .await
    }
}

/// What a new member sees of a group's earlier history: a group setting, and the
/// first `seq` each member may read.
struct HistoryForNewMembers;

impl MigrationName for HistoryForNewMembers {
    fn name(&self) -> &str {
        "m20261206_000003_history_for_new_members"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for HistoryForNewMembers {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(n("conversations"))
                    .add_column(boolean(n("new_members_see_history")).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(n("members"))
                    .add_column(big_integer(n("history_from_seq")).default(0))
                    .to_owned(),
            )
            .await
    }
}

/// Edits and deletions: a message's edit mark and earlier versions, its tombstone
/// (who deleted it for everyone, and when), and what each member deleted for
/// themselves.
struct EditsAndDeletions;

impl MigrationName for EditsAndDeletions {
    fn name(&self) -> &str {
        "m20261206_000004_chat_edits_and_deletions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EditsAndDeletions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            "messages",
            timestamp_with_time_zone_null(n("edited_at")),
        )
        .await?;
        add_column(
            manager,
            "messages",
            timestamp_with_time_zone_null(n("deleted_at")),
        )
        .await?;
        add_column(manager, "messages", uuid_null(n("deleted_by"))).await?;
        manager
            .create_table(
                Table::create()
                    .table(n("message_versions"))
                    .if_not_exists()
                    .col(uuid(n("message_id")))
                    .col(big_integer(n("version")))
                    .col(text(n("body")))
                    .col(timestamp_with_time_zone(n("written_at")))
                    .primary_key(Index::create().col(n("message_id")).col(n("version")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("hidden_messages"))
                    .if_not_exists()
                    .col(uuid(n("user_id")))
                    .col(uuid(n("message_id")))
                    .col(uuid(n("conversation_id")))
                    .col(big_integer(n("seq")))
                    .primary_key(Index::create().col(n("user_id")).col(n("message_id")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "hidden_messages",
            "hidden_messages_by_conversation",
            &["user_id", "conversation_id", "seq"],
            false,
        )
        .await
    }
}

/// Reactions: one row per member, message and emoji.
struct Reactions;

impl MigrationName for Reactions {
    fn name(&self) -> &str {
        "m20261206_000005_chat_reactions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Reactions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("reactions"))
                    .if_not_exists()
                    .col(uuid(n("message_id")))
                    .col(uuid(n("user_id")))
                    .col(text(n("emoji")))
                    .col(uuid(n("conversation_id")))
                    .col(timestamp_with_time_zone(n("reacted_at")))
                    .primary_key(
                        Index::create()
                            .col(n("message_id"))
                            .col(n("user_id"))
                            .col(n("emoji")),
                    )
                    .to_owned(),
            )
            .await?;
        // Who reacted, in order (`Message.reactors`); and a departed account's.
        index(
            manager,
            "reactions",
            "reactions_by_time",
            &["message_id", "reacted_at", "user_id"],
            false,
        )
        .await?;
        index(
            manager,
            "reactions",
            "reactions_by_user",
            &["user_id"],
            false,
        )
        .await
    }
}

/// Pins: the messages pinned in a conversation, by whom and when.
struct Pins;

impl MigrationName for Pins {
    fn name(&self) -> &str {
        "m20261206_000006_chat_pins"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Pins {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("pins"))
                    .if_not_exists()
                    .col(uuid(n("conversation_id")))
                    .col(uuid(n("message_id")))
                    .col(big_integer(n("seq")))
                    .col(uuid(n("pinned_by")))
                    .col(timestamp_with_time_zone(n("pinned_at")))
                    .primary_key(
                        Index::create()
                            .col(n("conversation_id"))
                            .col(n("message_id")),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// Search: a full-text index of message bodies. PostgreSQL: a generated `tsvector`
/// column (`simple` configuration: words lower-cased, no language's stemming, as
/// chats mix languages) under a GIN index. SQLite: an FTS5 table over `messages`
/// (external content, keyed by rowid; `unicode61` words, accents kept as in PostgreSQL), kept by
/// triggers, and filled from the rows already there. A body erased by a deletion
/// leaves the index with it.
struct Search;

impl MigrationName for Search {
    fn name(&self) -> &str {
        "m20261206_000007_chat_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Search {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search tsvector \
                 GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED",
                "CREATE INDEX IF NOT EXISTS messages_search ON messages USING GIN (search)",
            ],
            _ => &[
                "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(body, \
                 content='messages', content_rowid='rowid', \
                 tokenize='unicode61 remove_diacritics 0')",
                "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN \
                 INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END",
                "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN \
                 INSERT INTO messages_fts(messages_fts, rowid, body) \
                 VALUES ('delete', old.rowid, old.body); END",
                "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body ON messages \
                 BEGIN INSERT INTO messages_fts(messages_fts, rowid, body) \
                 VALUES ('delete', old.rowid, old.body); \
                 INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END",
                "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
            ],
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

/// Mark unread: the first item a member marked unread again (their own read state;
/// their read receipts stay where they are).
struct MarkUnread;

impl MigrationName for MarkUnread {
    fn name(&self) -> &str {
        "m20261206_000008_chat_mark_unread"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MarkUnread {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "members", big_integer_null(n("unread_from_seq"))).await
    }
}

/// Replies and forwards: the message a message answers or copies, and its sender.
struct RepliesAndForwards;

impl MigrationName for RepliesAndForwards {
    fn name(&self) -> &str {
        "m20261206_000009_chat_replies_and_forwards"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RepliesAndForwards {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            "reply_to_id",
            "reply_to_sender_id",
            "forwarded_from_id",
            "forwarded_sender_id",
        ] {
            add_column(manager, "messages", uuid_null(n(column))).await?;
        }
        Ok(())
    }
}

/// Scheduled messages: what a member asked to send later, until it is sent.
struct ScheduledMessages;

impl MigrationName for ScheduledMessages {
    fn name(&self) -> &str {
        "m20261206_000010_chat_scheduled_messages"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ScheduledMessages {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("scheduled_messages"))
                    .if_not_exists()
                    .col(uuid(n("id")).primary_key())
                    .col(uuid(n("conversation_id")))
                    .col(uuid(n("sender_id")))
                    .col(text(n("sender_device")))
                    .col(text(n("body")))
                    .col(uuid_null(n("reply_to_id")))
                    .col(timestamp_with_time_zone(n("send_at")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(string_len(n("state"), 16))
                    .col(timestamp_with_time_zone_null(n("claimed_at")))
                    .col(uuid_null(n("message_id")))
                    .col(text_null(n("failure")))
                    .to_owned(),
            )
            .await?;
        // The worker's scan (what is due), and a sender's list.
        index(
            manager,
            "scheduled_messages",
            "scheduled_messages_due",
            &["state", "send_at"],
            false,
        )
        .await?;
        index(
            manager,
            "scheduled_messages",
            "scheduled_messages_by_sender",
            &["sender_id", "send_at"],
            false,
        )
        .await
    }
}

/// Mentions: the usernames chat reads `@username` by (from auth's events), and the
/// mentions a message's text holds.
struct Mentions;

impl MigrationName for Mentions {
    fn name(&self) -> &str {
        "m20261206_000011_chat_mentions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Mentions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("usernames"))
                    .if_not_exists()
                    .col(uuid(n("user_id")).primary_key())
                    .col(text(n("username")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "usernames",
            "usernames_by_name",
            &["username"],
            false,
        )
        .await?;
        add_column(manager, "messages", json_null(n("mentions"))).await
    }
}

/// Attachments: the files messages carry (one row per stored file, counted by the
/// messages that carry it, so a forward shares it), and which message carries which,
/// in order.
struct Attachments;

impl MigrationName for Attachments {
    fn name(&self) -> &str {
        "m20261206_000012_chat_attachments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Attachments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("attachments"))
                    .if_not_exists()
                    .col(uuid(n("id")).primary_key())
                    .col(uuid(n("conversation_id")))
                    .col(uuid(n("uploader_id")))
                    .col(text(n("key")))
                    .col(string_len(n("kind"), 16))
                    .col(text(n("content_type")))
                    .col(text(n("file_name")))
                    .col(big_integer(n("byte_size")))
                    .col(integer_null(n("width")))
                    .col(integer_null(n("height")))
                    .col(big_integer_null(n("duration_ms")))
                    .col(boolean(n("thumbnails")))
                    .col(integer(n("refs")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("message_attachments"))
                    .if_not_exists()
                    .col(uuid(n("message_id")))
                    .col(integer(n("position")))
                    .col(uuid(n("attachment_id")))
                    .primary_key(Index::create().col(n("message_id")).col(n("position")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "message_attachments",
            "message_attachments_by_attachment",
            &["attachment_id"],
            false,
        )
        .await
    }
}

/// Threads: a reply in a thread names its root; one kept out of the conversation's
/// timeline (and its unread count) is not `in_timeline`. Each member's read
/// position in each thread they read.
struct Threads;

impl MigrationName for Threads {
    fn name(&self) -> &str {
        "m20261207_000002_chat_threads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Threads {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "messages", uuid_null(n("thread_root_id"))).await?;
        add_column(
            manager,
            "messages",
            boolean(n("in_timeline")).default(true).to_owned(),
        )
        .await?;
        // A thread's history, paged by `seq` like the conversation's.
        index(
            manager,
            "messages",
            "messages_thread_seq",
            &["thread_root_id", "seq"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("thread_reads"))
                    .if_not_exists()
                    .col(uuid(n("root_id")))
                    .col(uuid(n("user_id")))
                    .col(uuid(n("conversation_id")))
                    .col(big_integer(n("read_seq")))
                    .primary_key(Index::create().col(n("root_id")).col(n("user_id")))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "thread_reads",
            "thread_reads_by_member",
            &["conversation_id", "user_id"],
            false,
        )
        .await
    }
}

/// Mute: a member silences a conversation's notifications for themselves, until a
/// time (`muted_until`) or until they unmute it (`muted` with no time).
struct Mutes;

impl MigrationName for Mutes {
    fn name(&self) -> &str {
        "m20261207_000004_chat_mutes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Mutes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            "members",
            boolean(n("muted")).default(false).to_owned(),
        )
        .await?;
        add_column(
            manager,
            "members",
            timestamp_with_time_zone_null(n("muted_until")),
        )
        .await
    }
}
