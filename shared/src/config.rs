//! Configuration, read once per cold start from the function's environment
//! (on Lambda) or from the variables the local runner resolves out of
//! `infra/template.yaml`.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

#[derive(Debug, Clone)]
pub struct Config {
    pub accounts_table: String,
    pub usage_log_table: String,
    pub rate_limit_table: String,
    pub credits_table: String,
    pub content_table: String,
    pub media_bucket: String,
    pub state_machine_arn: String,
    pub limits: Limits,
    /// Completion webhooks: their queue and retry schedule.
    pub webhooks: Webhooks,
    /// Local fault injection: the named pipeline stage fails permanently.
    /// Never set in the template; tests set it to walk the refund path.
    pub fail_stage: Option<String>,
    /// Local fault injection: the first N deliveries of a stage fail
    /// transiently (`PIPELINE_TRANSIENT_FAULTS=script:2,video:1`). Never set
    /// in the template; tests set it to walk the retry path.
    pub transient_faults: BTreeMap<String, u32>,
    /// How a stage worker retries through its queue.
    pub stages: Stages,
    /// Stripe: its API and the two secrets payments need.
    pub payments: Payments,
    /// Uploads older than this that no live job needs are deleted.
    pub upload_retention_days: i64,
    /// A job still running this long after it was created is failed and refunded.
    pub job_deadline_minutes: i64,
    /// `EXPORT_QUEUE_URL`: where `POST /me/exports` leaves work for the
    /// export worker (only that route's function has it).
    pub export_queue_url: Option<String>,
    /// How long an upload's presigned PUT stays valid.
    pub upload_url_ttl_seconds: i64,
    /// How long after a job or an account is ended something may still
    /// write for it: the longest worker timeout (300 s) and an upload URL's
    /// life (900 s), with a margin. Only after this does a reconciliation
    /// or a purge take the last look at what storage holds.
    pub write_quiet_seconds: i64,
    /// How long one sweeper run works before it stops (its Lambda timeout
    /// is 300 s); what is left is still due and found first next run.
    pub sweeper_budget_seconds: i64,
    /// Who does each AI stage, where they are and how hard we try.
    pub providers: Providers,
    pub mail: Mail,
}

/// Email: the queue requests leave notices on, the SES sender identity, and
/// where links in a message point.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `MAIL_QUEUE_URL`; None turns mail off (a function that sends none).
    pub queue_url: Option<String>,
    /// `MAIL_SENDER`: the SES identity, a domain.
    pub sender: String,
    /// `WEB_APP_URL`: links a person opens (verify, reset) go to its pages.
    pub web_app_url: String,
    /// `API_URL`: where a mail client posts a one-click unsubscribe.
    pub api_url: String,
}

/// Stripe. Each secret is given directly only locally; on Lambda it is read
/// at cold start from the Secrets Manager secret its `_name` names, and only
/// the functions that need it name it (`secrets::resolve_payments`).
#[derive(Debug, Clone, Default)]
pub struct Payments {
    /// `STRIPE_API_BASE`: `https://api.stripe.com`, or a loopback fake in
    /// tests (plain HTTP only under `PROVIDER_ALLOW_HTTP_LOOPBACK`).
    pub api_base: String,
    /// The restricted or secret API key (`sk_…`/`rk_…`) that creates
    /// Checkout and portal sessions and cancels subscriptions.
    pub api_key: ApiKey,
    pub api_key_name: Option<String>,
    /// Signs webhooks (`whsec_…`); without it the webhook refuses every event.
    pub webhook_secret: Option<String>,
    pub webhook_secret_name: Option<String>,
}

/// Abuse and retention limits. Defaults are the product's promises; the
/// variables exist so a deployment can tighten them without a release.
#[derive(Debug, Clone)]
pub struct Limits {
    pub auth_requests_per_minute: u32,
    pub api_requests_per_minute: u32,
    /// Requests one API key may make a minute, from all IPs together.
    pub api_key_requests_per_minute: u32,
    /// Wrong passwords one address may get per 15 minutes, from all IPs
    /// together, before its sign-ins are refused for the rest of the window.
    pub login_failures_per_account: u32,
    pub session_days: i64,
    pub usage_log_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            auth_requests_per_minute: 10,
            api_requests_per_minute: 300,
            api_key_requests_per_minute: 120,
            login_failures_per_account: 10,
            session_days: 30,
            usage_log_days: 30,
        }
    }
}

