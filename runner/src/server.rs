//! The local HTTP front door: one axum router with every route from the
//! template, each handed to the same handler code the Lambda functions run.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use glimvid::App;
use glimvid::error::Error;
use glimvid::http::{Endpoint, not_found, serve};
use lambda_http::Body as LambdaBody;

use crate::Function;
use crate::gateway;
use crate::template::HttpRoute;

#[derive(Clone)]
struct Route {
    app: Arc<App>,
    endpoint: Endpoint,
    spec: Arc<HttpRoute>,
    trust_forwarded_for: bool,
}

pub fn router(
    functions: &BTreeMap<String, Function>,
    routes: Vec<HttpRoute>,
    trust_forwarded_for: bool,
) -> Result<Router> {
    let mut router = Router::new();
    for spec in routes {
        let app = functions
            .get(&spec.function)
            .with_context(|| {
                format!(
                    "route {} {}: no function {}",
                    spec.method, spec.path, spec.function
                )
            })?
            .app
            .clone();
        let Some(endpoint) = Endpoint::from_name(&spec.handler) else {
            // The template can run ahead of the code while a route is being
            // built; the route answers 404 until its endpoint exists
            // (template::tests::every_template_route_has_a_handler keeps the
            // two in step).
            tracing::warn!(
                function = %spec.function,
                handler = %spec.handler,
                route = %format!("{} {}", spec.method, spec.path),
                "no handler in glimvid::http::Endpoint; route skipped"
            );
            continue;
        };
        let filter = MethodFilter::try_from(
            http::Method::from_bytes(spec.method.as_bytes())
                .with_context(|| format!("method {}", spec.method))?,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let path = spec.path.clone();
        let route = Route {
            app,
            endpoint,
            spec: Arc::new(spec),
            trust_forwarded_for,
        };
        router = router.route(
            &path,
            on(filter, move |peer, req| handle(route.clone(), peer, req)),
        );
    }
    if let Some(publish) = functions
        .values()
        .find(|f| f.spec.handler == glimvid::policy::PUBLISH_HANDLER)
    {
        let app = publish.app.clone();
        let id = publish.spec.logical_id.clone();
        router = router.route(
            "/2015-03-31/functions/{name}/invocations",
            axum::routing::post(
                move |axum::extract::Path(name): axum::extract::Path<String>,
                      body: axum::body::Bytes| {
                    invoke_publish(app.clone(), id.clone(), name, body)
                },
            ),
        );
    }
    Ok(router
        .method_not_allowed_fallback(|| async { into_axum(not_found(Error::MethodNotAllowed)) })
        .fallback(web_or_not_found))
}

/// Where the web app's files are: `GLIMVID_WEB_ROOT`, else the repository's `web/`.
fn web_root() -> PathBuf {
    std::env::var_os("GLIMVID_WEB_ROOT")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web"),
            PathBuf::from,
        )
}

/// A GET or HEAD for a file of the web app serves it (`/` is `index.html`;
/// the app routes with the URL's hash, so no rewrites are needed); anything
/// else answers as API Gateway would, a JSON 404.
async fn web_or_not_found(req: Request) -> Response {
    let head = req.method() == http::Method::HEAD;
    if (head || req.method() == http::Method::GET)
        && let Some(response) = web_file(&web_root(), req.uri().path(), head).await
    {
        return response;
    }
    into_axum(not_found(Error::RouteNotFound))
}

async fn web_file(root: &Path, path: &str, head: bool) -> Option<Response> {
    let relative = if path == "/" { "/index.html" } else { path };
    let mut file = root.to_path_buf();
    for segment in relative.strip_prefix('/')?.split('/') {
        // Plain names only: no traversal, no hidden files, no encodings.
        let plain = segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if segment.is_empty() || segment.starts_with('.') || !plain {
            return None;
        }
        file.push(segment);
    }
    let content_type = match file.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    };
    let bytes = tokio::fs::read(&file).await.ok()?;
    let length = bytes.len();
    let body = if head {
        AxumBody::empty()
    } else {
        AxumBody::from(bytes)
    };
    Response::builder()
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_LENGTH, length)
        .header(http::header::CACHE_CONTROL, "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .body(body)
        .ok()
}

fn client_ip(route: &Route, peer: SocketAddr, req: &Request) -> IpAddr {
    if route.trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

async fn handle(
    route: Route,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let ip = client_ip(&route, peer, &req);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, gateway::MAX_PAYLOAD_BYTES).await else {
        return into_axum(not_found(Error::PayloadTooLarge {
            limit_bytes: gateway::MAX_PAYLOAD_BYTES,
        }));
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = gateway::event(&route.spec, &parts, &bytes, ip, &request_id);
    let lambda_req = match lambda_http::request::from_str(&event.to_string()) {
        Ok(req) => req,
        Err(err) => {
            tracing::error!(error = %err, "could not build the API Gateway event");
            return into_axum(not_found(Error::internal("gateway event", err)));
        }
    };
    into_axum(serve(&route.app, route.endpoint, lambda_req).await)
}

fn into_axum(response: lambda_http::Response<LambdaBody>) -> Response {
    let (parts, body) = response.into_parts();
    let body = match body {
        LambdaBody::Empty => AxumBody::empty(),
        LambdaBody::Text(text) => AxumBody::from(text),
        LambdaBody::Binary(bytes) => AxumBody::from(bytes),
        _ => AxumBody::empty(),
    };
    Response::from_parts(parts, body)
}

/// Lambda's Invoke API for the operator's policy publish, which no route
/// serves (`scripts/publish-policy` calls it; `aws lambda invoke
/// --endpoint-url` works too). A refusal comes back as Lambda reports a
/// function error: 200 with `X-Amz-Function-Error` and the error as JSON.
/// Loopback only, like the rest of the runner; on AWS, IAM guards Invoke.
async fn invoke_publish(
    app: Arc<App>,
    logical_id: String,
    name: String,
    body: axum::body::Bytes,
) -> Response {
    let json = |status: u16| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
    };
    if name != logical_id && !name.ends_with(&format!("-{logical_id}")) {
        let body =
            serde_json::json!({"Type": "User", "message": format!("Function not found: {name}")});
        return json(404)
            .body(AxumBody::from(body.to_string()))
            .unwrap_or_default();
    }
    let event = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    match glimvid::policy::publish_event(&app, event).await {
        Ok(version) => {
            let body = serde_json::to_string(&version).unwrap_or_default();
            json(200).body(AxumBody::from(body)).unwrap_or_default()
        }
        Err(err) => {
            let body = serde_json::json!({"errorType": "Error", "errorMessage": err.to_string()});
            json(200)
                .header("x-amz-function-error", "Unhandled")
                .body(AxumBody::from(body.to_string()))
                .unwrap_or_default()
        }
    }
}
