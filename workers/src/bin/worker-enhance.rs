#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    glimvid::run_worker(glimvid::pipeline::Worker::Enhance).await
}