/// How completion webhooks are delivered: through `WEBHOOK_QUEUE_URL`, each
/// failed try left for redelivery after a backoff (base x 4^(try-1), at
/// most 12 h, SQS's longest visibility timeout) for `retry_hours` from the
/// first try, at most `max_attempts` tries.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub queue_url: Option<String>,
    pub retry_base_s: u32,
    pub retry_hours: i64,
    pub max_attempts: u32,
    /// Local runs only: endpoints on loopback (and over plain HTTP there)
    /// are allowed, so tests can receive deliveries. The template has no
    /// such setting.
    pub allow_loopback: bool,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            queue_url: None,
            retry_base_s: 60,
            retry_hours: 24,
            max_attempts: 8,
            allow_loopback: false,
        }
    }
}

/// SQS's longest visibility timeout, so the longest wait between tries.
pub const WEBHOOK_MAX_BACKOFF_S: u32 = 12 * 3600;

impl Webhooks {
    pub fn backoff_seconds(&self, attempt: u32) -> u32 {
        let quadruplings = attempt.saturating_sub(1).min(15);
        self.retry_base_s
            .saturating_mul(1 << (2 * quadruplings))
            .min(WEBHOOK_MAX_BACKOFF_S)
    }
}

/// How a stage worker retries a transient failure: it leaves the message
/// for redelivery after a backoff it sets itself, and gives up after
/// `max_attempts` deliveries. The template states the numbers (see its
/// timing rule); the defaults match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages {
    /// The worker's own queue (`STAGE_QUEUE_URL`), where it sets the
    /// backoff on the message in hand; None outside the stage workers.
    pub queue_url: Option<String>,
    pub max_attempts: u32,
    /// The wait before the second delivery; it doubles per delivery.
    pub backoff_base_s: u32,
    pub backoff_max_s: u32,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            queue_url: None,
            max_attempts: 5,
            backoff_base_s: 5,
            backoff_max_s: 40,
        }
    }
}

impl Stages {
    /// How long a message that failed on delivery `attempt` (its receive
    /// count, from 1) stays invisible: base × 2^(attempt-1), capped.
    pub fn backoff_seconds(&self, attempt: u32) -> u32 {
        let doublings = attempt.saturating_sub(1).min(31);
        self.backoff_base_s
            .saturating_mul(1 << doublings)
            .min(self.backoff_max_s)
    }

    /// The longest wait between two deliveries.
    pub fn max_backoff_seconds(&self) -> u32 {
        (1..self.max_attempts)
            .map(|a| self.backoff_seconds(a))
            .max()
            .unwrap_or(0)
    }
}

/// `stage:count` pairs, comma separated.
fn transient_faults(value: Option<String>) -> anyhow::Result<BTreeMap<String, u32>> {
    let mut faults = BTreeMap::new();
    for pair in value.iter().flat_map(|v| v.split(',')) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let parsed = pair
            .split_once(':')
            .and_then(|(stage, n)| Some((stage.trim(), n.trim().parse::<u32>().ok()?)));
        let Some((stage, count)) = parsed.filter(|(stage, _)| !stage.is_empty()) else {
            bail!("PIPELINE_TRANSIENT_FAULTS: {pair} is not stage:count");
        };
        faults.insert(stage.to_owned(), count);
    }
    Ok(faults)
}

/// Which implementation does an AI stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// In process, no network (`glimvid-media`).
    Offline,
    /// DeepSeek chat completions (scripts only).
    DeepSeek,
    /// ByteDance Ark: Seedream images, Seedance videos.
    Ark,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Offline => "offline",
            ProviderKind::DeepSeek => "deepseek",
            ProviderKind::Ark => "ark",
        }
    }
}

/// An API key. Its `Debug` never shows the value, so a logged `Config`
/// cannot leak it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(value: impl Into<String>) -> Self {
        ApiKey(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_empty() {
            "ApiKey(unset)"
        } else {
            "ApiKey(***)"
        })
    }
}

/// One remote provider's endpoint and key. On Lambda the key is read at
/// cold start from the Secrets Manager secret `key_secret` names; locally
/// it comes straight from the environment.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub base_url: String,
    pub key: ApiKey,
    pub key_secret: Option<String>,
}

