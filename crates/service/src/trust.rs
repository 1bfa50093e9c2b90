//! Only the gateway may call a subgraph, and only the gateway says who the client is.
//!
//! The gateway and the subgraphs share a secret (`gateway.subgraph_secret`). On every
//! request to a subgraph, over HTTP and in a WebSocket's `connection_init`, the gateway
//! sends `x-echostream-signature: t=<unix seconds>,v1=<hex HMAC-SHA256>,id=<identity>`
//! over `"v1:<t>:<subgraph>:<identity>"`, computed per request by a router header rule
//! (`gateway/src/router_config.rs`). A subgraph refuses a request without a valid,
//! fresh signature when `gateway.require_signature` holds (the services profile's
//! default): a direct caller cannot reach `_entities` past the gateway's limits.
//!
//! The identity is the client the gateway has verified: its token's user, session,
//! expiry and device (`<sub>.<sid>.<exp>.<base64url(did)>`), or empty when the request
//! carries no valid token. The MAC covers it, so a subgraph takes it as the viewer
//! instead of verifying the token a second time (one signature check per request, at
//! the gateway); it still refuses an expired identity and an ended session
//! ([`crate::token::TokenVerifier::vouched`]). A request without an identity (a
//! direct call in the embedded profile, or a token the gateway refused) has its token
//! verified here, so its caller hears why it was refused.
//!
//! The signature binds time and subgraph, not the body: a router header rule cannot
//! see the body, and the router (0.2.19) calls no plugin hook for the entity fetches
//! it makes while resolving subscription events (tried: they went out with the rule's
//! signature only). So someone who can read the traffic between gateway and
//! subgraphs could reuse a signature for five minutes; that network must stay private.
//!
//! The client's address travels in `X-Forwarded-For` with
//! `x-echostream-client-mac`, an HMAC of the address that only the gateway's own
//! plugin sets from the peer it sees (`gateway/src/client_ip.rs`). A subgraph believes
//! the address only on a signed request whose address MAC is right; otherwise the
//! address is the peer's. So neither a direct caller nor a WebSocket client (whose
//! headers come from its own `connection_init`) can pick the address its sign-in
//! attempts are counted against.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use echostream_config::signing;
use uuid::Uuid;

use crate::token::Viewer;

pub use echostream_config::parse_proxy;

/// The header carrying the gateway's request signature.
pub const SIGNATURE_HEADER: &str = "x-echostream-signature";
/// The header carrying the MAC of the client's address.
pub const CLIENT_MAC_HEADER: &str = "x-echostream-client-mac";
/// How far a signature's time may be from ours, either way.
pub const MAX_SKEW_SECS: i64 = 300;

/// Checks what arrives at a subgraph against the shared secret.
#[derive(Clone)]
pub struct GatewayTrust {
    secret: Vec<u8>,
    subgraph: &'static str,
    required: bool,
}

/// A request's origin and the client the gateway vouches for on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    pub origin: Origin,
    /// The viewer whose token the gateway verified, if any.
    pub vouched: Option<Viewer>,
}

/// What a subgraph knows of a request's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Signed by the gateway.
    Gateway,
    /// Not signed, and signatures are not required (embedded profile).
    Unsigned,
}

impl GatewayTrust {
    /// Trust for `subgraph`'s requests, signed with `secret`.
    pub fn new(secret: &str, subgraph: &'static str, required: bool) -> GatewayTrust {
        GatewayTrust {
            secret: secret.as_bytes().to_vec(),
            subgraph,
            required,
        }
    }

    /// The signature the gateway sends at time `t` for an anonymous client (for tests
    /// and tools).
    pub fn signature(&self, t: i64) -> String {
        signing::request_signature(&self.secret, self.subgraph, t, "")
    }

    /// The signature the gateway sends at time `t` for `viewer` (for tests and tools).
    pub fn signature_for(&self, viewer: &Viewer, t: i64) -> String {
        signing::request_signature(&self.secret, self.subgraph, t, &identity(viewer))
    }

    /// The MAC the gateway sends beside a client address (as `client_ip.rs` makes it).
    pub fn client_mac(&self, address: &str) -> String {
        signing::client_mac(&self.secret, address)
    }

    /// Where a request with this signature header comes from, at time `now`; an
    /// error says why it is refused.
    pub fn origin(&self, signature: Option<&str>, now: i64) -> Result<Origin, &'static str> {
        self.check(signature, now).map(|signed| signed.origin)
    }

    /// Where a request with this signature header comes from and whom the gateway
    /// vouches for, at time `now`; an error says why it is refused.
    pub fn check(&self, signature: Option<&str>, now: i64) -> Result<Signed, &'static str> {
        let unsigned = Signed {
            origin: Origin::Unsigned,
            vouched: None,
        };
        match signature.map(|value| self.verify(value, now)) {
            Some(Some(vouched)) => Ok(Signed {
                origin: Origin::Gateway,
                vouched,
            }),
            _ if !self.required => Ok(unsigned),
            Some(None) => Err("the gateway signature on this request is invalid or stale"),
            None => Err("only the gateway may call a subgraph: this request is not signed"),
        }
    }

    /// The identity a valid, fresh signature vouches for (`Some(None)`: no one), or
    /// `None` when the signature is not valid.
    fn verify(&self, value: &str, now: i64) -> Option<Option<Viewer>> {
        let mut t = None;
        let mut v1 = None;
        let mut id = "";
        for part in value.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => t = value.parse::<i64>().ok(),
                Some(("v1", value)) => v1 = Some(value),
                Some(("id", value)) => id = value,
                _ => {}
            }
        }
        let (t, v1) = (t?, v1?);
        if (now - t).abs() > MAX_SKEW_SECS {
            return None;
        }
        let expected = signing::mac(&self.secret, &format!("v1:{t}:{}:{id}", self.subgraph));
        if !constant_time_eq(expected.as_bytes(), v1.as_bytes()) {
            return None;
        }
        if id.is_empty() {
            return Some(None);
        }
        // Signed by the gateway, so well formed; anything else vouches for no one.
        Some(parse_identity(id))
    }

    /// The client's address: `forwarded` when the request is the gateway's and its
    /// MAC is right, else the peer's.
    pub fn client_address(
        &self,
        origin: Origin,
        forwarded: Option<&str>,
        mac: Option<&str>,
        peer: &str,
    ) -> String {
        match (origin, forwarded, mac) {
            (Origin::Gateway, Some(address), Some(mac))
                if constant_time_eq(self.client_mac(address).as_bytes(), mac.as_bytes()) =>
            {
                address.to_string()
            }
            _ => peer.to_string(),
        }
    }
}

