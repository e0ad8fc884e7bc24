//! The local HTTP front door: one axum router with every route from the
//! template, each handed to the same handler code the Lambda functions run.

use std::net::{IpAddr, SocketAddr};
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

use crate::gateway;
use crate::template::HttpRoute;

#[derive(Clone)]
struct Route {
    app: Arc<App>,
    endpoint: Endpoint,
    spec: Arc<HttpRoute>,
    trust_forwarded_for: bool,
}

pub fn router(app: Arc<App>, routes: Vec<HttpRoute>, trust_forwarded_for: bool) -> Result<Router> {
    let mut router = Router::new();
    for spec in routes {
        let Some(endpoint) = Endpoint::from_name(&spec.binary) else {
            // The template can run ahead of the code while a route is being
            // built; the route answers 404 until its endpoint exists
            // (template::tests::every_template_route_has_a_handler keeps the
            // two in step).
            tracing::warn!(
                function = %spec.function,
                binary = %spec.binary,
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
            app: app.clone(),
            endpoint,
            spec: Arc::new(spec),
            trust_forwarded_for,
        };
        router = router.route(
            &path,
            on(filter, move |peer, req| handle(route.clone(), peer, req)),
        );
    }
    Ok(router
        .method_not_allowed_fallback(|| async { into_axum(not_found(Error::MethodNotAllowed)) })
        .fallback(|| async { into_axum(not_found(Error::RouteNotFound)) }))
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