/// The AI providers and how the clients treat them.
#[derive(Debug, Clone)]
pub struct Providers {
    pub script: ProviderKind,
    pub image: ProviderKind,
    pub video: ProviderKind,
    pub deepseek: Endpoint,
    pub deepseek_model: String,
    pub ark: Endpoint,
    pub ark_image_model: String,
    pub ark_video_model: String,
    /// `480p`, `720p` or `1080p`.
    pub ark_video_resolution: String,
    /// Hosts provider result URLs may be fetched from: `example.com` exactly,
    /// `*.example.com` for its subdomains.
    pub download_hosts: Vec<String>,
    /// Plain `http://` to loopback hosts (the tests' fake providers). Never
    /// set in the template: production talks HTTPS only.
    pub allow_http_loopback: bool,
    pub connect_timeout: std::time::Duration,
    /// One HTTP exchange, end to end.
    pub request_timeout: std::time::Duration,
    /// How long one delivery may keep retrying a provider call; after that
    /// the message is left for SQS to redeliver.
    pub retry_budget: std::time::Duration,
    pub download_timeout: std::time::Duration,
    pub max_download_bytes: u64,
    /// Between two polls of a video task (the state machine's Wait).
    pub video_poll_seconds: u32,
    /// A video task not done this long after it was created is given up.
    pub video_deadline: std::time::Duration,
    /// Render offline when the video provider fails for good.
    pub video_fallback: bool,
}

impl Providers {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        use std::time::Duration;
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let text = |key: &str, default: &str| get(key).unwrap_or_else(|| default.to_owned());
        let kind = |key: &str, allowed: &[ProviderKind]| -> anyhow::Result<ProviderKind> {
            let value = text(key, "offline");
            allowed
                .iter()
                .copied()
                .find(|k| k.as_str() == value)
                .with_context(|| {
                    let names: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
                    format!("{key}={value}: must be one of {}", names.join(", "))
                })
        };
        let millis = |key: &str, default: u64| -> anyhow::Result<Duration> {
            match get(key) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
                    _ => bail!("{key}={v} must be a positive number of milliseconds"),
                },
            }
        };
        let count = |key: &str, default: u64| -> anyhow::Result<u64> {
            match get(key) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{key}={v} must be a positive number"),
                },
            }
        };
        let flag = |key: &str, default: bool| -> anyhow::Result<bool> {
            match get(key).as_deref() {
                None => Ok(default),
                Some("true" | "on" | "1") => Ok(true),
                Some("false" | "off" | "0") => Ok(false),
                Some(v) => bail!("{key}={v} must be true or false"),
            }
        };
        let allow_http_loopback = flag("PROVIDER_ALLOW_HTTP_LOOPBACK", false)?;
        let endpoint = |prefix: &str, default_url: &str| -> anyhow::Result<Endpoint> {
            let base_url = text(&format!("{prefix}_BASE_URL"), default_url)
                .trim_end_matches('/')
                .to_owned();
            check_base_url(
                &format!("{prefix}_BASE_URL"),
                &base_url,
                allow_http_loopback,
            )?;
            Ok(Endpoint {
                base_url,
                key: ApiKey::new(get(&format!("{prefix}_API_KEY")).unwrap_or_default()),
                key_secret: get(&format!("{prefix}_API_KEY_SECRET")),
            })
        };
        let resolution = text("ARK_VIDEO_RESOLUTION", "720p");
        if !matches!(resolution.as_str(), "480p" | "720p" | "1080p") {
            bail!("ARK_VIDEO_RESOLUTION={resolution} must be 480p, 720p or 1080p");
        }
        Ok(Providers {
            script: kind(
                "SCRIPT_PROVIDER",
                &[ProviderKind::Offline, ProviderKind::DeepSeek],
            )?,
            image: kind(
                "IMAGE_PROVIDER",
                &[ProviderKind::Offline, ProviderKind::Ark],
            )?,
            video: kind(
                "VIDEO_PROVIDER",
                &[ProviderKind::Offline, ProviderKind::Ark],
            )?,
            deepseek: endpoint("DEEPSEEK", "https://api.deepseek.com")?,
            deepseek_model: text("DEEPSEEK_MODEL", "deepseek-flash"),
            ark: endpoint("ARK", "https://ark.ap-southeast.bytepluses.com")?,
            ark_image_model: text("ARK_IMAGE_MODEL", "seedream-5-0-260128"),
            ark_video_model: text("ARK_VIDEO_MODEL", "seedance-1-5-pro-251215"),
            ark_video_resolution: resolution,
            download_hosts: text("PROVIDER_DOWNLOAD_HOSTS", "*.bytepluses.com,*.volces.com")
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            allow_http_loopback,
            connect_timeout: millis("PROVIDER_CONNECT_TIMEOUT_MS", 5_000)?,
            request_timeout: millis("PROVIDER_REQUEST_TIMEOUT_MS", 45_000)?,
            retry_budget: millis("PROVIDER_RETRY_BUDGET_MS", 30_000)?,
            download_timeout: millis("PROVIDER_DOWNLOAD_TIMEOUT_MS", 120_000)?,
            max_download_bytes: count("PROVIDER_MAX_DOWNLOAD_BYTES", 100 * 1024 * 1024)?,
            video_poll_seconds: u32::try_from(count("VIDEO_POLL_SECONDS", 10)?)
                .context("VIDEO_POLL_SECONDS is too large")?,
            video_deadline: Duration::from_secs(count("VIDEO_DEADLINE_SECONDS", 900)?),
            video_fallback: flag("VIDEO_FALLBACK", true)?,
        })
    }

    /// True when some stage talks to a remote provider.
    pub fn any_remote(&self) -> bool {
        [self.script, self.image, self.video]
            .iter()
            .any(|k| *k != ProviderKind::Offline)
    }
}

