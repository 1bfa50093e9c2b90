//! A conversation's export as clients ask for it: `exportConversation`.

use async_graphql::{Context, ID, Object, Result};
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use super::types::DataExport;
use crate::exports::{self, Format};

/// Exporting conversations.
#[derive(Default)]
pub struct ExportMutation;

#[Object]
impl ExportMutation {
    /// Writes a conversation as the viewer reads it (a member only) to storage, as
    /// JSON or CSV: every item from where their history starts, without what they
    /// deleted for themselves, a message deleted for everyone as its tombstone (no
    /// text). Returns a link to download it, valid for an hour, after which the file
    /// is deleted.
    async fn export_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        format: Format,
    ) -> Result<DataExport> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        let export = exports::conversation(app(ctx)?, me, id, format).await?;
        Ok(DataExport {
            url: export.url,
            expires_at: export.expires_at,
            byte_size: i64::try_from(export.byte_size).unwrap_or(i64::MAX),
        })
    }
}
