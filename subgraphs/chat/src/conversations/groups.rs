//! Groups: made with a title and members, changed by their owner and admins as
//! `permissions.rs` allows, left by anyone. Every change is told in the timeline as
//! a system item, committed with the change itself.

use std::collections::HashSet;

use chrono::Utc;
use echostream_contracts::chat::{
    ConversationCreated, ConversationUpdated, MembersChanged, SystemAction,
};
use echostream_ports::db::statement;
use echostream_ports::events::outbox::Change;
use echostream_projections::{blocks, friendships, privacy};
use echostream_service::Error;
use echostream_service::input::text;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Set};
use uuid::Uuid;

use super::permissions::{Action, Role, allows};
use super::{member_ids, members, membership};
use crate::entities::conversation::{self, ConversationKind};
use crate::entities::member;
use crate::timeline::{self, Item};
use crate::{Chat, receipts};

/// Longest group title, in characters.
pub const MAX_TITLE: usize = 100;
/// Longest group description, in characters.
pub const MAX_DESCRIPTION: usize = 1000;

/// A group to make.
pub struct NewGroup {
    pub title: String,
    pub description: Option<String>,
    pub members: Vec<Uuid>,
}

/// Changes to a group's info and settings; `None` leaves a field as it is.
#[derive(Default)]
pub struct GroupChanges {
    pub title: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub only_admins_send: Option<bool>,
    pub new_members_see_history: Option<bool>,
}

/// Makes a group of `creator` (its owner) and `members`, each of whom must let
/// `creator` add them (see [`check_adds`]).
pub async fn create(
    chat: &Chat,
    creator: Uuid,
    group: NewGroup,
) -> Result<conversation::Model, Error> {
    let title = text("title", &group.title, MAX_TITLE, false)?;
    let description = group
        .description
        .map(|d| text("description", &d, MAX_DESCRIPTION, true))
        .transpose()?;
    let mut invited: Vec<Uuid> = Vec::new();
    for user in group.members {
        if user != creator && !invited.contains(&user) {
            invited.push(user);
        }
    }
    let limit = chat.ports.config.chat.max_group_members;
    if invited.len() as u64 + 1 > limit {
        return Err(Error::bad_input(format!(
            "a group holds at most {limit} members (chat.max_group_members)"
        )));
    }
    check_adds(chat, creator, &invited).await?;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let now = Utc::now();
                let saved = conversation::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    kind: Set(ConversationKind::Group),
                    direct_key: Set(None),
                    title: Set(Some(title.clone())),
                    created_by: Set(creator),
                    last_seq: Set(0),
                    created_at: Set(now),
                    description: Set(description),
                    avatar_key: Set(None),
                    only_admins_send: Set(false),
                    new_members_see_history: Set(true),
                    last_activity_at: Set(Some(now)),
                }
                .insert(txn)
                .await?;
                join(txn, saved.id, creator, Role::Owner, 0).await?;
                for user in &invited {
                    join(txn, saved.id, *user, Role::Member, 0).await?;
                }
                let mut everyone = vec![creator];
                everyone.extend(&invited);
                let item = Item::system(creator, SystemAction::Created, invited, Some(title));
                let item = timeline::append(txn, saved.id, item).await?;
                let created = ConversationCreated {
                    conversation_id: saved.id,
                    kind: ConversationKind::Group,
                    member_ids: everyone.clone(),
                };
                let saved = conversation::Entity::find_by_id(saved.id)
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::internal("a new group vanished"))?;
                Ok(Change::new(saved)
                    .emit(&created, Some(creator))
                    .emit(&timeline::sent(&item, everyone), Some(creator)))
            })
        })
        .await
}

