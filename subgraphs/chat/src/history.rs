//! A conversation's history, paged by `seq`: forward (`first`/`after`), backward
//! (`last`/`before`, the newest page by default) or centred on one message
//! (`around`). No offsets: every page is one range scan of the
//! `(conversation_id, seq)` index (two, in one statement, around a message), however
//! long the conversation. A member reads only what comes after their
//! `history_from_seq` (a group may hide its earlier history from new members): every
//! page stops there.

use echostream_shared::Error;
use echostream_shared::pages::{opaque, unwrap_opaque};
use sea_orm::sea_query::{Alias, Asterisk, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::entities::message;

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

/// The page `window` names of `conversation`'s history, as read by a member who
/// reads from after `from` on.
pub async fn page(
    db: &DatabaseConnection,
    conversation: Uuid,
    from: i64,
    window: Window,
) -> Result<Page, Error> {
    let history = History { conversation, from };
    match window {
        Window::Forward { after, size } => {
            let after = after.max(from);
            let items = history.scan(db, Bound::After(after), size + 1).await?;
            let has_next = items.len() as u64 > size;
            Ok(Page {
                items: items.into_iter().take(size as usize).collect(),
                has_previous: after > from,
                has_next,
            })
        }
        Window::Backward { before, size } => {
            let bound = Bound::Before(before.unwrap_or(i64::MAX));
            let mut items = history.scan(db, bound, size + 1).await?;
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
            let (mut items, after) = history.scan_around(db, seq, older + 1, size + 1).await?;
            let has_previous = items.len() as u64 > older;
            items.truncate(older as usize);
            items.reverse();
            let newer = size - items.len() as u64;
            let has_next = after.len() as u64 > newer;
            items.extend(after.into_iter().take(newer as usize));
            Ok(Page {
                items,
                has_previous,
                has_next,
            })
        }
    }
}

enum Bound {
    After(i64),
    Before(i64),
}

/// A conversation's history as one member reads it: the items after `from`.
struct History {
    conversation: Uuid,
    from: i64,
}

impl History {
    /// The items beyond `bound`, nearest first.
    fn range(&self, bound: Bound) -> Select<message::Entity> {
        let query = message::Entity::find()
            .filter(message::Column::ConversationId.eq(self.conversation))
            .filter(message::Column::Seq.gt(self.from));
        let (query, order) = match bound {
            Bound::After(seq) => (query.filter(message::Column::Seq.gt(seq)), Order::Asc),
            Bound::Before(seq) => (query.filter(message::Column::Seq.lt(seq)), Order::Desc),
        };
        query.order_by(message::Column::Seq, order)
    }

    /// Up to `limit` items beyond `bound`, nearest first: one index range scan.
    async fn scan(
        &self,
        db: &DatabaseConnection,
        bound: Bound,
        limit: u64,
    ) -> Result<Vec<message::Model>, Error> {
        Ok(self.range(bound).limit(limit).all(db).await?)
    }

    /// Up to `older` items before `seq` (nearest first) and up to `newer` from `seq`
    /// on (oldest first): both range scans in one round trip.
    async fn scan_around(
        &self,
        db: &DatabaseConnection,
        seq: i64,
        older: u64,
        newer: u64,
    ) -> Result<(Vec<message::Model>, Vec<message::Model>), Error> {
        let side = |bound, limit, name: &str| {
            Query::select()
                .column(Asterisk)
                .from_subquery(
                    self.range(bound).limit(limit).into_query(),
                    Alias::new(name),
                )
                .to_owned()
        };
        let both = side(Bound::Before(seq), older, "older")
            .union(UnionType::All, side(Bound::After(seq - 1), newer, "newer"))
            .to_owned();
        let rows = message::Entity::find()
            .from_raw_sql(db.get_database_backend().build(&both))
            .all(db)
            .await?;
        let (mut before, mut after): (Vec<_>, Vec<_>) = rows.into_iter().partition(|m| m.seq < seq);
        // A union keeps no order of its own.
        before.sort_unstable_by_key(|m| std::cmp::Reverse(m.seq));
        after.sort_unstable_by_key(|m| m.seq);
        Ok((before, after))
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
