//! Account rules: registration, email verification, login and sessions.

use chrono::{Duration, Utc};
use echostream_shared::Error;
use echostream_shared::events::{Envelope, outbox};
use echostream_shared::mail::Mail;
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Auth;
use crate::entities::{email_code, session, user};
use crate::passwords;

/// Wrong guesses allowed on one code before it is void.
const MAX_CODE_ATTEMPTS: i32 = 5;

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

fn code_hash(user: Uuid, purpose: &str, code: &str) -> String {
    let digest = Sha256::digest(format!("{user}:{purpose}:{code}").as_bytes());
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest)
}

/// Hash under which an opaque refresh token is stored.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest)
}

/// Creates an unverified account and emails its verification code.
pub async fn register(
    auth: &Auth,
    email: &str,
    username: &str,
    password: &str,
) -> Result<user::Model, Error> {
    let email = email.trim();
    let username = username.trim();
    validate_email(email)?;
    validate_username(username)?;
    validate_password(password)?;
    let email_key = email.to_lowercase();
    let username_key = username.to_lowercase();
    if user::Entity::find()
        .filter(user::Column::UsernameKey.eq(&username_key))
        .one(&auth.db)
        .await?
        .is_some()
    {
        return Err(Error::conflict("that username is taken"));
    }
    if user::Entity::find()
        .filter(user::Column::EmailKey.eq(&email_key))
        .one(&auth.db)
        .await?
        .is_some()
    {
        return Err(Error::conflict("an account with that email exists"));
    }
    let password_hash = passwords::hash(password.to_string()).await?;
    let id = Uuid::now_v7();
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let now = Utc::now();
    let model = user::Model {
        id,
        email: email.to_string(),
        email_key,
        username: username.to_string(),
        username_key,
        password_hash,
        email_verified_at: None,
        created_at: now,
    };
    let code_ttl = Duration::seconds(auth.ports.config.auth.code_ttl_secs as i64);
    let saved = auth
        .db
        .transaction::<_, user::Model, Error>(|txn| {
            let model = model.clone();
            let code = code.clone();
            Box::pin(async move {
                let saved = user::ActiveModel::from(model)
                    .insert(txn)
                    .await
                    .map_err(|e| {
                        // The unique indexes decide races the checks above cannot.
                        if e.to_string().to_lowercase().contains("unique") {
                            Error::conflict("that username or email is taken")
                        } else {
                            Error::from(e)
                        }
                    })?;
                email_code::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    user_id: Set(saved.id),
                    purpose: Set("verify_email".into()),
                    code_hash: Set(code_hash(saved.id, "verify_email", &code)),
                    attempts: Set(0),
                    expires_at: Set(now + code_ttl),
                    created_at: Set(now),
                    consumed_at: Set(None),
                }
                .insert(txn)
                .await?;
                let event = Envelope::new(
                    "auth.user.registered",
                    Some(saved.id),
                    saved.id.to_string(),
                    json!({ "userId": saved.id, "username": saved.username }),
                );
                outbox::enqueue(txn, &event).await?;
                Ok(saved)
            })
        })
        .await?;
    auth.relay.wake();
    auth.ports
        .mail
        .send(&Mail {
            to: saved.email.clone(),
            subject: "Your EchoStream verification code".into(),
            text: format!(
                "Welcome to EchoStream, {}!\n\nYour verification code is {code}. It expires in {} minutes.\n",
                saved.username,
                code_ttl.num_minutes()
            ),
        })
        .await?;
    Ok(saved)
}

