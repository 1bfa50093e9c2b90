//! Access-token signing: Ed25519 keys kept in the auth schema, published as JWKS, and
//! rotated.
//!
//! Rotation without breaking anyone: a new key is published first and signs only
//! once it has been public longer than verifiers cache the JWKS (`PUBLISH_AHEAD`);
//! the key it replaces stays published until every token it signed has expired, and
//! is then removed. Every auth instance shares the keys through the database and
//! reloads them on a timer, so instances agree on which key signs.
//!
//! The private keys are sealed at rest ([`Sealer`]: XChaCha20-Poly1305 under
//! `auth.key_encryption_key`, the key id as associated data), so a copy of the
//! database alone cannot sign tokens; a key stored in the clear by an earlier
//! version is sealed when it is next loaded.

use std::sync::RwLock;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Duration, Utc};
use echostream_config::AuthConfig;
use echostream_service::Error;
use echostream_service::token::Claims;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::entities::signing_key;

/// How long a new key is published before it signs: longer than the gateway's JWKS
/// polling interval (5 minutes).
pub const PUBLISH_AHEAD: Duration = Duration::minutes(10);

/// When keys change.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// Age at which the signing key is replaced.
    pub rotate_after: Duration,
    /// Lifetime of an access token: how long a replaced key must stay published.
    pub token_ttl: Duration,
}

impl RotationPolicy {
    /// The policy the configuration asks for.
    pub fn from_config(config: &AuthConfig) -> RotationPolicy {
        RotationPolicy {
            rotate_after: Duration::days(i64::from(config.key_rotation_days.max(1))),
            token_ttl: Duration::seconds(config.access_token_ttl_secs as i64),
        }
    }
}

/// Seals and opens the private keys stored in the database.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

/// How a sealed key is stored: this prefix, then base64 of nonce and ciphertext.
const SEALED: &str = "sealed:v1:";

impl Sealer {
    /// A sealer with a 32-byte key.
    pub fn new(key: [u8; 32]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// The configured key (`auth.key_encryption_key`); in the embedded profile
    /// without one, a key kept in `<data_dir>/signing-keys.secret` (made once).
    pub fn from_config(config: &echostream_config::Config) -> Result<Sealer, Error> {
        if let Some(key) = config.auth.key_encryption_key_bytes() {
            return Ok(Sealer::new(key));
        }
        let path = config.data_dir.join("signing-keys.secret");
        if let Ok(existing) = std::fs::read(&path)
            && let Ok(key) = <[u8; 32]>::try_from(existing.as_slice())
        {
            return Ok(Sealer::new(key));
        }
        let key: [u8; 32] = rand::random();
        std::fs::create_dir_all(&config.data_dir).map_err(Error::internal)?;
        std::fs::write(&path, key).map_err(Error::internal)?;
        Ok(Sealer::new(key))
    }

    fn seal(&self, kid: &str, pem: &str) -> Result<String, Error> {
        let nonce: [u8; 24] = rand::random();
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: pem.as_bytes(),
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("sealing a signing key failed"))?;
        let mut stored = nonce.to_vec();
        stored.extend(sealed);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(stored)
        ))
    }

    /// The PEM of a stored key (sealed, or in the clear from an earlier version).
    fn open(&self, kid: &str, stored: &str) -> Result<String, Error> {
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let wrong = || {
            Error::internal(
                "a signing key cannot be opened: auth.key_encryption_key is not the key it was sealed with",
            )
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| wrong())?;
        if raw.len() < 24 {
            return Err(wrong());
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let pem = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(pem).map_err(|_| wrong())
    }
}

/// One loaded set of keys: the one that signs, and all that are published.
struct KeySet {
    kid: String,
    encoding: EncodingKey,
    published: Vec<signing_key::Model>,
}

/// The keys, reloadable while tokens are being signed.
pub struct Keys {
    current: RwLock<KeySet>,
    sealer: Sealer,
}

async fn all_keys(db: &DatabaseConnection) -> Result<Vec<signing_key::Model>, Error> {
    Ok(signing_key::Entity::find()
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(db)
        .await?)
}

