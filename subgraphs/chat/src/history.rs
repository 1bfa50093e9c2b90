//! A conversation's history, paged by `seq`: forward (`first`/`after`), backward
//! (`last`/`before`, the newest page by default) or centred on one message
//! (`around`). No offsets: every page is one range scan of the
//! `(conversation_id, seq)` index (two, in one statement, around a message), however
//! long the conversation. A member reads only what comes after their
//! `history_from_seq` (a group may hide its earlier history from new members): every
//! page stops there. What the reader deleted for themselves is left out (an anti-join
//! on `hidden_messages`' primary key, probed per item the scan yields). A thread's
//! replies page the same way (`threads.rs`); the timeline leaves out the replies
//! kept in their thread.

use echostream_service::Error;
use echostream_service::pages::{opaque, unwrap_opaque};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};
use uuid::Uuid;

use crate::entities::{hidden_message, message};

/// Items per page when the client does not say.
pub const DEFAULT_SIZE: i32 = 50;
/// The most items one page may hold.
pub const MAX_SIZE: i32 = 100;

/// Which page of a history a client asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    /// `size` items after `after` (from the start when absent), oldest first.
    Forward { after: i64, size: u64 },
    /// `size` items before `before` (the newest when absent).
    Backward { before: Option<i64>, size: u64 },
    /// `size` items centred on the item at `seq`.
    Around { seq: i64, size: u64 },
}

/// The arguments of a `messages` connection.
#[derive(Default)]
pub struct Arguments<'a> {
    pub first: Option<i32>,
    pub after: Option<&'a str>,
    pub last: Option<i32>,
    pub before: Option<&'a str>,
    pub around: Option<Uuid>,
}

/// A page of items, oldest first, and whether there is more on either side.
pub struct Page {
    pub items: Vec<message::Model>,
    pub has_previous: bool,
    pub has_next: bool,
}

/// The cursor naming the item at `seq` of `conversation`.
pub fn cursor(conversation: Uuid, seq: i64) -> String {
    opaque(&format!("{conversation}:{seq}"))
}

fn decode(conversation: Uuid, cursor: &str, name: &str) -> Result<i64, Error> {
    let bad = || Error::bad_input(format!("{name} is not a cursor from this conversation"));
    let text = unwrap_opaque(cursor).ok_or_else(bad)?;
    let (id, seq) = text.split_once(':').ok_or_else(bad)?;
    if Uuid::parse_str(id).ok() != Some(conversation) {
        return Err(bad());
    }
    seq.parse::<i64>().ok().filter(|s| *s >= 0).ok_or_else(bad)
}

fn size(value: Option<i32>, name: &str) -> Result<u64, Error> {
    let value = value.unwrap_or(DEFAULT_SIZE);
    if !(1..=MAX_SIZE).contains(&value) {
        return Err(Error::bad_input(format!(
            "{name} must be between 1 and {MAX_SIZE}"
        )));
    }
    Ok(value as u64)
}

impl Window {
    /// Reads a connection's arguments: `first`/`after`, or `last`/`before`, or
    /// `around` (with `first` as its size); mixing directions is refused.
    pub async fn new(
        db: &DatabaseConnection,
        conversation: Uuid,
        from: i64,
        args: Arguments<'_>,
    ) -> Result<Window, Error> {
        let forward = args.first.is_some() || args.after.is_some();
        let backward = args.last.is_some() || args.before.is_some();
        if let Some(id) = args.around {
            if backward || args.after.is_some() {
                return Err(Error::bad_input(
                    "around takes only first (the page size) with it",
                ));
            }
            let found = message::Entity::find_by_id(id)
                .one(db)
                .await?
                .filter(|m| m.conversation_id == conversation && m.seq > from)
                .ok_or_else(|| Error::not_found("no such message in this conversation"))?;
            return Ok(Window::Around {
                seq: found.seq,
                size: size(args.first, "first")?,
            });
        }
        if forward && backward {
            return Err(Error::bad_input(
                "page forward (first, after) or backward (last, before), not both",
            ));
        }
        if forward {
            let after = match args.after {
                Some(c) => decode(conversation, c, "after")?,
                None => 0,
            };
            return Ok(Window::Forward {
                after,
                size: size(args.first, "first")?,
            });
        }
        Ok(Window::Backward {
            before: args
                .before
                .map(|c| decode(conversation, c, "before"))
                .transpose()?,
            size: size(args.last, "last")?,
        })
    }
}

