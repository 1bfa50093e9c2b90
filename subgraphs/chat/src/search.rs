//! Search: the messages of the viewer's conversations, by words, newest first.
//!
//! A real index in both profiles (migrations `Search`): PostgreSQL's full-text
//! search over a generated `tsvector` under a GIN index, SQLite's FTS5. Both split
//! text into words the same way (letters and digits, lower-cased, no stemming), and
//! a query matches the messages holding every one of its words. What the viewer may
//! not read is never found: only conversations they are a member of now, from where
//! their history starts, not deleted for everyone (the body is erased, and leaves
//! the index with it), not deleted for themselves.
//!
//! Each hit comes with a snippet of its text around the words found, as parts
//! flagged `highlighted`, so that a client renders it without parsing markup.

use echostream_service::Error;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Value};
use uuid::Uuid;

use crate::entities::message;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most words one query may hold.
pub const MAX_WORDS: usize = 12;

/// Marks a found word's start and end in a snippet, as the database writes it
/// (control characters: never part of a word).
const START: char = '\u{2}';
const STOP: char = '\u{3}';

/// What a viewer asks for.
pub struct Query<'a> {
    pub words: &'a str,
    pub conversation: Option<Uuid>,
    pub sender: Option<Uuid>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// The last hit of the previous page (hits are ordered by id, newest first).
    pub before: Option<Uuid>,
    pub limit: u64,
}

/// A message found, with its snippet.
pub struct Hit {
    pub message: message::Model,
    pub snippet: Vec<Part>,
}

/// A piece of a snippet: a found word (`highlighted`), or the text around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub highlighted: bool,
}

/// The words of a query: runs of letters and digits, lower-cased; refused when it
/// holds none, or too many.
pub fn words(query: &str) -> Result<Vec<String>, Error> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::bad_input(format!(
            "a search is at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let mut words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.dedup();
    if words.is_empty() {
        return Err(Error::bad_input("a search needs at least one word"));
    }
    if words.len() > MAX_WORDS {
        return Err(Error::bad_input(format!(
            "a search holds at most {MAX_WORDS} words"
        )));
    }
    Ok(words)
}

/// Up to `query.limit` messages `viewer` may read that hold every word of the query.
pub async fn search(
    db: &impl ConnectionTrait,
    viewer: Uuid,
    query: &Query<'_>,
) -> Result<Vec<Hit>, Error> {
    let found_by = statement(db.get_database_backend(), viewer, query)?;
    let rows = db.query_all(found_by).await?;
    let mut found: Vec<(Uuid, String)> = Vec::with_capacity(rows.len());
    for row in rows {
        found.push((row.try_get("", "id")?, row.try_get("", "snippet")?));
    }
    let ids: Vec<Uuid> = found.iter().map(|(id, _)| *id).collect();
    let mut messages = message::Entity::find()
        .filter(message::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(id, snippet)| {
            let at = messages.iter().position(|m| m.id == id)?;
            Some(Hit {
                message: messages.swap_remove(at),
                snippet: parts(&snippet),
            })
        })
        .collect())
}

/// The statement [`search`] runs on `backend` (ids and marked snippets, newest first).
pub fn statement(
    backend: DbBackend,
    viewer: Uuid,
    query: &Query<'_>,
) -> Result<sea_orm::Statement, Error> {
    let words = words(query.words)?;
    let mut values: Vec<Value> = Vec::new();
    let mut sql = match backend {
        DbBackend::Postgres => {
            values
                .push(format!("StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=8").into());
            values.push(viewer.into());
            // Letters and digits only: nothing in them is tsquery syntax.
            values.push(words.join(" & ").into());
            values.push(viewer.into());
            "SELECT m.id, ts_headline('simple', m.body, q, $1) AS snippet FROM messages m \
             JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $2 \
             CROSS JOIN to_tsquery('simple', $3) q \
             WHERE m.search @@ q AND m.seq > mb.history_from_seq AND m.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
             WHERE h.user_id = $4 AND h.message_id = m.id)"
                .to_string()
        }
        _ => {
            values.push(viewer.into());
            // Each word quoted: an FTS5 string, never an operator.
            let phrase: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            values.push(phrase.join(" ").into());
            values.push(viewer.into());
            "SELECT m.id, snippet(messages_fts, 0, char(2), char(3), ' … ', 24) AS snippet \
             FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
             JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $1 \
             WHERE messages_fts MATCH $2 AND m.seq > mb.history_from_seq \
             AND m.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
             WHERE h.user_id = $3 AND h.message_id = m.id)"
                .to_string()
        }
    };
    let mut filter = |clause: &str, value: Value| {
        values.push(value);
        sql.push_str(&format!(" AND {clause} ${}", values.len()));
    };
    if let Some(c) = query.conversation {
        filter("m.conversation_id =", c.into());
    }
    if let Some(s) = query.sender {
        filter("m.sender_id =", s.into());
    }
    if let Some(since) = query.since {
        filter("m.created_at >=", since.into());
    }
    if let Some(until) = query.until {
        filter("m.created_at <", until.into());
    }
    if let Some(before) = query.before {
        filter("m.id <", before.into());
    }
    sql.push_str(&format!(" ORDER BY m.id DESC LIMIT {}", query.limit));
    Ok(echostream_ports::db::statement(backend, &sql, values))
}

/// A snippet as the database marked it, in parts.
fn parts(marked: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut highlighted = false;
    for c in marked.chars() {
        let switch = match c {
            START => !highlighted,
            STOP => highlighted,
            _ => false,
        };
        if switch {
            if !text.is_empty() {
                out.push(Part {
                    text: std::mem::take(&mut text),
                    highlighted,
                });
            }
            highlighted = !highlighted;
        } else if c != START && c != STOP {
            text.push(c);
        }
    }
    if !text.is_empty() {
        out.push(Part { text, highlighted });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_its_words() {
        assert_eq!(
            words("  Lunch, at NOON?! café-bar ").unwrap(),
            ["lunch", "at", "noon", "café", "bar"]
        );
        let thirteen: String = (0..13).map(|i| format!("w{i} ")).collect();
        for refused in ["", "  ", "?!", &thirteen, &"y".repeat(257)] {
            assert!(words(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn a_marked_snippet_splits_into_parts() {
        let marked = format!("see you at {START}noon{STOP} by the {START}bar{STOP}");
        let got: Vec<(String, bool)> = parts(&marked)
            .into_iter()
            .map(|p| (p.text, p.highlighted))
            .collect();
        assert_eq!(
            got,
            [
                ("see you at ".to_string(), false),
                ("noon".to_string(), true),
                (" by the ".to_string(), false),
                ("bar".to_string(), true),
            ]
        );
    }
}
