//! The chat domain's events (topic `chat`, keyed by conversation) and the frames it
//! pushes to each member's channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Channel, Event};

/// A timeline item was stored with its `seq`: a message, or (with `system`) a
/// membership or info change told among the messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSent {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub seq: i64,
    /// Who sent the message, or who made the change a system item records.
    pub sender_id: Uuid,
    /// The text (empty for a system item).
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Every member at the time of sending, the sender included (and, for a system
    /// item that removes someone, the one removed).
    pub member_ids: Vec<Uuid>,
    /// The message this one answers (quotes), in the same conversation; since v3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Quoted>,
    /// The message this one is a copy of, forwarded from another conversation (or
    /// the same); since v3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<Quoted>,
    /// Who it mentions (`@username` of members, `@all` in groups); since v4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentions: Option<Mentions>,
    /// The files it carries, in order: what each is, never where (members fetch
    /// them through chat, which asks for membership); since v5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentSummary>,
    /// The thread it replies in; since v6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadPlace>,
    /// Present on system items only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemItem>,
}

/// Another message a message points at: which, and who wrote it (whom a reply
/// concerns; whom a forward quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quoted {
    pub message_id: Uuid,
    pub sender_id: Uuid,
}

/// The people a message mentions, as the server read them from its text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mentions {
    /// Each `@username` of a member, where it stands in the text.
    #[serde(default)]
    pub users: Vec<Mention>,
    /// `@all` in a group: every member.
    #[serde(default)]
    pub everyone: bool,
}

/// One `@username` in a message's text: who, and where (in UTF-16 code units, as
/// JavaScript strings count and Telegram's entities do; the `@` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mention {
    pub user_id: Uuid,
    pub offset: u32,
    pub length: u32,
}

/// Where a reply in a thread stands: the thread's root message, and whether it was
/// also sent to the conversation (then it shows in its timeline, too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadPlace {
    pub root_id: Uuid,
    pub also_in_conversation: bool,
    /// Who wrote the root (whom a reply in the thread concerns); since v7, on the
    /// event of a reply as sent (absent where a stored reply is read back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_sender_id: Option<Uuid>,
}

/// A member read a thread up to `read_seq` (on one of their devices): their other
/// devices follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReadUpdated {
    pub conversation_id: Uuid,
    pub root_id: Uuid,
    pub user_id: Uuid,
    pub read_seq: i64,
}

impl Event for ThreadReadUpdated {
    const TYPE: &'static str = "chat.thread.read";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A member muted or unmuted a conversation for themselves: no notification of its
/// messages reaches them (a mention may, by their preference) while `mute` holds;
/// its unread count still shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteChanged {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub mute: Mute,
}

impl Event for MuteChanged {
    const TYPE: &'static str = "chat.member.muted";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// Whether a member muted a conversation, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum Mute {
    /// Not muted.
    Off,
    /// Muted until this time (then not muted, without any event).
    Until { until: DateTime<Utc> },
    /// Muted until unmuted.
    Always,
}

impl Mute {
    /// Whether it holds at `now`.
    pub fn holds(&self, now: DateTime<Utc>) -> bool {
        match self {
            Mute::Off => false,
            Mute::Until { until } => *until > now,
            Mute::Always => true,
        }
    }
}

/// What a file a message carries is: enough for a preview ("📷 Photo").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentSummary {
    pub kind: AttachmentKind,
    /// Its real type, read from its bytes.
    pub content_type: String,
}

/// What kind of file an attachment is, as its bytes say (a voice note: as its
/// sender said of audio); stored, and on the wire, in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(feature = "sea-orm", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "image"))]
    Image,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "video"))]
    Video,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "audio"))]
    Audio,
    /// Audio its sender recorded as a voice note.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "voice"))]
    Voice,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "document"))]
    Document,
}

