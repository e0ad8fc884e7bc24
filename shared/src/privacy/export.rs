//! Exports of any size: every record we hold about the caller, as JSON,
//! with short-lived links to every object.
//!
//! `POST /me/exports` records a pending export and queues it; the export
//! worker writes the file while it reads (paginated queries, into its
//! ephemeral storage, then streamed to S3), so neither its memory nor any
//! response grows with the account. `GET /me/exports/{id}` then hands out
//! a short-lived link, and a mail says the export is ready. The file is
//! kept 7 days (the sweeper deletes it through the due index).

use std::time::Duration;

use serde::Serialize;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_s3::primitives::ByteStream;

use crate::accounts::{User, UserView};
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_n, get_opt_s, n, s};
use crate::error::{Error, Result};
use crate::jobs;
use crate::storage;
use crate::uploads::UploadView;

const LINK_TTL: Duration = Duration::from_secs(3600);

/// The parts of an export whose size does not grow with use; the file
/// writes these first, then the credits ledger, uploads, videos and usage
/// log, which it streams.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub format: &'static str,
    pub exported_at: String,
    pub account: UserView,
    pub preferences: Preferences,
    pub sessions: Vec<SessionRecord>,
    pub free_trial: Vec<TrialRecord>,
    /// Links mailed to the account and not yet used (their tokens are
    /// kept only as hashes, so only what they are for and until when).
    pub email_links: Vec<LinkRecord>,
    /// Policy versions the account acknowledged, and when.
    pub policy_acknowledgements: Vec<PolicyAckRecord>,
    /// When each IP the account signed in from within 30 days was last
    /// seen (the IPs are kept only as salted hashes, to spot new ones).
    pub recent_sign_ins: Vec<String>,
    /// Every payment, with Stripe's invoice link. After a deletion these
    /// stay (for tax law) with nothing linking them to the account.
    pub payments: Vec<crate::billing::Payment>,
    pub subscriptions: Vec<crate::billing::Subscription>,
    /// Personal API keys (their secrets are kept only as hashes).
    pub api_keys: Vec<ApiKeyRecord>,
    /// Webhook endpoints (not their signing secrets) and their deliveries
    /// of the last 30 days.
    pub webhooks: Vec<WebhookRecord>,
    pub webhook_deliveries: Vec<DeliveryRecord>,
    pub links_expire_in_s: u64,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct DeliveryRecord {
    pub webhook_id: String,
    pub event: String,
    pub job_id: String,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct Preferences {
    pub language: crate::accounts::Language,
    pub marketing_opt_in: bool,
    pub training_opt_out: bool,
    pub notify_jobs: bool,
}

#[derive(Debug, Serialize)]
pub struct SessionRecord {
    pub created_at: String,
    pub expires_at: i64,
}

#[derive(Debug, Serialize)]
pub struct TrialRecord {
    pub ip: String,
    pub claimed_at: String,
}

#[derive(Debug, Serialize)]
pub struct LinkRecord {
    pub purpose: String,
    pub sent_to: String,
    pub created_at: String,
    pub expires_at: i64,
}

#[derive(Debug, Serialize)]
pub struct PolicyAckRecord {
    pub version: String,
    pub acknowledged_at: String,
}

#[derive(Debug, Serialize)]
pub struct ExportedUpload {
    #[serde(flatten)]
    pub upload: UploadView,
    pub download_url: Option<String>,
}

async fn summary(app: &App, user: &User) -> Result<Summary> {
    let records = crate::privacy::purge::account_records(app, &user.id).await?;
    let mut sessions = Vec::new();
    let mut free_trial = Vec::new();
    let mut policy_acknowledgements = Vec::new();
    let mut recent_sign_ins = Vec::new();
    let mut email_links = Vec::new();
    let mut api_keys = Vec::new();
    let mut webhooks = Vec::new();
    let mut webhook_deliveries = Vec::new();
    for (table, item) in &records {
        let pk = get_opt_s(item, "pk").unwrap_or_default();
        let sk = get_opt_s(item, "sk").unwrap_or_default();
        if table == &app.config.accounts_table && sk == "PROFILE" {
            let acks = item.get("policy_acks").and_then(|v| v.as_l().ok());
            for ack in acks.into_iter().flatten() {
                let Ok(ack) = ack.as_m() else { continue };
                policy_acknowledgements.push(PolicyAckRecord {
                    version: get_opt_s(ack, "version").unwrap_or_default(),
                    acknowledged_at: get_opt_s(ack, "at").unwrap_or_default(),
                });
            }
        } else if table == &app.config.accounts_table && pk.starts_with("LINK#") {
            email_links.push(LinkRecord {
                purpose: get_opt_s(item, "purpose").unwrap_or_default(),
                sent_to: get_opt_s(item, "email").unwrap_or_default(),
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
                expires_at: get_n(item, "expires_at").unwrap_or_default(),
            });
        } else if table == &app.config.accounts_table && sk.starts_with("SIGNIN#") {
            recent_sign_ins.extend(get_opt_s(item, "last_seen"));
        } else if table == &app.config.accounts_table && pk.starts_with("SESSION#") {
            sessions.push(SessionRecord {
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
                expires_at: get_n(item, "expires_at").unwrap_or_default(),
            });
        } else if table == &app.config.accounts_table && pk.starts_with("APIKEY#") {
            api_keys.push(ApiKeyRecord {
                id: get_opt_s(item, "key_id").unwrap_or_default(),
                name: get_opt_s(item, "name").unwrap_or_default(),
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
            });
        } else if table == &app.config.accounts_table && sk.starts_with("WEBHOOK#") {
            webhooks.push(WebhookRecord {
                id: get_opt_s(item, "webhook_id").unwrap_or_default(),
                url: get_opt_s(item, "url").unwrap_or_default(),
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
            });
        } else if table == &app.config.accounts_table && pk.starts_with("HOOKDLV#") {
            webhook_deliveries.push(DeliveryRecord {
                webhook_id: get_opt_s(item, "webhook_id").unwrap_or_default(),
                event: get_opt_s(item, "event").unwrap_or_default(),
                job_id: get_opt_s(item, "job_id").unwrap_or_default(),
                status: get_opt_s(item, "status").unwrap_or_default(),
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
            });
        } else if pk.starts_with("TRIAL#") {
            free_trial.push(TrialRecord {
                ip: get_opt_s(item, "ip").unwrap_or_default(),
                claimed_at: get_opt_s(item, "claimed_at").unwrap_or_default(),
            });
        }
    }
    let now = crate::clock::epoch_seconds(crate::clock::now());
    sessions.retain(|s| s.expires_at > now);

    Ok(Summary {
        format: "glimvid-export/2",
        exported_at: crate::clock::rfc3339(crate::clock::now()),
        account: UserView::from(user),
        preferences: Preferences {
            language: user.language,
            marketing_opt_in: user.marketing_opt_in,
            training_opt_out: user.training_opt_out,
            notify_jobs: user.notify_jobs,
        },
        sessions,
        free_trial,
        email_links,
        policy_acknowledgements,
        recent_sign_ins,
        payments: crate::billing::records::payments(app, &user.id).await?,
        subscriptions: crate::billing::records::subscriptions(app, &user.id).await?,
        api_keys,
        webhooks,
        webhook_deliveries,
        links_expire_in_s: LINK_TTL.as_secs(),
    })
}

/// The handler name of the export worker (its `Handler` in the template).
pub const EXPORT_HANDLER: &str = "export-worker";
const KEEP_DAYS: i64 = 7;
/// Writes reach the file in chunks of this size.
const BUFFER_BYTES: usize = 1024 * 1024;
/// Deliveries of one export before it is given up as failed.
const ATTEMPTS: u32 = 3;
/// A pending export older than this is not waited for: a new one starts.
const PENDING_FOR_S: i64 = 15 * 60;
const LISTED: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportStatus {
    Pending,
    Ready,
    Failed,
}

/// An export as its owner sees it; `url` only once it is ready.
#[derive(Debug, Serialize)]
pub struct ExportView {
    pub id: String,
    pub status: ExportStatus,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    pub available_until: String,
}

fn pk(id: &str) -> String {
    format!("EXPORT#{id}")
}

pub fn user_partition(user_id: &str) -> String {
    format!("USER#{user_id}#EXPORTS")
}

/// A key per attempt, so a duplicate delivery that loses the race deletes
/// only its own file.
fn file_key(user_id: &str, id: &str) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("users/{user_id}/exports/{id}-{}.json", &nonce[..12])
}

