//! Privacy settings: the viewer changes theirs; `profile.privacy_changed` tells chat
//! and presence, which enforce them (`echostream_projections::privacy`).

use echostream_contracts::profile::{Audience, PrivacyChanged, PrivacySettings};
use echostream_ports::events::outbox::Change;
use echostream_projections::privacy;
use echostream_service::Error;

use crate::Profile;

/// The settings to change; `None` keeps one as it is.
#[derive(Debug, Default)]
pub struct PrivacyChanges {
    pub direct_messages: Option<Audience>,
    pub presence: Option<Audience>,
    pub read_receipts: Option<bool>,
    pub group_adds: Option<Audience>,
}

/// Applies `changes` to `me`'s settings and announces the result; a change that
/// changes nothing is not announced.
pub async fn update(
    app: &Profile,
    me: uuid::Uuid,
    changes: PrivacyChanges,
) -> Result<PrivacySettings, Error> {
    if changes.group_adds == Some(Audience::Nobody) {
        return Err(Error::bad_input(
            "groupAdds must be EVERYONE or FRIENDS (leaving a group is always possible)",
        ));
    }
    let current = privacy::of(&app.db, me).await?;
    let next = PrivacySettings {
        direct_messages: changes.direct_messages.unwrap_or(current.direct_messages),
        presence: changes.presence.unwrap_or(current.presence),
        read_receipts: changes.read_receipts.unwrap_or(current.read_receipts),
        group_adds: changes.group_adds.unwrap_or(current.group_adds),
    };
    if next == current {
        return Ok(current);
    }
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                privacy::save(txn, me, next).await?;
                let event = PrivacyChanged {
                    user_id: me,
                    settings: next,
                };
                Ok(Change::new(next).emit(&event, Some(me)))
            })
        })
        .await
}
