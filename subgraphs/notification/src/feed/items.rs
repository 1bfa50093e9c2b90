//! Which events make which items, for whom: pure functions of an event, so the rules
//! read (and are tested) apart from storage.
//!
//! A member hears of a message once, by its most specific kind: a mention, else a
//! reply to their message or in their thread, else a new message (collapsed per
//! conversation). A reply kept in its thread tells only the thread's author (and
//! whoever it mentions or answers). Group changes tell the member they are about.

use echostream_contracts::chat::{MessageReacted, MessageSent, SystemAction};
use echostream_contracts::notification::NotificationKind;
use echostream_contracts::profile::{FriendRequestSent, FriendshipCreated};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::preferences::rules::{Channels, defaults};

/// The longest preview kept, in characters.
pub const PREVIEW_CHARS: usize = 140;

/// One recipient's share of an event: a new item, or one more event collapsed into
/// their open item of the same `group_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub user: Uuid,
    pub kind: NotificationKind,
    pub group_key: String,
    pub actor: Uuid,
    pub conversation_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub seq: Option<i64>,
    pub payload: Value,
    /// Made once only: never again once an item of its key exists, read or not (a
    /// friend request answered before its notification was stored stays answered).
    pub once: bool,
    /// Where it goes (the kind's defaults until the recipient's preferences and
    /// mute are read: `preferences::reach`).
    pub reach: Channels,
}

impl Item {
    fn new(user: Uuid, kind: NotificationKind, group_key: String, actor: Uuid) -> Item {
        Item {
            user,
            kind,
            group_key,
            actor,
            conversation_id: None,
            message_id: None,
            subject_id: None,
            seq: None,
            payload: json!({}),
            once: false,
            reach: defaults(kind),
        }
    }
}

/// A message's first [`PREVIEW_CHARS`] characters; a file it carries says what it
/// is first ("📷 Photo", "📷 look at this").
pub fn preview(message: &MessageSent) -> String {
    use echostream_contracts::chat::AttachmentKind;
    let mark = message.attachments.first().map(|a| match a.kind {
        AttachmentKind::Image => ("📷", "Photo"),
        AttachmentKind::Video => ("🎥", "Video"),
        AttachmentKind::Audio => ("🎵", "Audio"),
        AttachmentKind::Voice => ("🎤", "Voice message"),
        AttachmentKind::Document => ("📄", "File"),
    });
    let text = match (mark, message.body.is_empty()) {
        (Some((icon, name)), true) => format!("{icon} {name}"),
        (Some((icon, _)), false) => format!("{icon} {}", message.body),
        (None, _) => message.body.clone(),
    };
    text.chars().take(PREVIEW_CHARS).collect()
}

/// What a message makes: one item per other member it concerns.
pub fn of_message(message: &MessageSent) -> Vec<Item> {
    if let Some(system) = &message.system {
        return of_system_item(message, system.action, &system.user_ids, &system.text);
    }
    let in_timeline = message.thread.is_none_or(|t| t.also_in_conversation);
    let thread_author = message.thread.and_then(|t| t.root_sender_id);
    let mentioned = |user: Uuid| {
        message
            .mentions
            .as_ref()
            .is_some_and(|m| m.everyone || m.users.iter().any(|u| u.user_id == user))
    };
    let payload = json!({
        "senderId": message.sender_id,
        "seq": message.seq,
        "preview": preview(message),
    });
    message
        .member_ids
        .iter()
        .copied()
        .filter(|m| *m != message.sender_id)
        .filter_map(|user| {
            let (kind, group_key) = if mentioned(user) {
                (
                    NotificationKind::Mention,
                    format!("mention:{}", message.message_id),
                )
            } else if let Some(quoted) = message.reply_to.filter(|q| q.sender_id == user) {
                (
                    NotificationKind::Reply,
                    format!("reply:{}", quoted.message_id),
                )
            } else if let Some(root) = message.thread.filter(|_| thread_author == Some(user)) {
                (NotificationKind::Reply, format!("reply:{}", root.root_id))
            } else if in_timeline {
                (
                    NotificationKind::Message,
                    format!("conversation:{}", message.conversation_id),
                )
            } else {
                return None;
            };
            let mut item = Item::new(user, kind, group_key, message.sender_id);
            item.conversation_id = Some(message.conversation_id);
            item.message_id = Some(message.message_id);
            item.seq = Some(message.seq);
            item.payload = payload.clone();
            if let Some(thread) = message.thread {
                item.payload["threadRootId"] = json!(thread.root_id);
            }
            Some(item)
        })
        .collect()
}