/// The page `window` names of `conversation`'s history, as read by `reader`, a
/// member who reads from after `from` on.
pub async fn page(db: &DatabaseConnection, reader: Reader, window: Window) -> Result<Page, Error> {
    let from = reader.from;
    let statement = statement(db.get_database_backend(), reader, &window);
    let mut items = message::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?;
    match window {
        Window::Forward { after, size } => {
            let has_next = items.len() as u64 > size;
            items.truncate(size as usize);
            Ok(Page {
                items,
                has_previous: after.max(from) > from,
                has_next,
            })
        }
        Window::Backward { before, size } => {
            let has_previous = items.len() as u64 > size;
            items.truncate(size as usize);
            items.reverse();
            Ok(Page {
                items,
                has_previous,
                has_next: before.is_some_and(|b| {
                    // Anything at or after `before` exists when it named a real item.
                    b > 0
                }),
            })
        }
        Window::Around { seq, size } => {
            let older = size / 2;
            let (mut before, after): (Vec<_>, Vec<_>) =
                items.into_iter().partition(|m| m.seq < seq);
            // A union keeps no order of its own.
            before.sort_unstable_by_key(|m| std::cmp::Reverse(m.seq));
            let mut after = after;
            after.sort_unstable_by_key(|m| m.seq);
            let has_previous = before.len() as u64 > older;
            before.truncate(older as usize);
            before.reverse();
            let newer = size - before.len() as u64;
            let has_next = after.len() as u64 > newer;
            before.extend(after.into_iter().take(newer as usize));
            Ok(Page {
                items: before,
                has_previous,
                has_next,
            })
        }
    }
}

/// The one statement that reads the page `window` names, one more item than it
/// shows on each side it reads (to tell whether more lies beyond): what [`page`]
/// runs, and what `tests/history_plan.rs` has PostgreSQL explain.
pub fn statement(backend: DbBackend, reader: Reader, window: &Window) -> Statement {
    let history = reader;
    let from = reader.from;
    let query = match *window {
        Window::Forward { after, size } => history
            .range(Bound::After(after.max(from)))
            .limit(size + 1)
            .into_query(),
        Window::Backward { before, size } => history
            .range(Bound::Before(before.unwrap_or(i64::MAX)))
            .limit(size + 1)
            .into_query(),
        // Up to `size / 2 + 1` items before `seq` (nearest first) and up to
        // `size + 1` from `seq` on: both range scans in one round trip.
        Window::Around { seq, size } => {
            let side = |bound, limit, name: &str| {
                Query::select()
                    .column(Asterisk)
                    .from_subquery(
                        history.range(bound).limit(limit).into_query(),
                        Alias::new(name),
                    )
                    .to_owned()
            };
            side(Bound::Before(seq), size / 2 + 1, "older")
                .union(
                    UnionType::All,
                    side(Bound::After(seq - 1), size + 1, "newer"),
                )
                .to_owned()
        }
    };
    backend.build(&query)
}

enum Bound {
    After(i64),
    Before(i64),
}

/// A conversation's history as one member reads it: the items after `from`, less
/// those `user` deleted for themselves; its timeline (replies kept in their thread
/// left out), or one thread's replies.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub conversation: Uuid,
    pub user: Uuid,
    pub from: i64,
    /// The thread read (its root), or `None` for the conversation's timeline.
    pub thread: Option<Uuid>,
}

impl Reader {
    /// The items beyond `bound`, nearest first: one index range scan.
    fn range(&self, bound: Bound) -> Select<message::Entity> {
        let hidden = Query::select()
            .expr(Expr::val(1))
            .from(hidden_message::Entity)
            .and_where(hidden_message::Column::UserId.eq(self.user))
            .and_where(
                Expr::col((hidden_message::Entity, hidden_message::Column::MessageId))
                    .equals((message::Entity, message::Column::Id)),
            )
            .to_owned();
        let query = message::Entity::find()
            .filter(message::Column::ConversationId.eq(self.conversation))
            .filter(message::Column::Seq.gt(self.from))
            .filter(Expr::exists(hidden).not());
        let query = match self.thread {
            Some(root) => query.filter(message::Column::ThreadRootId.eq(root)),
            None => query.filter(message::Column::InTimeline.eq(true)),
        };
        let (query, order) = match bound {
            Bound::After(seq) => (query.filter(message::Column::Seq.gt(seq)), Order::Asc),
            Bound::Before(seq) => (query.filter(message::Column::Seq.lt(seq)), Order::Desc),
        };
        query.order_by(message::Column::Seq, order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_their_conversation() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let c = cursor(a, 42);
        assert_eq!(decode(a, &c, "after").unwrap(), 42);
        let err = decode(b, &c, "after").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().contains("after"));
        assert!(decode(a, "junk", "before").is_err());
        assert!(decode(a, &opaque(&format!("{a}:-3")), "after").is_err());
    }
}
