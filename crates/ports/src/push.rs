//! The push port: Web Push in the services profile, a local outbox file otherwise.
//!
//! Web Push is what browsers (and the PWA shells of mobile apps) subscribe to: a
//! push service's `endpoint` and the subscription's keys (`p256dh`, `auth`). A push
//! is an HTTP POST to the endpoint (RFC 8030) with the payload encrypted for the
//! subscription (`aes128gcm`, RFC 8291) and signed for this server (VAPID, RFC 8292:
//! an ES256 token naming the endpoint's origin, with the public key the browser was
//! given as `applicationServerKey`). A `Topic` makes a later push replace an earlier
//! one of the same topic that the push service has not delivered yet: how a
//! notification read elsewhere is withdrawn. A push service answering 404 or 410
//! says the subscription is gone for good: its owner removes it.
//!
//! Native-app transports (FCM's and APNs' own APIs) are not here: neither has a
//! faithful local stand-in to test against.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::outbox_file::OutboxFile;

/// A browser's push subscription (the keys base64url, as `PushSubscription.toJSON()`
/// gives them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// How soon the push service should deliver (RFC 8030 `Urgency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Normal,
    High,
}

/// One push to one subscription.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    pub to: &'a Subscription,
    /// What the service worker receives (JSON, at most [`MAX_PAYLOAD`] bytes).
    pub payload: &'a [u8],
    /// Replaces an undelivered earlier push of the same topic (at most 32 URL-safe
    /// base64 characters).
    pub topic: Option<&'a str>,
    /// How long the push service may hold it for an offline device.
    pub ttl: Duration,
    pub urgency: Urgency,
}

/// The largest payload a push carries (push services accept 4096 bytes of record,
/// less the encryption's overhead).
pub const MAX_PAYLOAD: usize = 3800;

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The push service took it.
    Accepted,
    /// The subscription is gone for good (404, 410): remove it.
    Gone,
}

/// Failures of the push port.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The subscription cannot be pushed to (malformed, or an endpoint refused).
    #[error("{0}")]
    Subscription(String),
    /// The push service could not be reached or refused for now: retry later.
    #[error("push unavailable: {0}")]
    Unavailable(String),
}

impl From<PushError> for crate::Error {
    fn from(err: PushError) -> Self {
        match err {
            PushError::Subscription(why) => crate::Error::bad_input(why),
            other => crate::Error::internal(other),
        }
    }
}

/// Sends pushes.
#[async_trait]
pub trait Pusher: Send + Sync + 'static {
    /// Delivers `push` to its push service.
    async fn push(&self, push: &Push<'_>) -> Result<Outcome, PushError>;
}

/// The server's VAPID key pair (P-256), from its 32 secret bytes.
#[derive(Clone)]
pub struct VapidKey {
    secret: p256::SecretKey,
    /// PKCS#8 DER of the secret, as jsonwebtoken signs with it.
    der: Vec<u8>,
}

impl VapidKey {
    /// The key of `secret` (32 bytes: any value below the curve order; a stored
    /// random secret is one with overwhelming probability).
    pub fn from_secret(secret: &[u8]) -> Result<VapidKey, PushError> {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::from_slice(secret)
            .map_err(|_| PushError::Subscription("not a P-256 secret".into()))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| PushError::Unavailable(e.to_string()))?
            .as_bytes()
            .to_vec();
        Ok(VapidKey { secret, der })
    }

    /// The public key browsers subscribe with (`applicationServerKey`): the
    /// uncompressed point, base64url.
    pub fn public_key(&self) -> String {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = self.secret.public_key().to_encoded_point(false);
        URL_SAFE_NO_PAD.encode(point.as_bytes())
    }

    /// The `Authorization` header for a push to `endpoint` (RFC 8292): an ES256
    /// token for the endpoint's origin, valid 12 hours, naming `contact`.
    pub fn authorization(&self, endpoint: &str, contact: &str) -> Result<String, PushError> {
        let url = reqwest::Url::parse(endpoint)
            .map_err(|_| PushError::Subscription("the endpoint is not a URL".into()))?;
        let origin = url.origin().ascii_serialization();
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: u64,
            sub: &'a str,
        }
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + 12 * 3600;
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &Claims {
                aud: &origin,
                exp,
                sub: contact,
            },
            &jsonwebtoken::EncodingKey::from_ec_der(&self.der),
        )
        .map_err(|e| PushError::Unavailable(e.to_string()))?;
        Ok(format!("vapid t={token}, k={}", self.public_key()))
    }
}

