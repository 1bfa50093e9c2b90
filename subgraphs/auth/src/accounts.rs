//! Account rules: registration, email verification, password reset and change,
//! email change, deletion and export.
//!
//! Responses never tell whether an address has an account (reset and resend answer
//! the same either way, and send their mail in the background so timing does not tell
//! either).

use chrono::{Duration, Utc};
use echostream_contracts::auth::{
    EmailChanged, PasswordChanged, UserDeleted, UserRegistered, UserVerified, email_digest,
};
use echostream_ports::db::conflict;
use echostream_ports::events::outbox::Change;
use echostream_ports::mail::Mail;
use echostream_service::Error;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::codes::{self, Purpose};
use crate::entities::{email_code, session, user};
use crate::{Auth, limits, passwords, sessions, users};

/// Checks a username: 3–32 of `a-z 0-9 _ .`, starting with a letter or digit.
pub fn validate_username(username: &str) -> Result<(), Error> {
    let ok = (3..=32).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && username
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::bad_input(
            "username must be 3 to 32 letters, digits, '_' or '.', starting with a letter or digit",
        ))
    }
}

/// Checks the shape of an email address (deliverability is what the code proves).
pub fn validate_email(email: &str) -> Result<(), Error> {
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::bad_input("email address is not valid"))
    }
}

/// Checks the password policy: 8–128 characters.
pub fn validate_password(password: &str) -> Result<(), Error> {
    let len = password.chars().count();
    if (8..=128).contains(&len) {
        Ok(())
    } else {
        Err(Error::bad_input("password must be 8 to 128 characters"))
    }
}

fn code_ttl(auth: &Auth) -> Duration {
    Duration::seconds(auth.ports.config.auth.code_ttl_secs as i64)
}

/// Sends mail without making the caller wait (or revealing by timing that it did).
fn mail_later(auth: &Auth, mail: Mail) {
    let mailer = std::sync::Arc::clone(&auth.ports.mail);
    tokio::spawn(async move {
        if let Err(err) = mailer.send(&mail).await {
            tracing::warn!(to = %mail.to, %err, "mail not sent");
        }
    });
}

/// Creates an unverified account and emails its verification code.
pub async fn register(
    auth: &Auth,
    email: &str,
    username: &str,
    password: &str,
    ip: &str,
) -> Result<user::Model, Error> {
    let email = email.trim();
    let username = username.trim();
    validate_email(email)?;
    validate_username(username)?;
    validate_password(password)?;
    limits::hit(
        auth.ports.pubsub.as_ref(),
        limits::register_per_ip(&auth.ports.config.auth),
        ip,
    )
    .await?;
    let email_key = users::key(email);
    let username_key = users::key(username);
    if users::by_username(&auth.db, username).await?.is_some() {
        return Err(Error::conflict(users::UNIQUE_USERNAME.message));
    }
    if users::by_email(&auth.db, email).await?.is_some() {
        return Err(Error::conflict(users::UNIQUE_EMAIL.message));
    }
    let password_hash = passwords::hash(password.to_string()).await?;
    let model = user::Model {
        id: Uuid::now_v7(),
        email: email.to_string(),
        email_key,
        username: username.to_string(),
        username_key,
        password_hash,
        email_verified_at: None,
        created_at: Utc::now(),
    };
    let ttl = code_ttl(auth);
    let (saved, code) = auth
        .relay
        .write(move |txn| {
            Box::pin(async move {
                // The unique indexes decide races the checks above cannot.
                let saved = user::ActiveModel::from(model)
                    .insert(txn)
                    .await
                    .map_err(|e| conflict(e, &[&users::UNIQUE_USERNAME, &users::UNIQUE_EMAIL]))?;
                let code = codes::issue(txn, saved.id, Purpose::VerifyEmail, None, ttl).await?;
                let event = UserRegistered {
                    user_id: saved.id,
                    username: saved.username.clone(),
                    provider: None,
                };
                Ok(Change::new((saved, code)).emit(&event, Some(event.user_id)))
            })
        })
        .await?;
    let intro = format!("Welcome to EchoStream, {}!", saved.username);
    auth.ports
        .mail
        .send(&crate::mails::code(
            &saved.email,
            "Your EchoStream verification code",
            &intro,
            &code,
            ttl,
        ))
        .await?;
    Ok(saved)
}

/// Sends a fresh verification code, at most once a minute per address. Answers the
/// same whether or not the address has an unverified account.
pub async fn resend_verification(auth: &Auth, email: &str) -> Result<(), Error> {
    validate_email(email.trim())?;
    limits::hit(
        auth.ports.pubsub.as_ref(),
        limits::RESEND_COOLDOWN,
        email.trim(),
    )
    .await?;
    let Some(account) = users::by_email(&auth.db, email).await? else {
        return Ok(());
    };
    if account.email_verified_at.is_some() {
        return Ok(());
    }
    let ttl = code_ttl(auth);
    let code = codes::issue(&auth.db, account.id, Purpose::VerifyEmail, None, ttl).await?;
    mail_later(
        auth,
        crate::mails::code(
            &account.email,
            "Your EchoStream verification code",
            "Here is a new code.",
            &code,
            ttl,
        ),
    );
    Ok(())
}

