//! `glimvid-runner`: everything Glimvid needs, on one loopback port.
//!
//! Environment: `AWS_ENDPOINT_URL` (the emulator), `GLIMVID_BIND`
//! (default 127.0.0.1:3000), `GLIMVID_PREFIX` (default `glimvid-local`),
//! `GLIMVID_TEMPLATE` (default `infra/template.yaml`). Without
//! `STRIPE_API_BASE`, payments go to a local Stripe sandbox (no card is
//! charged) whose events reach the runner's webhook.

use anyhow::Context;
use glimvid_runner::{Options, start};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    glimvid::telemetry::init_text();
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut env_overrides = glimvid_runner::local_overrides(var);
    let sandbox = if env_overrides.contains_key("STRIPE_API_BASE") {
        None
    } else {
        let key = format!("sk_test_local_{}", uuid::Uuid::new_v4().simple());
        let sandbox = glimvid_runner::stripe_sandbox::Sandbox::start(&key).await?;
        for (k, v) in [
            ("STRIPE_API_BASE", sandbox.base_url()),
            ("STRIPE_API_KEY", key),
            (
                "PAYMENT_WEBHOOK_SECRET",
                format!("whsec_local_{}", uuid::Uuid::new_v4().simple()),
            ),
            ("PROVIDER_ALLOW_HTTP_LOOPBACK", "true".to_owned()),
        ] {
            env_overrides.entry(k.to_owned()).or_insert(v);
        }
        Some(sandbox)
    };
    let options = Options {
        template: var("GLIMVID_TEMPLATE").map_or_else(Options::repo_template, Into::into),
        bind: var("GLIMVID_BIND")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .context("GLIMVID_BIND must be host:port")?,
        prefix: var("GLIMVID_PREFIX").unwrap_or_else(|| "glimvid-local".into()),
        trust_forwarded_for: var("GLIMVID_TRUST_FORWARDED_FOR").is_some_and(|v| v == "1"),
        sweeper_every: Some(std::time::Duration::from_secs(
            var("GLIMVID_SWEEPER_INTERVAL_S")
                .and_then(|v| v.parse().ok())
                .unwrap_or(600),
        )),
        env_overrides,
        ..Options::default()
    };
    let secret = options.env_overrides.get("PAYMENT_WEBHOOK_SECRET").cloned();
    let running = start(options).await?;
    if let (Some(sandbox), Some(secret)) = (&sandbox, secret) {
        sandbox.deliver_to(&format!("{}/billing/webhook", running.base_url()), &secret);
        tracing::info!(url = %sandbox.base_url(), "payments go to the local Stripe sandbox");
    }
    running.wait().await;
    Ok(())
}