/// What a system item in the timeline records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemItem {
    pub action: SystemAction,
    /// The people the change is about (added, removed, promoted…).
    #[serde(default)]
    pub user_ids: Vec<Uuid>,
    /// The new title, description or role, where the action has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The message the change is about (pinned, unpinned); since `MessageSent` v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Uuid>,
}

/// What a system item tells: the membership and info changes a timeline records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
#[graphql(name = "SystemItemAction")]
pub enum SystemAction {
    Created,
    MembersAdded,
    MemberRemoved,
    MemberLeft,
    RoleChanged,
    OwnershipTransferred,
    TitleChanged,
    DescriptionChanged,
    AvatarChanged,
    SettingsChanged,
    /// Since `MessageSent` v2.
    MessagePinned,
    /// Since `MessageSent` v2.
    MessageUnpinned,
}

/// A message's text was changed by its sender. Carries the new text (for the
/// notification previews and the search index that follow it); the members' streams
/// get a [`ChatFrame::MessageChanged`] without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEdited {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub seq: i64,
    pub body: String,
    pub edited_at: DateTime<Utc>,
    pub member_ids: Vec<Uuid>,
}

impl Event for MessageEdited {
    const TYPE: &'static str = "chat.message.edited";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A message was deleted for everyone: its text and edit history are gone, and a
/// tombstone keeps its place in the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeleted {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub seq: i64,
    pub deleted_by: Uuid,
    pub deleted_at: DateTime<Utc>,
    pub member_ids: Vec<Uuid>,
}

impl Event for MessageDeleted {
    const TYPE: &'static str = "chat.message.deleted";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A member added (`added`) or removed a reaction to a message. The members' streams
/// get a [`ChatFrame::MessageChanged`] that supersedes the message's earlier one, so a
/// message holds one place in each replay window however many reactions it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageReacted {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub seq: i64,
    /// Who wrote the message (whom a reaction concerns).
    pub author_id: Uuid,
    /// Who reacted.
    pub user_id: Uuid,
    /// One emoji, in its fully qualified form.
    pub emoji: String,
    pub added: bool,
    pub reacted_at: DateTime<Utc>,
    pub member_ids: Vec<Uuid>,
}

impl Event for MessageReacted {
    const TYPE: &'static str = "chat.message.reacted";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A member deleted a message for themselves: it leaves their history and counts
/// only (their other devices follow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageHidden {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub seq: i64,
    pub user_id: Uuid,
}

impl Event for MessageHidden {
    const TYPE: &'static str = "chat.message.hidden";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// Who joined and who left a conversation; `member_ids` are the members after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersChanged {
    pub conversation_id: Uuid,
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
    pub member_ids: Vec<Uuid>,
}

impl Event for MembersChanged {
    const TYPE: &'static str = "chat.conversation.members_changed";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A conversation's info, settings or roles changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationUpdated {
    pub conversation_id: Uuid,
    pub member_ids: Vec<Uuid>,
}

impl Event for ConversationUpdated {
    const TYPE: &'static str = "chat.conversation.updated";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A member's delivered or read position moved forward. Since the status
/// aggregates (`StatusChanged`) tell the other members what matters to them, it is
/// appended to the reader's own stream only (their other devices); `member_ids` is
/// kept for readers of version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptUpdated {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub delivered_seq: i64,
    pub read_seq: i64,
    pub at: DateTime<Utc>,
    pub member_ids: Vec<Uuid>,
}

impl Event for ReceiptUpdated {
    const TYPE: &'static str = "chat.receipt.updated";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// What `user_id`'s own messages in a conversation have reached, as they may see
/// it: every other member has received everything up to `delivered_seq` and read
/// everything up to `read_seq` (absent when some other member's reads do not show to
/// them). Emitted only when it moves past one of their messages, so a message costs
/// its sender at most two of these however large the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChanged {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub delivered_seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_seq: Option<i64>,
}

impl Event for StatusChanged {
    const TYPE: &'static str = "chat.status.changed";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// Version 2 adds pins: the system actions `message_pinned` and `message_unpinned`,
/// and `system.messageId`. Version 3 adds `replyTo` and `forwarded`, version 4
/// `mentions`, version 5 `attachments`, version 6 `thread`, version 7
/// `thread.rootSenderId`. Earlier versions read as version 7.
impl Event for MessageSent {
    const TYPE: &'static str = "chat.message.sent";
    const VERSION: u32 = 7;
    const READS: &'static [u32] = &[1, 2, 3, 4, 5, 6];
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// A conversation was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationCreated {
    pub conversation_id: Uuid,
    pub kind: ConversationKind,
    pub member_ids: Vec<Uuid>,
}

/// A conversation between two people, or a group (stored, and on the wire, as
/// `direct` and `group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(feature = "sea-orm", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "lowercase")]
pub enum ConversationKind {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "direct"))]
    Direct,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "group"))]
    Group,
}