/// A membership or role change tells the member it is about (not the one who made
/// it); every other system item tells nobody.
fn of_system_item(
    message: &MessageSent,
    action: SystemAction,
    about: &[Uuid],
    text: &Option<String>,
) -> Vec<Item> {
    let kind = match action {
        SystemAction::Created | SystemAction::MembersAdded => NotificationKind::AddedToGroup,
        SystemAction::MemberRemoved => NotificationKind::RemovedFromGroup,
        SystemAction::RoleChanged | SystemAction::OwnershipTransferred => {
            NotificationKind::RoleChanged
        }
        _ => return Vec::new(),
    };
    // A group made with the member in it says its title; a role change, the role.
    let payload = match (action, text) {
        (SystemAction::Created, Some(title)) => json!({ "title": title }),
        (SystemAction::OwnershipTransferred, _) => json!({ "role": "owner" }),
        (SystemAction::RoleChanged, Some(role)) => json!({ "role": role }),
        _ => json!({}),
    };
    about
        .iter()
        .copied()
        .filter(|user| *user != message.sender_id)
        .map(|user| {
            let key = format!("{}:{}", kind_key(kind), message.message_id);
            let mut item = Item::new(user, kind, key, message.sender_id);
            item.conversation_id = Some(message.conversation_id);
            item.seq = Some(message.seq);
            item.payload = payload.clone();
            item
        })
        .collect()
}

fn kind_key(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::AddedToGroup => "added",
        NotificationKind::RemovedFromGroup => "removed",
        _ => "role",
    }
}

/// A reaction added to someone else's message tells its author, collapsed per
/// message; taking it back is a resolution (`resolve.rs`), not an item.
pub fn of_reaction(reacted: &MessageReacted) -> Option<Item> {
    if !reacted.added || reacted.user_id == reacted.author_id {
        return None;
    }
    let key = format!("reaction:{}", reacted.message_id);
    let mut item = Item::new(
        reacted.author_id,
        NotificationKind::Reaction,
        key,
        reacted.user_id,
    );
    item.conversation_id = Some(reacted.conversation_id);
    item.message_id = Some(reacted.message_id);
    item.seq = Some(reacted.seq);
    item.payload = json!({ "emoji": reacted.emoji });
    Some(item)
}

/// A friend request tells the one asked.
pub fn of_friend_request(request: &FriendRequestSent) -> Item {
    let mut item = Item::new(
        request.to_user_id,
        NotificationKind::FriendRequest,
        format!("friend_request:{}", request.request_id),
        request.from_user_id,
    );
    item.subject_id = Some(request.from_user_id);
    item.payload = json!({ "requestId": request.request_id, "fromUserId": request.from_user_id });
    item.once = true;
    item
}

