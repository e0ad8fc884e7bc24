//! The local runner: provisions the template's resources in the emulator and
//! hosts every HTTP function behind one port, as API Gateway would.

pub mod gateway;
pub mod provision;
pub mod server;
pub mod template;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use glimvid::App;
use glimvid::config::Config;
use tokio::sync::oneshot;

use template::Template;

#[derive(Debug, Clone)]
pub struct Options {
    pub template: PathBuf,
    pub bind: SocketAddr,
    /// Local resource names are `{prefix}-{LogicalId}`; tests use a fresh
    /// prefix so runs never see each other's data.
    pub prefix: String,
    /// Take the client IP from `X-Forwarded-For` (tests use it to act as
    /// many clients). Off by default: the TCP peer is the client, as on AWS.
    pub trust_forwarded_for: bool,
}

impl Options {
    pub fn repo_template() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Serves until Ctrl-C.
    pub async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

pub fn local_name(prefix: &str, logical_id: &str) -> String {
    format!("{prefix}-{logical_id}")
}

/// Provisions the resources and starts serving.
pub async fn start(options: Options) -> Result<Running> {
    let template = Template::load(&options.template)?;
    let sdk = glimvid::app::aws_sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    for table in template.tables() {
        let name = local_name(&options.prefix, &table.logical_id);
        if provision::ensure_table(&dynamo, &name, &table).await? {
            tracing::info!(table = %name, "created table");
        }
    }
    let env = template.environment(|id| local_name(&options.prefix, id))?;
    let config = Config::from_lookup(|key| env.get(key).cloned())
        .context("configuration from the template")?;
    let app = Arc::new(App::new(config, &sdk));
    let routes = template.http_routes()?;
    for r in &routes {
        tracing::debug!(method = %r.method, path = %r.path, function = %r.function, "route");
    }
    let count = routes.len();
    let router = server::router(app.clone(), routes, options.trust_forwarded_for)?;
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("binding {}", options.bind))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(err) = result {
            tracing::error!(error = %err, "server stopped");
        }
    });
    tracing::info!(%addr, routes = count, "Glimvid is listening on http://{addr}");
    Ok(Running {
        addr,
        app,
        shutdown: Some(tx),
        task,
    })
}