impl Event for ConversationCreated {
    const TYPE: &'static str = "chat.conversation.created";
    const VERSION: u32 = 1;
    fn key(&self) -> String {
        self.conversation_id.to_string()
    }
}

/// What chat keeps in a user's stream and pushes on their channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatFrame {
    /// A message or system item in one of the user's conversations (without its
    /// recipients), with its sender as they were when it was sent out (absent in
    /// frames written before senders were carried). Boxed: the other frames are a
    /// few ids.
    Message {
        message: Box<MessageSent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender: Option<Box<SenderCard>>,
    },
    /// A member's delivered or read position moved; `read_seq` is absent when the
    /// user may not see it (read-receipt privacy).
    Receipt {
        conversation_id: Uuid,
        user_id: Uuid,
        delivered_seq: i64,
        read_seq: Option<i64>,
        at: DateTime<Utc>,
    },
    /// The user's own messages up to `delivered_seq` reached every other member, up
    /// to `read_seq` were read by all (see [`StatusChanged`]).
    Status {
        conversation_id: Uuid,
        delivered_seq: i64,
        read_seq: Option<i64>,
    },
    /// A message changed (edited, deleted for everyone, reacted to): it is read
    /// again when handed out, so the frame carries no text, and a replay ends at the
    /// message's current state. Each supersedes the message's earlier one in the
    /// stream's window (key [`crate::StreamFrame::supersedes`]).
    MessageChanged {
        conversation_id: Uuid,
        message_id: Uuid,
        seq: i64,
    },
    /// The user deleted a message for themselves (on one of their devices).
    MessageHidden {
        conversation_id: Uuid,
        message_id: Uuid,
        seq: i64,
    },
    /// A conversation's info, settings or roles changed: read it again.
    ConversationChanged { conversation_id: Uuid },
    /// People joined a conversation.
    MembersJoined {
        conversation_id: Uuid,
        user_ids: Vec<Uuid>,
    },
    /// People left (or were removed from) a conversation.
    MembersLeft {
        conversation_id: Uuid,
        user_ids: Vec<Uuid>,
    },
    /// Someone started or stopped typing (ephemeral: never kept).
    Typing {
        conversation_id: Uuid,
        user_id: Uuid,
        typing: bool,
    },
    /// The user read a thread up to `read_seq`. Each supersedes the thread's
    /// earlier one: read positions only move on.
    ThreadRead {
        conversation_id: Uuid,
        root_id: Uuid,
        read_seq: i64,
    },
}

/// A message's sender as the members see them, read once when the message is sent
/// out so that no delivery asks anyone: the name shown (display name, else
/// username), the avatar's key in object storage, and the members the sender has
/// blocked (who see no avatar, as profile shows them none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SenderCard {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Uuid>,
}

