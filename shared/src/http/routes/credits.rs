use lambda_http::{Request, RequestExt};

use super::super::{Ctx, Reply, input};
use crate::credits::{self, packs, webhook};
use crate::error::Result;

pub async fn statement(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
    let principal = ctx.authenticate(req).await?;
    let params = req.query_string_parameters_ref();
    let cursor = params.and_then(|p| p.first("cursor"));
    Reply::ok(&credits::statement(ctx.app, &principal.user.id, cursor).await?)
}

pub async fn packs(_ctx: &mut Ctx<'_>, _req: &Request) -> Result<Reply> {
    Reply::ok(&serde_json::json!({ "packs": packs::PACKS }))
}

/// Signed by the payment provider, not by a user: the raw body is what the
/// signature covers, so it is not parsed before verification.
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
        webhook::Outcome::Duplicate => ("duplicate", 0),
        webhook::Outcome::Ignored(_) => ("ignored", 0),
    };
    Reply::ok(&serde_json::json!({ "received": true, "status": status, "credits": credits }))
}
