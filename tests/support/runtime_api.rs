//! A Lambda Runtime API on loopback, for booting the built `bootstrap`
//! artifacts as Lambda does: the process is started with Lambda's
//! environment, polls `/next`, and answers each event on `/response` or
//! `/error` (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
//! It keeps the interface's contract and nothing more: one invocation at a
//! time per process, a deadline per event, an init error ends the boot.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// How an invocation ended.
#[derive(Debug)]
pub enum Outcome {
    /// The body posted to `/response`.
    Response(Value),
    /// The body posted to `/error`, with its `Lambda-Runtime-Function-Error-Type`.
    Error { error_type: String, body: Value },
}

enum Report {
    Init(Instant),
    InitError(Value),
}

struct Pending {
    id: String,
    event: Value,
    deadline: SystemTime,
}

#[derive(Default)]
struct Inner {
    queue: Option<mpsc::Receiver<Pending>>,
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
    first_poll: Option<mpsc::UnboundedSender<Report>>,
    function_arn: String,
}

type Shared = Arc<Mutex<Inner>>;

/// One function's sandbox: its Runtime API and its process.
pub struct Sandbox {
    pub addr: SocketAddr,
    events: mpsc::Sender<Pending>,
    state: Shared,
    reports: mpsc::UnboundedReceiver<Report>,
    child: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
    started: Instant,
    /// From exec to the first `/next`: what Lambda reports as Init Duration.
    pub init: Option<Duration>,
    pub log: PathBuf,
}

/// How a bootstrap is started: the program (the artifact, or an emulator
/// that runs it) and the environment it gets, which is the whole of it.
pub struct Boot {
    pub bootstrap: PathBuf,
    pub function_name: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub env: BTreeMap<String, String>,
    pub log: PathBuf,
}

impl Sandbox {
    /// Starts the process and waits until it polls for its first event (or
    /// reports an init error, or exits).
    pub async fn boot(boot: Boot) -> Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (events, queue) = mpsc::channel(1);
        let (report_tx, reports) = mpsc::unbounded_channel();
        let state: Shared = Arc::new(Mutex::new(Inner {
            queue: Some(queue),
            first_poll: Some(report_tx),
            function_arn: format!(
                "arn:aws:lambda:{}:123456789012:function:{}",
                boot.env
                    .get("AWS_REGION")
                    .map_or("ap-southeast-1", String::as_str),
                boot.function_name
            ),
            ..Inner::default()
        }));
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let log = std::fs::File::create(&boot.log)
            .with_context(|| format!("creating {}", boot.log.display()))?;
        let (program, args) = launcher(&boot.bootstrap)?;
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(lambda_environment(&boot, addr))
            .current_dir(boot.bootstrap.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", boot.bootstrap.display()))?;
        let mut sandbox = Sandbox {
            addr,
            events,
            state,
            reports,
            child,
            server,
            started,
            init: None,
            log: boot.log,
        };
        sandbox.wait_for_init(boot.timeout).await?;
        Ok(sandbox)
    }

    async fn wait_for_init(&mut self, timeout: Duration) -> Result<()> {
        tokio::select! {
            report = self.reports.recv() => match report {
                Some(Report::Init(at)) => {
                    self.init = Some(at - self.started);
                    Ok(())
                }
                Some(Report::InitError(body)) => bail!("init error: {body}; log: {}", self.tail()),
                None => bail!("the Runtime API stopped"),
            },
            status = self.child.wait() => bail!("the process exited during init ({:?}); log: {}", status?, self.tail()),
            () = tokio::time::sleep(timeout) => bail!("no /next within {timeout:?} (Lambda's init limit); log: {}", self.tail()),
        }
    }

    /// Delivers one event and waits for its answer, up to `timeout`.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Result<Outcome> {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.state).waiting.insert(id.clone(), tx);
        self.events
            .send(Pending {
                id: id.clone(),
                event,
                deadline: SystemTime::now() + timeout,
            })
            .await
            .map_err(|_| anyhow!("the Runtime API is gone"))?;
        tokio::select! {
            outcome = rx => outcome.map_err(|_| anyhow!("invocation {id} was dropped")),
            status = self.child.wait() => bail!("the process exited during the invocation ({:?}); log: {}", status?, self.tail()),
            () = tokio::time::sleep(timeout) => bail!("no answer within the function's timeout ({timeout:?}); log: {}", self.tail()),
        }
    }

    /// The last lines the process logged, for failure messages.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }
}

