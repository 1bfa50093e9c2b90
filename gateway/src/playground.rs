//! The gateway's pages: the playground (GraphiQL, from `playground/`, built into the
//! binary) at `GET /`, its vendored assets at `GET /playground/<file>`, and a plain
//! 404 for every path the gateway does not serve.
//!
//! Everything the page loads comes from here: it works on a machine without internet
//! (`playground/README.md` says where the assets come from and how to update them).
//! A browser opening `GET /graphql` is sent to the playground instead of the router's
//! own IDE, which loads its scripts from a CDN.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hive_router::http::Method;
use hive_router::ntex::http::{Response, StatusCode, header};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};
use serde::Deserialize;

/// Where the assets are served from.
const ASSETS_PREFIX: &str = "/playground/";

/// The plugin's configuration.
#[derive(Deserialize)]
pub struct PlaygroundConfig {
    /// A playground directory (`index.html` and `assets/`) to serve instead of the
    /// one built in.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Paths the router or another plugin answers (`/graphql`, `/health`, …); any
    /// other path is a 404. Each covers what lies below it (`/graphql/…`).
    pub served: Vec<String>,
}

/// One file, held in memory.
struct Asset {
    content_type: &'static str,
    body: hive_router::ntex::util::Bytes,
}

/// The playground plugin: the page and its assets, read once at start.
pub struct Playground {
    page: Asset,
    assets: HashMap<String, Asset>,
    served: Vec<String>,
}

fn content_type(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "html" => Some("text/html; charset=utf-8"),
        "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        _ => None,
    }
}

fn read(path: &Path) -> Result<Asset, String> {
    let body = std::fs::read(path).map_err(|e| format!("playground {}: {e}", path.display()))?;
    Ok(Asset {
        content_type: content_type(path).unwrap_or("application/octet-stream"),
        body: body.into(),
    })
}

