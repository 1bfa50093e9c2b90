//! Search as clients see it: `searchMessages`, a connection of hits, each the message
//! and a snippet in parts; a hit opens in its history with
//! `conversation(id) { messages(around: <message id>) }`.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_service::pages::{FromEdges, Page, cursor};
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use super::message::Message;
use crate::search::{self, Query};

/// A message found, with the text around the words found.
#[derive(SimpleObject)]
pub struct SearchHit {
    pub message: Message,
    /// The snippet, in parts: the words found are `highlighted`.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a snippet.
#[derive(SimpleObject)]
pub struct SnippetPart {
    pub text: String,
    pub highlighted: bool,
}

echostream_service::connection!(SearchHitConnection, SearchHitEdge, SearchHit);

/// Searching messages.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// The messages of the viewer's conversations that hold every word of `query`
    /// (letters and digits, any case; at most 12 words), newest first; narrowed to
    /// one conversation, one sender, and a time range (`since` included, `until`
    /// not). Messages deleted for everyone or for the viewer, and conversations they
    /// left, are never found.
    #[allow(clippy::too_many_arguments)]
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        query: String,
        conversation_id: Option<ID>,
        sender_id: Option<ID>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SearchHitConnection> {
        let me = ctx.viewer()?.user_id;
        let page = Page::new(first, after.as_deref())?;
        let asked = Query {
            words: &query,
            conversation: conversation_id
                .map(|id| parse_id(&id, "conversationId"))
                .transpose()?,
            sender: sender_id.map(|id| parse_id(&id, "senderId")).transpose()?,
            since,
            until,
            before: page.after.map(|(_, id)| id),
            limit: page.first + 1,
        };
        let mut hits = search::search(&app(ctx)?.db, me, &asked).await?;
        let more = hits.len() as u64 > page.first;
        hits.truncate(page.first as usize);
        let edges = hits
            .into_iter()
            .map(|hit| {
                (
                    cursor(hit.message.created_at, hit.message.id),
                    SearchHit {
                        message: Message::of(&hit.message),
                        snippet: hit
                            .snippet
                            .into_iter()
                            .map(|p| SnippetPart {
                                text: p.text,
                                highlighted: p.highlighted,
                            })
                            .collect(),
                    },
                )
            })
            .collect();
        Ok(SearchHitConnection::from_edges(
            edges,
            page.after.is_some(),
            more,
        ))
    }
}
