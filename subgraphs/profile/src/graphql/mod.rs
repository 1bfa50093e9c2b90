//! The profile subgraph's GraphQL edge.

mod media;
mod privacy;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, Enum, ID, InputObject, MaybeUndefined, MergedObject, Object,
    Result, Schema,
};
use chrono::{DateTime, NaiveDate, Utc};
use echostream_service::Error;
use echostream_service::pages::{self, Page, cursor};
use echostream_service::resolver::{RequestExt, parse_id};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::details::{self, Changes, Edit};
use crate::entities::{friend_request, profile};
use crate::friends::Standing;
use crate::{Profile, blocks, friends, profiles};

/// The profile subgraph's schema type.
pub type ProfileSchema = Schema<Query, Mutation, EmptySubscription>;

/// Every read of the subgraph.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(PeopleQuery, privacy::PrivacyQuery);

/// Every write of the subgraph.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    PeopleMutation,
    privacy::PrivacyMutation,
    media::MediaMutation,
);

/// Builds the schema with its context and loaders.
pub fn schema(app: Option<Arc<Profile>>) -> ProfileSchema {
    let mut builder =
        Schema::build(Query::default(), Mutation::default(), EmptySubscription).enable_federation();
    if let Some(app) = app {
        let profiles = DataLoader::new(ProfileLoader(app.db.clone()), tokio::spawn);
        let standings = DataLoader::new(StandingLoader(app.db.clone()), tokio::spawn);
        builder = builder
            .extension(echostream_service::metrics::Observe::new(
                echostream_config::Subgraph::Profile,
            ))
            .extension(app.ports.request_checks())
            .data(app)
            .data(profiles)
            .data(standings);
    }
    builder.finish()
}

fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Profile>, Error> {
    ctx.state()
}

/// Loads profiles by user id, one query per batch.
pub struct ProfileLoader(DatabaseConnection);

impl Loader<Uuid> for ProfileLoader {
    type Value = profile::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = profiles::by_ids(&self.0, keys).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|p| (p.user_id, p)).collect())
    }
}

/// Where viewers stand with users, for every `friendship` of a response in two
/// queries however many users it shows.
pub struct StandingLoader(DatabaseConnection);

impl Loader<(Uuid, Uuid)> for StandingLoader {
    type Value = Standing;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        friends::standings(&self.0, keys).await.map_err(Arc::new)
    }
}

/// A user, as far as profiles go.
pub struct User {
    id: Uuid,
}

impl User {
    async fn profile(&self, ctx: &Context<'_>) -> Result<Option<profile::Model>> {
        let loader = ctx.loader::<ProfileLoader>()?;
        Ok(loader.load_one(self.id).await?)
    }

    /// Where the viewer (if any) stands with this user, batched.
    async fn standing(&self, ctx: &Context<'_>) -> Result<Option<Standing>> {
        let Some(viewer) = ctx.viewer_opt() else {
            return Ok(None);
        };
        let loader = ctx.loader_of::<StandingLoader, (Uuid, Uuid)>()?;
        Ok(loader.load_one((viewer.user_id, self.id)).await?)
    }

    /// The profile's details for this viewer: none for someone the user has blocked.
    async fn details(&self, ctx: &Context<'_>) -> Result<Option<profile::Model>> {
        if self.standing(ctx).await? == Some(Standing::BlockedBy) {
            return Ok(None);
        }
        self.profile(ctx).await
    }
}

