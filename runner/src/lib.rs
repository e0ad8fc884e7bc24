//! The local runner: provisions the template's resources in the emulator
//! (tables, bucket, queues, state machine), hosts every HTTP function behind
//! one port, as API Gateway would, and feeds the queue workers, as Lambda's
//! SQS event-source mappings would. Each function runs with its own role
//! from the SAM-translated template (`roles`), every call it makes is
//! audited against that role (`audit`), and S3 is reached through a front
//! that answers CORS preflights as S3 does (`s3front`).

pub mod audit;
pub mod cfn;
pub mod gateway;
pub mod iam;
pub mod mapping;
pub mod provision;
pub mod roles;
pub mod s3front;
pub mod server;
pub mod stripe_sandbox;
pub mod template;
pub mod timing;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use glimvid::App;
use glimvid::config::Config;
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
    /// Divide the template's timing by this (1: as deployed): queue
    /// visibility, the states' `TimeoutSeconds`, function timeouts and the
    /// timing variables (see `timing`), so a test sees retries and timeouts
    /// in seconds with the production proportions. `env_overrides` are
    /// taken as given.
    pub time_scale: u32,
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
            time_scale: 1,
        }
    }
}

/// One function as the runner hosts it: its template entry and the App its
/// handler runs with (its own environment and its own AWS identity).
#[derive(Debug, Clone)]
pub struct Function {
    pub spec: template::FunctionSpec,
    pub app: Arc<App>,
    pub identity: roles::Identity,
    /// Where its S3 client sends requests (the runner's S3 front).
    pub s3_endpoint: Option<String>,
    /// Its environment as Lambda would set it from the template, with the
    /// runner's timing and the run's overrides applied.
    pub env: BTreeMap<String, String>,
}

impl Function {
    /// The function's App built in the calling runtime (SDK clients keep
    /// connections on the runtime that made them), with its identity and
    /// audit: for tests that run a function's domain code themselves, such
    /// as the scheduled sweeper.
    pub async fn app_here(&self) -> App {
        let sdk = self
            .identity
            .sdk_config(&glimvid::app::aws_sdk_config().await)
            .await;
        App::wired(
            self.app.config.clone(),
            &sdk,
            &self.identity.wiring(self.s3_endpoint.clone()),
        )
    }
}

pub struct Running {
    pub addr: SocketAddr,
    /// The configuration every function shares (the template's Globals and
    /// the overrides), for tests that read records through the domain code.
    pub config: Config,
    /// By logical id.
    pub functions: BTreeMap<String, Function>,
    /// Logical id to what `!Ref` resolved to: table and bucket names, queue
    /// URLs, the state machine's ARN.
    pub resources: BTreeMap<String, String>,
    /// The S3 endpoint browsers and functions use.
    pub s3_front: s3front::Running,
    /// Every function's calls, checked against its role.
    pub auditor: Arc<audit::Auditor>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    stop_pollers: watch::Sender<bool>,
    pollers: Vec<tokio::task::JoinHandle<()>>,
}

/// The `Handler` of the scheduled retention sweeper.
pub const SWEEPER_HANDLER: &str = "sweeper";

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
        self.s3_front.stop().await;
    }

    /// Serves until Ctrl-C.
    pub async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

/// What a local run takes from its own environment over the template's:
/// AI provider settings and keys (a self-hosted model server on loopback
/// included), Stripe's endpoint and secrets, and retention settings (README).
pub fn local_overrides(var: impl Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
    glimvid::config::PROVIDER_VARS
        .iter()
        .chain(glimvid::config::PAYMENT_VARS)
        .chain(&[
            "UPLOAD_RETENTION_DAYS",
            "JOB_DEADLINE_MINUTES",
            "WEBHOOK_ALLOW_LOOPBACK",
        ])
        .filter_map(|k| var(k).map(|v| ((*k).to_owned(), v)))
        .collect()
}

pub fn local_name(prefix: &str, logical_id: &str) -> String {
    format!("{prefix}-{logical_id}")
}

/// What intrinsics in the translated template resolve to.
fn scope<'a>(
    translated: &roles::Translated,
    resolved: &'a Resolved,
    place: &audit::Place,
) -> cfn::Scope<'a> {
    cfn::Scope {
        resolved,
        parameters: translated.parameter_defaults(),
        region: place.region.clone(),
        account: place.account.clone(),
    }
}

