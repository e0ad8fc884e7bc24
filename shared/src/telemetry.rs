//! Structured logging. JSON on Lambda (CloudWatch parses it), compact text
//! for people running the local runner. Level from `RUST_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(false)
        .with_target(false)
        .without_time() // Lambda stamps every line itself.
        .try_init();
}

pub fn init_text() {
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter())
        .with_target(false)
        .try_init();
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_dynamodb=warn")
    })
}