/// Checks a subscription before it is stored: an `https` endpoint (or, when
/// `allow_loopback`, an `http` one on this machine, for tests and development) that
/// names no address on this machine or a private network, and keys of the right
/// sizes (a 65-byte P-256 point, a 16-byte secret). Names resolving to private
/// addresses are the push service's to refuse; literal ones are refused here.
pub fn validate(sub: &Subscription, allow_loopback: bool) -> Result<(), PushError> {
    let bad = |why: &str| Err(PushError::Subscription(why.to_string()));
    if sub.endpoint.len() > 1000 {
        return bad("endpoint is longer than 1000 characters");
    }
    let Ok(url) = reqwest::Url::parse(&sub.endpoint) else {
        return bad("endpoint is not a URL");
    };
    let host = url.host_str().unwrap_or_default();
    let address = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>();
    let local = match address {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || ip.is_unique_local()
        }
        Err(_) => host.is_empty() || host.eq_ignore_ascii_case("localhost"),
    };
    let loopback = matches!(host, "127.0.0.1" | "[::1]" | "localhost");
    match (url.scheme(), local) {
        ("https", false) => {}
        ("http" | "https", true) if allow_loopback && loopback => {}
        ("https", true) => return bad("endpoint must not name a local or private address"),
        _ => return bad("endpoint must be an https URL"),
    }
    let p256dh = URL_SAFE_NO_PAD
        .decode(sub.p256dh.trim_end_matches('='))
        .ok()
        .filter(|k| k.len() == 65 && p256::PublicKey::from_sec1_bytes(k).is_ok());
    if p256dh.is_none() {
        return bad("p256dh is not a P-256 public key");
    }
    let auth = URL_SAFE_NO_PAD.decode(sub.auth.trim_end_matches('='));
    if auth.map_or(true, |a| a.len() != 16) {
        return bad("auth is not a 16-byte secret");
    }
    Ok(())
}

/// Pushes over HTTP to the subscriptions' push services.
pub struct WebPusher {
    client: reqwest::Client,
    key: VapidKey,
    contact: String,
}

impl WebPusher {
    /// Pushes signed with `key`, naming `contact` (`mailto:` or `https:`) to push
    /// services.
    pub fn new(key: VapidKey, contact: String) -> WebPusher {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // An endpoint must not send the pusher elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a reqwest client builds");
        WebPusher {
            client,
            key,
            contact,
        }
    }
}

#[async_trait]
impl Pusher for WebPusher {
    async fn push(&self, push: &Push<'_>) -> Result<Outcome, PushError> {
        let bad = |why: &str| PushError::Subscription(why.to_string());
        let to = push.to;
        let p256dh = URL_SAFE_NO_PAD
            .decode(to.p256dh.trim_end_matches('='))
            .map_err(|_| bad("p256dh is not base64url"))?;
        let public = p256::PublicKey::from_sec1_bytes(&p256dh)
            .map_err(|_| bad("p256dh is not a P-256 public key"))?;
        let auth = URL_SAFE_NO_PAD
            .decode(to.auth.trim_end_matches('='))
            .ok()
            .filter(|a| a.len() == 16)
            .ok_or_else(|| bad("auth is not a 16-byte secret"))?;
        let uri = to
            .endpoint
            .parse()
            .map_err(|_| bad("the endpoint is not a URI"))?;
        let request = web_push_native::WebPushBuilder::new(
            uri,
            public,
            web_push_native::Auth::clone_from_slice(&auth),
        )
        .with_valid_duration(push.ttl)
        .build(push.payload.to_vec())
        .map_err(|e| PushError::Unavailable(e.to_string()))?;
        let mut request = reqwest::Request::try_from(request)
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        let headers = request.headers_mut();
        let authorization = self.key.authorization(&to.endpoint, &self.contact)?;
        for (name, value) in [
            ("authorization", Some(authorization)),
            ("topic", push.topic.map(str::to_string)),
            (
                "urgency",
                Some(
                    match push.urgency {
                        Urgency::Normal => "normal",
                        Urgency::High => "high",
                    }
                    .to_string(),
                ),
            ),
        ] {
            if let Some(value) = value {
                let value = value
                    .parse()
                    .map_err(|_| PushError::Unavailable(format!("bad {name} header")))?;
                headers.insert(name, value);
            }
        }
        let answer = self
            .client
            .execute(request)
            .await
            .map_err(|e| PushError::Unavailable(e.without_url().to_string()))?;
        match answer.status().as_u16() {
            200..=299 => Ok(Outcome::Accepted),
            404 | 410 => Ok(Outcome::Gone),
            // Too large, or refused as malformed: this push will never pass.
            400 | 413 => Err(PushError::Subscription(format!(
                "the push service refused the push ({})",
                answer.status()
            ))),
            _ => Err(PushError::Unavailable(format!(
                "the push service answered {}",
                answer.status()
            ))),
        }
    }
}

