//! Group mutations: thin translations to `conversations::groups`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use echostream_service::resolver::{RequestExt, parse_id};
use uuid::Uuid;

use super::app;
use super::types::Conversation;
use crate::conversations::groups::{self, GroupChanges, NewGroup};
use crate::conversations::permissions::Role;

/// A group to make.
#[derive(InputObject)]
pub struct CreateGroupInput {
    /// 1 to 100 characters.
    title: String,
    /// Up to 1000 characters.
    description: Option<String>,
    /// Who else is in it; each must let the creator add them (`groupAdds`).
    member_ids: Vec<ID>,
}

/// Changes to a group: a field left out stays as it is; `description: null` clears it.
#[derive(InputObject)]
pub struct UpdateGroupInput {
    conversation_id: ID,
    title: Option<String>,
    description: MaybeUndefined<String>,
    /// Only owners and admins may send.
    only_admins_send: Option<bool>,
    /// Whether people added from now on read the history from before they joined.
    new_members_see_history: Option<bool>,
}

fn ids(list: &[ID], name: &str) -> Result<Vec<Uuid>> {
    if list.len() > 1000 {
        return Err(
            echostream_service::Error::bad_input(format!("{name} holds at most 1000 ids")).into(),
        );
    }
    Ok(list
        .iter()
        .map(|id| parse_id(id, name))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Making and changing groups.
#[derive(Default)]
pub struct GroupMutation;

#[Object]
impl GroupMutation {
    /// Makes a group; the viewer is its owner, and a system item opens its timeline.
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        input: CreateGroupInput,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let group = NewGroup {
            title: input.title,
            description: input.description,
            members: ids(&input.member_ids, "memberIds")?,
        };
        Ok(Conversation(groups::create(app(ctx)?, me, group).await?))
    }

    /// Changes a group's title, description or sending setting (owners and admins).
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        input: UpdateGroupInput,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&input.conversation_id, "conversationId")?;
        let changes = GroupChanges {
            title: input.title,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            only_admins_send: input.only_admins_send,
            new_members_see_history: input.new_members_see_history,
        };
        Ok(Conversation(
            groups::update(app(ctx)?, me, id, changes).await?,
        ))
    }

    /// Adds people to a group (owners and admins); each must let the viewer add them.
    async fn add_group_members(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        user_ids: Vec<ID>,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        let users = ids(&user_ids, "userIds")?;
        Ok(Conversation(
            groups::add_members(app(ctx)?, me, id, users).await?,
        ))
    }

    /// Removes someone from a group, as the permission table allows.
    async fn remove_group_member(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        user_id: ID,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        let user = parse_id(&user_id, "userId")?;
        Ok(Conversation(
            groups::remove_member(app(ctx)?, me, id, user).await?,
        ))
    }

    /// Makes a member an admin or a member again, or (OWNER) hands the group over;
    /// the owner only.
    async fn set_member_role(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        user_id: ID,
        role: Role,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        let user = parse_id(&user_id, "userId")?;
        Ok(Conversation(
            groups::set_role(app(ctx)?, me, id, user, role).await?,
        ))
    }

    /// Leaves a group; an owner hands it to the longest-standing admin, else member.
    /// Returns the group's id.
    async fn leave_group(&self, ctx: &Context<'_>, conversation_id: ID) -> Result<ID> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        groups::leave(app(ctx)?, me, id).await?;
        Ok(conversation_id)
    }
}