impl ChatFrame {
    /// The conversation the frame is about.
    pub fn conversation_id(&self) -> Uuid {
        match self {
            ChatFrame::Message { message, .. } => message.conversation_id,
            ChatFrame::Receipt {
                conversation_id, ..
            }
            | ChatFrame::Status {
                conversation_id, ..
            }
            | ChatFrame::MessageChanged {
                conversation_id, ..
            }
            | ChatFrame::MessageHidden {
                conversation_id, ..
            }
            | ChatFrame::ConversationChanged { conversation_id }
            | ChatFrame::MembersJoined {
                conversation_id, ..
            }
            | ChatFrame::MembersLeft {
                conversation_id, ..
            }
            | ChatFrame::Typing {
                conversation_id, ..
            }
            | ChatFrame::ThreadRead {
                conversation_id, ..
            } => *conversation_id,
        }
    }
}

impl crate::StreamFrame for ChatFrame {
    /// Who types where.
    type Lease = (Uuid, Uuid);

    fn supersedes(&self) -> Option<String> {
        match self {
            ChatFrame::MessageChanged { message_id, .. } => Some(format!("message:{message_id}")),
            ChatFrame::ThreadRead { root_id, .. } => Some(format!("thread-read:{root_id}")),
            ChatFrame::Message { .. }
            | ChatFrame::Receipt { .. }
            | ChatFrame::Status { .. }
            | ChatFrame::MessageHidden { .. }
            | ChatFrame::ConversationChanged { .. }
            | ChatFrame::MembersJoined { .. }
            | ChatFrame::MembersLeft { .. }
            | ChatFrame::Typing { .. } => None,
        }
    }

    /// Typing holds until refreshed (`chat.typing_ttl_secs`) or stopped.
    fn lease(&self) -> Option<(Self::Lease, bool)> {
        match self {
            ChatFrame::Typing {
                conversation_id,
                user_id,
                typing,
            } => Some(((*conversation_id, *user_id), *typing)),
            _ => None,
        }
    }

    /// A typist gone quiet stopped typing.
    fn lapsed((conversation_id, user_id): Self::Lease) -> Option<Self> {
        Some(ChatFrame::Typing {
            conversation_id,
            user_id,
            typing: false,
        })
    }
}

