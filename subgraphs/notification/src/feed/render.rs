//! What an item says: a title naming who caused it ("ann", "ann and bob", "ann, bob
//! and 3 others") and a line saying what happened, from its kind, its count and its
//! payload. Written when read, so names and previews are always current.

use echostream_contracts::notification::NotificationKind;

use crate::entities::notification;

/// Someone whose name is not known (yet).
const SOMEONE: &str = "Someone";

/// The title: who caused it, from their names in order of first appearance, and how
/// many they are in all.
pub fn title(names: &[&str], actors: usize) -> String {
    let named: Vec<&str> = names.iter().copied().take(2).collect();
    let others = actors.max(named.len()) - named.len();
    let list = match (named.as_slice(), others) {
        ([], _) => return SOMEONE.to_string(),
        ([one], _) => one.to_string(),
        ([one, two], 0) => return format!("{one} and {two}"),
        (named, _) => named.join(", "),
    };
    match others {
        0 => list,
        1 => format!("{list} and 1 other"),
        n => format!("{list} and {n} others"),
    }
}

/// The line: what happened.
pub fn text(item: &notification::Model) -> String {
    let preview = item.payload.get("preview").and_then(|p| p.as_str());
    let count = item.count.max(1);
    match item.kind {
        NotificationKind::Message => match (count, preview) {
            (1, Some(preview)) => preview.to_string(),
            (1, None) => "sent a message".to_string(),
            (n, _) => format!("{n} new messages"),
        },
        NotificationKind::Mention => match preview {
            Some(preview) => format!("mentioned you: {preview}"),
            None => "mentioned you".to_string(),
        },
        NotificationKind::Reply => match (count, preview) {
            (1, Some(preview)) => format!("replied: {preview}"),
            (1, None) => "replied to your message".to_string(),
            (n, _) => format!("{n} replies to your message"),
        },
        NotificationKind::Reaction => {
            let emoji = item.payload.get("emoji").and_then(|e| e.as_str());
            match (count, emoji) {
                (1, Some(emoji)) => format!("reacted {emoji} to your message"),
                (n, _) => format!("{n} reactions to your message"),
            }
        }
        NotificationKind::FriendRequest => {
            match item.payload.get("answer").and_then(|a| a.as_str()) {
                Some("accepted") => "you are now friends".to_string(),
                Some("declined") => "friend request declined".to_string(),
                _ => "wants to be your friend".to_string(),
            }
        }
        NotificationKind::FriendRequestAccepted => "accepted your friend request".to_string(),
        NotificationKind::AddedToGroup => {
            match item.payload.get("title").and_then(|t| t.as_str()) {
                Some(title) => format!("added you to {title}"),
                None => "added you to a group".to_string(),
            }
        }
        NotificationKind::RemovedFromGroup => "removed you from a group".to_string(),
        NotificationKind::RoleChanged => match item.payload.get("role").and_then(|r| r.as_str()) {
            Some(role) => format!("made you {role}"),
            None => "changed your role".to_string(),
        },
    }
}

/// `rows` written as the feed writes them, with the names of their actors read in
/// one query, for `reader`.
pub struct Written {
    /// Each row's title and text.
    pub lines: Vec<(String, String)>,
    /// The reader's name, when known.
    pub reader: Option<String>,
    /// Whether every actor's name was known (else a title says "Someone").
    pub all_named: bool,
}

/// Writes `rows` for `reader` (see [`Written`]).
pub async fn written(
    db: &impl sea_orm::ConnectionTrait,
    rows: &[notification::Model],
    reader: uuid::Uuid,
) -> Result<Written, echostream_service::Error> {
    let mut ids: Vec<uuid::Uuid> = rows.iter().flat_map(|r| r.actors()).collect();
    ids.push(reader);
    let named = echostream_projections::people::named(db, &ids).await?;
    let name_of = |id: uuid::Uuid| named.iter().find(|p| p.user_id == id).map(|p| p.name());
    let mut all_named = true;
    let lines = rows
        .iter()
        .map(|row| {
            let actors = row.actors();
            let names: Vec<&str> = actors.iter().take(2).filter_map(|a| name_of(*a)).collect();
            all_named &= names.len() == actors.len().min(2);
            (title(&names, actors.len()), text(row))
        })
        .collect();
    Ok(Written {
        lines,
        reader: name_of(reader).map(str::to_string),
        all_named,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_two_and_count_the_rest() {
        assert_eq!(title(&[], 0), "Someone");
        assert_eq!(title(&["ann"], 1), "ann");
        assert_eq!(title(&["ann", "bob"], 2), "ann and bob");
        assert_eq!(title(&["ann", "bob", "cat"], 3), "ann, bob and 1 other");
        assert_eq!(title(&["ann", "bob"], 5), "ann, bob and 3 others");
        assert_eq!(title(&["ann"], 2), "ann and 1 other", "one name not known");
    }
}
