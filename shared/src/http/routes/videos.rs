use http::StatusCode;
use lambda_http::{Request, RequestExt};

use super::super::{Ctx, Reply, input};
use crate::error::Result;
use crate::jobs;

pub async fn create(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let job = jobs::create(ctx.app, &user.id, input::json(req)?).await?;
    Reply::json(StatusCode::ACCEPTED, &jobs::view(ctx.app, &job).await?)
}

pub async fn get(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let job = jobs::get(ctx.app, &user.id, &input::path_param(req, "id")?).await?;
    Reply::ok(&jobs::view(ctx.app, &job).await?)
}

pub async fn list(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let params = req.query_string_parameters_ref();
    let cursor = params.and_then(|p| p.first("cursor"));
    Reply::ok(&jobs::list(ctx.app, &user.id, cursor).await?)
}

pub async fn cancel(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    let job = jobs::cancel(ctx.app, &user.id, &input::path_param(req, "id")?).await?;
    Reply::ok(&jobs::view(ctx.app, &job).await?)
}

pub async fn delete(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let user = ctx.authenticate_or_key(req).await?;
    jobs::delete(ctx.app, &user.id, &input::path_param(req, "id")?).await?;
    Ok(Reply::no_content())
}

/// The public link: no login, just the unguessable id.
pub async fn public(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let url = jobs::public_video_url(ctx.app, &input::path_param(req, "public_id")?).await?;
    Ok(Reply::redirect(url))
}