async fn create_key(
    db: &DatabaseConnection,
    sealer: &Sealer,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::internal(e.to_string()))?;
    let x =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let kid = Uuid::now_v7().to_string();
    let row = signing_key::ActiveModel {
        private_pem: Set(sealer.seal(&kid, &pem)?),
        kid: Set(kid),
        public_x: Set(x),
        created_at: Set(now),
    };
    row.insert(db).await?;
    Ok(())
}

/// The key that signs at `now`: the newest one published long enough, or (when a
/// platform starts for the first time) the oldest one.
fn signing_key_at(keys: &[signing_key::Model], now: DateTime<Utc>) -> Option<&signing_key::Model> {
    keys.iter()
        .find(|k| k.created_at + PUBLISH_AHEAD <= now)
        .or_else(|| keys.last())
}

/// Adds a key when the signing key is due for replacement, and removes keys whose
/// tokens can no longer be valid.
pub async fn rotate(
    db: &DatabaseConnection,
    sealer: &Sealer,
    policy: RotationPolicy,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let keys = all_keys(db).await?;
    // Keys an earlier version stored in the clear are sealed now.
    for key in keys.iter().filter(|k| !k.private_pem.starts_with(SEALED)) {
        let mut row: signing_key::ActiveModel = key.clone().into();
        row.private_pem = Set(sealer.seal(&key.kid, &key.private_pem)?);
        row.update(db).await?;
    }
    let newest_is_due = keys
        .first()
        .is_none_or(|k| now - k.created_at >= policy.rotate_after);
    if newest_is_due {
        create_key(db, sealer, now).await?;
    }
    let keys = all_keys(db).await?;
    let Some(active) = signing_key_at(&keys, now) else {
        return Ok(());
    };
    // Keys older than the active one stopped signing when it became active; their last
    // tokens expire a token lifetime later (plus a margin for clock skew).
    let retired_since = active.created_at + PUBLISH_AHEAD + policy.token_ttl + Duration::minutes(5);
    if retired_since <= now {
        signing_key::Entity::delete_many()
            .filter(signing_key::Column::CreatedAt.lt(active.created_at))
            .exec(db)
            .await?;
    }
    Ok(())
}

async fn load_set(
    db: &DatabaseConnection,
    sealer: &Sealer,
    now: DateTime<Utc>,
) -> Result<KeySet, Error> {
    let published = all_keys(db).await?;
    let signing =
        signing_key_at(&published, now).ok_or_else(|| Error::internal("no signing key"))?;
    let pem = sealer.open(&signing.kid, &signing.private_pem)?;
    let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).map_err(Error::internal)?;
    Ok(KeySet {
        kid: signing.kid.clone(),
        encoding,
        published,
    })
}

impl Keys {
    /// Rotates if due and loads the keys (making the first one on a new platform).
    pub async fn load(
        db: &DatabaseConnection,
        sealer: Sealer,
        policy: RotationPolicy,
    ) -> Result<Keys, Error> {
        let now = Utc::now();
        if let Err(err) = rotate(db, &sealer, policy, now).await {
            // Another instance rotated at the same moment; its keys are as good.
            tracing::info!(error = ?err, "key rotation raced another instance");
        }
        Ok(Keys {
            current: RwLock::new(load_set(db, &sealer, now).await?),
            sealer,
        })
    }

    /// Rotates if due and reloads (run periodically).
    pub async fn refresh(
        &self,
        db: &DatabaseConnection,
        policy: RotationPolicy,
    ) -> Result<(), Error> {
        let now = Utc::now();
        rotate(db, &self.sealer, policy, now).await?;
        let set = load_set(db, &self.sealer, now).await?;
        *self.current.write().expect("keys lock poisoned") = set;
        Ok(())
    }

    /// The `kid` of the key that signs now.
    pub fn signing_kid(&self) -> String {
        self.current.read().expect("keys lock poisoned").kid.clone()
    }

