//! The local runner: provisions the template's resources in the emulator
//! (tables, bucket, queues, state machine), hosts every HTTP function behind
//! one port, as API Gateway would, and feeds the queue workers, as Lambda's
//! SQS event-source mappings would. The app signs with an IAM user's key so
//! the emulator (run with `--verify-sigv4`) checks its signatures.

pub mod gateway;
pub mod mapping;
pub mod provision;
pub mod server;
pub mod template;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use glimvid::App;
use glimvid::config::Config;
use glimvid::pipeline::Worker;
use tokio::sync::{oneshot, watch};

use template::{Resolved, Template};

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
    /// Environment variables set over the template's (e.g. a test's
    /// `PIPELINE_FAIL_STAGE`); they reach the app's configuration only.
    pub env_overrides: BTreeMap<String, String>,
    /// Hand every queue delivery to the worker twice, as SQS's at-least-once
    /// delivery may, so tests prove the workers idempotent.
    pub deliver_twice: bool,
    /// Fire the retention sweeper this often (the template's schedule is
    /// hourly; locally it is more useful sooner). None: never (tests call
    /// `glimvid::sweeper::run` themselves).
    pub sweeper_every: Option<std::time::Duration>,
}

impl Options {
    pub fn repo_template() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
    }
}

impl Default for Options {
    /// The repository's template on a free loopback port, prefix
    /// `glimvid-local`.
    fn default() -> Self {
        Options {
            template: Self::repo_template(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            prefix: "glimvid-local".to_owned(),
            trust_forwarded_for: false,
            env_overrides: BTreeMap::new(),
            deliver_twice: false,
            sweeper_every: None,
        }
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    /// Logical id to what `!Ref` resolved to: table and bucket names, queue
    /// URLs, the state machine's ARN.
    pub resources: BTreeMap<String, String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    stop_pollers: watch::Sender<bool>,
    pollers: Vec<tokio::task::JoinHandle<()>>,
}

/// How long `stop` lets a worker finish the batch in hand.
const POLLER_GRACE: Duration = Duration::from_secs(30);

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        let _ = self.stop_pollers.send(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        for mut poller in std::mem::take(&mut self.pollers) {
            if tokio::time::timeout(POLLER_GRACE, &mut poller)
                .await
                .is_err()
            {
                tracing::warn!("a worker did not finish its batch in time; abandoning it");
                poller.abort();
            }
        }
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

/// The account in an ARN (`arn:aws:iam::123456789012:user/x`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Creates every resource the template declares (what exists is kept or
/// brought in line) and records what `!Ref` and `!GetAtt` resolve to.
async fn provision(
    template: &Template,
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    account: &str,
) -> Result<(Resolved, BTreeMap<String, provision::Queue>)> {
    let region = sdk
        .region()
        .map(ToString::to_string)
        .ok_or_else(|| anyhow!("no AWS region configured (set AWS_REGION)"))?;
    let mut resolved = Resolved::default();

    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    for table in template.tables() {
        let name = local_name(prefix, &table.logical_id);
        if provision::ensure_table(&dynamo, &name, &table).await? {
            tracing::info!(table = %name, "created table");
        }
        resolved.set_attribute(
            &table.logical_id,
            "Arn",
            format!("arn:aws:dynamodb:{region}:{account}:table/{name}"),
        );
        resolved.set_ref(&table.logical_id, name);
    }

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    for bucket in template.buckets() {
        let name = provision::bucket_name(&local_name(prefix, &bucket.logical_id))?;
        if provision::ensure_bucket(&s3, &name, &region, &bucket).await? {
            tracing::info!(bucket = %name, "created bucket");
        }
        resolved.set_attribute(&bucket.logical_id, "Arn", format!("arn:aws:s3:::{name}"));
        resolved.set_ref(&bucket.logical_id, name);
    }

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut queues = BTreeMap::new();
    for queue in template.queues()? {
        let name = local_name(prefix, &queue.logical_id);
        let (created, new) =
            provision::ensure_queue(&sqs, &name, &queue, template, &resolved).await?;
        if new {
            tracing::info!(queue = %name, "created queue");
        }
        resolved.set_ref(&queue.logical_id, created.url.clone());
        resolved.set_attribute(&queue.logical_id, "Arn", created.arn.clone());
        resolved.set_attribute(&queue.logical_id, "QueueName", name);
        queues.insert(queue.logical_id.clone(), created);
    }

    let sfn = aws_sdk_sfn::Client::new(sdk);
    for machine in template.state_machines()? {
        let name = local_name(prefix, &machine.logical_id);
        let definition = provision::state_machine_definition(&machine, template, &resolved)?;
        // SAM creates a role from the template's Policies; the emulator only
        // needs a well-formed ARN.
        let role = format!("arn:aws:iam::{account}:role/{name}-role");
        let (arn, new) =
            provision::ensure_state_machine(&sfn, &name, &machine.kind, &definition, &role).await?;
        tracing::info!(state_machine = %name, created = new, "state machine ready");
        resolved.set_attribute(&machine.logical_id, "Arn", arn.clone());
        resolved.set_attribute(&machine.logical_id, "Name", name);
        resolved.set_ref(&machine.logical_id, arn);
    }
    Ok((resolved, queues))
}

/// Provisions the resources, starts serving and starts the queue pollers.
pub async fn start(options: Options) -> Result<Running> {
    let template = Template::load(&options.template)?;
    // The root (`test`) credentials provision; the emulator does not verify
    // their signatures.
    let root = glimvid::app::aws_sdk_config().await;
    let region = root
        .region()
        .map(ToString::to_string)
        .ok_or_else(|| anyhow!("no AWS region configured (set AWS_REGION)"))?;

    // The app signs with an IAM user's key, which the emulator verifies
    // (with --verify-sigv4), as AWS verifies the function role's: so a
    // presigned URL the app hands out is checked for real.
    let iam = aws_sdk_iam::Client::new(&root);
    let user = provision::ensure_user_key(&iam, &local_name(&options.prefix, "app")).await?;
    let account = arn_account(&user.user_arn)
        .unwrap_or("123456789012")
        .to_owned();
    let app_sdk = root
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            user.access_key_id.clone(),
            user.secret_access_key.clone(),
            None,
            None,
            "glimvid-local",
        )))
        .build();

