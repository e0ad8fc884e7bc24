#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glimvid::run_lambda(glimvid::http::Endpoint::MeDelete).await
}
