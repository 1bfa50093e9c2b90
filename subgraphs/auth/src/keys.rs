//! Access-token signing: Ed25519 keys kept in the auth schema and published as JWKS.
//!
//! A key is made on first start and shared by every auth instance through the
//! database. Old keys stay published (so tokens they signed verify until expiry);
//! rotation adds a newer key that signs from then on.

use base64::Engine;
use chrono::Utc;
use echostream_shared::Error;
use echostream_shared::config::AuthConfig;
use echostream_shared::token::Claims;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set};
use uuid::Uuid;

use crate::entities::signing_key;

/// The keys: the newest signs, all are published.
pub struct Keys {
    kid: String,
    encoding: EncodingKey,
    published: Vec<signing_key::Model>,
}

impl Keys {
    /// Loads the keys, making the first one when there is none.
    pub async fn load_or_create(db: &DatabaseConnection) -> Result<Keys, Error> {
        let mut all = signing_key::Entity::find()
            .order_by_desc(signing_key::Column::CreatedAt)
            .all(db)
            .await?;
        if all.is_empty() {
            let signing = SigningKey::generate(&mut rand::rngs::OsRng);
            let pem = signing
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| Error::internal(e.to_string()))?;
            let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(signing.verifying_key().as_bytes());
            let row = signing_key::ActiveModel {
                kid: Set(Uuid::now_v7().to_string()),
                private_pem: Set(pem.to_string()),
                public_x: Set(x),
                created_at: Set(Utc::now()),
            };
            // Another instance may have won the race: then read what it stored.
            if let Err(err) = row.insert(db).await {
                tracing::info!(%err, "signing key made elsewhere");
            }
            all = signing_key::Entity::find()
                .order_by_desc(signing_key::Column::CreatedAt)
                .all(db)
                .await?;
        }
        let newest = all
            .first()
            .ok_or_else(|| Error::internal("no signing key"))?;
        let encoding =
            EncodingKey::from_ed_pem(newest.private_pem.as_bytes()).map_err(Error::internal)?;
        Ok(Keys {
            kid: newest.kid.clone(),
            encoding,
            published: all,
        })
    }

    /// The JWKS document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
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
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(Error::internal)
    }
}