/// Where the viewer stands with a user.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum FriendshipStatus {
    /// The user is the viewer.
    Myself,
    Friends,
    /// The viewer sent a request that is pending.
    RequestSent,
    /// The user sent the viewer a request that is pending.
    RequestReceived,
    /// The viewer has blocked the user.
    Blocked,
    None,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The name shown in chats; defaults to the username.
    async fn display_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.profile(ctx).await?.map(|p| p.display_name))
    }

    /// Null for someone the user has blocked (as location, website and birthdate).
    async fn bio(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.details(ctx).await?.and_then(|p| p.bio))
    }

    async fn location(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.details(ctx).await?.and_then(|p| p.location))
    }

    /// An http(s) URL.
    async fn website(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.details(ctx).await?.and_then(|p| p.website))
    }

    /// The avatar, if any; null for someone the user has blocked.
    async fn avatar(&self, ctx: &Context<'_>) -> Result<Option<media::ProfileImage>> {
        let prefix = self.details(ctx).await?.and_then(|p| p.avatar_key);
        media::image(ctx, prefix).await
    }

    /// The cover image, if any; null for someone the user has blocked.
    async fn cover(&self, ctx: &Context<'_>) -> Result<Option<media::ProfileImage>> {
        let prefix = self.details(ctx).await?.and_then(|p| p.cover_key);
        media::image(ctx, prefix).await
    }

    /// Shown to the user and their friends only; null for anyone else.
    async fn birthdate(&self, ctx: &Context<'_>) -> Result<Option<NaiveDate>> {
        let standing = self.standing(ctx).await?;
        if !matches!(standing, Some(Standing::Myself | Standing::Friends)) {
            return Ok(None);
        }
        Ok(self.profile(ctx).await?.and_then(|p| p.birthdate))
    }

    /// Everything the profile subgraph holds about this user (profile, friends,
    /// friend requests), as JSON; only for its owner.
    async fn profile_export(
        &self,
        ctx: &Context<'_>,
    ) -> Result<async_graphql::Json<serde_json::Value>> {
        let viewer = ctx.viewer()?;
        viewer.must_be(self.id)?;
        let me = viewer.user_id;
        let db = &app(ctx)?.db;
        let profile = self.profile(ctx).await?;
        let friends = friends::friends_of(db, me).await?;
        let mut requests = friends::pending(db, me, true).await?;
        requests.extend(friends::pending(db, me, false).await?);
        Ok(async_graphql::Json(serde_json::json!({
            "profile": profile.map(|p| serde_json::json!({
                "username": p.username, "displayName": p.display_name, "bio": p.bio,
                "location": p.location, "website": p.website, "birthdate": p.birthdate,
                "createdAt": p.created_at, "updatedAt": p.updated_at,
            })),
            "friends": friends,
            "pendingFriendRequests": requests.iter().map(|r| serde_json::json!({
                "id": r.id, "from": r.from_user, "to": r.to_user, "createdAt": r.created_at,
            })).collect::<Vec<_>>(),
        })))
    }

    /// Where the signed-in viewer stands with this user.
    async fn friendship(&self, ctx: &Context<'_>) -> Result<FriendshipStatus> {
        let me = ctx.viewer()?.user_id;
        let loader = ctx.loader_of::<StandingLoader, (Uuid, Uuid)>()?;
        let standing = loader.load_one((me, self.id)).await?;
        Ok(match standing.unwrap_or(Standing::None) {
            Standing::Myself => FriendshipStatus::Myself,
            Standing::Blocked => FriendshipStatus::Blocked,
            // Being blocked is not shown: to them, you are a stranger.
            Standing::BlockedBy => FriendshipStatus::None,
            Standing::Friends => FriendshipStatus::Friends,
            Standing::RequestSent => FriendshipStatus::RequestSent,
            Standing::RequestReceived => FriendshipStatus::RequestReceived,
            Standing::None => FriendshipStatus::None,
        })
    }
}

/// The state of a friend request.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::entities::friend_request::Status")]
pub enum FriendRequestStatus {
    Pending,
    Accepted,
    Declined,
    Cancelled,
}

/// A request to become friends.
pub struct FriendRequest(friend_request::Model);

#[Object]
impl FriendRequest {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn from(&self) -> User {
        User {
            id: self.0.from_user,
        }
    }

    async fn to(&self) -> User {
        User { id: self.0.to_user }
    }

    async fn status(&self) -> FriendRequestStatus {
        self.0.status.into()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Reads about people.
#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// Users whose username or display name starts with `query`; or, when `query` is
    /// an email address, the user with exactly that address (never a part of one).
    /// People who blocked the viewer are not found. Oldest accounts first: `first`
    /// (1 to 100, default 20) after the cursor `after`.
    async fn search_users(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<UserConnection> {
        let me = ctx.viewer()?.user_id;
        let page = Page::new(first, after.as_deref())?;
        let db = &app(ctx)?.db;
        let hidden = blocks::blocking(db, me).await?;
        let found = profiles::search(&query, &hidden)?;
        let (at, id) = (profile::Column::CreatedAt, profile::Column::UserId);
        let rows = pages::fetch(db, found, at, id, &page).await?;
        Ok(connection(&page, rows, |p| {
            (cursor(p.created_at, p.user_id), User { id: p.user_id })
        }))
    }

    /// The users the viewer has blocked.
    async fn blocked_users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let me = ctx.viewer()?.user_id;
        let ids = blocks::blocked_by(&app(ctx)?.db, me).await?;
        Ok(ids.into_iter().map(|id| User { id }).collect())
    }

    /// The viewer's friends, oldest friendship first: `first` (1 to 100, default 20)
    /// after the cursor `after`.
    async fn friends(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<UserConnection> {
        let me = ctx.viewer()?.user_id;
        let page = Page::new(first, after.as_deref())?;
        let rows = friends::friends_page(&app(ctx)?.db, me, &page).await?;
        Ok(connection(&page, rows, |f| {
            (cursor(f.created_at, f.friend_id), User { id: f.friend_id })
        }))
    }

    /// Pending requests to the viewer (`incoming`, default) or from the viewer,
    /// oldest first: `first` (1 to 100, default 20) after the cursor `after`.
    async fn friend_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = true)] incoming: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FriendRequestConnection> {
        let me = ctx.viewer()?.user_id;
        let page = Page::new(first, after.as_deref())?;
        let rows = friends::pending_page(&app(ctx)?.db, me, incoming, &page).await?;
        Ok(connection(&page, rows, |r| {
            (cursor(r.created_at, r.id), FriendRequest(r))
        }))
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(&id).ok().map(|id| User { id })
    }
}