/// Marks the account's email verified when `code` is its live verification code.
pub async fn verify_email(auth: &Auth, email: &str, code: &str) -> Result<user::Model, Error> {
    let invalid = || Error::bad_input("the code is wrong or has expired");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_input("the code is 6 digits"));
    }
    let account = user::Entity::find()
        .filter(user::Column::EmailKey.eq(email.trim().to_lowercase()))
        .one(&auth.db)
        .await?
        .ok_or_else(invalid)?;
    if account.email_verified_at.is_some() {
        return Err(Error::conflict("this email is already verified"));
    }
    let pending = email_code::Entity::find()
        .filter(email_code::Column::UserId.eq(account.id))
        .filter(email_code::Column::Purpose.eq("verify_email"))
        .filter(email_code::Column::ConsumedAt.is_null())
        .order_by_desc(email_code::Column::CreatedAt)
        .one(&auth.db)
        .await?
        .ok_or_else(invalid)?;
    let now = Utc::now();
    if pending.expires_at < now || pending.attempts >= MAX_CODE_ATTEMPTS {
        return Err(invalid());
    }
    if pending.code_hash != code_hash(account.id, "verify_email", code) {
        let attempts = pending.attempts + 1;
        let mut wrong: email_code::ActiveModel = pending.into();
        wrong.attempts = Set(attempts);
        wrong.update(&auth.db).await?;
        return Err(invalid());
    }
    let verified = auth
        .db
        .transaction::<_, user::Model, Error>(|txn| {
            Box::pin(async move {
                let mut used: email_code::ActiveModel = pending.into();
                used.consumed_at = Set(Some(now));
                used.update(txn).await?;
                let mut active: user::ActiveModel = account.into();
                active.email_verified_at = Set(Some(now));
                let saved = active.update(txn).await?;
                let event = Envelope::new(
                    "auth.user.verified",
                    Some(saved.id),
                    saved.id.to_string(),
                    json!({ "userId": saved.id, "username": saved.username }),
                );
                outbox::enqueue(txn, &event).await?;
                Ok(saved)
            })
        })
        .await?;
    auth.relay.wake();
    Ok(verified)
}

/// Tokens handed to a signed-in client.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: user::Model,
}

fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Signs in with email or username and password, opening a session for the device.
pub async fn login(
    auth: &Auth,
    login: &str,
    password: &str,
    device_id: Option<&str>,
    device_name: Option<&str>,
) -> Result<Tokens, Error> {
    let wrong = || Error::Unauthenticated("wrong login or password".into());
    let key = login.trim().to_lowercase();
    let column = if key.contains('@') {
        user::Column::EmailKey
    } else {
        user::Column::UsernameKey
    };
    let found = user::Entity::find()
        .filter(column.eq(key))
        .one(&auth.db)
        .await?;
    // Verify against a dummy hash for unknown logins: same cost, no enumeration by timing.
    let stored = found.as_ref().map_or_else(
        || passwords::DUMMY_HASH.clone(),
        |u| u.password_hash.clone(),
    );
    let matches = passwords::verify(password.to_string(), stored).await?;
    let account = match found {
        Some(account) if matches => account,
        _ => return Err(wrong()),
    };
    if account.email_verified_at.is_none() {
        return Err(Error::forbidden(
            "verify your email address before signing in",
        ));
    }
    let device_id = device_id
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_string);
    if device_id.len() > 128 {
        return Err(Error::bad_input("deviceId is at most 128 characters"));
    }
    let device_name = device_name
        .unwrap_or("unknown device")
        .chars()
        .take(128)
        .collect::<String>();
    let refresh = new_refresh_token();
    let now = Utc::now();
    let config = &auth.ports.config.auth;
    let saved = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(account.id),
        device_id: Set(device_id),
        device_name: Set(device_name),
        refresh_hash: Set(token_hash(&refresh)),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + Duration::seconds(config.refresh_token_ttl_secs as i64)),
        revoked_at: Set(None),
    }
    .insert(&auth.db)
    .await?;
    let access = auth
        .keys
        .issue(config, account.id, saved.id, &saved.device_id)?;
    Ok(Tokens {
        access_token: access,
        refresh_token: refresh,
        expires_in: config.access_token_ttl_secs as i64,
        user: account,
    })
}

/// Ends the session the access token belongs to.
pub async fn logout(auth: &Auth, session_id: Uuid) -> Result<(), Error> {
    if let Some(found) = session::Entity::find_by_id(session_id)
        .one(&auth.db)
        .await?
    {
        let mut active: session::ActiveModel = found.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&auth.db).await?;
    }
    Ok(())
}

/// Finds accounts by id (the entity loader's query).
pub async fn by_ids(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
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
