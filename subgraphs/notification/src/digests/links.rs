//! Signed links in mail: an unsubscribe link carries the user it is for and an HMAC
//! of it under a key only the notification subgraph holds, so it works without
//! signing in and cannot be made for anyone else. The key is a row of the
//! subgraph's own database (`secrets`, `links`), made by whichever instance starts
//! first: every instance signs and checks with the same key, across restarts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use sha2::Sha256;
use uuid::Uuid;

use crate::entities::secret;

/// Bytes of the MAC a link carries (128 bits).
const MAC_BYTES: usize = 16;

/// The key links are signed with.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl LinkKey {
    /// The subgraph's key, made now if no instance made it before.
    pub async fn load(db: &impl ConnectionTrait) -> Result<LinkKey, DbErr> {
        Ok(LinkKey(stored_secret(db, "links").await?))
    }

    fn mac(&self, purpose: &str, user: Uuid) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(user.as_bytes());
        mac
    }

    /// A token naming `user` for `purpose` (`unsubscribe`).
    pub fn sign(&self, purpose: &str, user: Uuid) -> String {
        let tag = self.mac(purpose, user).finalize().into_bytes();
        let mut bytes = user.as_bytes().to_vec();
        bytes.extend_from_slice(&tag[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The user a token for `purpose` names, if this key signed it.
    pub fn verify(&self, purpose: &str, token: &str) -> Option<Uuid> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != 16 + MAC_BYTES {
            return None;
        }
        let user = Uuid::from_slice(&bytes[..16]).ok()?;
        // Compared in constant time.
        self.mac(purpose, user)
            .verify_truncated_left(&bytes[16..])
            .ok()?;
        Some(user)
    }
}

/// The secret of `name` in the subgraph's `secrets`: 32 random bytes, made by the
/// first instance to ask (the others read the same row).
pub async fn stored_secret(db: &impl ConnectionTrait, name: &str) -> Result<Vec<u8>, DbErr> {
    let fresh: [u8; 32] = rand::random();
    let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    secret::Entity::insert(secret::ActiveModel {
        name: Set(name.to_string()),
        secret: Set(hex),
    })
    .on_conflict(
        OnConflict::column(secret::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let row = secret::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("the secret {name}")))?;
    Ok((0..row.secret.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(row.secret.get(i..i + 2)?, 16).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_user_and_nothing_else_passes() {
        let key = LinkKey(vec![7; 32]);
        let user = Uuid::now_v7();
        let token = key.sign("unsubscribe", user);
        assert_eq!(key.verify("unsubscribe", &token), Some(user));
        // Another purpose, another key, a changed user or a cut MAC: refused.
        assert_eq!(key.verify("other", &token), None);
        assert_eq!(LinkKey(vec![8; 32]).verify("unsubscribe", &token), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[0] ^= 1;
        assert_eq!(
            key.verify("unsubscribe", &URL_SAFE_NO_PAD.encode(&bytes)),
            None
        );
        assert_eq!(key.verify("unsubscribe", &token[..token.len() - 2]), None);
        assert_eq!(key.verify("unsubscribe", "junk"), None);
    }
}