/// Changes a group's title, description or settings (owners and admins).
pub async fn update(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    changes: GroupChanges,
) -> Result<conversation::Model, Error> {
    let title = changes
        .title
        .map(|t| text("title", &t, MAX_TITLE, false))
        .transpose()?;
    let description = changes
        .description
        .map(|d| {
            d.map(|d| text("description", &d, MAX_DESCRIPTION, true))
                .transpose()
        })
        .transpose()?;
    let only_admins_send = changes.only_admins_send;
    let new_members_see_history = changes.new_members_see_history;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let (group, me) = locked_group(txn, id, actor).await?;
                let mut items = Vec::new();
                let mut edit: conversation::ActiveModel = group.clone().into();
                if title.is_some() || description.is_some() {
                    require(&me, Action::ChangeInfo)?;
                }
                if let Some(title) = title.filter(|t| Some(t) != group.title.as_ref()) {
                    edit.title = Set(Some(title.clone()));
                    items.push(Item::system(
                        actor,
                        SystemAction::TitleChanged,
                        vec![],
                        Some(title),
                    ));
                }
                if let Some(description) = description.filter(|d| *d != group.description) {
                    edit.description = Set(description.clone());
                    items.push(Item::system(
                        actor,
                        SystemAction::DescriptionChanged,
                        vec![],
                        description,
                    ));
                }
                if let Some(only) = only_admins_send {
                    require(&me, Action::ChangeSettings)?;
                    if only != group.only_admins_send {
                        edit.only_admins_send = Set(only);
                        let told = if only { "admins_only" } else { "everyone" };
                        items.push(Item::system(
                            actor,
                            SystemAction::SettingsChanged,
                            vec![],
                            Some(told.into()),
                        ));
                    }
                }
                if let Some(see) = new_members_see_history {
                    require(&me, Action::ChangeSettings)?;
                    if see != group.new_members_see_history {
                        edit.new_members_see_history = Set(see);
                        let told = if see {
                            "history_visible"
                        } else {
                            "history_hidden"
                        };
                        items.push(Item::system(
                            actor,
                            SystemAction::SettingsChanged,
                            vec![],
                            Some(told.into()),
                        ));
                    }
                }
                if items.is_empty() {
                    return Ok(Change::new(group));
                }
                edit.update(txn).await?;
                let everyone = member_ids(txn, id).await?;
                told(txn, id, actor, items, everyone, None).await
            })
        })
        .await
}

/// Adds `users` to a group (owners and admins), each of whom must let `actor` add
/// them; those already in it are skipped.
pub async fn add_members(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    users: Vec<Uuid>,
) -> Result<conversation::Model, Error> {
    if users.is_empty() {
        return Err(Error::bad_input("userIds cannot be empty"));
    }
    let mut wanted: Vec<Uuid> = Vec::new();
    for user in users {
        if user != actor && !wanted.contains(&user) {
            wanted.push(user);
        }
    }
    // Refuse strangers before anything else, so nothing about the group leaks.
    membership(&chat.db, id, actor).await?;
    check_adds(chat, actor, &wanted).await?;
    let limit = chat.ports.config.chat.max_group_members;
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let (group, me) = locked_group(txn, id, actor).await?;
                require(&me, Action::AddMembers)?;
                let present: HashSet<Uuid> = member_ids(txn, id).await?.into_iter().collect();
                let added: Vec<Uuid> = wanted
                    .into_iter()
                    .filter(|u| !present.contains(u))
                    .collect();
                if added.is_empty() {
                    return Ok(Change::new(group));
                }
                if (present.len() + added.len()) as u64 > limit {
                    return Err(Error::bad_input(format!(
                        "a group holds at most {limit} members (chat.max_group_members)"
                    )));
                }
                // A group hiding its history shows new members what comes from
                // their arrival on (the item telling it included).
                let from = if group.new_members_see_history {
                    0
                } else {
                    group.last_seq
                };
                for user in &added {
                    join(txn, id, *user, Role::Member, from).await?;
                }
                let everyone = member_ids(txn, id).await?;
                let item = Item::system(actor, SystemAction::MembersAdded, added.clone(), None);
                let change = MembersChanged {
                    conversation_id: id,
                    added,
                    removed: vec![],
                    member_ids: everyone.clone(),
                };
                told(txn, id, actor, vec![item], everyone, Some(change)).await
            })
        })
        .await
}

