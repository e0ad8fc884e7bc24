use http::StatusCode;
use lambda_http::Request;

use super::super::{Ctx, Reply, input};
use crate::error::Result;
use crate::privacy;

/// 202: the export is being written; its status route gives the link.
pub async fn start_export(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let export = privacy::export::start(ctx.app, &principal.user).await?;
    Reply::json(StatusCode::ACCEPTED, &export)
}

pub async fn list_exports(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let items = privacy::export::list(ctx.app, &principal.user.id).await?;
    Reply::ok(&serde_json::json!({ "items": items }))
}

pub async fn get_export(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let id = input::path_param(req, "id")?;
    Reply::ok(&privacy::export::get(ctx.app, &principal.user.id, &id).await?)
}

/// 202: sessions are revoked now; the content is purged by the sweeper.
pub async fn delete_account(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    privacy::request_deletion(ctx.app, &principal, input::json(req)?).await?;
    Reply::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({"status": "deleting", "message": "signed out everywhere; all your data is being deleted"}),
    )
}