/// Marks the account's email verified when `code` is its live verification code.
/// Every failure answers alike (malformed, wrong, expired, an unknown address, an
/// address already verified), so the call tells nobody which addresses have
/// accounts.
pub async fn verify_email(auth: &Auth, email: &str, code: &str) -> Result<user::Model, Error> {
    codes::well_formed(code)?;
    limits::hit(
        auth.ports.pubsub.as_ref(),
        limits::CODE_ENTRIES,
        email.trim(),
    )
    .await?;
    let account = users::by_email(&auth.db, email)
        .await?
        .ok_or_else(codes::invalid)?;
    if account.email_verified_at.is_some() {
        return Err(codes::invalid());
    }
    let checked = codes::check(&auth.db, account.id, Purpose::VerifyEmail, code).await?;
    auth.relay
        .write(move |txn| {
            Box::pin(async move {
                codes::consume(txn, checked).await?;
                let mut active: user::ActiveModel = account.into();
                active.email_verified_at = Set(Some(Utc::now()));
                let saved = active.update(txn).await?;
                let event = UserVerified {
                    user_id: saved.id,
                    username: saved.username.clone(),
                    provider: None,
                    email_digest: Some(email_digest(&saved.email)),
                };
                Ok(Change::new(saved).emit(&event, Some(event.user_id)))
            })
        })
        .await
        .inspect(|verified| {
            mail_later(
                auth,
                crate::mails::welcome(&verified.email, &verified.username),
            )
        })
}

/// Emails a reset code if the address has an account; answers the same either way.
pub async fn request_password_reset(auth: &Auth, email: &str, ip: &str) -> Result<(), Error> {
    validate_email(email.trim())?;
    let pubsub = auth.ports.pubsub.as_ref();
    limits::hit(pubsub, limits::RESET_PER_IP, ip).await?;
    limits::hit(pubsub, limits::RESET_PER_EMAIL, email.trim()).await?;
    let Some(account) = users::by_email(&auth.db, email).await? else {
        return Ok(());
    };
    let ttl = code_ttl(auth);
    let code = codes::issue(&auth.db, account.id, Purpose::ResetPassword, None, ttl).await?;
    mail_later(
        auth,
        crate::mails::code(
            &account.email,
            "Reset your EchoStream password",
            "Someone asked to reset your password.",
            &code,
            ttl,
        ),
    );
    Ok(())
}

async fn set_password(
    auth: &Auth,
    account: user::Model,
    password: &str,
    used: Option<email_code::Model>,
) -> Result<Uuid, Error> {
    validate_password(password)?;
    let password_hash = passwords::hash(password.to_string()).await?;
    let id = account.id;
    auth.relay
        .write(move |txn| {
            Box::pin(async move {
                if let Some(code) = used {
                    codes::consume(txn, code).await?;
                }
                let mut active: user::ActiveModel = account.into();
                active.password_hash = Set(password_hash);
                // A reset proves the address too.
                if active.email_verified_at.as_ref().is_none() {
                    active.email_verified_at = Set(Some(Utc::now()));
                }
                active.update(txn).await?;
                Ok(Change::new(()).emit(&PasswordChanged { user_id: id }, Some(id)))
            })
        })
        .await?;
    Ok(id)
}

/// Sets a new password with an emailed reset code; every session ends.
pub async fn reset_password(
    auth: &Auth,
    email: &str,
    code: &str,
    new_password: &str,
) -> Result<(), Error> {
    validate_password(new_password)?;
    codes::well_formed(code)?;
    limits::hit(
        auth.ports.pubsub.as_ref(),
        limits::CODE_ENTRIES,
        email.trim(),
    )
    .await?;
    let account = users::by_email(&auth.db, email)
        .await?
        .ok_or_else(codes::invalid)?;
    let checked = codes::check(&auth.db, account.id, Purpose::ResetPassword, code).await?;
    let id = set_password(auth, account, new_password, Some(checked)).await?;
    sessions::revoke_all(auth, id, None, "password_reset").await?;
    Ok(())
}

async fn with_password(auth: &Auth, user_id: Uuid, password: &str) -> Result<user::Model, Error> {
    let account = users::existing(&auth.db, user_id).await?;
    if !passwords::verify(password.to_string(), account.password_hash.clone()).await? {
        return Err(Error::forbidden("the current password is wrong"));
    }
    Ok(account)
}

