#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    glimvid::run_sweeper().await
}
