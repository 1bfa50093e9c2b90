//! Exports: a user's export of what chat holds about them (`User.chatExport`: their
//! conversations and the messages they sent, as one JSON document,
//! `{"conversations": […], "messagesSent": […]}`), and a member's export of one
//! conversation as they read it (`exportConversation`, JSON or CSV): its timeline
//! from where their history starts, without what they deleted for themselves, and
//! with no text for a message deleted for everyone (its tombstone stays), and each
//! message's files described (name, kind, type, size), not copied.
//!
//! Never held whole: messages are read a page at a time and written to object
//! storage in parts ([`ObjectStore::writer`]: one S3 multipart part, 8 MiB, at most
//! in memory), and the owner gets a link valid for [`LINK_TTL`]. The object is
//! recorded in chat's `media` table to go with its link: the clean-up worker deletes
//! it then, and an account's deletion brings that forward to now.
//!
//! [`ObjectStore::writer`]: echostream_ports::objects::ObjectStore::writer

use std::time::Duration;

use chrono::Utc;
use echostream_media as media;
use echostream_ports::objects::ObjectWriter;
use echostream_service::Error;
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::Chat;
use crate::entities::{hidden_message, message};
use crate::{attachments, conversations};

/// How long an export's link, and the export itself, last.
pub const LINK_TTL: Duration = Duration::from_secs(3600);

/// Messages read from the database at once.
const PAGE: u64 = 1000;

/// Bytes gathered before they are handed to the store.
const CHUNK: usize = 64 * 1024;

/// A finished export.
pub struct Export {
    /// Where the owner downloads it, until `expires_at`.
    pub url: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub byte_size: u64,
}

