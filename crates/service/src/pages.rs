//! Relay-style pages over lists ordered by (time, id): bounded sizes and opaque
//! cursors that name the last item seen, so a page stays right while items are
//! added (no offsets).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use echostream_ports::Error;

/// Items per page when the client does not say.
pub const DEFAULT_SIZE: i32 = 20;
/// The most items one page may hold.
pub const MAX_SIZE: i32 = 100;

/// What a client asked for: `first` items after the item a cursor names.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub first: u64,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl Page {
    /// Reads `first` (1 to 100, default 20) and `after` (a cursor from the same
    /// list), or refuses with `BAD_USER_INPUT` naming the argument.
    pub fn new(first: Option<i32>, after: Option<&str>) -> Result<Page, Error> {
        let first = first.unwrap_or(DEFAULT_SIZE);
        if !(1..=MAX_SIZE).contains(&first) {
            return Err(Error::bad_input(format!(
                "first must be between 1 and {MAX_SIZE}"
            )));
        }
        let after = after.map(decode).transpose()?;
        Ok(Page {
            first: first as u64,
            after,
        })
    }
}

/// One page of `query`, ordered by (`at`, `id`), after the page's cursor, with one
/// row more than asked when there are more (how [`Page`] users know of a next page).
pub async fn fetch<E>(
    db: &DatabaseConnection,
    query: Select<E>,
    at: E::Column,
    id: E::Column,
    page: &Page,
) -> Result<Vec<E::Model>, Error>
where
    E: EntityTrait,
{
    fetch_ordered(db, query, at, id, page, Order::Asc).await
}

/// Like [`fetch`], newest first: ordered by (`at`, `id`) descending.
pub async fn fetch_newest<E>(
    db: &DatabaseConnection,
    query: Select<E>,
    at: E::Column,
    id: E::Column,
    page: &Page,
) -> Result<Vec<E::Model>, Error>
where
    E: EntityTrait,
{
    fetch_ordered(db, query, at, id, page, Order::Desc).await
}

async fn fetch_ordered<E>(
    db: &DatabaseConnection,
    mut query: Select<E>,
    at: E::Column,
    id: E::Column,
    page: &Page,
    order: Order,
) -> Result<Vec<E::Model>, Error>
where
    E: EntityTrait,
{
    if let Some((time, last)) = page.after {
        let (beyond_at, beyond_id) = match order {
            Order::Asc => (at.gt(time), id.gt(last)),
            _ => (at.lt(time), id.lt(last)),
        };
        query = query.filter(
            Condition::any()
                .add(beyond_at)
                .add(at.eq(time).and(beyond_id)),
        );
    }
    Ok(query
        .order_by(at, order.clone())
        .order_by(id, order)
        .limit(page.first + 1)
        .all(db)
        .await?)
}

/// The cursor of the item made at `at` with id `id`.
pub fn cursor(at: DateTime<Utc>, id: Uuid) -> String {
    let nanos = at.timestamp_nanos_opt().unwrap_or_default();
    opaque(&format!("{nanos}:{id}"))
}

/// `text` made opaque, for a cursor or a stream position.
pub fn opaque(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The text an [`opaque`] string holds, if it is one.
pub fn unwrap_opaque(value: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()
}

fn decode(cursor: &str) -> Result<(DateTime<Utc>, Uuid), Error> {
    let bad = || Error::bad_input("after is not a cursor from this list");
    let text = unwrap_opaque(cursor).ok_or_else(bad)?;
    let (nanos, id) = text.split_once(':').ok_or_else(bad)?;
    let nanos: i64 = nanos.parse().map_err(|_| bad())?;
    Ok((
        DateTime::from_timestamp_nanos(nanos),
        Uuid::parse_str(id).map_err(|_| bad())?,
    ))
}

/// Where a page sits in its list (Relay's `PageInfo`), one definition shared by
/// every subgraph's connections.
#[derive(async_graphql::SimpleObject, Debug, Clone, Default)]
#[graphql(shareable)]
pub struct PageInfo {
    /// When paging backwards, whether there are more items.
    pub has_previous_page: bool,
    /// When paging forwards, whether there are more items.
    pub has_next_page: bool,
    /// The cursor of the first item of the page.
    pub start_cursor: Option<String>,
    /// The cursor of the last item of the page.
    pub end_cursor: Option<String>,
}

/// A connection made from a page's (cursor, item) pairs (see [`connection!`]).
pub trait FromEdges<N> {
    /// The page of `edges`, with whether more lie before and after.
    fn from_edges(edges: Vec<(String, N)>, has_previous: bool, has_next: bool) -> Self;
}

/// Declares a Relay connection `$connection` of `$node`s with its edge type `$edge`
/// (`edges { cursor node }`, `nodes`, `pageInfo`), made with
/// [`FromEdges::from_edges`].
#[macro_export]
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        /// An item of a page and its cursor.
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[async_graphql::Object]
        impl $edge {
            /// A cursor naming this item, to page on from it.
            async fn cursor(&self) -> &str {
                &self.cursor
            }

            /// The item.
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        /// A page of a list.
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::pages::PageInfo,
        }

        impl $crate::pages::FromEdges<$node> for $connection {
            fn from_edges(edges: Vec<(String, $node)>, has_previous: bool, has_next: bool) -> Self {
                let edges: Vec<$edge> = edges
                    .into_iter()
                    .map(|(cursor, node)| $edge { cursor, node })
                    .collect();
                let page_info = $crate::pages::PageInfo {
                    has_previous_page: has_previous,
                    has_next_page: has_next,
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                };
                $connection { edges, page_info }
            }
        }

        #[async_graphql::Object]
        impl $connection {
            /// Where this page sits in the list.
            async fn page_info(&self) -> &$crate::pages::PageInfo {
                &self.page_info
            }

            /// The items with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The items alone.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused_by_name() {
        let (at, id) = (Utc::now(), Uuid::now_v7());
        let page = Page::new(Some(5), Some(&cursor(at, id))).unwrap();
        assert_eq!(
            page,
            Page {
                first: 5,
                after: Some((at, id))
            }
        );
        assert_eq!(Page::new(None, None).unwrap().first, 20);
        for (first, after) in [(Some(0), None), (Some(101), None), (None, Some("junk"))] {
            let err = Page::new(first, after).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT");
            let named = if first.is_some() { "first" } else { "after" };
            assert!(err.to_string().contains(named), "{err}");
        }
    }
}