/// Appends every push, unencrypted, as one JSON line to `outbox.jsonl`: the
/// embedded profile's way to see what would have been pushed.
pub struct OutboxPusher(OutboxFile);

impl OutboxPusher {
    /// Writes into `dir/outbox.jsonl`.
    pub fn new(dir: PathBuf) -> OutboxPusher {
        OutboxPusher(OutboxFile::in_dir(dir))
    }
}

#[async_trait]
impl Pusher for OutboxPusher {
    async fn push(&self, push: &Push<'_>) -> Result<Outcome, PushError> {
        let payload: serde_json::Value = serde_json::from_slice(push.payload)
            .unwrap_or_else(|_| String::from_utf8_lossy(push.payload).into());
        let line = serde_json::json!({
            "endpoint": push.to.endpoint,
            "topic": push.topic,
            "ttlSecs": push.ttl.as_secs(),
            "urgency": push.urgency,
            "payload": payload,
        });
        self.0
            .append(&line)
            .await
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        tracing::info!(endpoint = %push.to.endpoint, outbox = %self.0.path().display(), "push written to the local outbox");
        Ok(Outcome::Accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(endpoint: &str) -> Subscription {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let browser = p256::SecretKey::from_slice(&[3; 32]).unwrap();
        Subscription {
            endpoint: endpoint.into(),
            p256dh: URL_SAFE_NO_PAD.encode(browser.public_key().to_encoded_point(false).as_bytes()),
            auth: URL_SAFE_NO_PAD.encode([9u8; 16]),
        }
    }

    #[test]
    fn only_public_https_endpoints_with_real_keys_are_taken() {
        let ok = subscription("https://push.example.com/send/abc");
        assert!(validate(&ok, false).is_ok());
        for endpoint in [
            "http://push.example.com/send/abc",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://localhost/x",
            "ftp://push.example.com/x",
            "not a url",
        ] {
            assert!(
                validate(&subscription(endpoint), false).is_err(),
                "{endpoint}"
            );
        }
        // Loopback over http only when allowed (tests, development).
        assert!(validate(&subscription("http://127.0.0.1:9/x"), true).is_ok());
        assert!(validate(&subscription("http://10.1.2.3:9/x"), true).is_err());
        let mut short = ok.clone();
        short.auth = URL_SAFE_NO_PAD.encode([1u8; 8]);
        assert!(validate(&short, false).is_err());
        let mut off_curve = ok;
        off_curve.p256dh = URL_SAFE_NO_PAD.encode([4u8; 65]);
        assert!(validate(&off_curve, false).is_err());
    }

    #[test]
    fn a_vapid_token_names_the_endpoints_origin_and_verifies_with_the_public_key() {
        let key = VapidKey::from_secret(&[7; 32]).unwrap();
        let header = key
            .authorization(
                "https://push.example.com/send/abc",
                "mailto:ops@example.com",
            )
            .unwrap();
        let (token, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(k, key.public_key());
        let point = URL_SAFE_NO_PAD.decode(k).unwrap();
        let (x, y) = (&point[1..33], &point[33..]);
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(x),
            &URL_SAFE_NO_PAD.encode(y),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["https://push.example.com"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "mailto:ops@example.com");
    }
}