fn status_of(item: &Item) -> ExportStatus {
    match get_opt_s(item, "status").as_deref() {
        Some("ready") => ExportStatus::Ready,
        Some("failed") => ExportStatus::Failed,
        _ => ExportStatus::Pending,
    }
}

async fn view(app: &App, item: &Item) -> Result<ExportView> {
    let status = status_of(item);
    let id = get_opt_s(item, "export_id").unwrap_or_default();
    let created_at = get_opt_s(item, "created_at").unwrap_or_default();
    let url = match (status, get_opt_s(item, "key")) {
        (ExportStatus::Ready, Some(key)) => Some(
            storage::presigned_get_served_as(
                app,
                &key,
                LINK_TTL,
                &storage::attachment(
                    &format!("glimvid-export-{}", &created_at[..created_at.len().min(10)]),
                    "glimvid-export",
                    "json",
                ),
                "application/json",
            )
            .await?,
        ),
        _ => None,
    };
    Ok(ExportView {
        id,
        status,
        created_at,
        ready_at: get_opt_s(item, "ready_at"),
        size_bytes: item
            .contains_key("size_bytes")
            .then(|| get_n(item, "size_bytes"))
            .transpose()?,
        expires_in: url.as_ref().map(|_| LINK_TTL.as_secs()),
        url,
        available_until: clock::rfc3339(clock::from_epoch(
            get_n(item, "due_at").unwrap_or_default(),
        )),
    })
}