/// The provider variables a local run takes from its own environment
/// (over the template's), so `./scripts/run` can reach real endpoints with
/// real keys: see the README.
pub const PROVIDER_VARS: &[&str] = &[
    "SCRIPT_PROVIDER",
    "IMAGE_PROVIDER",
    "VIDEO_PROVIDER",
    "DEEPSEEK_BASE_URL",
    "DEEPSEEK_MODEL",
    "DEEPSEEK_API_KEY",
    "ARK_BASE_URL",
    "ARK_IMAGE_MODEL",
    "ARK_VIDEO_MODEL",
    "ARK_VIDEO_RESOLUTION",
    "ARK_API_KEY",
    "PROVIDER_DOWNLOAD_HOSTS",
    "PROVIDER_CONNECT_TIMEOUT_MS",
    "PROVIDER_REQUEST_TIMEOUT_MS",
    "PROVIDER_RETRY_BUDGET_MS",
    "PROVIDER_DOWNLOAD_TIMEOUT_MS",
    "PROVIDER_MAX_DOWNLOAD_BYTES",
    "VIDEO_POLL_SECONDS",
    "VIDEO_DEADLINE_SECONDS",
    "VIDEO_FALLBACK",
    // A self-hosted model server on this machine over plain HTTP: a local
    // run's choice only; the template offers no such setting.
    "PROVIDER_ALLOW_HTTP_LOOPBACK",
];

/// `localhost`, 127.0.0.0/8 or ::1 (brackets allowed, as URLs write it).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Provider base URLs are HTTPS; plain HTTP only to loopback, and only when
/// the configuration allows it (the tests' fake servers).
fn check_base_url(key: &str, url: &str, allow_http_loopback: bool) -> anyhow::Result<()> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if allow_http_loopback
        && let Some(host) = url
            .strip_prefix("http://")
            .and_then(|rest| reqwest::Url::parse(&format!("http://{rest}")).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
        && is_loopback_host(&host)
    {
        return Ok(());
    }
    bail!("{key}={url} must be an https:// URL")
}

/// Payment variables a local run may set (README); the secrets among them
/// go into Secrets Manager, never into a function's environment.
pub const PAYMENT_VARS: &[&str] = &[
    "STRIPE_API_BASE",
    "STRIPE_API_KEY",
    "PAYMENT_WEBHOOK_SECRET",
];

