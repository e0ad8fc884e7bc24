//! Every HTTP route's function: which route is its `Handler` in the template.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glimvid::run_lambda(glimvid::http::Endpoint::from_handler()?).await
}