/// Every SQS send a Task state makes must be allowed by the state
/// machine's role (`sqs:SendMessage` on the queue), as on AWS.
fn check_state_machine_role(
    machine: &str,
    definition: &str,
    policy: &iam::Policy,
    place: &audit::Place,
) -> Result<()> {
    let doc: serde_json::Value =
        serde_json::from_str(definition).context("the state machine definition")?;
    let states = doc
        .get("States")
        .and_then(serde_json::Value::as_object)
        .context("the state machine has no States")?;
    for (name, state) in states {
        let resource = state.get("Resource").and_then(serde_json::Value::as_str);
        if !resource.is_some_and(|r| r.starts_with("arn:aws:states:::sqs:sendMessage")) {
            continue;
        }
        let url = state
            .pointer("/Parameters/QueueUrl")
            .and_then(serde_json::Value::as_str)
            .with_context(|| format!("{machine}.{name}: sendMessage without a QueueUrl"))?;
        let queue = audit::queue_arn(place, url);
        if policy.decide("sqs:SendMessage", &queue) != iam::Decision::Allowed {
            bail!(
                "AccessDenied (local audit): {machine}'s role does not allow sqs:SendMessage on {queue}, which state {name} sends to"
            );
        }
    }
    Ok(())
}

/// Creates every resource the template declares (what exists is kept or
/// brought in line) and records what `!Ref` and `!GetAtt` resolve to.
async fn provision(
    template: &Template,
    translated: &roles::Translated,
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    place: &audit::Place,
    time_scale: u32,
) -> Result<(Resolved, BTreeMap<String, provision::Queue>)> {
    let account = place.account.as_str();
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
        let queue = timing::scale_queue(&queue, time_scale)?;
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

    for identity in template.email_identities() {
        let name = provision::ensure_email_identity(sdk, template, &identity, &resolved).await?;
        tracing::info!(identity = %name, "SES sender identity ready");
        resolved.set_ref(&identity.logical_id, name);
    }

    let sfn = aws_sdk_sfn::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    for machine in template.state_machines()? {
        let name = local_name(prefix, &machine.logical_id);
        let definition = timing::scale_definition(
            &provision::state_machine_definition(&machine, template, &resolved)?,
            time_scale,
        )?;
        // The emulator runs service integrations without consulting the
        // state machine's role, so what the definition does is checked
        // against the role here.
        let role = translated
            .role_of(&machine.logical_id)?
            .resolve(&scope(translated, &resolved, place))?;
        check_state_machine_role(&machine.logical_id, &definition, &role.policy, place)?;
        let role_arn =
            roles::ensure_role(&iam, &local_name(prefix, &role.logical_id), &role, account).await?;
        let (arn, new) =
            provision::ensure_state_machine(&sfn, &name, &machine.kind, &definition, &role_arn)
                .await?;
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

    let account = aws_sdk_sts::Client::new(&root)
        .get_caller_identity()
        .send()
        .await
        .map_err(provision::sdk_error)
        .context("asking the emulator for its account")?
        .account
        .ok_or_else(|| anyhow!("the emulator named no account"))?;
    let place = audit::Place {
        region: region.clone(),
        account: account.clone(),
    };
    let translated = roles::Translated::of(&options.template, &region)?;

    let time_scale = options.time_scale.max(1);
    let (mut resolved, queues) = provision(
        &template,
        &translated,
        &root,
        &options.prefix,
        &place,
        time_scale,
    )
    .await?;
    // Bound before the functions are built: links in mail point here.
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("binding {}", options.bind))?;
    let addr = listener.local_addr()?;
    for var in ["WEB_APP_URL", "API_URL"] {
        resolved
            .served
            .insert(var.to_owned(), format!("http://{addr}"));
    }
    // Payment secrets given locally go where they live on AWS: into
    // Secrets Manager, read at cold start by the functions whose roles may
    // (`secrets::resolve_payments`), never into any environment.
    let mut overrides = options.env_overrides.clone();
    let payment_secrets: Vec<(&str, String)> = [
        ("PAYMENT_WEBHOOK_SECRET_NAME", "PAYMENT_WEBHOOK_SECRET"),
        ("STRIPE_API_KEY_NAME", "STRIPE_API_KEY"),
    ]
    .into_iter()
    .filter_map(|(name, var)| Some((name, overrides.remove(var)?)))
    .collect();
    let local_env = |mut env: BTreeMap<String, String>| {
        timing::scale_environment(&mut env, time_scale);
        env.extend(overrides.clone());
        env
    };
    let config_of =
        |env: &BTreeMap<String, String>| Config::from_lookup(|key| env.get(key).cloned());
    let config = config_of(&local_env(template.globals_environment(&resolved)?))
        .context("configuration from the template's Globals")?;

    // Browsers and functions reach S3 through the front, which answers CORS
    // preflights as S3 does and passes everything else through unchanged.
    let emulator = root
        .endpoint_url()
        .context("AWS_ENDPOINT_URL must name the emulator")?
        .to_owned();
    let mut cors = BTreeMap::new();
    for bucket in template.buckets() {
        if let Some(config) = provision::bucket_cors(&bucket)? {
            let name = resolved
                .refs
                .get(&bucket.logical_id)
                .with_context(|| format!("bucket {} was not provisioned", bucket.logical_id))?;
            cors.insert(name.clone(), config.cors_rules().to_vec());
        }
    }
    let s3_front = s3front::start(&emulator, cors).await?;

    // Every function signs with its own role, exactly as SAM makes it.
    let iam = aws_sdk_iam::Client::new(&root);
    let auditor = audit::Auditor::new(place.clone(), &options.prefix)?;
    let scope = scope(&translated, &resolved, &place);
    let mut grants = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for mut spec in template.functions()? {
        spec.timeout_s = timing::scale(spec.timeout_s, time_scale);
        let role = translated.role_of(&spec.logical_id)?.resolve(&scope)?;
        let role_arn = roles::ensure_role(
            &iam,
            &local_name(&options.prefix, &role.logical_id),
            &role,
            &account,
        )
        .await?;
        grants.insert(spec.logical_id.clone(), role.own_grants()?);
        let identity = roles::Identity {
            function: spec.logical_id.clone(),
            role_arn,
            audit: auditor.interceptor(&spec.logical_id, Arc::new(role.policy)),
        };
        let env = local_env(template.function_environment(&spec.logical_id, &resolved)?);
        let config = config_of(&env)
            .with_context(|| format!("{}: configuration from the template", spec.logical_id))?;
        let mut config = config;
        let sdk = identity.sdk_config(&root).await;
        for (name_var, value) in &payment_secrets {
            if let Some(name) = env.get(*name_var) {
                provision::put_secret(&root, name, value).await?;
            }
        }
        // What `App::from_env` does at cold start, with the audit on.
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk);
        secrets.set_interceptors(std::iter::once(identity.audit.clone()));
        let secrets = aws_sdk_secretsmanager::Client::from_conf(secrets.build());
        glimvid::secrets::resolve_payments(&mut config, &secrets)
            .await
            .with_context(|| format!("{}: cold start", spec.logical_id))?;
        let s3_endpoint = Some(s3_front.url());
        let app = Arc::new(App::wired(
            config,
            &sdk,
            &identity.wiring(s3_endpoint.clone()),
        ));
        functions.insert(
            spec.logical_id.clone(),
            Function {
                spec,
                app,
                identity,
                s3_endpoint,
                env,
            },
        );
    }
    auditor.write_grants(&options.prefix, &grants);

    let (stop_pollers, pollers_stopped) = watch::channel(false);
    let mut pollers = Vec::new();
    for subscription in template.sqs_subscriptions()? {
        let consumer =
            mapping::Consumer::from_handler(&subscription.handler).with_context(|| {
                format!(
                    "{} ({}) is neither a pipeline worker, the mailer nor the export worker",
                    subscription.function, subscription.handler
                )
            })?;
        let queue = queues.get(&subscription.queue).with_context(|| {
            format!(
                "{}: queue {} is not an SQS queue",
                subscription.function, subscription.queue
            )
        })?;
        let function = functions
            .get(&subscription.function)
            .with_context(|| format!("{} is not a function", subscription.function))?
            .clone();
        tracing::debug!(function = %subscription.function, queue = %queue.url, "queue subscription");
        let mapping = Arc::new(mapping::Mapping {
            subscription,
            consumer,
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            region: region.clone(),
            deliver_twice: options.deliver_twice,
            timeout: Duration::from_secs(function.spec.timeout_s),
        });
        pollers.extend(mapping::spawn(
            function.app.clone(),
            function.app.sqs.clone(),
            mapping,
            pollers_stopped.clone(),
        ));
    }

    if let Some(every) = options.sweeper_every {
        let sweeper = functions
            .values()
            .find(|f| f.spec.handler == SWEEPER_HANDLER)
            .with_context(|| format!("no function in the template runs {SWEEPER_HANDLER}"))?;
        pollers.push(spawn_sweeper(
            sweeper.app.clone(),
            every,
            pollers_stopped.clone(),
        ));
    }

    let routes = template.http_routes()?;
    for r in &routes {
        tracing::debug!(method = %r.method, path = %r.path, function = %r.function, "route");
    }
    let router = server::router(&functions, routes, options.trust_forwarded_for)?;
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
        config,
        functions,
        s3_front,
        auditor,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_run_may_use_a_model_server_on_loopback_the_template_cannot() {
        let env = BTreeMap::from([
            ("PROVIDER_ALLOW_HTTP_LOOPBACK", "true"),
            ("SCRIPT_PROVIDER", "deepseek"),
            ("DEEPSEEK_BASE_URL", "http://127.0.0.1:11434/v1"),
            ("UNRELATED", "x"),
        ]);
        let overrides = local_overrides(|k| env.get(k).map(|v| (*v).to_owned()));
        assert_eq!(overrides["PROVIDER_ALLOW_HTTP_LOOPBACK"], "true");
        assert_eq!(overrides["DEEPSEEK_BASE_URL"], "http://127.0.0.1:11434/v1");
        assert!(!overrides.contains_key("UNRELATED"));

        let template = std::fs::read_to_string(Options::repo_template()).unwrap();
        assert!(
            !template.contains("PROVIDER_ALLOW_HTTP_LOOPBACK"),
            "production talks HTTPS only: the template must not offer plain HTTP"
        );
    }
}
