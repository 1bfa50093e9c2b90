//! A profile's details: display name, bio, location, website and birthdate, each
//! validated, changed only when given, and announced as `profile.updated`.

use chrono::{NaiveDate, Utc};
use echostream_contracts::profile::ProfileUpdated;
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use echostream_service::input::text;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::Profile;
use crate::entities::profile;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 64;
/// Longest bio, in characters.
pub const MAX_BIO: usize = 500;
/// Longest location, in characters.
pub const MAX_LOCATION: usize = 100;
/// Longest website URL, in bytes.
pub const MAX_WEBSITE: usize = 200;

/// A change to one optional field: left alone, cleared, or set.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit<T> {
    Keep,
    Clear,
    Set(T),
}

/// What `updateProfile` was given.
#[derive(Debug, Clone)]
pub struct Changes {
    pub display_name: Option<String>,
    pub bio: Edit<String>,
    pub location: Edit<String>,
    pub website: Edit<String>,
    pub birthdate: Edit<NaiveDate>,
}

/// Changes `me`'s profile: only the fields given, each validated first (a refusal
/// names its field and changes nothing).
pub async fn update(app: &Profile, me: Uuid, changes: Changes) -> Result<profile::Model, Error> {
    let display_name = changes
        .display_name
        .map(|name| text("displayName", &name, MAX_DISPLAY_NAME, false))
        .transpose()?;
    let bio = changes.bio.try_map(|b| text("bio", &b, MAX_BIO, true))?;
    let location = changes
        .location
        .try_map(|l| text("location", &l, MAX_LOCATION, false))?;
    let website = changes.website.try_map(|w| website(&w))?;
    let birthdate = changes.birthdate.try_map(birthdate)?;
    let current = profile::Entity::find_by_id(me)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("you have no profile yet: verify your email first"))?;
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                let mut row: profile::ActiveModel = current.into();
                if let Some(name) = display_name {
                    row.display_name = Set(name);
                }
                bio.apply(&mut row.bio);
                location.apply(&mut row.location);
                website.apply(&mut row.website);
                birthdate.apply(&mut row.birthdate);
                row.updated_at = Set(Utc::now());
                let saved = row.update(txn).await?;
                let event = ProfileUpdated {
                    user_id: saved.user_id,
                    display_name: saved.display_name.clone(),
                    bio: saved.bio.clone(),
                    location: saved.location.clone(),
                    website: saved.website.clone(),
                };
                Ok(Change::new(saved).emit(&event, Some(me)))
            })
        })
        .await
}

impl<T> Edit<T> {
    fn try_map<U>(self, f: impl FnOnce(T) -> Result<U, Error>) -> Result<Edit<U>, Error> {
        Ok(match self {
            Edit::Keep => Edit::Keep,
            Edit::Clear => Edit::Clear,
            Edit::Set(value) => Edit::Set(f(value)?),
        })
    }

    fn apply(self, column: &mut sea_orm::ActiveValue<Option<T>>)
    where
        T: Into<sea_orm::Value>,
        Option<T>: Into<sea_orm::Value>,
    {
        match self {
            Edit::Keep => {}
            Edit::Clear => *column = Set(None),
            Edit::Set(value) => *column = Set(Some(value)),
        }
    }
}

/// An absolute http(s) URL with a host.
fn website(value: &str) -> Result<String, Error> {
    let value = value.trim();
    let bad = || Error::bad_input("website must be an http or https URL, like https://example.com");
    if value.len() > MAX_WEBSITE {
        return Err(Error::bad_input(format!(
            "website is at most {MAX_WEBSITE} characters"
        )));
    }
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::bad_input(
            "website cannot hold a user name or password",
        ));
    }
    Ok(url.to_string())
}

/// A real date, not in the future, not before 1900.
fn birthdate(date: NaiveDate) -> Result<NaiveDate, Error> {
    let today = Utc::now().date_naive();
    if date > today {
        return Err(Error::bad_input("birthdate cannot be in the future"));
    }
    if date < NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date") {
        return Err(Error::bad_input("birthdate cannot be before 1900"));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_name_their_field() {
        assert_eq!(text("bio", "  hi  ", 10, true).unwrap(), "hi");
        assert!(text("bio", "a\nb", 10, true).is_ok());
        let err = text("displayName", "a\nb", 10, false).unwrap_err();
        assert!(err.to_string().contains("displayName"), "{err}");
        let err = text("location", &"x".repeat(11), 10, false).unwrap_err();
        assert!(err.to_string().contains("location"), "{err}");
        assert!(text("bio", "   ", 10, true).is_err());
    }

    #[test]
    fn websites_are_http_urls_with_a_host() {
        assert_eq!(
            website("https://ann.example/me").unwrap(),
            "https://ann.example/me"
        );
        for bad in [
            "javascript:alert(1)",
            "ftp://x.example",
            "ann.example",
            "https://user:pw@x.example",
        ] {
            let err = website(bad).unwrap_err();
            assert!(err.to_string().contains("website"), "{bad}: {err}");
        }
    }

    #[test]
    fn birthdates_are_past_and_plausible() {
        assert!(birthdate(NaiveDate::from_ymd_opt(1990, 2, 28).unwrap()).is_ok());
        let tomorrow = Utc::now().date_naive() + chrono::Days::new(1);
        assert!(birthdate(tomorrow).is_err());
        assert!(birthdate(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()).is_err());
    }
}
