//! `glimvid-runner`: everything Glimvid needs, on one loopback port.
//!
//! Environment: `AWS_ENDPOINT_URL` (the emulator), `GLIMVID_BIND`
//! (default 127.0.0.1:3000), `GLIMVID_PREFIX` (default `glimvid-local`),
//! `GLIMVID_TEMPLATE` (default `infra/template.yaml`).

use anyhow::Context;
use glimvid_runner::{Options, start};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    glimvid::telemetry::init_text();
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
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
        env_overrides: glimvid_runner::local_overrides(var),
        ..Options::default()
    };
    start(options).await?.wait().await;
    Ok(())
}
