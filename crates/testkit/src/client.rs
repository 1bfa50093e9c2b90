//! Talking to the gateway as clients do: GraphQL over HTTP, and graphql-transport-ws
//! over WebSocket.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

thread_local! {
    /// A connection pool per thread, as a real client keeps its connections. Per
    /// thread, not per process: pooled connections belong to the tokio runtime that
    /// opened them, and tests run one runtime each.
    static HTTP: reqwest::Client = reqwest::Client::new();
}

/// Posts an operation; returns the whole response body.
pub async fn post(url: &str, query: &str, variables: Value, token: Option<&str>) -> Value {
    post_with_headers(url, query, variables, token, &[]).await
}

/// Posts an operation with extra request headers; returns the whole response body.
pub async fn post_with_headers(
    url: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Value {
    match send(url, query, variables, token, headers).await {
        Ok(body) => body,
        Err(err) => panic!("{err}"),
    }
}

/// Posts an operation; `Err` when no answer came (the gateway unreachable, or gone
/// mid-request), for tests that kill processes under traffic.
pub async fn try_post(
    url: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> Result<Value, String> {
    send(url, query, variables, token, &[]).await
}

async fn send(
    url: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<Value, String> {
    let mut request = HTTP
        .with(reqwest::Client::clone)
        .post(url)
        .header(
            "accept",
            "application/graphql-response+json, application/json",
        )
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .map_err(|err| format!("gateway unreachable: {err}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| format!("no response body: {err}"))?;
    serde_json::from_str(&text).map_err(|_| format!("non-JSON response ({status}): {text}"))
}

/// Posts an operation that must succeed; returns `data`.
pub async fn data(url: &str, query: &str, variables: Value, token: Option<&str>) -> Value {
    let body = post(url, query, variables, token).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a coded error, got {body}"))
        .to_string()
}

/// Retries `probe` until it yields a value or `timeout` passes: for projections that
/// follow events.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The upgrade request of a graphql-transport-ws WebSocket to `url` (an
/// `http://…/graphql` URL).
fn ws_request(
    url: &str,
) -> Result<
    tokio_tungstenite::tungstenite::handshake::client::Request,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut request = url.replacen("http", "ws", 1).into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header value"),
    );
    Ok(request)
}

/// Opens a graphql-transport-ws WebSocket to `url` (an `http://…/graphql` URL).
pub async fn connect_ws(url: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    Ok(tokio_tungstenite::connect_async(ws_request(url)?).await?.0)
}

/// Opens a graphql-transport-ws WebSocket to `url` whose kernel receive buffer is
/// about `bytes` (Linux doubles it and keeps a floor): a client that stops reading
/// fills it, and the server's buffers behind it, after a few events.
pub async fn connect_ws_small(
    url: &str,
    bytes: u32,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let request = ws_request(url)?;
    let uri = request.uri().clone();
    let address = format!(
        "{}:{}",
        uri.host().unwrap_or("127.0.0.1"),
        uri.port_u16().unwrap_or(80)
    );
    let address: std::net::SocketAddr = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(bytes)?;
    let stream = socket.connect(address).await?;
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    Ok(tokio_tungstenite::client_async(request, stream).await?.0)
}

/// What a subscription's socket gave next.
#[derive(Debug)]
pub enum Received {
    /// A `next`, `error` or `complete` message, whole.
    Message(Value),
    /// The server closed the connection (with this close code, if it sent one).
    Closed(Option<u16>),
    /// Nothing within the time allowed.
    Silent,
}

/// One graphql-transport-ws connection with one subscription.
pub struct Subscription {
    socket: Socket,
}

impl Subscription {
    /// Connects, initialises with the token, and subscribes to `query`.
    pub async fn start(url: &str, query: &str, variables: Value, token: &str) -> Subscription {
        let socket = connect_ws(url).await.expect("ws connect");
        Subscription::start_on(socket, query, variables, token).await
    }

    /// Initialises `socket` with the token and subscribes to `query` on it.
    pub async fn start_on(
        mut socket: Socket,
        query: &str,
        variables: Value,
        token: &str,
    ) -> Subscription {
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        socket
            .send(Message::Text(init.to_string().into()))
            .await
            .unwrap();
        let ack = next_json(&mut socket, Duration::from_secs(10))
            .await
            .expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let mut subscription = Subscription { socket };
        subscription.subscribe("1", query, variables).await;
        subscription
    }

    /// Starts another subscription, `id`, on this connection.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let subscribe = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
        self.socket
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .unwrap();
    }

    /// The next `next` payload, or None if nothing came within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        let message = self.message(timeout).await?;
        match message["type"].as_str() {
            Some("next") => Some(message["payload"].clone()),
            _ => panic!("subscription ended: {message}"),
        }
    }

    /// The next `next`, `error` or `complete` message whole (pings are answered), or
    /// None if nothing came within `timeout` or the socket closed.
    pub async fn message(&mut self, timeout: Duration) -> Option<Value> {
        match self.receive(timeout).await {
            Received::Message(message) => Some(message),
            Received::Closed(_) | Received::Silent => None,
        }
    }

    /// The next `next`, `error` or `complete` message, the server's close frame (with
    /// its code), or silence for `timeout`.
    pub async fn receive(&mut self, timeout: Duration) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Received::Silent;
            };
            let frame = match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => return Received::Silent,
                Ok(None | Some(Err(_))) => return Received::Closed(None),
                Ok(Some(Ok(frame))) => frame,
            };
            let message: Value = match frame {
                Message::Text(text) => serde_json::from_str(&text).unwrap_or_default(),
                Message::Close(close) => return Received::Closed(close.map(|c| u16::from(c.code))),
                _ => continue,
            };
            match message["type"].as_str() {
                Some("next" | "error" | "complete") => return Received::Message(message),
                Some("ping") => {
                    let pong = json!({ "type": "pong" }).to_string();
                    if self.socket.send(Message::Text(pong.into())).await.is_err() {
                        return Received::Closed(None);
                    }
                }
                _ => {}
            }
        }
    }

    /// Closes the connection with `code` and returns the code of the server's
    /// answering close frame; `None` when the server hung up without one.
    pub async fn close_with(mut self, code: u16) -> Option<u16> {
        use tokio_tungstenite::tungstenite::protocol::CloseFrame;
        let frame = CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        self.socket.send(Message::Close(Some(frame))).await.ok()?;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.socket.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    /// The `extensions.code` the subscription was refused with (an `error` message,
    /// or a `next` carrying only errors); panics if it yields data or nothing comes.
    pub async fn error(&mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("a refusal in time");
            let message = next_json(&mut self.socket, left)
                .await
                .expect("a refusal, not a closed socket");
            let code = match message["type"].as_str() {
                Some("error") => message["payload"][0]["extensions"]["code"].as_str(),
                Some("next") => {
                    assert!(
                        message["payload"]["data"].is_null(),
                        "expected a refusal, got data: {message}"
                    );
                    message["payload"]["errors"][0]["extensions"]["code"].as_str()
                }
                _ => continue,
            };
            return code
                .unwrap_or_else(|| panic!("an uncoded refusal: {message}"))
                .to_string();
        }
    }

    /// Closes the connection as a client going away does.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

async fn next_json(socket: &mut Socket, timeout: Duration) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(timeout, socket.next())
            .await
            .ok()??
            .ok()?;
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// The sum of the samples of Prometheus metric `name` whose labels contain every
/// one of `labels` (`key="value"` pairs).
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|l| rest.contains(l)))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}