/// The channel of everything chat addresses to one user.
pub fn user_channel(user: Uuid) -> Channel<ChatFrame> {
    Channel::named(format!("user:{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::round_trips;

    fn message() -> MessageSent {
        MessageSent {
            message_id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            seq: 7,
            sender_id: Uuid::now_v7(),
            body: "hi".into(),
            created_at: Utc::now(),
            member_ids: vec![Uuid::now_v7()],
            reply_to: None,
            forwarded: None,
            mentions: None,
            attachments: Vec::new(),
            thread: None,
            system: None,
        }
    }

    /// A message sent before pins (version 1) reads as the current version, side by
    /// side.
    #[test]
    fn a_version_1_message_reads_as_the_current_version() {
        let item = MessageSent {
            body: String::new(),
            system: Some(SystemItem {
                action: SystemAction::TitleChanged,
                user_ids: Vec::new(),
                text: Some("climbing".into()),
                message_id: None,
            }),
            ..message()
        };
        let mut envelope = crate::Envelope::of(&item, None);
        envelope.version = 1;
        envelope.payload["system"]
            .as_object_mut()
            .unwrap()
            .remove("messageId");
        assert_eq!(envelope.decode::<MessageSent>().unwrap(), Some(item));
        envelope.version = 0;
        assert!(envelope.decode::<MessageSent>().is_err());
    }

    #[test]
    fn every_chat_event_round_trips() {
        round_trips(message());
        for mute in [
            Mute::Off,
            Mute::Always,
            Mute::Until {
                until: "2030-01-01T00:00:00Z".parse().unwrap(),
            },
        ] {
            round_trips(MuteChanged {
                conversation_id: Uuid::now_v7(),
                user_id: Uuid::now_v7(),
                mute,
            });
        }
        round_trips(MessageSent {
            body: String::new(),
            system: Some(SystemItem {
                action: SystemAction::MembersAdded,
                user_ids: vec![Uuid::now_v7()],
                text: None,
                message_id: None,
            }),
            ..message()
        });
        round_trips(MessageSent {
            reply_to: Some(Quoted {
                message_id: Uuid::now_v7(),
                sender_id: Uuid::now_v7(),
            }),
            forwarded: Some(Quoted {
                message_id: Uuid::now_v7(),
                sender_id: Uuid::now_v7(),
            }),
            mentions: Some(Mentions {
                users: vec![Mention {
                    user_id: Uuid::now_v7(),
                    offset: 3,
                    length: 4,
                }],
                everyone: true,
            }),
            attachments: vec![
                AttachmentSummary {
                    kind: AttachmentKind::Image,
                    content_type: "image/jpeg".into(),
                },
                AttachmentSummary {
                    kind: AttachmentKind::Voice,
                    content_type: "audio/ogg".into(),
                },
            ],
            thread: Some(ThreadPlace {
                root_id: Uuid::now_v7(),
                also_in_conversation: true,
                root_sender_id: Some(Uuid::now_v7()),
            }),
            ..message()
        });
        round_trips(ThreadReadUpdated {
            conversation_id: Uuid::now_v7(),
            root_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            read_seq: 9,
        });
        round_trips(MessageSent {
            body: String::new(),
            system: Some(SystemItem {
                action: SystemAction::MessagePinned,
                user_ids: Vec::new(),
                text: None,
                message_id: Some(Uuid::now_v7()),
            }),
            ..message()
        });
        let (conversation_id, message_id) = (Uuid::now_v7(), Uuid::now_v7());
        round_trips(MessageEdited {
            conversation_id,
            message_id,
            seq: 3,
            body: "fixed".into(),
            edited_at: Utc::now(),
            member_ids: vec![Uuid::now_v7()],
        });
        round_trips(MessageDeleted {
            conversation_id,
            message_id,
            seq: 3,
            deleted_by: Uuid::now_v7(),
            deleted_at: Utc::now(),
            member_ids: vec![Uuid::now_v7()],
        });
        round_trips(MessageReacted {
            conversation_id,
            message_id,
            seq: 3,
            author_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            emoji: "👍".into(),
            added: true,
            reacted_at: Utc::now(),
            member_ids: vec![Uuid::now_v7()],
        });
        round_trips(MessageHidden {
            conversation_id,
            message_id,
            seq: 3,
            user_id: Uuid::now_v7(),
        });
        round_trips(MembersChanged {
            conversation_id: Uuid::now_v7(),
            added: vec![Uuid::now_v7()],
            removed: Vec::new(),
            member_ids: vec![Uuid::now_v7()],
        });
        round_trips(ConversationUpdated {
            conversation_id: Uuid::now_v7(),
            member_ids: vec![Uuid::now_v7()],
        });
        round_trips(ReceiptUpdated {
            conversation_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            delivered_seq: 4,
            read_seq: 3,
            at: Utc::now(),
            member_ids: vec![Uuid::now_v7()],
        });
        round_trips(StatusChanged {
            conversation_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            delivered_seq: 4,
            read_seq: None,
        });
        round_trips(ConversationCreated {
            conversation_id: Uuid::now_v7(),
            kind: ConversationKind::Direct,
            member_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
        });
    }

    #[test]
    fn chat_frames_round_trip_on_their_channel() {
        let channel = user_channel(Uuid::now_v7());
        assert!(channel.name().starts_with("user:"));
        let frame = ChatFrame::Message {
            message: Box::new(message()),
            sender: None,
        };
        let text = channel.encode(&frame);
        assert!(text.contains(r#""type":"message""#), "{text}");
        assert!(!text.contains("sender\""), "{text}");
        assert_eq!(channel.decode(&text), Some(frame));
        let carded = ChatFrame::Message {
            message: Box::new(message()),
            sender: Some(Box::new(SenderCard {
                name: "Ann".into(),
                avatar_key: Some("avatars/ann/1".into()),
                blocked: vec![Uuid::now_v7()],
            })),
        };
        assert_eq!(channel.decode(&channel.encode(&carded)), Some(carded));
        assert_eq!(channel.decode(r#"{"type":"nonsense"}"#), None);
    }
}