impl Payments {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let api_base = get("STRIPE_API_BASE")
            .unwrap_or_else(|| "https://api.stripe.com".to_owned())
            .trim_end_matches('/')
            .to_owned();
        let loopback = matches!(
            get("PROVIDER_ALLOW_HTTP_LOOPBACK").as_deref(),
            Some("true" | "on" | "1")
        );
        check_base_url("STRIPE_API_BASE", &api_base, loopback)?;
        Ok(Payments {
            api_base,
            api_key: ApiKey::new(get("STRIPE_API_KEY").unwrap_or_default()),
            api_key_name: get("STRIPE_API_KEY_NAME"),
            webhook_secret: get("PAYMENT_WEBHOOK_SECRET"),
            webhook_secret_name: get("PAYMENT_WEBHOOK_SECRET_NAME"),
        })
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let required = |key: &str| {
            lookup(key)
                .filter(|v| !v.is_empty())
                .with_context(|| format!("environment variable {key} is not set"))
        };
        let number = |key: &str, default: i64| -> anyhow::Result<i64> {
            match lookup(key).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => {
                    let n: i64 = v
                        .parse()
                        .with_context(|| format!("{key}={v} is not a number"))?;
                    if n <= 0 {
                        bail!("{key} must be positive, got {n}");
                    }
                    Ok(n)
                }
            }
        };
        let defaults = Limits::default();
        let stage_defaults = Stages::default();
        let small = |key: &str, default: u32| -> anyhow::Result<u32> {
            let n = number(key, i64::from(default))?;
            u32::try_from(n).with_context(|| format!("{key} is too large"))
        };
        Ok(Config {
            accounts_table: required("ACCOUNTS_TABLE")?,
            usage_log_table: required("USAGE_LOG_TABLE")?,
            rate_limit_table: required("RATE_LIMIT_TABLE")?,
            credits_table: required("CREDITS_TABLE")?,
            content_table: required("CONTENT_TABLE")?,
            media_bucket: required("MEDIA_BUCKET")?,
            state_machine_arn: required("PIPELINE_STATE_MACHINE_ARN")?,
            fail_stage: lookup("PIPELINE_FAIL_STAGE").filter(|v| !v.is_empty()),
            transient_faults: transient_faults(lookup("PIPELINE_TRANSIENT_FAULTS"))?,
            stages: Stages {
                queue_url: lookup("STAGE_QUEUE_URL").filter(|v| !v.is_empty()),
                max_attempts: small("STAGE_MAX_ATTEMPTS", stage_defaults.max_attempts)?,
                backoff_base_s: small("STAGE_BACKOFF_BASE_SECONDS", stage_defaults.backoff_base_s)?,
                backoff_max_s: small("STAGE_BACKOFF_MAX_SECONDS", stage_defaults.backoff_max_s)?,
            },
            payments: Payments::from_lookup(&lookup)?,
            upload_retention_days: number("UPLOAD_RETENTION_DAYS", 30)?,
            job_deadline_minutes: number("JOB_DEADLINE_MINUTES", 90)?,
            export_queue_url: lookup("EXPORT_QUEUE_URL").filter(|v| !v.is_empty()),
            upload_url_ttl_seconds: number("UPLOAD_URL_TTL_SECONDS", 900)?,
            write_quiet_seconds: number("WRITE_QUIET_SECONDS", 1200)?,
            sweeper_budget_seconds: number("SWEEPER_BUDGET_SECONDS", 240)?,
            providers: Providers::from_lookup(&lookup)?,
            mail: Mail {
                queue_url: lookup("MAIL_QUEUE_URL").filter(|v| !v.is_empty()),
                sender: lookup("MAIL_SENDER")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "glimvid.example".to_owned()),
                web_app_url: lookup("WEB_APP_URL")
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned(),
                api_url: lookup("API_URL")
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned(),
            },
            webhooks: {
                let d = Webhooks::default();
                Webhooks {
                    queue_url: lookup("WEBHOOK_QUEUE_URL").filter(|v| !v.is_empty()),
                    retry_base_s: small("WEBHOOK_RETRY_BASE_SECONDS", d.retry_base_s)?,
                    retry_hours: number("WEBHOOK_RETRY_HOURS", d.retry_hours)?,
                    max_attempts: small("WEBHOOK_MAX_ATTEMPTS", d.max_attempts)?,
                    allow_loopback: lookup("WEBHOOK_ALLOW_LOOPBACK").as_deref() == Some("true"),
                }
            },
            limits: Limits {
                auth_requests_per_minute: small(
                    "AUTH_RATE_LIMIT_PER_MINUTE",
                    defaults.auth_requests_per_minute,
                )?,
                api_requests_per_minute: small(
                    "API_RATE_LIMIT_PER_MINUTE",
                    defaults.api_requests_per_minute,
                )?,
                api_key_requests_per_minute: small(
                    "API_KEY_RATE_LIMIT_PER_MINUTE",
                    defaults.api_key_requests_per_minute,
                )?,
                login_failures_per_account: small(
                    "LOGIN_FAILURES_PER_ACCOUNT",
                    defaults.login_failures_per_account,
                )?,
                session_days: number("SESSION_DAYS", defaults.session_days)?,
                usage_log_days: number("USAGE_LOG_RETENTION_DAYS", defaults.usage_log_days)?,
            },
        })
    }
}

