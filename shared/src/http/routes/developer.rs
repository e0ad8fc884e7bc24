//! What a shop's own systems build on: the API's description, personal API
//! keys and completion webhooks.

use std::sync::OnceLock;

use http::StatusCode;
use lambda_http::Request;

use super::super::{Ctx, Reply, input};
use crate::accounts::api_keys;
use crate::error::{Error, Result};
use crate::webhooks;

/// `infra/openapi.yaml` as JSON, converted when the library is built.
const SPEC: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

pub async fn openapi(_ctx: &mut Ctx<'_>, _req: &Request) -> Result<Reply> {
    static PARSED: OnceLock<serde_json::Value> = OnceLock::new();
    let spec = match PARSED.get() {
        Some(spec) => spec,
        None => {
            let spec = serde_json::from_str(SPEC).map_err(|e| Error::internal("openapi", e))?;
            PARSED.get_or_init(|| spec)
        }
    };
    Reply::ok(spec)
}

/// Keys are managed with a session only: a key cannot mint or revoke keys.
pub async fn create_key(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let created = api_keys::create(ctx.app, &principal.user, input::json(req)?).await?;
    Reply::json(StatusCode::CREATED, &created)
}

pub async fn list_keys(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let items = api_keys::list(ctx.app, &principal.user.id).await?;
    Reply::ok(&serde_json::json!({ "items": items }))
}

pub async fn delete_key(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    api_keys::revoke(ctx.app, &principal.user.id, &input::path_param(req, "id")?).await?;
    Ok(Reply::no_content())
}

pub async fn create_webhook(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let created = webhooks::create(ctx.app, &user, input::json(req)?).await?;
    Reply::json(StatusCode::CREATED, &created)
}

pub async fn list_webhooks(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let items = webhooks::list(ctx.app, &user.id).await?;
    Reply::ok(&serde_json::json!({ "items": items }))
}

pub async fn delete_webhook(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    webhooks::delete(ctx.app, &user.id, &input::path_param(req, "id")?).await?;
    Ok(Reply::no_content())
}

pub async fn webhook_deliveries(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let id = input::path_param(req, "id")?;
    let items = webhooks::deliveries(ctx.app, &user.id, &id).await?;
    Reply::ok(&serde_json::json!({ "items": items }))
}