/// The playground built into the binary: `playground/` as it was built.
const BUILT_IN_PAGE: &[u8] = include_bytes!("../../playground/index.html");
const BUILT_IN_ASSETS: [(&str, &[u8]); 4] = [
    (
        "graphiql.min.css",
        include_bytes!("../../playground/assets/graphiql.min.css"),
    ),
    (
        "graphiql.min.js",
        include_bytes!("../../playground/assets/graphiql.min.js"),
    ),
    (
        "react.production.min.js",
        include_bytes!("../../playground/assets/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        include_bytes!("../../playground/assets/react-dom.production.min.js"),
    ),
];

fn built_in(name: &str, body: &'static [u8]) -> Asset {
    Asset {
        content_type: content_type(Path::new(name)).unwrap_or("application/octet-stream"),
        body: hive_router::ntex::util::Bytes::from_static(body),
    }
}

impl Playground {
    fn load(config: PlaygroundConfig) -> Result<Self, String> {
        let Some(dir) = config.dir else {
            return Ok(Playground {
                page: built_in("index.html", BUILT_IN_PAGE),
                assets: BUILT_IN_ASSETS
                    .iter()
                    .map(|(name, body)| (name.to_string(), built_in(name, body)))
                    .collect(),
                served: config.served,
            });
        };
        // An older configuration named the page itself.
        let dir = if dir.extension().is_some() {
            dir.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            dir
        };
        let page = read(&dir.join("index.html"))?;
        let mut assets = HashMap::new();
        let listing = std::fs::read_dir(dir.join("assets"))
            .map_err(|e| format!("playground assets in {}: {e}", dir.display()))?;
        for entry in listing {
            let path = entry.map_err(|e| e.to_string())?.path();
            if content_type(&path).is_some()
                && let Some(name) = path.file_name().and_then(|n| n.to_str())
            {
                assets.insert(name.to_string(), read(&path)?);
            }
        }
        Ok(Playground {
            page,
            assets,
            served: config.served,
        })
    }

    fn is_served_elsewhere(&self, path: &str) -> bool {
        self.served.iter().any(|p| {
            path == p
                || path
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// The answer this plugin gives to a request, or `None` to let it through.
    fn answer(
        &self,
        method: &Method,
        path: &str,
        wants_html: bool,
        has_query: bool,
    ) -> Option<Response> {
        let reading = method == Method::GET || method == Method::HEAD;
        if reading && path == "/" {
            return Some(file_response(&self.page, "no-cache"));
        }
        if reading && let Some(name) = path.strip_prefix(ASSETS_PREFIX) {
            return Some(match self.assets.get(name) {
                Some(asset) => file_response(asset, "public, max-age=3600"),
                None => not_found(),
            });
        }
        if method == Method::GET && path == "/graphql" && wants_html && !has_query {
            return Some(
                Response::build(StatusCode::FOUND)
                    .header(header::LOCATION, "/")
                    .finish(),
            );
        }
        if !self.is_served_elsewhere(path) {
            return Some(not_found());
        }
        None
    }
}

fn file_response(asset: &Asset, cache: &'static str) -> Response {
    Response::Ok()
        .content_type(asset.content_type)
        .header(header::CACHE_CONTROL, cache)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(asset.body.clone())
}

fn not_found() -> Response {
    Response::build(StatusCode::NOT_FOUND)
        .content_type("text/plain; charset=utf-8")
        .body("Not found. The GraphQL endpoint is /graphql; the playground is at /.\n")
}

impl RouterPlugin for Playground {
    type Config = PlaygroundConfig;

    fn plugin_name() -> &'static str {
        "echostream_playground"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let playground = Playground::load(payload.config()?)?;
        payload.initialize_plugin(playground)
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        Box::pin(async move {
            let request = &payload.router_http_request;
            let wants_html = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
                && !request.headers().contains_key(header::UPGRADE);
            let has_query = request.uri().query().is_some_and(|q| !q.is_empty());
            match self.answer(request.method(), request.path(), wants_html, has_query) {
                Some(response) => payload.end_with_response(response),
                None => payload.proceed(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playground() -> Playground {
        let page = |body: &str| Asset {
            content_type: "text/html; charset=utf-8",
            body: body.to_string().into_bytes().into(),
        };
        Playground {
            page: page("page"),
            assets: HashMap::from([("app.js".to_string(), page("js"))]),
            served: vec!["/graphql".into(), "/health".into(), "/ready".into()],
        }
    }

    #[test]
    fn the_built_in_playground_is_the_directory_as_committed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../playground");
        let built_in = Playground::load(PlaygroundConfig {
            dir: None,
            served: Vec::new(),
        })
        .unwrap();
        let on_disk = Playground::load(PlaygroundConfig {
            dir: Some(dir),
            served: Vec::new(),
        })
        .unwrap();
        assert_eq!(built_in.page.body, on_disk.page.body);
        let mut names: Vec<&String> = built_in.assets.keys().collect();
        names.sort();
        let mut expected: Vec<&String> = on_disk.assets.keys().collect();
        expected.sort();
        assert_eq!(
            names, expected,
            "every asset of playground/assets, built in"
        );
        for (name, asset) in &built_in.assets {
            assert_eq!(asset.body, on_disk.assets[name].body, "{name}");
            assert_eq!(asset.content_type, on_disk.assets[name].content_type);
            let page = String::from_utf8_lossy(&built_in.page.body);
            assert!(
                page.contains(&format!("/playground/{name}")),
                "the page loads {name}"
            );
        }
    }

    #[test]
    fn paths_are_the_page_an_asset_the_routers_or_not_found() {
        let p = playground();
        let status = |m: Method, path: &str| p.answer(&m, path, false, false).map(|r| r.status());
        assert_eq!(status(Method::GET, "/"), Some(StatusCode::OK));
        assert_eq!(
            status(Method::GET, "/playground/app.js"),
            Some(StatusCode::OK)
        );
        assert_eq!(
            status(Method::GET, "/playground/nope.js"),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            status(Method::GET, "/wp-admin"),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(status(Method::GET, "/healthz"), Some(StatusCode::NOT_FOUND));
        assert_eq!(
            status(Method::GET, "/graphqlx"),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(status(Method::POST, "/graphql"), None);
        assert_eq!(status(Method::GET, "/graphql/sha256:abc"), None);
        assert_eq!(status(Method::GET, "/health"), None);
        assert_eq!(status(Method::GET, "/ready"), None);
    }

    #[test]
    fn a_browser_opening_the_endpoint_is_sent_to_the_playground() {
        let p = playground();
        let r = p.answer(&Method::GET, "/graphql", true, false).unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers().get(header::LOCATION).unwrap(), "/");
        // A GET query from a browser still runs.
        assert!(p.answer(&Method::GET, "/graphql", true, true).is_none());
    }
}