use echostream_service::pages::FromEdges;

echostream_service::connection!(UserConnection, UserEdge, User);
echostream_service::connection!(FriendRequestConnection, FriendRequestEdge, FriendRequest);

/// A page of `rows` (fetched with one extra when there are more) as a Relay
/// connection, each row made into a (cursor, node) by `edge`.
fn connection<R, N, C: FromEdges<N>>(
    page: &Page,
    mut rows: Vec<R>,
    edge: impl Fn(R) -> (String, N),
) -> C {
    let more = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    C::from_edges(
        rows.into_iter().map(edge).collect(),
        page.after.is_some(),
        more,
    )
}

/// Changes to the viewer's profile: a field left out stays as it is; `null` clears an
/// optional one.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// 1 to 64 characters.
    display_name: Option<String>,
    /// Up to 500 characters; new lines allowed.
    bio: MaybeUndefined<String>,
    /// Up to 100 characters.
    location: MaybeUndefined<String>,
    /// An http or https URL, up to 200 characters.
    website: MaybeUndefined<String>,
    /// Not in the future.
    birthdate: MaybeUndefined<NaiveDate>,
}

fn edit<T>(value: MaybeUndefined<T>) -> Edit<T> {
    match value {
        MaybeUndefined::Undefined => Edit::Keep,
        MaybeUndefined::Null => Edit::Clear,
        MaybeUndefined::Value(v) => Edit::Set(v),
    }
}

/// Writes about people.
#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    /// Changes the viewer's profile; returns the viewer.
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<User> {
        let me = ctx.viewer()?.user_id;
        let changes = Changes {
            display_name: input.display_name,
            bio: edit(input.bio),
            location: edit(input.location),
            website: edit(input.website),
            birthdate: edit(input.birthdate),
        };
        details::update(app(ctx)?, me, changes).await?;
        Ok(User { id: me })
    }

    /// Takes back a friend request the viewer sent and that is still pending.
    async fn cancel_friend_request(&self, ctx: &Context<'_>, id: ID) -> Result<FriendRequest> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        Ok(FriendRequest(friends::cancel(app(ctx)?, me, id).await?))
    }

    /// Blocks a user: ends your friendship and pending requests; they can no longer
    /// find you, ask you, start a conversation or write in yours, or see your profile
    /// details. Returns that user.
    async fn block_user(&self, ctx: &Context<'_>, user_id: ID) -> Result<User> {
        let me = ctx.viewer()?.user_id;
        let other = parse_id(&user_id, "userId")?;
        blocks::block(app(ctx)?, me, other).await?;
        Ok(User { id: other })
    }

    /// Lifts a block; returns that user.
    async fn unblock_user(&self, ctx: &Context<'_>, user_id: ID) -> Result<User> {
        let me = ctx.viewer()?.user_id;
        let other = parse_id(&user_id, "userId")?;
        blocks::unblock(app(ctx)?, me, other).await?;
        Ok(User { id: other })
    }

    /// Ends the viewer's friendship with a user, for both; returns that user.
    async fn unfriend(&self, ctx: &Context<'_>, user_id: ID) -> Result<User> {
        let me = ctx.viewer()?.user_id;
        let other = parse_id(&user_id, "userId")?;
        friends::unfriend(app(ctx)?, me, other).await?;
        Ok(User { id: other })
    }

    /// Asks the user with `username` to become friends.
    async fn send_friend_request(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> Result<FriendRequest> {
        let me = ctx.viewer()?.user_id;
        Ok(FriendRequest(
            friends::send_request(app(ctx)?, me, &username).await?,
        ))
    }

    /// Accepts a pending request addressed to the viewer.
    async fn accept_friend_request(&self, ctx: &Context<'_>, id: ID) -> Result<FriendRequest> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        Ok(FriendRequest(
            friends::respond(app(ctx)?, me, id, true).await?,
        ))
    }

    /// Declines a pending request addressed to the viewer.
    async fn decline_friend_request(&self, ctx: &Context<'_>, id: ID) -> Result<FriendRequest> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        Ok(FriendRequest(
            friends::respond(app(ctx)?, me, id, false).await?,
        ))
    }
}
