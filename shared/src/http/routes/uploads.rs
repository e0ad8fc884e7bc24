use http::StatusCode;
use lambda_http::{Request, RequestExt};

use super::super::{Ctx, Reply, input};
use crate::error::Result;
use crate::uploads;

pub async fn create(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let ticket = uploads::create(ctx.app, &user.id, input::json(req)?).await?;
    Reply::json(StatusCode::CREATED, &ticket)
}

pub async fn complete(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let id = input::path_param(req, "id")?;
    Reply::ok(&uploads::complete(ctx.app, &user, &id).await?)
}

pub async fn list(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let params = req.query_string_parameters_ref();
    let cursor = params.and_then(|p| p.first("cursor"));
    Reply::ok(&uploads::list(ctx.app, &user.id, cursor).await?)
}

pub async fn delete(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let id = input::path_param(req, "id")?;
    uploads::delete(ctx.app, &user.id, &id).await?;
    Ok(Reply::no_content())
}
