//! Chat's part of what an app icon shows (`Badge`, owned with the notification
//! subgraph, which adds the notifications and the total).

use async_graphql::{Context, ID, Object, Result};
use echostream_service::resolver::RequestExt;
use uuid::Uuid;

use super::app;
use crate::unread;

/// What an app icon shows, as far as chat goes.
pub struct Badge {
    pub user_id: Uuid,
}

#[Object]
impl Badge {
    async fn user_id(&self) -> ID {
        ID(self.user_id.to_string())
    }

    /// The viewer's conversations with unread messages, leaving out those they
    /// muted (their unread counts still show in the app).
    async fn unread_conversations(&self, ctx: &Context<'_>) -> Result<i64> {
        let viewer = ctx.viewer()?;
        viewer.must_be(self.user_id)?;
        let chat = app(ctx)?;
        Ok(unread::conversations_for_badge(&chat.db, self.user_id, chat.ports.clock.now()).await?)
    }
}

/// Resolves the badge entity for the gateway.
#[derive(Default)]
pub struct BadgeQuery;

#[Object]
impl BadgeQuery {
    /// Resolves a `Badge` reference for the gateway (its fields are the owner's only).
    #[graphql(entity)]
    async fn find_badge_by_user_id(&self, user_id: ID) -> Option<Badge> {
        Uuid::parse_str(&user_id)
            .ok()
            .map(|user_id| Badge { user_id })
    }
}
