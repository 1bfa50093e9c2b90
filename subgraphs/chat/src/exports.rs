//! A user's export of what chat holds about them (`User.chatExport`): their
//! conversations and the messages they sent, as one JSON document
//! (`{"conversations": […], "messagesSent": […]}`).
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
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::Chat;
use crate::conversations;
use crate::entities::message;

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
    let key = format!("exports/chat/{user}/{}.json", Uuid::now_v7());
    let expires_at = Utc::now() + LINK_TTL;
    // Recorded before it is written: one interrupted midway is deleted all the same.
    media::expire_at(&chat.db, user, media::MediaKind::Export, &key, expires_at).await?;
    let objects = &chat.ports.objects;
    let mut out = Document {
        writer: objects.writer(&key, "application/json").await?,
        buffer: Vec::with_capacity(CHUNK),
    };
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
    let byte_size = out.finish().await?;
    Ok(Export {
        url: objects.presign_get(&key, LINK_TTL).await?,
        expires_at,
        byte_size,
    })
}

/// A JSON document on its way to the store, a chunk at a time.
struct Document {
    writer: Box<dyn ObjectWriter>,
    buffer: Vec<u8>,
}

impl Document {
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

    async fn finish(mut self) -> Result<u64, Error> {
        self.writer.write(&self.buffer).await?;
        Ok(self.writer.finish().await?)
    }
}
