//! Mentions: the server reads `@username` and `@all` in a message's text into
//! structured mentions (who, where), carried by the message and its event for the
//! notification subgraph. Only members are mentioned (an `@name` of anyone else stays
//! plain text), and `@all` only in groups. A message's mentions are read again when
//! its text is edited.
//!
//! Chat knows usernames from auth's events (`usernames`, kept by
//! [`apply_auth_event`]): an account's name from its sign-up on, gone with the
//! account. Accounts made before chat kept usernames are not known to it until
//! auth's events are replayed to it.

use echostream_contracts::auth::{UserDeleted, UserRegistered, UserVerified};
use echostream_contracts::chat::{ConversationKind, Mention, Mentions};
use echostream_ports::events::Delivery;
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entities::username;

/// A name as written after `@`: where it starts and ends (bytes), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Written {
    name: String,
    start: usize,
    end: usize,
}

/// The `@names` of `text`: an `@` at the start or after a character that is not part
/// of a name, then 3 to 32 letters, digits, `_` or `.` (a trailing `.` ends the
/// sentence, not the name).
fn written(text: &str) -> Vec<Written> {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut out = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts = c == '@' && !previous.is_some_and(|p| part(p) || p == '@');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[at + 1..];
        let len = rest.find(|c: char| !part(c)).unwrap_or(rest.len());
        let name = rest[..len].trim_end_matches('.');
        if (3..=32).contains(&name.len()) && name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            out.push(Written {
                name: name.to_ascii_lowercase(),
                start: at,
                end: at + 1 + name.len(),
            });
        }
    }
    out
}

/// The mentions of `text` sent where `members` are members (a conversation of
/// `kind`): members named, and `@all` in a group; `None` when there are none.
pub async fn read(
    db: &impl ConnectionTrait,
    members: &[Uuid],
    kind: ConversationKind,
    text: &str,
) -> Result<Option<Mentions>, Error> {
    let found = written(text);
    if found.is_empty() {
        return Ok(None);
    }
    let everyone = match kind {
        ConversationKind::Group => found.iter().any(|w| w.name == "all"),
        ConversationKind::Direct => false,
    };
    let names: Vec<&str> = found.iter().map(|w| w.name.as_str()).collect();
    let known = username::Entity::find()
        .filter(username::Column::Username.is_in(names))
        .all(db)
        .await?;
    let utf16 = |byte: usize| text[..byte].encode_utf16().count() as u32;
    let users: Vec<Mention> = found
        .iter()
        .filter_map(|w| {
            let user = known.iter().find(|k| k.username == w.name)?.user_id;
            members.contains(&user).then(|| Mention {
                user_id: user,
                offset: utf16(w.start),
                length: utf16(w.end) - utf16(w.start),
            })
        })
        .collect();
    if users.is_empty() && !everyone {
        return Ok(None);
    }
    Ok(Some(Mentions { users, everyone }))
}

/// Keeps chat's usernames from auth's events: recorded at sign-up (and again at
/// verification), forgotten with the account.
pub async fn apply_auth_event(db: &impl ConnectionTrait, delivery: &Delivery) -> Result<(), Error> {
    let event = &delivery.event;
    let named = if let Some(e) = event.decode::<UserRegistered>()? {
        Some((e.user_id, e.username))
    } else {
        event
            .decode::<UserVerified>()?
            .map(|e| (e.user_id, e.username))
    };
    if let Some((user, name)) = named {
        username::Entity::insert(username::ActiveModel {
            user_id: Set(user),
            username: Set(name.to_ascii_lowercase()),
        })
        .on_conflict(
            OnConflict::column(username::Column::UserId)
                .update_column(username::Column::Username)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    if let Some(deleted) = event.decode::<UserDeleted>()? {
        username::Entity::delete_by_id(deleted.user_id)
            .exec(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, usize, usize)> {
        written(text)
            .into_iter()
            .map(|w| (w.name, w.start, w.end))
            .collect()
    }

    #[test]
    fn names_are_read_after_an_at_sign() {
        assert_eq!(
            names("hi @Ann and @bob.smith."),
            [("ann".into(), 3, 7), ("bob.smith".into(), 12, 22)]
        );
        assert_eq!(names("@all: lunch"), [("all".into(), 0, 4)]);
        assert!(names("mail ann@example.org, @@ann, @ab, @_x").is_empty());
        // Offsets past emoji count in UTF-16 code units.
        let text = "👍 @ann";
        let at = written(text)[0].start;
        assert_eq!(text[..at].encode_utf16().count(), 3);
    }
}