/// Writes `user`'s export and returns its link.
pub async fn export(chat: &Chat, user: Uuid) -> Result<Export, Error> {
    let mut out = Document::open(chat, user, "json", "application/json").await?;
    out.push(br#"{"conversations":["#).await?;
    for (i, c) in conversations::of_user(&chat.db, user)
        .await?
        .iter()
        .enumerate()
    {
        out.item(
            i,
            json!({ "id": c.id, "kind": c.kind, "title": c.title, "createdAt": c.created_at }),
        )
        .await?;
    }
    out.push(br#"],"messagesSent":["#).await?;
    let mut written = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = message::Entity::find()
            .filter(message::Column::SenderId.eq(user))
            .filter(message::Column::Kind.eq(message::Kind::Text))
            .order_by_asc(message::Column::Id)
            .limit(PAGE);
        if let Some(after) = after {
            page = page.filter(message::Column::Id.gt(after));
        }
        let page = page.all(&chat.db).await?;
        for m in &page {
            out.item(
                written,
                json!({
                    "id": m.id, "conversationId": m.conversation_id, "seq": m.seq,
                    "body": m.body, "createdAt": m.created_at,
                }),
            )
            .await?;
            written += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some(last.id),
            _ => break,
        }
    }
    out.push(b"]}").await?;
    out.finish(chat).await
}

/// The file formats of a conversation's export.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ExportFormat")]
pub enum Format {
    /// `{"conversation": {…}, "messages": […]}`.
    Json,
    /// One header row, then one row per timeline item (RFC 4180).
    Csv,
}

/// The CSV columns of a conversation's export.
const CSV_HEADER: [&str; 10] = [
    "seq",
    "id",
    "created_at",
    "sender_id",
    "kind",
    "body",
    "edited_at",
    "deleted_at",
    "deleted_by",
    "attachments",
];

/// Writes conversation `id` as `user` reads it, in `format`, and returns its link.
pub async fn conversation(
    chat: &Chat,
    user: Uuid,
    id: Uuid,
    format: Format,
) -> Result<Export, Error> {
    let (found, me) = conversations::membership(&chat.db, id, user).await?;
    let (extension, content_type) = match format {
        Format::Json => ("json", "application/json"),
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
    };
    let mut out = Document::open(chat, user, extension, content_type).await?;
    match format {
        Format::Json => {
            let head = json!({
                "id": found.id, "kind": found.kind, "title": found.title,
                "exportedAt": Utc::now(), "exportedBy": user,
            });
            out.push(format!(r#"{{"conversation":{head},"messages":["#).as_bytes())
                .await?;
        }
        Format::Csv => out.push(&csv_row(&CSV_HEADER)?).await?,
    }
    let mut written = 0;
    let mut after = me.history_from_seq;
    loop {
        let hidden = sea_orm::sea_query::Query::select()
            .column(hidden_message::Column::MessageId)
            .from(hidden_message::Entity)
            .and_where(hidden_message::Column::UserId.eq(user))
            .and_where(hidden_message::Column::ConversationId.eq(id))
            .to_owned();
        let page = message::Entity::find()
            .filter(message::Column::ConversationId.eq(id))
            .filter(message::Column::Seq.gt(after))
            .filter(message::Column::Id.not_in_subquery(hidden))
            .order_by_asc(message::Column::Seq)
            .limit(PAGE)
            .all(&chat.db)
            .await?;
        let ids: Vec<Uuid> = page.iter().map(|m| m.id).collect();
        let files = attachments::of_messages(&chat.db, &ids).await?;
        for m in &page {
            // Described, not included: their links are the conversation's own.
            let carried = files.get(&m.id).map(Vec::as_slice).unwrap_or_default();
            // A tombstone keeps its place, never its text.
            let body = m.deleted_at.is_none().then_some(m.body.as_str());
            // As stored (`text`, `system`).
            let kind = m.kind.to_value();
            match format {
                Format::Json => {
                    let item = json!({
                        "id": m.id, "seq": m.seq, "senderId": m.sender_id, "kind": kind,
                        "body": body, "system": m.system, "createdAt": m.created_at,
                        "editedAt": m.edited_at, "deletedAt": m.deleted_at,
                        "deletedBy": m.deleted_by,
                        "attachments": carried.iter().map(|f| json!({
                            "id": f.id, "kind": f.kind.to_value(), "contentType": f.content_type,
                            "fileName": f.file_name, "byteSize": f.byte_size,
                        })).collect::<Vec<_>>(),
                    });
                    out.item(written, item).await?;
                }
                Format::Csv => {
                    let time = |t: Option<chrono::DateTime<Utc>>| {
                        t.map(|t| t.to_rfc3339()).unwrap_or_default()
                    };
                    let row = [
                        m.seq.to_string(),
                        m.id.to_string(),
                        m.created_at.to_rfc3339(),
                        m.sender_id.to_string(),
                        kind.clone(),
                        body.unwrap_or_default().to_string(),
                        time(m.edited_at),
                        time(m.deleted_at),
                        m.deleted_by.map(|u| u.to_string()).unwrap_or_default(),
                        carried
                            .iter()
                            .map(|f| f.file_name.as_str())
                            .collect::<Vec<_>>()
                            .join("; "),
                    ];
                    out.push(&csv_row(&row)?).await?;
                }
            }
            written += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = last.seq,
            _ => break,
        }
    }
    if format == Format::Json {
        out.push(b"]}").await?;
    }
    out.finish(chat).await
}

/// One CSV record, quoted where RFC 4180 needs it.
fn csv_row<T: AsRef<[u8]>>(fields: &[T]) -> Result<Vec<u8>, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).map_err(Error::internal)?;
    writer.into_inner().map_err(Error::internal)
}

/// A document on its way to the store, a chunk at a time.
struct Document {
    key: String,
    expires_at: chrono::DateTime<Utc>,
    writer: Box<dyn ObjectWriter>,
    buffer: Vec<u8>,
}

impl Document {
    /// Starts a new export file of `user`'s, recorded before it is written so that
    /// one interrupted midway is deleted all the same.
    async fn open(
        chat: &Chat,
        user: Uuid,
        extension: &str,
        content_type: &str,
    ) -> Result<Document, Error> {
        let key = format!("exports/chat/{user}/{}.{extension}", Uuid::now_v7());
        let expires_at = Utc::now() + LINK_TTL;
        media::expire_at(&chat.db, user, media::MediaKind::Export, &key, expires_at).await?;
        Ok(Document {
            writer: chat.ports.objects.writer(&key, content_type).await?,
            key,
            expires_at,
            buffer: Vec::with_capacity(CHUNK),
        })
    }

    async fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.writer.write(&self.buffer).await?;
            self.buffer.clear();
        }
        Ok(())
    }

    /// Item `index` of the array being written.
    async fn item(&mut self, index: usize, value: serde_json::Value) -> Result<(), Error> {
        let comma: &[u8] = if index == 0 { b"" } else { b"," };
        let mut bytes = comma.to_vec();
        serde_json::to_writer(&mut bytes, &value).map_err(Error::internal)?;
        self.push(&bytes).await
    }

    /// Writes what is left and returns the file's link.
    async fn finish(mut self, chat: &Chat) -> Result<Export, Error> {
        self.writer.write(&self.buffer).await?;
        let byte_size = self.writer.finish().await?;
        Ok(Export {
            url: chat.ports.objects.presign_get(&self.key, LINK_TTL).await?,
            expires_at: self.expires_at,
            byte_size,
        })
    }
}
