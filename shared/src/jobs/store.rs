//! ContentTable items for video jobs: `pk=JOB#{id}, sk=JOB`, listed per user
//! newest first through gsi1 (`USER#{id}#JOBS`, `{created}#{id}`), and the
//! public link `pk=PUBLIC#{public id}, sk=PUBLIC` pointing at its job.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::{Job, JobError, Stage, Status};
use crate::app::App;
use crate::dynamo::{self, Item, get_n, get_opt_s, get_s, n, s};
use crate::error::{Error, Result};

pub const PAGE_SIZE: i32 = 20;

pub fn pk(id: &str) -> String {
    format!("JOB#{id}")
}

pub fn public_pk(public_id: &str) -> String {
    format!("PUBLIC#{public_id}")
}

pub fn user_partition(user_id: &str) -> String {
    format!("USER#{user_id}#JOBS")
}

pub fn to_item(job: &Job) -> Item {
    let mut item = Item::from([
        ("pk".into(), s(pk(&job.id))),
        ("sk".into(), s("JOB")),
        ("kind".into(), s("job")),
        ("gsi1pk".into(), s(user_partition(&job.user_id))),
        ("gsi1sk".into(), s(format!("{}#{}", job.created_at, job.id))),
        ("job_id".into(), s(&job.id)),
        ("user_id".into(), s(&job.user_id)),
        ("status".into(), s(job.status.as_str())),
        ("stage".into(), s(job.stage.as_str())),
        ("title".into(), s(&job.title)),
        ("description".into(), s(&job.description)),
        ("language".into(), s(&job.language)),
        ("aspect_ratio".into(), s(&job.aspect_ratio)),
        ("duration_s".into(), n(job.duration_s)),
        ("price".into(), n(job.price)),
        ("music".into(), s(&job.music)),
        ("created_at".into(), s(&job.created_at)),
        ("updated_at".into(), s(&job.updated_at)),
    ]);
    let optional = [
        ("style", &job.style),
        ("display_price", &job.display_price),
        ("url", &job.url),
        ("group_id", &job.group_id),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            item.insert(k.into(), s(v));
        }
    }
    let lists = [
        ("upload_ids", &job.upload_ids),
        ("upload_keys", &job.upload_keys),
        ("variant_ids", &job.variant_ids),
    ];
    for (k, v) in lists {
        if !v.is_empty() {
            item.insert(k.into(), dynamo::strings(v));
        }
    }
    if job.group_id.is_some() {
        item.insert("variant".into(), n(job.variant));
    }
    item
}

pub fn from_item(item: &Item) -> Result<Job> {
    let error = match (
        get_opt_s(item, "error_stage"),
        get_opt_s(item, "error_code"),
        get_opt_s(item, "error_message"),
    ) {
        (Some(stage), Some(code), Some(message)) => Some(JobError {
            stage,
            code,
            message,
            cause: get_opt_s(item, "error_cause"),
        }),
        _ => None,
    };
    Ok(Job {
        id: get_s(item, "job_id")?,
        user_id: get_s(item, "user_id")?,
        status: Status::parse(&get_s(item, "status")?)?,
        stage: Stage::parse(&get_s(item, "stage")?)?,
        title: get_s(item, "title")?,
        description: get_s(item, "description")?,
        language: get_s(item, "language")?,
        aspect_ratio: get_s(item, "aspect_ratio")?,
        duration_s: u32::try_from(get_n(item, "duration_s")?).unwrap_or(5),
        style: get_opt_s(item, "style"),
        // Jobs from before the choice existed had the style's mood.
        music: get_opt_s(item, "music").unwrap_or_else(|| super::options::MUSIC_AUTO.to_owned()),
        display_price: get_opt_s(item, "display_price"),
        url: get_opt_s(item, "url"),
        upload_ids: listed(item, "upload_ids", "upload_id"),
        upload_keys: listed(item, "upload_keys", "upload_key"),
        price: get_n(item, "price")?,
        created_at: get_s(item, "created_at")?,
        updated_at: get_s(item, "updated_at")?,
        finished_at: get_opt_s(item, "finished_at"),
        script: get_opt_s(item, "script"),
        enhanced_keys: listed(item, "enhanced_keys", "enhanced_key"),
        group_id: get_opt_s(item, "group_id"),
        variant: get_n(item, "variant")
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        variant_ids: dynamo::get_strings(item, "variant_ids"),
        video_key: get_opt_s(item, "video_key"),
        poster_key: get_opt_s(item, "poster_key"),
        public_id: get_opt_s(item, "public_id"),
        execution_arn: get_opt_s(item, "execution_arn"),
        error,
        fallback: dynamo::get_bool(item, "fallback"),
        fallback_shots: get_n(item, "fallback_shots")
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
    })
}

