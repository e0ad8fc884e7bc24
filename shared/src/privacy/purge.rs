//! Account deletion. `DELETE /me` re-checks the password, signs out every
//! session at once and leaves a purge marker; the retention sweeper then
//! removes every record and object of the user in bounded, idempotent
//! steps, so a purge interrupted anywhere simply resumes on the next run.
//! Payment records are the exception tax law makes: each is kept without
//! anything linking it to the user (`billing::records::keep_for_tax`).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use futures::StreamExt;
use serde::Deserialize;

use crate::accounts::{self, Principal};
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_opt_s, n, s};
use crate::error::{Error, Result};
use crate::jobs;

const MARKERS: &str = "PURGES";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    pub password: String,
}

/// Marks the account for deletion and revokes every session in one transaction.
pub async fn request_deletion(
    app: &App,
    principal: &Principal,
    input: DeleteAccount,
) -> Result<()> {
    let user = &principal.user;
    if !accounts::password::verify(input.password, Some(user.password_hash.clone())).await? {
        return Err(Error::Forbidden {
            code: "wrong_password",
            field: Some("password"),
            message: "the password is incorrect".into(),
        });
    }
    // Stripe first: an account that cannot stop its plan is not deleted,
    // or it would go on being charged with nobody to see it.
    crate::billing::cancel_all(app, &user.id).await?;
    let table = &app.config.accounts_table;
    let now = clock::rfc3339(clock::now());
    let revoke = Update::builder()
        .table_name(table)
        .key("pk", s(format!("USER#{}", user.id)))
        .key("sk", s("PROFILE"))
        .update_expression("SET deleting = :true, session_generation = session_generation + :one")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":true", dynamo::b(true))
        .expression_attribute_values(":one", n(1));
    let marker = Put::builder()
        .table_name(table)
        .item("pk", s(format!("PURGE#{}", user.id)))
        .item("sk", s("PURGE"))
        .item("user_id", s(&user.id))
        .item("email", s(&user.email))
        .item("gsi1pk", s(MARKERS))
        .item("gsi1sk", s(format!("{now}#{}", user.id)))
        .item("requested_at", s(&now));
    app.dynamo
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(dynamo::built(revoke.build())?)
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .put(dynamo::built(marker.build())?)
                .build(),
        )
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("request deletion", e))?;
    tracing::info!(user_id = %user.id, "account deletion requested");
    crate::mail::enqueue(
        app,
        &crate::mail::Notice::DeletionRequested {
            to: user.email.clone(),
            language: user.language.as_str().to_owned(),
            requested_at: now,
        },
    )
    .await;
    Ok(())
}