async fn recent(app: &App, user_id: &str) -> Result<Vec<Item>> {
    let (items, _) = dynamo::newest_first(app, &user_partition(user_id), None, LISTED).await?;
    Ok(items)
}

/// Starts an export, or returns the one already being made.
pub async fn start(app: &App, user: &User) -> Result<ExportView> {
    let now = clock::now();
    for item in recent(app, &user.id).await? {
        let created = get_opt_s(&item, "created_at")
            .and_then(|c| clock::parse_rfc3339(&c))
            .map(|c| c.unix_timestamp())
            .unwrap_or_default();
        if status_of(&item) == ExportStatus::Pending
            && now.unix_timestamp() - created < PENDING_FOR_S
        {
            return view(app, &item).await;
        }
    }
    let Some(queue) = app.config.export_queue_url.as_deref() else {
        return Err(Error::internal("export", "no EXPORT_QUEUE_URL"));
    };
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = clock::rfc3339(now);
    let mut item = Item::from([
        ("pk".to_owned(), s(pk(&id))),
        ("sk".to_owned(), s("EXPORT")),
        ("kind".to_owned(), s("export")),
        ("export_id".to_owned(), s(&id)),
        ("user_id".to_owned(), s(&user.id)),
        ("status".to_owned(), s("pending")),
        ("created_at".to_owned(), s(&created_at)),
        ("gsi1pk".to_owned(), s(user_partition(&user.id))),
        ("gsi1sk".to_owned(), s(format!("{created_at}#{id}"))),
    ]);
    item.extend(crate::due::attributes(
        &pk(&id),
        now.unix_timestamp() + KEEP_DAYS * 86_400,
    ));
    app.dynamo
        .put_item()
        .table_name(&app.config.content_table)
        .set_item(Some(item.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("put export", e))?;
    let body = serde_json::json!({ "export_id": id, "user_id": user.id }).to_string();
    app.sqs
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .map_err(|e| Error::internal("queue export", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    tracing::info!(export_id = %id, user_id = %user.id, "export queued");
    view(app, &item).await
}

pub async fn list(app: &App, user_id: &str) -> Result<Vec<ExportView>> {
    let mut views = Vec::new();
    for item in recent(app, user_id).await? {
        views.push(view(app, &item).await?);
    }
    Ok(views)
}

async fn record(app: &App, id: &str) -> Result<Option<Item>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(id)))
        .key("sk", s("EXPORT"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get export", e))?;
    Ok(out.item)
}

/// The caller's export; anyone else's is "not found".
pub async fn get(app: &App, user_id: &str, id: &str) -> Result<ExportView> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Error::NotFound { what: "export" });
    }
    match record(app, id).await? {
        Some(item) if get_opt_s(&item, "user_id").as_deref() == Some(user_id) => {
            view(app, &item).await
        }
        _ => Err(Error::NotFound { what: "export" }),
    }
}

#[derive(serde::Deserialize)]
struct Job {
    export_id: String,
    user_id: String,
}

