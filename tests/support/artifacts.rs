//! The built artifacts (`cargo lambda build`, as `./scripts/test` does),
//! each booted as Lambda runs it: its own process under a Runtime API on
//! loopback, with exactly the environment the template gives its function
//! and its role's temporary credentials, against the emulator.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness;
use crate::runtime_api::{Boot, Sandbox};

/// Lambda gives a runtime 10 s to reach its first `/next`.
pub const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Where `cargo lambda build` put the bootstraps (`<binary>/bootstrap`).
pub fn dir() -> PathBuf {
    let dir = std::env::var_os("GLIMVID_LAMBDA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("GLIMVID_LAMBDA_DIR is not set: ./scripts/test builds the artifacts and sets it")
        });
    assert!(
        dir.is_dir(),
        "{} is not a directory: build the artifacts first",
        dir.display()
    );
    dir
}

/// An artifact: `api`, `worker` or `sweeper`.
pub fn bootstrap(binary: &str) -> PathBuf {
    dir().join(binary).join("bootstrap")
}

/// Every function's `Handler`, sorted.
pub fn all_handlers() -> Vec<String> {
    let mut all: Vec<String> = harness()
        .functions
        .values()
        .map(|f| f.spec.handler.clone())
        .collect();
    all.sort_unstable();
    all
}

/// The template's function with this `Handler`.
pub fn function_of(handler: &str) -> &'static glimvid_runner::Function {
    harness()
        .functions
        .values()
        .find(|f| f.spec.handler == handler)
        .unwrap_or_else(|| panic!("no function has Handler {handler}"))
}

/// The function's `Timeout`, stretched for an emulated artifact (see
/// `runtime_api::slowdown`).
pub fn invocation_timeout(handler: &str) -> anyhow::Result<Duration> {
    let function = function_of(handler);
    let slowdown = crate::runtime_api::slowdown(&bootstrap(&function.spec.binary))?;
    Ok(Duration::from_secs(function.spec.timeout_s) * slowdown)
}

/// Starts the function with this `Handler` from its artifact, as Lambda
/// does, and waits for its first poll.
pub async fn boot(handler: &str) -> anyhow::Result<Sandbox> {
    let h = harness();
    let function = function_of(handler);
    let root = glimvid::app::aws_sdk_config().await;
    let mut env = function.env.clone();
    let region = std::env::var("AWS_REGION")?;
    env.insert("AWS_REGION".into(), region.clone());
    env.insert("AWS_DEFAULT_REGION".into(), region);
    // Lambda's endpoints are AWS's; here the SDK's standard variable points
    // every client at the emulator.
    env.insert(
        "AWS_ENDPOINT_URL".into(),
        std::env::var("AWS_ENDPOINT_URL")?,
    );
    env.extend(function.identity.lambda_credentials(&root).await?);
    // Lambda passes the function's Handler to a custom runtime this way.
    env.insert("_HANDLER".into(), handler.to_owned());
    let bootstrap = bootstrap(&function.spec.binary);
    anyhow::ensure!(bootstrap.is_file(), "{} was not built", bootstrap.display());
    let slowdown = crate::runtime_api::slowdown(&bootstrap)?;
    Sandbox::boot(Boot {
        timeout: INIT_LIMIT * slowdown,
        bootstrap,
        function_name: glimvid_runner::local_name(&h.prefix, &function.spec.logical_id),
        memory_mb: u32::try_from(function.spec.memory_mb)?,
        env,
        log: std::env::temp_dir().join(format!(
            "glimvid-boot-{}-{handler}-{}.log",
            h.prefix,
            uuid::Uuid::new_v4().simple()
        )),
    })
    .await
}