    /// The JWKS document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        let set = self.current.read().expect("keys lock poisoned");
        let keys: Vec<_> = set
            .published
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": k.kid, "x": k.public_x,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs an access token for a session.
    pub fn issue(
        &self,
        config: &AuthConfig,
        user: Uuid,
        session: Uuid,
        device: &str,
    ) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            sid: session,
            did: device.to_string(),
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            iat: now,
            exp: now + config.access_token_ttl_secs as i64,
        };
        let set = self.current.read().expect("keys lock poisoned");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(set.kid.clone());
        jsonwebtoken::encode(&header, &claims, &set.encoding).map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use echostream_migrations::{MigratorTrait, auth::Migrator};

    async fn database() -> DatabaseConnection {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        db
    }

    fn kids(jwks: &serde_json::Value) -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn a_new_platform_signs_with_its_first_key_at_once() {
        let db = database().await;
        let policy = RotationPolicy {
            rotate_after: Duration::days(30),
            token_ttl: Duration::minutes(15),
        };
        let keys = Keys::load(&db, sealer(), policy).await.unwrap();
        assert_eq!(kids(&keys.jwks()), vec![keys.signing_kid()]);
    }

    fn sealer() -> Sealer {
        Sealer::new([7; 32])
    }

    #[tokio::test]
    async fn private_keys_are_sealed_at_rest_and_old_clear_ones_get_sealed() {
        let db = database().await;
        let policy = RotationPolicy {
            rotate_after: Duration::days(30),
            token_ttl: Duration::minutes(15),
        };
        let keys = Keys::load(&db, sealer(), policy).await.unwrap();
        let stored = all_keys(&db).await.unwrap();
        assert!(stored[0].private_pem.starts_with(SEALED));
        assert!(!stored[0].private_pem.contains("PRIVATE KEY"));
        // Sealed to its own key id: moved to another row, it does not open.
        assert!(
            sealer()
                .open("another-kid", &stored[0].private_pem)
                .is_err()
        );
        // Another encryption key cannot open it (and so cannot sign).
        assert!(
            Sealer::new([8; 32])
                .open(&stored[0].kid, &stored[0].private_pem)
                .is_err()
        );
        assert!(Keys::load(&db, Sealer::new([8; 32]), policy).await.is_err());
        // A key stored in the clear by an earlier version is sealed on load.
        let pem = sealer()
            .open(&stored[0].kid, &stored[0].private_pem)
            .unwrap();
        let mut clear: signing_key::ActiveModel = stored[0].clone().into();
        clear.private_pem = Set(pem.clone());
        clear.update(&db).await.unwrap();
        let reloaded = Keys::load(&db, sealer(), policy).await.unwrap();
        assert_eq!(reloaded.signing_kid(), keys.signing_kid());
        let now_stored = all_keys(&db).await.unwrap();
        assert!(now_stored[0].private_pem.starts_with(SEALED));
        assert_eq!(
            sealer()
                .open(&now_stored[0].kid, &now_stored[0].private_pem)
                .unwrap(),
            pem
        );
    }

    #[tokio::test]
    async fn rotation_publishes_first_signs_later_and_retires_after_expiry() {
        let db = database().await;
        let policy = RotationPolicy {
            rotate_after: Duration::days(30),
            token_ttl: Duration::minutes(15),
        };
        let start = Utc::now() - Duration::days(31);
        create_key(&db, &sealer(), start).await.unwrap();
        let old = all_keys(&db).await.unwrap()[0].kid.clone();

        let now = Utc::now();
        rotate(&db, &sealer(), policy, now).await.unwrap();
        let set = load_set(&db, &sealer(), now).await.unwrap();
        assert_eq!(set.published.len(), 2, "the new key is published");
        assert_eq!(set.kid, old, "but the old one still signs");
        let new = set.published[0].kid.clone();

        let later = now + PUBLISH_AHEAD + Duration::seconds(1);
        rotate(&db, &sealer(), policy, later).await.unwrap();
        let set = load_set(&db, &sealer(), later).await.unwrap();
        assert_eq!(set.kid, new, "the new key signs once verifiers have it");
        assert_eq!(
            set.published.len(),
            2,
            "the old key verifies its unexpired tokens"
        );

        let expired = later + policy.token_ttl + Duration::minutes(6);
        rotate(&db, &sealer(), policy, expired).await.unwrap();
        let set = load_set(&db, &sealer(), expired).await.unwrap();
        assert_eq!(
            set.published
                .iter()
                .map(|k| k.kid.clone())
                .collect::<Vec<_>>(),
            vec![new]
        );
    }
}