/// The export worker: one message per export.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let attempt = crate::redelivery::receive_count(&message);
        let Some(job) = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Job>(b).ok())
        else {
            tracing::error!(message_id = %id, "unreadable export message dropped");
            continue;
        };
        match build(app, &job.user_id, &job.export_id).await {
            Ok(()) => {}
            Err(err) if attempt < ATTEMPTS => {
                tracing::warn!(export_id = %job.export_id, attempt, error = %format!("{err:#}"), "export will be retried");
                crate::redelivery::retry(&mut response, id);
            }
            Err(err) => {
                tracing::error!(export_id = %job.export_id, attempt, error = %format!("{err:#}"), "export failed");
                if let Err(err) = mark(app, &job.export_id, "failed", None).await {
                    tracing::error!(export_id = %job.export_id, error = %err, "could not mark the export failed");
                }
            }
        }
    }
    response
}

async fn mark(app: &App, id: &str, status: &str, done: Option<(&str, u64)>) -> Result<bool> {
    let mut req = app
        .dynamo
        .update_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(id)))
        .key("sk", s("EXPORT"))
        .condition_expression("#status = :pending")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":pending", s("pending"))
        .expression_attribute_values(":status", s(status));
    req = match done {
        Some((key, size)) => req
            .update_expression(
                "SET #status = :status, #key = :key, size_bytes = :size, ready_at = :now",
            )
            .expression_attribute_names("#key", "key")
            .expression_attribute_values(":key", s(key))
            .expression_attribute_values(":size", n(size))
            .expression_attribute_values(":now", s(clock::rfc3339(clock::now()))),
        None => req.update_expression("SET #status = :status"),
    };
    dynamo::written(req.send().await, "mark export")
}

async fn build(app: &App, user_id: &str, id: &str) -> Result<()> {
    let Some(item) = record(app, id).await? else {
        // The account (or the export) is gone: nothing to write for it.
        return Ok(());
    };
    if status_of(&item) != ExportStatus::Pending
        || get_opt_s(&item, "user_id").as_deref() != Some(user_id)
    {
        return Ok(());
    }
    let accounts = crate::accounts::AccountStore::new(&app.dynamo, &app.config.accounts_table);
    let Some(user) = accounts.user_by_id(user_id).await?.filter(|u| !u.deleting) else {
        return Ok(());
    };
    let key = file_key(user_id, id);
    let mut file = JsonFile::new(app, &key).await?;
    let written = write_all(app, &user, &mut file).await;
    let size = match written {
        Ok(()) => file.finish().await?,
        Err(err) => {
            file.abort().await;
            return Err(err);
        }
    };
    if mark(app, id, "ready", Some((&key, size))).await? {
        tracing::info!(export_id = %id, size_bytes = size, "export ready");
        crate::mail::enqueue(
            app,
            &crate::mail::Notice::ExportReady {
                user_id: user_id.to_owned(),
                export_id: id.to_owned(),
            },
        )
        .await;
    } else {
        // Someone else finished it (a duplicate delivery): this copy goes.
        storage::delete_objects(app, &[key]).await?;
    }
    Ok(())
}