/// Removes `user` from a group, as the permission table allows `actor`.
pub async fn remove_member(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    user: Uuid,
) -> Result<conversation::Model, Error> {
    if user == actor {
        return Err(Error::bad_input("to remove yourself, leave the group"));
    }
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let (_, me) = locked_group(txn, id, actor).await?;
                let target = member::Entity::find_by_id((id, user))
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("this person is not in the group"))?;
                require(
                    &me,
                    Action::Remove {
                        target: target.role,
                    },
                )?;
                member::Entity::delete_by_id((id, user)).exec(txn).await?;
                receipts::forget(txn, id, user).await?;
                let everyone = member_ids(txn, id).await?;
                let item = Item::system(actor, SystemAction::MemberRemoved, vec![user], None);
                let change = MembersChanged {
                    conversation_id: id,
                    added: vec![],
                    removed: vec![user],
                    member_ids: everyone.clone(),
                };
                // The one removed learns it from the item, and is then gone.
                let mut told_to = everyone;
                told_to.push(user);
                told(txn, id, actor, vec![item], told_to, Some(change)).await
            })
        })
        .await
}

/// Makes `user` an admin or a member again, or (with `Role::Owner`) hands the
/// group over to them, the owner becoming an admin. Only the owner may.
pub async fn set_role(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    user: Uuid,
    role: Role,
) -> Result<conversation::Model, Error> {
    if user == actor {
        return Err(Error::bad_input("you cannot change your own role"));
    }
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let (group, me) = locked_group(txn, id, actor).await?;
                let action = if role == Role::Owner {
                    Action::HandOverOwnership
                } else {
                    Action::ChangeRole
                };
                require(&me, action)?;
                let target = member::Entity::find_by_id((id, user))
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("this person is not in the group"))?;
                if target.role == role {
                    return Ok(Change::new(group));
                }
                set(txn, target, role).await?;
                let item = if role == Role::Owner {
                    set(txn, me, Role::Admin).await?;
                    Item::system(actor, SystemAction::OwnershipTransferred, vec![user], None)
                } else {
                    Item::system(
                        actor,
                        SystemAction::RoleChanged,
                        vec![user],
                        Some(sea_orm::ActiveEnum::to_value(&role)),
                    )
                };
                let everyone = member_ids(txn, id).await?;
                told(txn, id, actor, vec![item], everyone, None).await
            })
        })
        .await
}

/// Leaves a group. An owner who leaves hands it to the longest-standing admin, or
/// else the longest-standing member.
pub async fn leave(chat: &Chat, actor: Uuid, id: Uuid) -> Result<conversation::Model, Error> {
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let (_, me) = locked_group(txn, id, actor).await?;
                let was_owner = me.role == Role::Owner;
                member::Entity::delete_by_id((id, actor)).exec(txn).await?;
                receipts::forget(txn, id, actor).await?;
                let rest = members(txn, id).await?;
                let mut items = vec![Item::system(actor, SystemAction::MemberLeft, vec![], None)];
                if was_owner
                    && let Some(heir) = rest
                        .iter()
                        .find(|m| m.role == Role::Admin)
                        .or_else(|| rest.first())
                        .cloned()
                {
                    let heir_id = heir.user_id;
                    set(txn, heir, Role::Owner).await?;
                    items.push(Item::system(
                        actor,
                        SystemAction::OwnershipTransferred,
                        vec![heir_id],
                        None,
                    ));
                }
                let everyone: Vec<Uuid> = rest.iter().map(|m| m.user_id).collect();
                let change = MembersChanged {
                    conversation_id: id,
                    added: vec![],
                    removed: vec![actor],
                    member_ids: everyone.clone(),
                };
                let mut told_to = everyone;
                told_to.push(actor);
                told(txn, id, actor, items, told_to, Some(change)).await
            })
        })
        .await
}

