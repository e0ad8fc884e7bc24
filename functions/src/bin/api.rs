//! Every function that needs neither the media codecs nor the AI providers:
//! each HTTP route, the mailer, the export and webhook workers and the operator's policy
//! publish. Which one a function is, is its `Handler` in the template
//! (`_HANDLER` on Lambda).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    match glimvid::config::handler()?.as_str() {
        glimvid::notify::MAILER_HANDLER => glimvid::run_mailer().await,
        glimvid::privacy::export::EXPORT_HANDLER => glimvid::run_exporter().await,
        glimvid::webhooks::WORKER_HANDLER => glimvid::run_webhook_worker().await,
        glimvid::policy::PUBLISH_HANDLER => glimvid::run_policy_publish().await,
        _ => glimvid::run_lambda(glimvid::http::Endpoint::from_handler()?).await,
    }
}