/// Every pending purge, oldest request first: `(user id, requested at)`.
pub async fn pending(app: &App) -> Result<Vec<(String, String)>> {
    let query = app
        .dynamo
        .query()
        .table_name(&app.config.accounts_table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(":p", s(MARKERS));
    Ok(dynamo::query_all(query, "list purges")
        .await?
        .iter()
        .filter_map(|i| Some((get_opt_s(i, "user_id")?, get_opt_s(i, "requested_at")?)))
        .collect())
}

/// The user's records in the accounts and credits tables: what does not
/// grow with use (the export reads the rest page by page).
pub async fn account_records(app: &App, user_id: &str) -> Result<Vec<(String, Item)>> {
    let c = &app.config;
    let mut out = Vec::new();
    let mut add = |table: &str, items: Vec<Item>| {
        out.extend(items.into_iter().map(|i| (table.to_owned(), i)))
    };
    let profile = query(
        app,
        &c.accounts_table,
        None,
        "pk",
        &format!("USER#{user_id}"),
    )
    .await?;
    let email = profile.iter().find_map(|i| get_opt_s(i, "email"));
    add(&c.accounts_table, profile);
    if let Some(email) = email {
        add(
            &c.accounts_table,
            query(
                app,
                &c.accounts_table,
                None,
                "pk",
                &format!("EMAIL#{email}"),
            )
            .await?,
        );
    }
    add(
        &c.accounts_table,
        query(
            app,
            &c.accounts_table,
            Some("gsi1"),
            "gsi1pk",
            &format!("USER#{user_id}"),
        )
        .await?,
    );
    add(
        &c.accounts_table,
        query(
            app,
            &c.accounts_table,
            None,
            "pk",
            &format!("PURGE#{user_id}"),
        )
        .await?,
    );
    let credits = query(
        app,
        &c.credits_table,
        None,
        "pk",
        &format!("USER#{user_id}"),
    )
    .await?;
    let mut referenced = Vec::new();
    for item in &credits {
        let sk = get_opt_s(item, "sk").unwrap_or_default();
        if let Some(ip) = sk.strip_prefix("TRIAL#") {
            referenced.push(format!("TRIAL#IP#{ip}"));
        } else if get_opt_s(item, "kind").as_deref() == Some("payment_pointer")
            && let Some(event) = sk.strip_prefix("PAYMENT#")
        {
            // Older grants pointed at their event record, which named the user.
            referenced.push(format!("EVENT#{event}"));
        }
    }
    add(&c.credits_table, credits);
    for pk in referenced {
        let items = query(app, &c.credits_table, None, "pk", &pk).await?;
        add(
            &c.credits_table,
            items
                .into_iter()
                .filter(|i| get_opt_s(i, "user_id").as_deref() == Some(user_id))
                .collect(),
        );
    }
    Ok(out)
}

/// Every record about the user, table by table, found through keys and
/// indexes (no scans): the account and credits records, content (uploads,
/// videos, their public links, scheduled sweeps, exports), usage-log lines.
pub async fn records_of(app: &App, user_id: &str) -> Result<Vec<(String, Item)>> {
    let c = &app.config;
    let mut out = account_records(app, user_id).await?;
    let mut add = |table: &str, items: Vec<Item>| {
        out.extend(items.into_iter().map(|i| (table.to_owned(), i)))
    };
    let mut content = Vec::new();
    for partition in [
        format!("USER#{user_id}#UPLOADS"),
        format!("USER#{user_id}#JOBS"),
        crate::storage::sweeps_partition(user_id),
        crate::privacy::export::user_partition(user_id),
    ] {
        content.extend(query(app, &c.content_table, Some("gsi1"), "gsi1pk", &partition).await?);
    }
    // Published videos' links, named by the job items just read.
    let public_ids: Vec<String> = content
        .iter()
        .filter_map(|i| get_opt_s(i, "public_id"))
        .collect();
    add(&c.content_table, content);
    for public_id in public_ids {
        let pk = jobs::store::public_pk(&public_id);
        add(
            &c.content_table,
            query(app, &c.content_table, None, "pk", &pk).await?,
        );
    }
    add(
        &c.usage_log_table,
        query(
            app,
            &c.usage_log_table,
            Some(crate::usage::GSI_BY_USER),
            "user_id",
            user_id,
        )
        .await?,
    );
    Ok(out)
}

async fn query(
    app: &App,
    table: &str,
    index: Option<&str>,
    attr: &str,
    value: &str,
) -> Result<Vec<Item>> {
    let query = app
        .dynamo
        .query()
        .table_name(table)
        .set_index_name(index.map(str::to_owned))
        .key_condition_expression("#k = :v")
        .expression_attribute_names("#k", attr)
        .expression_attribute_values(":v", s(value));
    dynamo::query_all(query, "query user records").await
}

/// Deletes at once, to keep a heavy account's purge (tens of thousands of
/// usage-log lines) within one sweeper run.
const DELETES_AT_ONCE: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing of the user is left.
    Finished,
    /// The step's budget ran out: the next step goes on.
    More,
    /// All deleted, but writes may still arrive: looked at again later.
    Settling,
}