/// Refuses unless each of `users` lets `adder` add them to a group: no block either
/// way, and their `groupAdds` setting admits `adder` (friends, or everyone). One
/// refusal names no one, so a block is not revealed.
pub async fn check_adds(chat: &Chat, adder: Uuid, users: &[Uuid]) -> Result<(), Error> {
    if users.is_empty() {
        return Ok(());
    }
    let blocked = blocks::blocked_among(&chat.db, adder, users).await?;
    let friends = friendships::friends_among(&chat.db, adder, users).await?;
    let settings = privacy::of_many(&chat.db, users).await?;
    let refused = users
        .iter()
        .any(|u| blocked.contains(u) || !settings[u].group_adds.admits(friends.contains(u)));
    if refused {
        return Err(Error::forbidden(
            "some of these people do not let you add them to groups",
        ));
    }
    Ok(())
}

/// Whether a member with `role` may send in `group` (direct conversations: anyone).
pub fn may_send(group: &conversation::Model, role: Role) -> bool {
    match group.kind {
        ConversationKind::Direct => true,
        ConversationKind::Group => allows(
            role,
            Action::Send {
                admins_only: group.only_admins_send,
            },
        ),
    }
}

pub(super) fn require(me: &member::Model, action: Action) -> Result<(), Error> {
    if allows(me.role, action) {
        Ok(())
    } else {
        Err(Error::forbidden(match action {
            Action::Send { .. } => "only admins may send in this group",
            Action::ChangeRole | Action::HandOverOwnership => {
                "only the group's owner may change roles"
            }
            Action::Remove { .. } => "your role does not let you remove this member",
            _ => "only the group's owner and admins may do this",
        }))
    }
}

/// The group and `actor`'s membership, with the group's row locked until commit so
/// concurrent changes (and the member limit) are checked one at a time.
pub(super) async fn locked_group(
    txn: &DatabaseTransaction,
    id: Uuid,
    actor: Uuid,
) -> Result<(conversation::Model, member::Model), Error> {
    let lock = "UPDATE conversations SET last_seq = last_seq WHERE id = $1";
    txn.execute(statement(txn.get_database_backend(), lock, [id.into()]))
        .await?;
    let (group, me) = membership(txn, id, actor).await?;
    must_be_group(&group)?;
    Ok((group, me))
}

/// Refuses a direct conversation where only a group will do.
pub(super) fn must_be_group(conversation: &conversation::Model) -> Result<(), Error> {
    match conversation.kind {
        ConversationKind::Group => Ok(()),
        ConversationKind::Direct => Err(Error::bad_input(
            "this is a direct conversation, not a group",
        )),
    }
}

/// Makes `user` a member from `history_from` on: they read (and have unread) only
/// what comes after it.
async fn join(
    txn: &DatabaseTransaction,
    id: Uuid,
    user: Uuid,
    role: Role,
    history_from: i64,
) -> Result<(), Error> {
    member::ActiveModel {
        conversation_id: Set(id),
        user_id: Set(user),
        role: Set(role),
        last_read_seq: Set(history_from),
        joined_at: Set(Utc::now()),
        delivered_seq: Set(history_from),
        history_from_seq: Set(history_from),
        unread_from_seq: Set(None),
        muted: Set(false),
        muted_until: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

async fn set(txn: &DatabaseTransaction, m: member::Model, role: Role) -> Result<(), Error> {
    let mut edit: member::ActiveModel = m.into();
    edit.role = Set(role);
    edit.update(txn).await?;
    Ok(())
}

/// Appends `items` to the timeline and emits them to `told_to`, with the
/// conversation's own event (`change`, or an update) after them.
pub(super) async fn told(
    txn: &DatabaseTransaction,
    id: Uuid,
    actor: Uuid,
    items: Vec<Item>,
    told_to: Vec<Uuid>,
    change: Option<MembersChanged>,
) -> Result<Change<conversation::Model>, Error> {
    let mut stored = Vec::with_capacity(items.len());
    for item in items {
        stored.push(timeline::append(txn, id, item).await?);
    }
    let group = conversation::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::internal("a group vanished"))?;
    let mut out = Change::new(group);
    for item in &stored {
        out = out.emit(&timeline::sent(item, told_to.clone()), Some(actor));
    }
    out = match change {
        Some(change) => out.emit(&change, Some(actor)),
        None => out.emit(
            &ConversationUpdated {
                conversation_id: id,
                member_ids: told_to,
            },
            Some(actor),
        ),
    };
    Ok(out)
}