/// `<sub>.<sid>.<exp>.<base64url(did)>`: the identity the gateway's header rule
/// writes for a verified token.
fn identity(viewer: &Viewer) -> String {
    format!(
        "{}.{}.{}.{}",
        viewer.user_id,
        viewer.session_id,
        viewer.expires_at,
        URL_SAFE_NO_PAD.encode(&viewer.device_id)
    )
}

fn parse_identity(id: &str) -> Option<Viewer> {
    let mut parts = id.split('.');
    let user_id = Uuid::parse_str(parts.next()?).ok()?;
    let session_id = Uuid::parse_str(parts.next()?).ok()?;
    let expires_at = parts.next()?.parse().ok()?;
    let device = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(Viewer {
        user_id,
        session_id,
        device_id: String::from_utf8(device).ok()?,
        expires_at,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        assert_eq!(
            parse_proxy("192.0.2.1").unwrap().to_string(),
            "192.0.2.1/32"
        );
        assert!(parse_proxy("10.0.0.0/8").is_some());
        assert!(parse_proxy("2001:db8::/32").is_some());
        assert!(parse_proxy("not an address").is_none());
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_fresh_signature_for_this_subgraph_passes_and_nothing_else_does() {
        let chat = GatewayTrust::new("s3cret", "chat", true);
        assert_eq!(
            chat.origin(Some(&chat.signature(NOW)), NOW),
            Ok(Origin::Gateway)
        );
        assert_eq!(
            chat.origin(Some(&chat.signature(NOW - 100)), NOW),
            Ok(Origin::Gateway)
        );
        assert!(chat.origin(Some(&chat.signature(NOW - 301)), NOW).is_err());
        assert!(chat.origin(None, NOW).is_err());
        assert!(chat.origin(Some("t=1,v1=00"), NOW).is_err());
        let auth = GatewayTrust::new("s3cret", "auth", true);
        assert!(chat.origin(Some(&auth.signature(NOW)), NOW).is_err());
        let other_secret = GatewayTrust::new("other", "chat", true);
        assert!(
            chat.origin(Some(&other_secret.signature(NOW)), NOW)
                .is_err()
        );
    }

    #[test]
    fn the_identity_a_signature_vouches_for_is_the_one_it_was_made_for() {
        let chat = GatewayTrust::new("s3cret", "chat", true);
        let ann = Viewer {
            user_id: Uuid::now_v7(),
            session_id: Uuid::now_v7(),
            device_id: "ann's phone, v2.1".into(),
            expires_at: NOW + 900,
        };
        let signed = chat
            .check(Some(&chat.signature_for(&ann, NOW)), NOW)
            .unwrap();
        assert_eq!(signed.origin, Origin::Gateway);
        assert_eq!(signed.vouched, Some(ann.clone()));
        assert_eq!(
            chat.check(Some(&chat.signature(NOW)), NOW).unwrap().vouched,
            None
        );
        // Another identity under the same MAC is refused.
        let bob = Viewer {
            user_id: Uuid::now_v7(),
            ..ann.clone()
        };
        let forged = chat
            .signature_for(&ann, NOW)
            .replace(&identity(&ann), &identity(&bob));
        assert!(chat.check(Some(&forged), NOW).is_err());
        // So is dropping the identity from a signature made with one.
        let stripped = chat.signature_for(&ann, NOW).replace(&identity(&ann), "");
        assert!(chat.check(Some(&stripped), NOW).is_err());
    }

    #[test]
    fn unsigned_requests_pass_only_where_signatures_are_optional() {
        let optional = GatewayTrust::new("s3cret", "auth", false);
        assert_eq!(optional.origin(None, NOW), Ok(Origin::Unsigned));
        assert_eq!(optional.origin(Some("forged"), NOW), Ok(Origin::Unsigned));
    }

    #[test]
    fn a_forwarded_address_counts_only_signed_and_with_its_mac() {
        let trust = GatewayTrust::new("s3cret", "auth", true);
        let mac = trust.client_mac("203.0.113.9");
        let seen = |origin, address, mac| trust.client_address(origin, address, mac, "10.0.0.1");
        assert_eq!(
            seen(Origin::Gateway, Some("203.0.113.9"), Some(mac.as_str())),
            "203.0.113.9"
        );
        assert_eq!(
            seen(Origin::Gateway, Some("198.51.100.7"), Some(mac.as_str())),
            "10.0.0.1"
        );
        assert_eq!(seen(Origin::Gateway, Some("203.0.113.9"), None), "10.0.0.1");
        assert_eq!(
            seen(Origin::Unsigned, Some("203.0.113.9"), Some(mac.as_str())),
            "10.0.0.1"
        );
    }
}