/// A list attribute, or the single value jobs from before lists had.
fn listed(item: &Item, list: &str, single: &str) -> Vec<String> {
    match item.get(list) {
        Some(_) => dynamo::get_strings(item, list),
        None => get_opt_s(item, single).into_iter().collect(),
    }
}

/// The new job, due at the sweeper by its deadline: if it is still live
/// then, it is failed and refunded.
pub fn put_new(app: &App, job: &Job) -> Result<TransactWriteItem> {
    let mut item = to_item(job);
    let deadline = crate::clock::now().unix_timestamp() + app.config.job_deadline_minutes * 60;
    item.extend(crate::due::attributes(&pk(&job.id), deadline));
    Ok(TransactWriteItem::builder()
        .put(dynamo::built(
            Put::builder()
                .table_name(&app.config.content_table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?)
        .build())
}

pub async fn get(app: &App, id: &str) -> Result<Option<Job>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(id)))
        .key("sk", s("JOB"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get job", e))?;
    out.item.map(|i| from_item(&i)).transpose()
}

/// The job if it exists and belongs to `user_id`; anyone else's is "not found".
pub async fn owned(app: &App, user_id: &str, id: &str) -> Result<Job> {
    match get(app, id).await? {
        Some(job) if job.user_id == user_id => Ok(job),
        _ => Err(Error::NotFound { what: "video" }),
    }
}

pub async fn list(
    app: &App,
    user_id: &str,
    after: Option<&str>,
) -> Result<(Vec<Job>, Option<String>)> {
    let (items, next) =
        crate::dynamo::newest_first(app, &user_partition(user_id), after, PAGE_SIZE).await?;
    Ok((items.iter().map(from_item).collect::<Result<_>>()?, next))
}

/// A conditional update of a live (queued or running) job. Returns false
/// when the job is no longer live or `extra_condition` fails.
pub async fn update_live(
    app: &App,
    id: &str,
    set: &str,
    extra_condition: Option<&str>,
    values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Result<bool> {
    let mut condition = "#status IN (:queued, :running)".to_owned();
    if let Some(extra) = extra_condition {
        condition = format!("{condition} AND {extra}");
    }
    let mut req = app
        .dynamo
        .update_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(id)))
        .key("sk", s("JOB"))
        .update_expression(set)
        .condition_expression(condition)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":queued", s("queued"))
        .expression_attribute_values(":running", s("running"));
    for (k, v) in values {
        req = req.expression_attribute_values(k, v);
    }
    dynamo::written(req.send().await, "update job")
}

/// Ends a live job (failed or cancelled) and returns its credits, in one
/// transaction conditioned on the job still being live: whoever gets there
/// first refunds, everyone after finds nothing to do. Returns whether this
/// call did it.
pub async fn end_with_refund(
    app: &App,
    job: &Job,
    status: Status,
    error: Option<&JobError>,
    reason: &str,
) -> Result<bool> {
    let now = crate::clock::rfc3339(crate::clock::now());
    let mut update = Update::builder()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(&job.id)))
        .key("sk", s("JOB"))
        // The price read with the job: a fallback video lowers it (and refunds
        // the difference), so a refund computed from a stale read must fail.
        .condition_expression("#status IN (:queued, :running) AND price = :price")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":queued", s("queued"))
        .expression_attribute_values(":running", s("running"))
        .expression_attribute_values(":price", n(job.price))
        .expression_attribute_values(":status", s(status.as_str()))
        .expression_attribute_values(":now", s(&now))
        .expression_attribute_values(":true", dynamo::b(true))
        .expression_attribute_values(":reconcile", n(reconcile_at(app)));
    let mut set =
        "SET #status = :status, updated_at = :now, finished_at = :now, refunded = :true, \
                   due_at = :reconcile"
            .to_owned();
    if let Some(err) = error {
        set.push_str(", error_stage = :es, error_code = :ec, error_message = :em");
        update = update
            .expression_attribute_values(":es", s(&err.stage))
            .expression_attribute_values(":ec", s(&err.code))
            .expression_attribute_values(":em", s(&err.message));
        if let Some(cause) = &err.cause {
            set.push_str(", error_cause = :cause");
            update = update.expression_attribute_values(":cause", s(cause));
        }
    }
    let mut items = vec![
        TransactWriteItem::builder()
            .update(dynamo::built(update.update_expression(set).build())?)
            .build(),
    ];
    items.extend(crate::credits::change_items(
        &app.config.credits_table,
        &crate::credits::Change {
            user_id: &job.user_id,
            kind: crate::credits::EntryKind::Refund,
            amount: job.price,
            reason,
            job_id: Some(&job.id),
            source: None,
        },
    )?);
    let ended = dynamo::transact_if(&app.dynamo, items, "end job with refund").await?;
    if ended {
        ended_notice(app, job, status).await;
    }
    Ok(ended)
}

