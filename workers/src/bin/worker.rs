//! Every pipeline stage's function: which stage is its `Handler` in the template.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    glimvid::run_worker(glimvid::pipeline::Worker::from_handler()?).await
}
