use http::StatusCode;
use lambda_http::Request;

use super::super::{Ctx, Reply, input};
use crate::accounts;
use crate::error::Result;

pub async fn register(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let session = accounts::register(ctx.app, input::json(req)?, &ctx.meta.ip).await?;
    ctx.attribute_to(&session.user.id);
    Reply::json(StatusCode::CREATED, &session)
}

pub async fn login(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let session = accounts::login(ctx.app, input::json(req)?).await?;
    ctx.attribute_to(&session.user.id);
    Reply::ok(&session)
}

pub async fn logout(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    accounts::logout(ctx.app, &principal).await?;
    Ok(Reply::no_content())
}

pub async fn me(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    Reply::ok(&accounts::UserView::from(&principal.user))
}

pub async fn update_me(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let view = accounts::update_profile(ctx.app, &principal, input::json(req)?).await?;
    Reply::ok(&view)
}

pub async fn change_password(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    accounts::change_password(ctx.app, &principal, input::json(req)?).await?;
    Ok(Reply::no_content())
}
