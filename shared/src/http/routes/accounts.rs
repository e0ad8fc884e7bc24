use http::StatusCode;
use lambda_http::{Request, RequestExt};
use serde_json::json;

use super::super::{Ctx, Reply, input};
use crate::accounts;
use crate::error::Result;

pub async fn register(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let session = accounts::register(ctx.app, input::json(req)?, &ctx.meta.ip).await?;
    ctx.attribute_to(&session.user.id);
    Reply::json(StatusCode::CREATED, &session)
}

pub async fn login(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let session = accounts::login(ctx.app, input::json(req)?, &ctx.meta.ip).await?;
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

pub async fn verify_email(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let verified = accounts::verify_email(ctx.app, input::json(req)?, &ctx.meta.ip).await?;
    ctx.attribute_to(&verified.user.id);
    Reply::ok(&verified)
}

pub async fn resend_verification(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    accounts::resend_verification(ctx.app, &principal).await?;
    Reply::json(StatusCode::ACCEPTED, &json!({"status": "sent"}))
}

/// 202 with one body, whether or not the address has an account.
pub async fn password_reset(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    accounts::request_password_reset(ctx.app, input::json(req)?).await?;
    Reply::json(
        StatusCode::ACCEPTED,
        &json!({"status": "sent_if_registered"}),
    )
}

pub async fn password_reset_confirm(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    accounts::reset_password(ctx.app, input::json(req)?).await?;
    Ok(Reply::no_content())
}

pub async fn change_email(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let pending = accounts::request_email_change(ctx.app, &principal, input::json(req)?).await?;
    Reply::json(StatusCode::ACCEPTED, &pending)
}

pub async fn policy_ack(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    Reply::ok(&accounts::acknowledge_policy(ctx.app, &principal, input::json(req)?).await?)
}

pub async fn policy(ctx: &mut Ctx<'_>, _req: &Request) -> Result<Reply> {
    Reply::ok(&crate::policy::versions(ctx.app).await?)
}

/// A mail client's one-click POST (RFC 8058) carries the token in the URL
/// and `List-Unsubscribe=One-Click` as a form body; the web page posts JSON.
pub async fn unsubscribe(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let from_query = req
        .query_string_parameters_ref()
        .and_then(|p| p.first("token"))
        .map(str::to_owned);
    let token = match from_query {
        Some(token) => token,
        None => input::json::<accounts::TokenInput>(req)?.token,
    };
    Reply::ok(&accounts::unsubscribe(ctx.app, &token).await?)
}