    let (resolved, queues) = provision(&template, &root, &options.prefix, &account).await?;
    let mut env = template.environment(&resolved)?;
    env.extend(options.env_overrides.clone());
    let config = Config::from_lookup(|key| env.get(key).cloned())
        .context("configuration from the template")?;
    let app = Arc::new(App::new(config, &app_sdk));

    let (stop_pollers, pollers_stopped) = watch::channel(false);
    let sqs = aws_sdk_sqs::Client::new(&app_sdk);
    let mut pollers = Vec::new();
    for subscription in template.sqs_subscriptions()? {
        let worker = Worker::from_name(&subscription.binary).with_context(|| {
            format!(
                "{} ({}) has no worker in glimvid::pipeline::Worker",
                subscription.function, subscription.binary
            )
        })?;
        let queue = queues.get(&subscription.queue).with_context(|| {
            format!(
                "{}: queue {} is not an SQS queue",
                subscription.function, subscription.queue
            )
        })?;
        tracing::debug!(function = %subscription.function, queue = %queue.url, "queue subscription");
        let mapping = Arc::new(mapping::Mapping {
            subscription,
            worker,
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            region: region.clone(),
            deliver_twice: options.deliver_twice,
        });
        pollers.extend(mapping::spawn(
            app.clone(),
            sqs.clone(),
            mapping,
            pollers_stopped.clone(),
        ));
    }

    if let Some(every) = options.sweeper_every {
        pollers.push(spawn_sweeper(app.clone(), every, pollers_stopped.clone()));
    }

    let routes = template.http_routes()?;
    for r in &routes {
        tracing::debug!(method = %r.method, path = %r.path, function = %r.function, "route");
    }
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
    tracing::info!(%addr, pollers = pollers.len(), "Glimvid is listening on http://{addr}");
    Ok(Running {
        addr,
        app,
        resources: resolved.refs,
        shutdown: Some(tx),
        task,
        stop_pollers,
        pollers,
    })
}

/// Plays the EventBridge schedule: runs the sweeper every `every` until stopped.
fn spawn_sweeper(
    app: Arc<App>,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if let Err(err) = glimvid::sweeper::run(&app).await {
                        tracing::error!(error = %format!("{err:#}"), "sweeper run failed");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    })
}
