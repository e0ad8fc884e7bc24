//! Glimvid's domain library.
//!
//! Capabilities live in their own modules (`accounts`, `usage`, `ratelimit`),
//! each with its DynamoDB adapter beside it. `http` turns API Gateway requests
//! into domain calls and domain results into responses; it is the only place
//! that knows about status codes. `app` holds the clients that are built once
//! per cold start.

pub mod accounts;
pub mod app;
pub mod clock;
pub mod config;
pub mod dynamo;
pub mod error;
pub mod http;
pub mod ratelimit;
pub mod telemetry;
pub mod usage;

pub use app::App;
pub use error::{Error, Result};

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
