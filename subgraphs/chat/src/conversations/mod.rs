//! Conversations and who is in them: direct ones (`direct.rs`), groups (`groups.rs`,
//! their avatar in `avatar.rs`) with the roles of `permissions.rs`, and the viewer's
//! list.

pub mod avatar;
pub mod direct;
pub mod groups;
pub mod permissions;

pub use direct::{may_message, start_direct};

use chrono::{DateTime, Utc};
use echostream_service::Error;
use echostream_service::pages::{self, Page};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::entities::conversation::{self, ConversationKind};
use crate::entities::member;

/// The conversation and `user`'s membership of it; `NOT_FOUND` for a non-member,
/// whether or not the conversation exists.
pub async fn membership(
    db: &impl ConnectionTrait,
    id: Uuid,
    user: Uuid,
) -> Result<(conversation::Model, member::Model), Error> {
    let missing = || Error::not_found("no such conversation");
    let member = member::Entity::find_by_id((id, user))
        .one(db)
        .await?
        .ok_or_else(missing)?;
    let conversation = conversation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(missing)?;
    Ok((conversation, member))
}

/// The conversation, if `user` is a member of it.
pub async fn for_member(
    db: &impl ConnectionTrait,
    id: Uuid,
    user: Uuid,
) -> Result<conversation::Model, Error> {
    Ok(membership(db, id, user).await?.0)
}

/// Members of a conversation, longest-standing first.
pub async fn members(db: &impl ConnectionTrait, id: Uuid) -> Result<Vec<member::Model>, Error> {
    Ok(member::Entity::find()
        .filter(member::Column::ConversationId.eq(id))
        .order_by_asc(member::Column::JoinedAt)
        .order_by_asc(member::Column::UserId)
        .all(db)
        .await?)
}

/// The ids of a conversation's members.
pub async fn member_ids(db: &impl ConnectionTrait, id: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(members(db, id)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// Conversations `user` belongs to, newest first (for the data export).
pub async fn of_user(
    db: &DatabaseConnection,
    user: Uuid,
) -> Result<Vec<conversation::Model>, Error> {
    Ok(conversation::Entity::find()
        .filter(conversation::Column::Id.in_subquery(memberships_of(user)))
        .order_by_desc(conversation::Column::CreatedAt)
        .all(db)
        .await?)
}

fn memberships_of(user: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(member::Column::ConversationId)
        .from(member::Entity)
        .and_where(member::Column::UserId.eq(user))
        .to_owned()
}

/// Which conversations a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ConversationFilter")]
pub enum Filter {
    All,
    Direct,
    Groups,
}

/// When a conversation last had a new item (its place in the list).
pub fn last_activity(c: &conversation::Model) -> DateTime<Utc> {
    c.last_activity_at.unwrap_or(c.created_at)
}

/// One page of `user`'s conversations, most recently active first (one row more
/// than asked when there are more).
pub async fn list(
    db: &DatabaseConnection,
    user: Uuid,
    filter: Filter,
    page: &Page,
) -> Result<Vec<conversation::Model>, Error> {
    let mut query = conversation::Entity::find()
        .filter(conversation::Column::Id.in_subquery(memberships_of(user)));
    match filter {
        Filter::All => {}
        Filter::Direct => {
            query = query.filter(conversation::Column::Kind.eq(ConversationKind::Direct))
        }
        Filter::Groups => {
            query = query.filter(conversation::Column::Kind.eq(ConversationKind::Group))
        }
    }
    pages::fetch_newest(
        db,
        query,
        conversation::Column::LastActivityAt,
        conversation::Column::Id,
        page,
    )
    .await
}