/// An accepted request tells the one who asked; the one who accepted knows.
pub fn of_friendship(friendship: &FriendshipCreated) -> Item {
    let [requester, accepter] = friendship.user_ids;
    let mut item = Item::new(
        requester,
        NotificationKind::FriendRequestAccepted,
        format!("friendship:{}", friendship.request_id),
        accepter,
    );
    item.subject_id = Some(accepter);
    item.payload = json!({ "requestId": friendship.request_id, "byUserId": accepter });
    item.once = true;
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use echostream_contracts::chat::{
        AttachmentKind, AttachmentSummary, Mention, Mentions, Quoted, SystemItem, ThreadPlace,
    };

    fn message(sender: Uuid, members: Vec<Uuid>, body: &str) -> MessageSent {
        MessageSent {
            reply_to: None,
            forwarded: None,
            mentions: None,
            attachments: Vec::new(),
            thread: None,
            message_id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            seq: 7,
            sender_id: sender,
            body: body.into(),
            created_at: Utc::now(),
            member_ids: members,
            system: None,
        }
    }

    fn kinds(items: &[Item]) -> Vec<(Uuid, NotificationKind)> {
        items.iter().map(|i| (i.user, i.kind)).collect()
    }

    #[test]
    fn a_message_tells_every_other_member_collapsed_by_conversation() {
        let [ann, bob, cat] = [(); 3].map(|_| Uuid::now_v7());
        let long = "é".repeat(200);
        let sent = message(ann, vec![ann, bob, cat], &long);
        let got = of_message(&sent);
        assert_eq!(
            kinds(&got),
            [
                (bob, NotificationKind::Message),
                (cat, NotificationKind::Message)
            ],
            "everyone but the sender"
        );
        for item in &got {
            assert_eq!(
                item.group_key,
                format!("conversation:{}", sent.conversation_id)
            );
            assert_eq!(item.seq, Some(7));
            assert_eq!(item.actor, ann);
            let preview = item.payload["preview"].as_str().unwrap();
            assert_eq!(preview.chars().count(), 140, "140 characters, not bytes");
        }
    }

    #[test]
    fn a_member_hears_of_a_message_once_by_its_most_specific_kind() {
        let [ann, bob, cat, dan] = [(); 4].map(|_| Uuid::now_v7());
        let mut sent = message(ann, vec![ann, bob, cat, dan], "@bob see cat's point");
        sent.mentions = Some(Mentions {
            users: vec![Mention {
                user_id: bob,
                offset: 0,
                length: 4,
            }],
            everyone: false,
        });
        sent.reply_to = Some(Quoted {
            message_id: Uuid::now_v7(),
            sender_id: cat,
        });
        let got = of_message(&sent);
        assert_eq!(
            kinds(&got),
            [
                (bob, NotificationKind::Mention),
                (cat, NotificationKind::Reply),
                (dan, NotificationKind::Message),
            ]
        );
        assert_eq!(
            got[1].group_key,
            format!("reply:{}", sent.reply_to.unwrap().message_id)
        );
    }

    #[test]
    fn a_reply_kept_in_its_thread_tells_only_the_thread_author() {
        let [ann, bob, cat] = [(); 3].map(|_| Uuid::now_v7());
        let root = Uuid::now_v7();
        let mut sent = message(ann, vec![ann, bob, cat], "agreed");
        sent.thread = Some(ThreadPlace {
            root_id: root,
            also_in_conversation: false,
            root_sender_id: Some(bob),
        });
        let got = of_message(&sent);
        assert_eq!(kinds(&got), [(bob, NotificationKind::Reply)]);
        assert_eq!(got[0].group_key, format!("reply:{root}"));
        assert_eq!(got[0].payload["threadRootId"], root.to_string());
        sent.thread = Some(ThreadPlace {
            also_in_conversation: true,
            ..sent.thread.unwrap()
        });
        assert_eq!(
            kinds(&of_message(&sent)),
            [
                (bob, NotificationKind::Reply),
                (cat, NotificationKind::Message)
            ],
            "also sent to the conversation: everyone hears"
        );
    }

    #[test]
    fn a_file_says_what_it_is_in_the_preview() {
        let voice = AttachmentSummary {
            kind: AttachmentKind::Voice,
            content_type: "audio/ogg".into(),
        };
        let mut sent = message(Uuid::now_v7(), Vec::new(), "");
        sent.attachments = vec![voice];
        assert_eq!(preview(&sent), "🎤 Voice message");
        sent.body = "listen".into();
        assert_eq!(preview(&sent), "🎤 listen");
        sent.attachments.clear();
        assert_eq!(preview(&sent), "listen");
    }

    #[test]
    fn group_changes_tell_the_member_they_are_about() {
        let [ann, bob, cat] = [(); 3].map(|_| Uuid::now_v7());
        let mut item = message(ann, vec![ann, bob, cat], "");
        item.system = Some(SystemItem {
            action: SystemAction::MembersAdded,
            user_ids: vec![bob],
            text: None,
            message_id: None,
        });
        assert_eq!(
            kinds(&of_message(&item)),
            [(bob, NotificationKind::AddedToGroup)]
        );
        item.system = Some(SystemItem {
            action: SystemAction::RoleChanged,
            user_ids: vec![cat],
            text: Some("admin".into()),
            message_id: None,
        });
        let got = of_message(&item);
        assert_eq!(kinds(&got), [(cat, NotificationKind::RoleChanged)]);
        assert_eq!(got[0].payload["role"], "admin");
        item.system = Some(SystemItem {
            action: SystemAction::TitleChanged,
            user_ids: vec![],
            text: Some("team".into()),
            message_id: None,
        });
        assert!(of_message(&item).is_empty(), "a new title tells nobody");
    }

    #[test]
    fn reactions_tell_the_author_unless_they_reacted_themselves() {
        let [ann, bob] = [(); 2].map(|_| Uuid::now_v7());
        let mut reacted = MessageReacted {
            conversation_id: Uuid::now_v7(),
            message_id: Uuid::now_v7(),
            seq: 3,
            author_id: ann,
            user_id: bob,
            emoji: "👍".into(),
            added: true,
            reacted_at: Utc::now(),
            member_ids: vec![ann, bob],
        };
        let item = of_reaction(&reacted).unwrap();
        assert_eq!(
            (item.user, item.kind, item.actor),
            (ann, NotificationKind::Reaction, bob)
        );
        reacted.user_id = ann;
        assert!(of_reaction(&reacted).is_none());
        reacted.user_id = bob;
        reacted.added = false;
        assert!(of_reaction(&reacted).is_none());
    }

    #[test]
    fn friend_requests_tell_the_one_asked_and_acceptance_the_one_who_asked() {
        let [ann, bob, request] = [(); 3].map(|_| Uuid::now_v7());
        let sent = FriendRequestSent {
            request_id: request,
            from_user_id: ann,
            to_user_id: bob,
        };
        let item = of_friend_request(&sent);
        assert_eq!(
            (item.user, item.kind),
            (bob, NotificationKind::FriendRequest)
        );
        assert_eq!(item.subject_id, Some(ann));
        let accepted = FriendshipCreated {
            request_id: request,
            user_ids: [ann, bob],
        };
        let item = of_friendship(&accepted);
        assert_eq!(
            (item.user, item.kind, item.actor),
            (ann, NotificationKind::FriendRequestAccepted, bob)
        );
    }
}