/// Changes the password; every other session ends.
pub async fn change_password(
    auth: &Auth,
    user_id: Uuid,
    session: Uuid,
    current: &str,
    new_password: &str,
) -> Result<(), Error> {
    validate_password(new_password)?;
    let account = with_password(auth, user_id, current).await?;
    set_password(auth, account, new_password, None).await?;
    sessions::revoke_all(auth, user_id, Some(session), "password_changed").await?;
    Ok(())
}

/// Starts an email change: a code goes to the new address.
pub async fn request_email_change(
    auth: &Auth,
    user_id: Uuid,
    new_email: &str,
    password: &str,
) -> Result<(), Error> {
    let new_email = new_email.trim();
    validate_email(new_email)?;
    let account = with_password(auth, user_id, password).await?;
    if users::by_email(&auth.db, new_email).await?.is_some() {
        return Err(Error::conflict("an account with that email exists"));
    }
    let ttl = code_ttl(auth);
    let code = codes::issue(
        &auth.db,
        account.id,
        Purpose::ChangeEmail,
        Some(new_email.to_string()),
        ttl,
    )
    .await?;
    auth.ports
        .mail
        .send(&crate::mails::code(
            new_email,
            "Confirm your new EchoStream email",
            "Confirm this address for your EchoStream account.",
            &code,
            ttl,
        ))
        .await?;
    Ok(())
}

/// Completes an email change with the code sent to the new address.
pub async fn confirm_email_change(
    auth: &Auth,
    user_id: Uuid,
    code: &str,
) -> Result<user::Model, Error> {
    limits::hit(
        auth.ports.pubsub.as_ref(),
        limits::CODE_ENTRIES,
        &user_id.to_string(),
    )
    .await?;
    let account = users::existing(&auth.db, user_id).await?;
    let checked = codes::check(&auth.db, user_id, Purpose::ChangeEmail, code).await?;
    let new_email = checked.target.clone().ok_or_else(codes::invalid)?;
    let old_email = account.email.clone();
    let saved = auth
        .relay
        .write(move |txn| {
            Box::pin(async move {
                codes::consume(txn, checked).await?;
                let mut active: user::ActiveModel = account.into();
                active.email_key = Set(users::key(&new_email));
                active.email = Set(new_email);
                active.email_verified_at = Set(Some(Utc::now()));
                let saved = active
                    .update(txn)
                    .await
                    .map_err(|e| conflict(e, &[&users::UNIQUE_EMAIL]))?;
                let event = EmailChanged {
                    user_id: saved.id,
                    email_digest: Some(email_digest(&saved.email)),
                };
                Ok(Change::new(saved).emit(&event, Some(event.user_id)))
            })
        })
        .await?;
    mail_later(
        auth,
        Mail {
            to: old_email,
            subject: "Your EchoStream email changed".into(),
            text: "The email address of your EchoStream account was changed. If this was not you, reset your password.\n".into(),
            ..Mail::default()
        },
    );
    Ok(saved)
}

/// Deletes the account after checking the password; the other subgraphs erase what
/// they hold when they see `auth.user.deleted`.
pub async fn delete_account(auth: &Auth, user_id: Uuid, password: &str) -> Result<(), Error> {
    let account = with_password(auth, user_id, password).await?;
    sessions::revoke_all(auth, user_id, None, "account_deleted").await?;
    auth.relay
        .write(move |txn| {
            Box::pin(async move {
                email_code::Entity::delete_many()
                    .filter(email_code::Column::UserId.eq(user_id))
                    .exec(txn)
                    .await?;
                session::Entity::delete_many()
                    .filter(session::Column::UserId.eq(user_id))
                    .exec(txn)
                    .await?;
                user::Entity::delete_by_id(account.id).exec(txn).await?;
                Ok(Change::new(()).emit(&UserDeleted { user_id }, Some(user_id)))
            })
        })
        .await
}

/// Everything auth holds about a user, for "export my data".
pub async fn export(db: &DatabaseConnection, user_id: Uuid) -> Result<serde_json::Value, Error> {
    let account = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("no such account"))?;
    let devices: Vec<_> = sessions::list(db, user_id)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id, "deviceId": s.device_id, "deviceName": s.device_name, "ip": s.ip,
                "createdAt": s.created_at, "lastUsedAt": s.last_used_at,
            })
        })
        .collect();
    Ok(json!({
        "account": {
            "id": account.id, "username": account.username, "email": account.email,
            "emailVerifiedAt": account.email_verified_at, "createdAt": account.created_at,
        },
        "sessions": devices,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        for ok in ["ann", "bob_smith", "a.b.c", "X123"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "_ann", "ann smith", "ännä", &"a".repeat(33), "a;drop"] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_and_passwords_follow_the_rules() {
        assert!(validate_email("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "@b.co", "a b@c.de", "a@.co"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"x".repeat(129)).is_err());
    }
}