/// How much slower than on its own architecture an artifact runs here: 1
/// natively; under qemu-user (an arm64 artifact on x86_64) CPU-bound work
/// such as the scrypt password hash takes several times longer, so Lambda's
/// limits are stretched by this much for it, and only for it.
pub fn slowdown(bootstrap: &Path) -> Result<u32> {
    Ok(match launcher(bootstrap)?.0 == bootstrap {
        true => 1,
        false => EMULATION_SLOWDOWN,
    })
}

const EMULATION_SLOWDOWN: u32 = 10;

/// The artifact itself on its own architecture; an arm64 artifact on an
/// x86_64 host through Debian's qemu-user-static with the arm64 glibc.
fn launcher(bootstrap: &Path) -> Result<(PathBuf, Vec<String>)> {
    let path = bootstrap.display().to_string();
    match (elf_machine(bootstrap)?, std::env::consts::ARCH) {
        (Machine::X86_64, "x86_64") | (Machine::Aarch64, "aarch64") => {
            Ok((bootstrap.to_owned(), Vec::new()))
        }
        (Machine::Aarch64, "x86_64") => Ok((
            PathBuf::from("qemu-aarch64-static"),
            vec!["-L".into(), "/usr/aarch64-linux-gnu".into(), path],
        )),
        (machine, host) => {
            bail!("{path} is built for {machine:?}, which this {host} host cannot run")
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    Aarch64,
}

/// The ELF header's `e_machine`.
pub fn elf_machine(path: &Path) -> Result<Machine> {
    use std::io::Read;
    let mut bytes = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    if &bytes[..4] != b"\x7fELF" {
        bail!("{} is not an ELF executable", path.display());
    }
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        62 => Ok(Machine::X86_64),
        183 => Ok(Machine::Aarch64),
        other => bail!("{}: unexpected ELF machine {other}", path.display()),
    }
}

/// The variables Lambda sets for a custom runtime, then the function's own.
fn lambda_environment(boot: &Boot, api: SocketAddr) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from(
        [
            ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", boot.function_name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                boot.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", boot.function_name),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/12/01/[$LATEST]boot".to_owned(),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    env.extend(boot.env.clone());
    env
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, Inner> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn next(State(state): State<Shared>) -> Response {
    let (queue, first) = {
        let mut inner = lock(&state);
        (inner.queue.take(), inner.first_poll.take())
    };
    if let Some(first) = first {
        let _ = first.send(Report::Init(Instant::now()));
    }
    // Lambda serves one invocation at a time per sandbox: a second poller
    // while one is waiting is a runtime bug, not a second worker.
    let Some(mut queue) = queue else {
        return (StatusCode::CONFLICT, "another /next is already waiting").into_response();
    };
    let pending = queue.recv().await;
    let arn = {
        let mut inner = lock(&state);
        inner.queue = Some(queue);
        inner.function_arn.clone()
    };
    let Some(pending) = pending else {
        return (StatusCode::GONE, "shutting down").into_response();
    };
    let deadline = pending
        .deadline
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    let header = |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", header(pending.id));
    headers.insert("lambda-runtime-deadline-ms", header(deadline.to_string()));
    headers.insert("lambda-runtime-invoked-function-arn", header(arn));
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, pending.event.to_string()).into_response()
}

fn finish(state: &Shared, id: &str, outcome: Outcome) -> Response {
    match lock(state).waiting.remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED.into_response()
        }
        None => (StatusCode::BAD_REQUEST, "unknown or finished invocation").into_response(),
    }
}

fn json_or_text(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(state): State<Shared>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    finish(&state, &id, Outcome::Response(json_or_text(&body)))
}

async fn error(
    State(state): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned();
    finish(
        &state,
        &id,
        Outcome::Error {
            error_type,
            body: json_or_text(&body),
        },
    )
}

async fn init_error(State(state): State<Shared>, body: Bytes) -> Response {
    if let Some(first) = lock(&state).first_poll.take() {
        let _ = first.send(Report::InitError(json_or_text(&body)));
    }
    StatusCode::ACCEPTED.into_response()
}
