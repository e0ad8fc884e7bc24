use lambda_http::{Request, RequestExt};

use super::super::{Ctx, Reply};
use crate::billing::catalog;
use crate::credits;
use crate::error::Result;

pub async fn statement(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let params = req.query_string_parameters_ref();
    let cursor = params.and_then(|p| p.first("cursor"));
    Reply::ok(&credits::statement(ctx.app, &user.id, cursor).await?)
}

/// What can be bought: packs once, plans monthly.
pub async fn packs(_ctx: &mut Ctx<'_>, _req: &Request) -> Result<Reply> {
    Reply::ok(&serde_json::json!({ "packs": catalog::PACKS, "plans": catalog::PLANS }))
}
