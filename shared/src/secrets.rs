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

/// Stripe's API key and webhook secret, each for the functions whose
/// environment names it (only their roles may read it). A missing secret
/// leaves payments off: checkout answers 503, and so does the webhook.
pub async fn resolve_payments(
    config: &mut crate::config::Config,
    client: &aws_sdk_secretsmanager::Client,
) -> anyhow::Result<()> {
    let payments = &mut config.payments;
    if payments.webhook_secret.is_none()
        && let Some(name) = payments.webhook_secret_name.clone()
    {
        payments.webhook_secret = read(client, &name).await?;
        if payments.webhook_secret.is_none() {
            tracing::warn!(secret = %name, "payment webhook secret not found; payments are off");
        }
    }
    if payments.api_key.is_empty()
        && let Some(name) = payments.api_key_name.clone()
    {
        match read(client, &name).await? {
            Some(key) => payments.api_key = crate::config::ApiKey::new(key),
            None => tracing::warn!(secret = %name, "Stripe API key not found; payments are off"),
        }
    }
    Ok(())
}
