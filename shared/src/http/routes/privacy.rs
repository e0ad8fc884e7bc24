use http::StatusCode;
use lambda_http::Request;

use super::super::{Ctx, Reply, input};
use crate::error::Result;
use crate::privacy;

pub async fn export(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    Reply::ok(&privacy::export(ctx.app, &principal).await?)
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
