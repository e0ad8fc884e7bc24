use lambda_http::Request;

use super::super::{Ctx, Reply, input};
use crate::billing::{self, records, webhook};
use crate::error::Result;

pub async fn checkout(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    Reply::ok(&billing::checkout(ctx.app, &principal, input::json(req)?).await?)
}

pub async fn portal(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    Reply::ok(&billing::portal(ctx.app, &principal).await?)
}

pub async fn subscription(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let current = billing::current_subscription(ctx.app, &principal.user.id).await?;
    Reply::ok(&serde_json::json!({ "subscription": current }))
}

pub async fn invoices(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let invoices = records::payments(ctx.app, &principal.user.id).await?;
    Reply::ok(&serde_json::json!({ "invoices": invoices }))
}

/// Signed by Stripe, not by a user: the raw body is what the signature
/// covers, so it is not parsed before verification.
pub async fn webhook(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > input::MAX_JSON_BYTES {
        return Err(crate::Error::PayloadTooLarge {
            limit_bytes: input::MAX_JSON_BYTES,
        });
    }
    let outcome = webhook::handle(ctx.app, input::header(req, "stripe-signature"), body).await?;
    let (status, credits) = match &outcome {
        webhook::Outcome::Granted { user_id, credits } => {
            ctx.attribute_to(user_id);
            ("granted", *credits)
        }
        webhook::Outcome::Recorded { user_id } => {
            ctx.attribute_to(user_id);
            ("recorded", 0)
        }
        webhook::Outcome::Duplicate => ("duplicate", 0),
        webhook::Outcome::Ignored(_) => ("ignored", 0),
    };
    Reply::ok(&serde_json::json!({ "received": true, "status": status, "credits": credits }))
}
