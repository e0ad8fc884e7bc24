//! Secrets read once per cold start from Secrets Manager, with the function
//! role's permission. A secret therefore never sits in a function's
//! configuration, where anyone with `lambda:GetFunctionConfiguration` could
//! read it, and a rotated secret takes effect on the next cold start without
//! a deploy. Errors name the secret and the failure, never the value.

use anyhow::Context;

/// The secret's string value, trimmed; `None` if no such secret exists.
pub async fn read(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> anyhow::Result<Option<String>> {
    let out = match client.get_secret_value().secret_id(name).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "{}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
            .with_context(|| format!("reading secret {name}"));
        }
    };
    let value = out
        .secret_string()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .with_context(|| format!("secret {name} has no string value"))?;
    Ok(Some(value.to_owned()))
}

/// The payment webhook's signing secret, for the webhook function alone
/// (only its role may read it). Until the secret is created, payments stay
/// off and every event is refused as not configured.
pub async fn resolve_webhook(
    config: &mut crate::config::Config,
    client: &aws_sdk_secretsmanager::Client,
) -> anyhow::Result<()> {
    if config.payment_webhook_secret.is_some() {
        return Ok(());
    }
    let Some(name) = config.payment_webhook_secret_name.clone() else {
        return Ok(());
    };
    config.payment_webhook_secret = read(client, &name).await?;
    if config.payment_webhook_secret.is_none() {
        tracing::warn!(secret = %name, "payment webhook secret not found; payments are off");
    }
    Ok(())
}
