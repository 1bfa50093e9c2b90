//! Relay-style pages over lists ordered by (time, id): bounded sizes and opaque
//! cursors that name the last item seen, so a page stays right while items are
//! added (no offsets).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use uuid::Uuid;

use crate::Error;

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
    mut query: Select<E>,
    at: E::Column,
    id: E::Column,
    page: &Page,
) -> Result<Vec<E::Model>, Error>
where
    E: EntityTrait,
{
    if let Some((time, last)) = page.after {
        query = query.filter(
            Condition::any()
                .add(at.gt(time))
                .add(at.eq(time).and(id.gt(last))),
        );
    }
    Ok(query
        .order_by_asc(at)
        .order_by_asc(id)
        .limit(page.first + 1)
        .all(db)
        .await?)
}

/// The cursor of the item made at `at` with id `id`.
pub fn cursor(at: DateTime<Utc>, id: Uuid) -> String {
    let nanos = at.timestamp_nanos_opt().unwrap_or_default();
    URL_SAFE_NO_PAD.encode(format!("{nanos}:{id}"))
}

fn decode(cursor: &str) -> Result<(DateTime<Utc>, Uuid), Error> {
    let bad = || Error::bad_input("after is not a cursor from this list");
    let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (nanos, id) = text.split_once(':').ok_or_else(bad)?;
    let nanos: i64 = nanos.parse().map_err(|_| bad())?;
    Ok((
        DateTime::from_timestamp_nanos(nanos),
        Uuid::parse_str(id).map_err(|_| bad())?,
    ))
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