/// One bounded step of a purge. Finished only once `write_quiet_seconds`
/// have passed since the request, when no stage and no upload URL can
/// write for the user any more, and a last listing of the user's prefix
/// finds it empty.
pub async fn purge_step(
    app: &App,
    user_id: &str,
    requested_at: &str,
    budget: usize,
) -> Result<Progress> {
    let mut spent = 0;
    // Live executions would keep writing; stop them first. Published
    // copies live outside the user's prefix: they go by their job.
    for job in jobs::store::all_of(app, user_id).await? {
        if job.status.is_live()
            && let Some(arn) = &job.execution_arn
        {
            let _ = app
                .sfn
                .stop_execution()
                .execution_arn(arn)
                .cause("account deleted")
                .send()
                .await;
        }
        if let Some(public_id) = &job.public_id {
            crate::storage::delete_objects(app, &[jobs::public_video_key(public_id)]).await?;
        }
    }
    let prefix = format!("users/{user_id}/");
    let keys =
        crate::storage::list_keys(app, &prefix, i32::try_from(budget).unwrap_or(1000)).await?;
    crate::storage::delete_objects(app, &keys).await?;
    spent += keys.len();
    if spent >= budget {
        return Ok(Progress::More);
    }
    let records = records_of(app, user_id).await?;
    // Sweeps scheduled for the user's deleted videos may name public
    // copies; they are done now rather than dropped.
    for (_, item) in &records {
        if get_opt_s(item, "kind").as_deref() == Some("sweep") {
            for prefix in item
                .get("prefixes")
                .and_then(|v| v.as_ss().ok())
                .into_iter()
                .flatten()
            {
                crate::storage::delete_prefix(app, prefix).await?;
            }
        }
    }
    let quiet_since = clock::parse_rfc3339(requested_at)
        .map(|t| t.unix_timestamp() + app.config.write_quiet_seconds)
        .unwrap_or_default();
    let settled = clock::now().unix_timestamp() >= quiet_since;
    // The marker goes last, so an interrupted purge is found again; and it
    // stays until writes can no longer arrive.
    let (markers, rest): (Vec<_>, Vec<_>) = records
        .into_iter()
        .partition(|(_, i)| get_opt_s(i, "pk").is_some_and(|pk| pk.starts_with("PURGE#")));
    let batch: Vec<(String, Item)> = rest
        .iter()
        .take(budget.saturating_sub(spent))
        .cloned()
        .collect();
    let more = batch.len() < rest.len();
    spent += batch.len();
    let results: Vec<Result<()>> = futures::stream::iter(batch)
        .map(|(table, item)| async move { forget(app, &table, &item).await })
        .buffer_unordered(DELETES_AT_ONCE)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    if more {
        return Ok(Progress::More);
    }
    if !settled || !crate::storage::list_keys(app, &prefix, 1).await?.is_empty() {
        return Ok(Progress::Settling);
    }
    for (table, item) in &markers {
        forget(app, table, item).await?;
    }
    tracing::info!(user_id, deleted = spent, "account purged");
    Ok(Progress::Finished)
}

/// Deletes one record of a purged user (payments first kept for tax,
/// trial claims kept without the user).
async fn forget(app: &App, table: &str, item: &Item) -> Result<()> {
    let pk = get_opt_s(item, "pk").unwrap_or_default();
    let payment = crate::billing::records::payment_from_item(item);
    if let Some(payment) = payment.filter(|_| table == app.config.credits_table) {
        crate::billing::records::keep_for_tax(app, &payment).await?;
    }
    if pk.starts_with("TRIAL#IP#") {
        // The IP's claim stays (the trial is once per IP, ever) but no
        // longer says whose it was.
        app.dynamo
            .update_item()
            .table_name(table)
            .key("pk", s(&pk))
            .key("sk", s("TRIAL"))
            .update_expression("REMOVE user_id")
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("anonymise trial claim", e))?;
    } else {
        let mut key = Item::new();
        for attr in ["pk", "sk"] {
            if let Some(v) = item.get(attr) {
                key.insert(attr.to_owned(), v.clone());
            }
        }
        app.dynamo
            .delete_item()
            .table_name(table)
            .set_key(Some(key))
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("purge record", e))?;
    }
    Ok(())
}