async fn write_all(app: &App, user: &User, file: &mut JsonFile<'_>) -> Result<()> {
    let summary = serde_json::to_value(summary(app, user).await?)
        .map_err(|e| Error::internal("export summary", e))?;
    file.open('{').await?;
    if let serde_json::Value::Object(fields) = summary {
        for (name, value) in &fields {
            file.field(name, value).await?;
        }
    }
    file.key("credits").await?;
    file.open('{').await?;
    file.field("balance", &crate::credits::balance(app, &user.id).await?)
        .await?;
    file.key("ledger").await?;
    file.open('[').await?;
    let mut ledger = crate::credits::ledger_query(app, &user.id)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = ledger
        .try_next()
        .await
        .map_err(|e| dynamo::sdk_error("export ledger", e))?
    {
        file.element(&crate::credits::entry_from_item(&item)?)
            .await?;
    }
    file.close(']').await?;
    file.close('}').await?;

    file.key("uploads").await?;
    file.open('[').await?;
    let mut cursor = None;
    loop {
        let (uploads, next) = crate::uploads::page(app, &user.id, cursor.as_deref()).await?;
        for upload in &uploads {
            let download_url = Some(storage::presigned_get(app, &upload.key, LINK_TTL).await?);
            file.element(&ExportedUpload {
                upload: UploadView::from(upload),
                download_url,
            })
            .await?;
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    file.close(']').await?;

    file.key("videos").await?;
    file.open('[').await?;
    let mut cursor = None;
    loop {
        let (page, next) = jobs::store::list(app, &user.id, cursor.as_deref()).await?;
        for job in &page {
            file.element(&jobs::view(app, job).await?).await?;
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    file.close(']').await?;

    file.key("usage_log").await?;
    file.open('[').await?;
    let mut lines = crate::usage::query_for_user(app, &user.id)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = lines
        .try_next()
        .await
        .map_err(|e| dynamo::sdk_error("export usage log", e))?
    {
        file.element(&crate::usage::line_from_item(&item)?).await?;
    }
    file.close(']').await?;
    file.close('}').await
}

/// The sweeper's part: an export past its 7 days goes, file and record.
pub async fn expire(app: &App, item: &Item) -> Result<()> {
    if let Some(key) = get_opt_s(item, "key") {
        storage::delete_objects(app, &[key]).await?;
    }
    let id = get_opt_s(item, "export_id").unwrap_or_default();
    app.dynamo
        .delete_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(&id)))
        .key("sk", s("EXPORT"))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("delete export", e))?;
    Ok(())
}

/// A JSON document written as it is produced: through a buffer to a file
/// in the function's ephemeral storage (so memory stays flat however large
/// the account), then streamed to S3 from that file in one PutObject.
/// Commas are the writer's business: each open object or array remembers
/// whether it has had a member yet.
struct JsonFile<'a> {
    app: &'a App,
    key: &'a str,
    path: std::path::PathBuf,
    out: Option<tokio::io::BufWriter<tokio::fs::File>>,
    size: u64,
    /// One entry per open container: whether it has a member already.
    open: Vec<bool>,
}

impl<'a> JsonFile<'a> {
    async fn new(app: &'a App, key: &'a str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "glimvid-export-{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Error::internal("export file", e))?;
        Ok(JsonFile {
            app,
            key,
            path,
            out: Some(tokio::io::BufWriter::with_capacity(BUFFER_BYTES, file)),
            size: 0,
            open: Vec::new(),
        })
    }

    async fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| Error::internal("export file", "already closed"))?;
        out.write_all(bytes)
            .await
            .map_err(|e| Error::internal("write export", e))?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    async fn separate(&mut self) -> Result<()> {
        if let Some(had_member) = self.open.last_mut() {
            let comma = std::mem::replace(had_member, true);
            if comma {
                self.raw(b",").await?;
            }
        }
        Ok(())
    }

    async fn open(&mut self, bracket: char) -> Result<()> {
        let mut b = [0u8; 4];
        self.raw(bracket.encode_utf8(&mut b).as_bytes()).await?;
        self.open.push(false);
        Ok(())
    }

    async fn close(&mut self, bracket: char) -> Result<()> {
        self.open.pop();
        let mut b = [0u8; 4];
        self.raw(bracket.encode_utf8(&mut b).as_bytes()).await
    }

    /// A member's name; the value that follows is that member.
    async fn key(&mut self, name: &str) -> Result<()> {
        self.separate().await?;
        let name = serde_json::to_vec(name).map_err(|e| Error::internal("export key", e))?;
        self.raw(&name).await?;
        self.raw(b":").await
    }

    async fn value<T: Serialize>(&mut self, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::internal("export value", e))?;
        self.raw(&bytes).await
    }

    async fn field<T: Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        self.key(name).await?;
        self.value(value).await
    }

    async fn element<T: Serialize>(&mut self, value: &T) -> Result<()> {
        self.separate().await?;
        self.value(value).await
    }

    async fn finish(mut self) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        if let Some(mut out) = self.out.take() {
            out.flush()
                .await
                .map_err(|e| Error::internal("flush export", e))?;
        }
        let body = ByteStream::from_path(&self.path)
            .await
            .map_err(|e| Error::internal("read export file", e))?;
        let sent = self
            .app
            .s3
            .put_object()
            .bucket(&self.app.config.media_bucket)
            .key(self.key)
            .content_type("application/json")
            .content_length(i64::try_from(self.size).map_err(|e| Error::internal("size", e))?)
            .body(body)
            .send()
            .await;
        let _ = tokio::fs::remove_file(&self.path).await;
        sent.map_err(|e| Error::internal("put export", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(self.size)
    }

    async fn abort(self) {
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}