/// Tells the mailer, which mails the owner and calls their webhooks. Said
/// again when the sweeper reconciles the ended job, so a notice lost on its
/// way (SQS refusing every try) still arrives; the mailer's send claims and
/// the deliveries' own ids make the repeat change nothing otherwise.
pub(crate) async fn ended_notice(app: &App, job: &Job, status: Status) {
    crate::mail::enqueue(
        app,
        &crate::mail::Notice::JobEnded {
            user_id: job.user_id.clone(),
            job_id: job.id.clone(),
            status: Some(status.as_str().to_owned()),
        },
    )
    .await;
}

/// When the sweeper reconciles an ended job's objects with its record:
/// once nothing can write for it any more.
fn reconcile_at(app: &App) -> i64 {
    crate::clock::now().unix_timestamp() + app.config.write_quiet_seconds
}

/// Marks the job succeeded and publishes its link, once.
pub async fn finish(app: &App, job: &Job, public_id: &str) -> Result<bool> {
    let now = crate::clock::rfc3339(crate::clock::now());
    let update = Update::builder()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(&job.id)))
        .key("sk", s("JOB"))
        .condition_expression("#status IN (:queued, :running) AND attribute_exists(video_key)")
        .update_expression(
            "SET #status = :succeeded, stage = :done, updated_at = :now, finished_at = :now, \
             public_id = :pid, due_at = :reconcile",
        )
        .expression_attribute_values(":reconcile", n(reconcile_at(app)))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":queued", s("queued"))
        .expression_attribute_values(":running", s("running"))
        .expression_attribute_values(":succeeded", s("succeeded"))
        .expression_attribute_values(":done", s(Stage::Done.as_str()))
        .expression_attribute_values(":now", s(&now))
        .expression_attribute_values(":pid", s(public_id));
    let link = Put::builder()
        .table_name(&app.config.content_table)
        .item("pk", s(public_pk(public_id)))
        .item("sk", s("PUBLIC"))
        .item("kind", s("public_link"))
        .item("job_id", s(&job.id))
        .item("user_id", s(&job.user_id))
        .condition_expression("attribute_not_exists(pk)");
    let items = vec![
        TransactWriteItem::builder()
            .update(dynamo::built(update.build())?)
            .build(),
        TransactWriteItem::builder()
            .put(dynamo::built(link.build())?)
            .build(),
    ];
    let finished = dynamo::transact_if(&app.dynamo, items, "finish job").await?;
    if finished {
        ended_notice(app, job, Status::Succeeded).await;
    }
    Ok(finished)
}

pub async fn job_for_public_id(app: &App, public_id: &str) -> Result<Option<Job>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.content_table)
        .key("pk", s(public_pk(public_id)))
        .key("sk", s("PUBLIC"))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get public link", e))?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    get(app, &get_s(&item, "job_id")?).await
}

/// Removes the job record and its public link.
pub async fn delete(app: &App, job: &Job) -> Result<()> {
    let mut keys = vec![(pk(&job.id), "JOB")];
    if let Some(public_id) = &job.public_id {
        keys.push((public_pk(public_id), "PUBLIC"));
    }
    for (pk, sk) in keys {
        app.dynamo
            .delete_item()
            .table_name(&app.config.content_table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("delete job", e))?;
    }
    Ok(())
}

/// Every job of the user, newest first.
pub async fn all_of(app: &App, user_id: &str) -> Result<Vec<Job>> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = list(app, user_id, cursor.as_deref()).await?;
        all.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(all),
        }
    }
}
