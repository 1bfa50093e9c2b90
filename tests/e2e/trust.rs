//! Only the gateway may call a subgraph, and only the gateway says who the client is
//! (`echostream_service::trust`).

use echostream_service::token::Viewer;
use echostream_testkit::client::{data, error_code, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{signed_up, unique};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const REGISTER: &str = "mutation R($input: RegisterInput!) { register(input: $input) { id } }";

fn registration(name: &str) -> Value {
    json!({ "input": {
        "email": format!("{name}@example.com"), "username": name, "password": "correct horse battery",
    } })
}

/// What a subgraph answers a WebSocket handshake with `init` as its payload: the
/// close code, or `ack`.
async fn handshake(p: &Platform, name: &str, init: Value) -> String {
    let url = p.subgraph_url(name).replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": init });
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("an answer within 10 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "connection_ack" {
                    return "ack".into();
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return frame.map_or("no code".into(), |f| u16::from(f.code).to_string());
            }
            Some(Ok(_)) => {}
            other => return format!("{other:?}"),
        }
    }
}

async fn a_direct_unsigned_call_is_refused_in_the_services_profile(profile: Profile) {
    let p = crate::start(profile).await;
    for (name, _) in p.subgraph_ports.clone() {
        let direct = post(&p.subgraph_url(name), "{ __typename }", json!({}), None).await;
        let signed = p
            .post_as_gateway(name, "{ __typename }", json!({}), None)
            .await;
        assert_eq!(signed["data"]["__typename"], "Query", "{name}: {signed}");
        let forged = reqwest::Client::new()
            .post(p.subgraph_url(name))
            .header("x-echostream-signature", "t=1800000000,v1=00ff")
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        let forged_status = forged.status().as_u16();
        let forged: Value = forged.json().await.unwrap();
        let init_unsigned = handshake(&p, name, json!({})).await;
        let init_signed = handshake(
            &p,
            name,
            json!({ "x-echostream-signature": p.gateway_signature(name) }),
        )
        .await;
        assert_eq!(init_signed, "ack", "{name}");
        match profile {
            Profile::Services => {
                assert_eq!(error_code(&direct), "FORBIDDEN", "{name}: {direct}");
                assert!(
                    direct["errors"][0]["message"]
                        .as_str()
                        .unwrap()
                        .contains("only the gateway"),
                    "{direct}"
                );
                assert_eq!(
                    (forged_status, error_code(&forged).as_str()),
                    (403, "FORBIDDEN"),
                    "{name}: {forged}"
                );
                // async-graphql closes a refused handshake (1002), never acknowledges it.
                assert_ne!(init_unsigned, "ack", "{name}");
                assert!(
                    init_unsigned.parse::<u16>().is_ok(),
                    "{name}: {init_unsigned}"
                );
            }
            // Signatures are optional on one machine: unsigned calls pass (the
            // forwarded address still does not count, below).
            Profile::Embedded => {
                assert_eq!(direct["data"]["__typename"], "Query", "{name}: {direct}");
                assert_eq!(forged["data"]["__typename"], "Query", "{name}: {forged}");
                assert_eq!(init_unsigned, "ack", "{name}");
            }
        }
    }
    // Through the gateway, everything works as before.
    let body = post(&p.gateway, "{ __typename }", json!({}), None).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

/// The gateway verifies a token once and vouches for its viewer in its signature; a
/// subgraph takes that viewer without a token, but not once the session has ended or
/// the token has expired (a forged identity fails the MAC: `trust.rs`'s unit tests).
async fn a_subgraph_takes_the_viewer_the_gateway_vouches_for(profile: Profile) {
    let p = crate::start(profile).await;
    let ann = signed_up(&p, "ann").await;
    let bob = signed_up(&p, "bob").await;
    let me = "{ me { id } }";
    let vouched = p.post_vouched("auth", &ann.viewer(), me).await;
    assert_eq!(vouched["data"]["me"]["id"], ann.id.as_str(), "{vouched}");

    // Past the token's expiry (and its leeway): refused.
    let expired = Viewer {
        expires_at: chrono::Utc::now().timestamp() - 60,
        ..ann.viewer()
    };
    let late = p.post_vouched("auth", &expired, me).await;
    assert_eq!(error_code(&late), "UNAUTHENTICATED", "{late}");

    // Signed out: the vouched identity stops working at once.
    data(
        &p.gateway,
        "mutation { logout }",
        json!({}),
        Some(&bob.token),
    )
    .await;
    let ended = p.post_vouched("auth", &bob.viewer(), me).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED", "{ended}");
    assert!(
        ended["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ended"),
        "{ended}"
    );
}

async fn a_forged_forwarded_address_is_not_believed(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[("ECHOSTREAM_AUTH__REGISTRATIONS_PER_IP", "2")],
    )
    .await;
    // Signed as the gateway signs, with a forged address and no (or a wrong) MAC of
    // it: each counts against the caller's own address, which runs out after two.
    let attempt = |forged: &'static str, mac: Option<&'static str>| {
        let (url, signature) = (p.subgraph_url("auth"), p.gateway_signature("auth"));
        async move {
            let mut request = reqwest::Client::new()
                .post(url)
                .header("x-echostream-signature", signature)
                .header("x-forwarded-for", forged)
                .json(&json!({ "query": REGISTER, "variables": registration(&unique("f")) }));
            if let Some(mac) = mac {
                request = request.header("x-echostream-client-mac", mac);
            }
            request.send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert!(attempt("10.1.0.1", None).await["errors"].is_null());
    assert!(attempt("10.1.0.2", Some("00ff")).await["errors"].is_null());
    let third = attempt("10.1.0.3", None).await;
    assert_eq!(error_code(&third), "RATE_LIMITED", "{third}");
}

/// Behind a load balancer listed in `gateway.trusted_proxies`, the client is the
/// address the balancer forwards, so per-address limits count each client apart;
/// a client's own `X-Forwarded-For` hops before it are not believed.
async fn clients_behind_a_trusted_proxy_are_told_apart(profile: Profile) {
    let p = Platform::start_with(
        env!("CARGO_BIN_EXE_echostream"),
        profile,
        &[
            (
                "ECHOSTREAM_GATEWAY__TRUSTED_PROXIES",
                "127.0.0.1,10.0.0.0/8",
            ),
            ("ECHOSTREAM_AUTH__REGISTRATIONS_PER_IP", "1"),
        ],
    )
    .await;
    let register_via = |forwarded: &'static str| {
        let gateway = p.gateway.clone();
        async move {
            reqwest::Client::new()
                .post(gateway)
                .header("x-forwarded-for", forwarded)
                .json(&json!({ "query": REGISTER, "variables": registration(&unique("lb")) }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // Two clients behind the balancer (and one of its own hops): one sign-up each.
    assert!(register_via("198.51.100.1, 10.2.3.4").await["errors"].is_null());
    assert!(register_via("198.51.100.2").await["errors"].is_null());
    // The same client again is its own limit, whatever it claims before that.
    let again = register_via("203.0.113.66, 198.51.100.1").await;
    assert_eq!(error_code(&again), "RATE_LIMITED", "{again}");
    // Over a WebSocket, an operation counts against the address its upgrade request
    // came from, whatever the `connection_init` payload claims.
    let claim = "198.51.100.99";
    assert!(register_over_ws(&p, "198.51.100.3", claim).await["errors"].is_null());
    assert!(register_over_ws(&p, "198.51.100.4", claim).await["errors"].is_null());
    let again = register_over_ws(&p, "198.51.100.3", "198.51.100.5").await;
    assert_eq!(error_code(&again), "RATE_LIMITED", "{again}");
    let again = register_over_ws(&p, "198.51.100.1", claim).await;
    assert_eq!(error_code(&again), "RATE_LIMITED", "{again}");
}

/// The answer to `register` sent over a gateway WebSocket whose upgrade request the
/// balancer forwarded for `forwarded`, and whose `connection_init` payload claims the
/// address `claimed` (with a made-up MAC).
async fn register_over_ws(p: &Platform, forwarded: &str, claimed: &str) -> Value {
    let mut request = p
        .gateway
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    headers.insert("x-forwarded-for", forwarded.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": {
        "x-forwarded-for": claimed, "x-echostream-client-mac": "00ff",
    } });
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": REGISTER, "variables": registration(&unique("ws")),
    } });
    for message in [init, subscribe] {
        ws.send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("an answer within 10 s");
        let Some(Ok(Message::Text(text))) = frame else {
            panic!("the socket ended: {frame:?}");
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        match v["type"].as_str() {
            Some("next") => return v["payload"].clone(),
            Some("error") => return json!({ "errors": v["payload"] }),
            _ => {}
        }
    }
}

crate::on_both_profiles!(
    a_direct_unsigned_call_is_refused_in_the_services_profile,
    a_subgraph_takes_the_viewer_the_gateway_vouches_for,
    a_forged_forwarded_address_is_not_believed,
    clients_behind_a_trusted_proxy_are_told_apart,
);