/// The least configuration that loads: every required resource named.
#[cfg(test)]
pub(crate) mod test_support {
    pub const TABLES: [(&str, &str); 7] = [
        ("ACCOUNTS_TABLE", "a"),
        ("USAGE_LOG_TABLE", "u"),
        ("CREDITS_TABLE", "c"),
        ("CONTENT_TABLE", "j"),
        ("MEDIA_BUCKET", "b"),
        ("PIPELINE_STATE_MACHINE_ARN", "arn:sm"),
        ("RATE_LIMIT_TABLE", "r"),
    ];

    /// The configuration with every default.
    pub fn defaults() -> super::Config {
        super::Config::from_lookup(|k| {
            TABLES
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("defaults load")
    }
}

/// The function's `Handler` from the template, which Lambda passes to a
/// custom runtime as `_HANDLER`.
pub fn handler() -> anyhow::Result<String> {
    std::env::var("_HANDLER")
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("_HANDLER is not set (Lambda sets it from the function's Handler)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    use super::test_support::TABLES;

    #[test]
    fn defaults_keep_the_policy_promises() {
        let config = Config::from_lookup(lookup(&TABLES)).unwrap();
        assert_eq!(config.limits.auth_requests_per_minute, 10);
        assert_eq!(config.limits.usage_log_days, 30);
        assert_eq!(config.limits.session_days, 30);
    }

    #[test]
    fn missing_table_is_an_error() {
        let err = Config::from_lookup(lookup(&TABLES[..6])).unwrap_err();
        assert!(err.to_string().contains("RATE_LIMIT_TABLE"));
    }

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434",
            "http://[::1]:9000",
            "http://127.0.0.2",
        ] {
            assert!(check_base_url("X", url, true).is_ok(), "{url}");
            assert!(check_base_url("X", url, false).is_err(), "{url}");
        }
        for url in [
            "http://10.0.0.1",
            "http://127.0.0.1.example.com",
            "http://localhost@evil.test",
        ] {
            assert!(check_base_url("X", url, true).is_err(), "{url}");
        }
        assert!(check_base_url("X", "https://api.deepseek.com", false).is_ok());
    }

    #[test]
    fn backoff_doubles_per_delivery_up_to_its_cap() {
        let stages = Stages::default();
        let waits: Vec<u32> = (1..=6).map(|a| stages.backoff_seconds(a)).collect();
        assert_eq!(waits, [5, 10, 20, 40, 40, 40]);
        assert_eq!(stages.backoff_seconds(0), 5);
        assert_eq!(stages.backoff_seconds(u32::MAX), 40);
        assert_eq!(stages.max_backoff_seconds(), 40);
        let one = Stages {
            max_attempts: 1,
            ..Stages::default()
        };
        assert_eq!(one.max_backoff_seconds(), 0);
    }

    #[test]
    fn transient_faults_are_stage_count_pairs() {
        let mut pairs = TABLES.to_vec();
        pairs.push(("PIPELINE_TRANSIENT_FAULTS", "script:2, video:1"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.transient_faults["script"], 2);
        assert_eq!(config.transient_faults["video"], 1);
        assert!(
            Config::from_lookup(lookup(&TABLES))
                .unwrap()
                .transient_faults
                .is_empty()
        );
        for bad in ["script", "script:x", ":2"] {
            let mut pairs = TABLES.to_vec();
            pairs.push(("PIPELINE_TRANSIENT_FAULTS", bad));
            assert!(Config::from_lookup(lookup(&pairs)).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_positive_limits_are_rejected() {
        let mut pairs = TABLES.to_vec();
        pairs.push(("AUTH_RATE_LIMIT_PER_MINUTE", "0"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }
}
