//! Privacy settings at the edge: read and change the viewer's own.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use echostream_contracts::profile::PrivacySettings as Settings;
use echostream_projections::privacy;
use echostream_service::resolver::RequestExt;

use super::app;
use crate::privacy::{PrivacyChanges, update};

/// Who a privacy setting lets in.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "echostream_contracts::profile::Audience")]
pub enum Audience {
    Everyone,
    Friends,
    Nobody,
}

/// The viewer's privacy settings.
#[derive(SimpleObject)]
pub struct PrivacySettings {
    /// Who may send you direct messages (default FRIENDS). The instance may allow
    /// only friends whatever this says.
    direct_messages: Audience,
    /// Who sees your online status and last seen (default FRIENDS). Reciprocal: you
    /// see nobody's presence that your own setting would hide yours from.
    presence: Audience,
    /// Whether you send read receipts (default true). Reciprocal: off, you see
    /// nobody's either.
    read_receipts: bool,
    /// Who may add you to groups: EVERYONE or FRIENDS (default FRIENDS).
    group_adds: Audience,
}

impl From<Settings> for PrivacySettings {
    fn from(s: Settings) -> Self {
        PrivacySettings {
            direct_messages: s.direct_messages.into(),
            presence: s.presence.into(),
            read_receipts: s.read_receipts,
            group_adds: s.group_adds.into(),
        }
    }
}

/// The settings to change; a field left out (or null) stays as it is.
#[derive(InputObject)]
pub struct PrivacySettingsInput {
    direct_messages: Option<Audience>,
    presence: Option<Audience>,
    read_receipts: Option<bool>,
    group_adds: Option<Audience>,
}

/// Reads.
#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// The viewer's privacy settings.
    async fn privacy_settings(&self, ctx: &Context<'_>) -> Result<PrivacySettings> {
        let me = ctx.viewer()?.user_id;
        Ok(privacy::of(&app(ctx)?.db, me).await?.into())
    }
}

/// Writes.
#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Changes the viewer's privacy settings; returns them all.
    async fn update_privacy_settings(
        &self,
        ctx: &Context<'_>,
        input: PrivacySettingsInput,
    ) -> Result<PrivacySettings> {
        let me = ctx.viewer()?.user_id;
        let changes = PrivacyChanges {
            direct_messages: input.direct_messages.map(Into::into),
            presence: input.presence.map(Into::into),
            read_receipts: input.read_receipts,
            group_adds: input.group_adds.map(Into::into),
        };
        Ok(update(app(ctx)?, me, changes).await?.into())
    }
}
