//! Glimvid's domain library.
//!
//! Capabilities live in their own modules (`accounts`, `usage`, `ratelimit`),
//! each with its DynamoDB adapter beside it. `http` turns API Gateway requests
//! into domain calls and domain results into responses; it is the only place
//! that knows about status codes. `app` holds the clients that are built once
//! per cold start.

pub mod accounts;
pub mod app;
pub mod billing;
pub mod clock;
pub mod config;
pub mod credits;
pub mod due;
pub mod dynamo;
pub mod error;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod notify;
#[cfg(feature = "pipeline")]
pub mod pipeline;
pub mod policy;
pub mod privacy;
#[cfg(feature = "pipeline")]
pub mod providers;
pub mod ratelimit;
pub mod redelivery;
pub mod secrets;
pub mod signature;
pub mod storage;
pub mod sweeper;
pub mod telemetry;
pub mod uploads;
pub mod usage;
pub mod webhooks;

pub use app::App;
pub use error::{Error, Result};

/// One page of a listing, newest first; pass `next_cursor` back as `cursor`.
#[derive(Debug, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Runs one HTTP endpoint as a Lambda function: clients are built once per
/// cold start, then every invocation goes through [`http::serve`].
pub async fn run_lambda(endpoint: http::Endpoint) -> Result<(), lambda_http::Error> {
    telemetry::init_json();
    let app = std::sync::Arc::new(App::from_env().await?);
    lambda_http::run(lambda_http::service_fn(move |req| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(http::serve(&app, endpoint, req).await) }
    }))
    .await
}

/// Runs a Lambda function whose events are `E`: logging first, then the
/// App, built once per cold start and shared by every invocation.
async fn run_events<E, R, F, Fut>(
    app: impl std::future::Future<Output = anyhow::Result<App>>,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize,
    F: Fn(std::sync::Arc<App>, E) -> Fut,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>>,
{
    telemetry::init_json();
    let app = std::sync::Arc::new(app.await?);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<E>| handle(app.clone(), event.payload),
    ))
    .await
}

/// Runs one pipeline stage worker as an SQS-triggered Lambda function.
#[cfg(feature = "pipeline")]
pub async fn run_worker(worker: pipeline::Worker) -> Result<(), lambda_runtime::Error> {
    run_events(App::for_worker(), move |app, event| async move {
        Ok(pipeline::handle_batch(&app, worker, event).await)
    })
    .await
}

/// Runs the mailer as an SQS-triggered Lambda function.
pub async fn run_mailer() -> Result<(), lambda_runtime::Error> {
    run_events(App::from_env(), |app, event| async move {
        Ok(notify::handle_batch(&app, event).await)
    })
    .await
}

/// Runs the export worker as an SQS-triggered Lambda function.
pub async fn run_exporter() -> Result<(), lambda_runtime::Error> {
    run_events(App::from_env(), |app, event| async move {
        Ok(privacy::export::handle_batch(&app, event).await)
    })
    .await
}

/// Runs the webhook worker as an SQS-triggered Lambda function.
pub async fn run_webhook_worker() -> Result<(), lambda_runtime::Error> {
    run_events(App::from_env(), |app, event| async move {
        Ok(webhooks::handle_batch(&app, event).await)
    })
    .await
}

/// Runs the operator's policy publish (invoked by hand, `scripts/publish-policy`).
pub async fn run_policy_publish() -> Result<(), lambda_runtime::Error> {
    run_events(App::from_env(), |app, event| async move {
        policy::publish_event(&app, event).await
    })
    .await
}

/// Runs the retention sweeper as a scheduled Lambda function.
pub async fn run_sweeper() -> Result<(), lambda_runtime::Error> {
    run_events(App::from_env(), |app, _: serde_json::Value| async move {
        sweeper::run(&app)
            .await
            .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
    })
    .await
}
