//! Password hashing with argon2id at OWASP parameters (19 MiB, t=2, p=1).
//!
//! Hashing costs tens of milliseconds of CPU, so it runs on the blocking pool behind
//! a semaphore sized to the cores: a burst of logins queues instead of starving the
//! async runtime that serves everyone else.

use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use echostream_service::Error;
use tokio::sync::Semaphore;

static PERMITS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores))
});

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let _permit = PERMITS
        .clone()
        .acquire_owned()
        .await
        .map_err(Error::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Error::internal)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, Error> {
    on_pool(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(e.to_string()))
    })
    .await?
}

/// Checks a password against a stored PHC string.
pub async fn verify(password: String, stored: String) -> Result<bool, Error> {
    // Accounts made through a provider have no password until one is set.
    if stored.is_empty() {
        return Ok(false);
    }
    on_pool(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| Error::internal(e.to_string()))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

/// A hash of a password nobody has, so unknown accounts cost as much as known ones.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(b"echostream-dummy").expect("salt");
    argon2()
        .hash_password(b"not a real password", &salt)
        .expect("hash")
        .to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse".into(), stored.clone())
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), stored).await.unwrap());
    }
}
