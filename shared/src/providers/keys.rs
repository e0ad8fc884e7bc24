//! API keys at cold start. Locally they come from the environment
//! (`DEEPSEEK_API_KEY`, `ARK_API_KEY`). On Lambda the template passes only
//! the names of Secrets Manager secrets (`*_API_KEY_SECRET`), read here
//! through `crate::secrets`.

use anyhow::Context;

use crate::config::{ApiKey, Config, Endpoint, ProviderKind};

/// Fills in the keys of the providers in use whose key is named by a
/// secret rather than given directly.
pub async fn resolve(config: &mut Config, sdk: &aws_config::SdkConfig) -> anyhow::Result<()> {
    let p = &config.providers;
    let need_deepseek = p.script == ProviderKind::DeepSeek;
    let need_ark = p.image == ProviderKind::Ark || p.video == ProviderKind::Ark;
    if !(need_deepseek || need_ark) {
        return Ok(());
    }
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    if need_deepseek {
        fill(&client, &mut config.providers.deepseek, "DeepSeek").await?;
    }
    if need_ark {
        fill(&client, &mut config.providers.ark, "Ark").await?;
    }
    Ok(())
}

async fn fill(
    client: &aws_sdk_secretsmanager::Client,
    endpoint: &mut Endpoint,
    provider: &str,
) -> anyhow::Result<()> {
    if !endpoint.key.is_empty() {
        return Ok(());
    }
    let Some(name) = endpoint.key_secret.clone() else {
        return Ok(());
    };
    let value = crate::secrets::read(client, &name)
        .await?
        .with_context(|| format!("the {provider} API key's secret {name} does not exist"))?;
    endpoint.key = ApiKey::new(key_from_secret(&value));
    Ok(())
}

/// A secret holds the bare key, or JSON with an `api_key` field (the
/// console's key/value form).
fn key_from_secret(value: &str) -> String {
    serde_json::from_str::<serde_json::Value>(value)
        .ok()
        .and_then(|v| v.get("api_key").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_may_be_bare_or_json() {
        assert_eq!(key_from_secret("sk-abc"), "sk-abc");
        assert_eq!(key_from_secret(r#"{"api_key":"sk-abc"}"#), "sk-abc");
    }
}
