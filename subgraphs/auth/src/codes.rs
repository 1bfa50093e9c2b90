//! Emailed one-time codes: six digits, stored hashed, expiring, with limited attempts.
//!
//! A new code of a purpose voids the older ones of that purpose. Wrong guesses are
//! counted on the database directly (not in the caller's transaction), so a failed
//! attempt is remembered even though the caller's work is rolled back.

use chrono::{Duration, Utc};
use echostream_service::Error;
use rand::Rng;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DeriveActiveEnum, EntityTrait, EnumIter, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::email_code;

/// Wrong guesses allowed on one code before it is void.
pub const MAX_ATTEMPTS: i32 = 5;

/// What a code proves (stored, and hashed with the code, as `verify_email`,
/// `reset_password`, `change_email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Purpose {
    #[sea_orm(string_value = "verify_email")]
    VerifyEmail,
    #[sea_orm(string_value = "reset_password")]
    ResetPassword,
    #[sea_orm(string_value = "change_email")]
    ChangeEmail,
}

fn hash(user: Uuid, purpose: Purpose, code: &str) -> String {
    let digest = Sha256::digest(format!("{user}:{}:{code}", purpose.to_value()).as_bytes());
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest)
}

/// Makes a new code (voiding older ones of the same purpose); returns it in clear for
/// the mail.
pub async fn issue(
    db: &impl ConnectionTrait,
    user: Uuid,
    purpose: Purpose,
    target: Option<String>,
    ttl: Duration,
) -> Result<String, Error> {
    let now = Utc::now();
    email_code::Entity::update_many()
        .col_expr(
            email_code::Column::ConsumedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(email_code::Column::UserId.eq(user))
        .filter(email_code::Column::Purpose.eq(purpose))
        .filter(email_code::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    email_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        purpose: Set(purpose),
        code_hash: Set(hash(user, purpose, &code)),
        attempts: Set(0),
        expires_at: Set(now + ttl),
        created_at: Set(now),
        consumed_at: Set(None),
        target: Set(target),
    }
    .insert(db)
    .await?;
    Ok(code)
}

/// The error for every failed check, whatever the reason: no hint which one.
pub fn invalid() -> Error {
    Error::bad_input("the code is wrong or has expired")
}

/// Refuses a code that is not six digits. Call it before looking the address up, so
/// that the answer is the same whether or not the address has an account.
pub fn well_formed(code: &str) -> Result<(), Error> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_input("the code is 6 digits"));
    }
    Ok(())
}

/// Checks `code` against the user's live code of `purpose`; counts a wrong guess.
/// Call [`consume`] inside the transaction that acts on it.
pub async fn check(
    db: &DatabaseConnection,
    user: Uuid,
    purpose: Purpose,
    code: &str,
) -> Result<email_code::Model, Error> {
    well_formed(code)?;
    let live = email_code::Entity::find()
        .filter(email_code::Column::UserId.eq(user))
        .filter(email_code::Column::Purpose.eq(purpose))
        .filter(email_code::Column::ConsumedAt.is_null())
        .order_by_desc(email_code::Column::CreatedAt)
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if live.expires_at < Utc::now() || live.attempts >= MAX_ATTEMPTS {
        return Err(invalid());
    }
    if live.code_hash != hash(user, purpose, code) {
        let attempts = live.attempts + 1;
        let mut wrong: email_code::ActiveModel = live.into();
        wrong.attempts = Set(attempts);
        wrong.update(db).await?;
        return Err(invalid());
    }
    Ok(live)
}

/// Marks a checked code used, so it works once.
pub async fn consume(db: &impl ConnectionTrait, code: email_code::Model) -> Result<(), Error> {
    let mut used: email_code::ActiveModel = code.into();
    used.consumed_at = Set(Some(Utc::now()));
    used.update(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes already stored stay valid: each purpose is stored, and hashed, with the
    /// spelling it always had.
    #[test]
    fn purposes_keep_their_stored_spelling() {
        let user = Uuid::nil();
        for (purpose, stored) in [
            (Purpose::VerifyEmail, "verify_email"),
            (Purpose::ResetPassword, "reset_password"),
            (Purpose::ChangeEmail, "change_email"),
        ] {
            assert_eq!(purpose.to_value(), stored);
            let digest = Sha256::digest(format!("{user}:{stored}:123456").as_bytes());
            let want =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest);
            assert_eq!(hash(user, purpose, "123456"), want);
        }
    }
}
