//! Training opt-out. Uploads carry an S3 tag saying whether they may feed
//! model training; the tag follows the account's flag, and the training-set
//! listing leaves out everything tagged (or owned by someone) opted out.

use aws_sdk_s3::types::{Tag, Tagging};

use crate::accounts::AccountStore;
use crate::app::App;
use crate::dynamo::{self, get_opt_s, s};
use crate::error::{Error, Result};

pub const TAG: &str = "glimvid-training";
/// What the presigned PUT tags a new upload with (the signature covers it).
/// Completion replaces it with `allowed` or `opt-out`, so only uploads never
/// completed keep it, and the bucket's lifecycle rule expires those.
pub const PENDING_TAGGING: &str = "glimvid-training=pending";

fn value(opt_out: bool) -> &'static str {
    if opt_out { "opt-out" } else { "allowed" }
}

/// The tag as a PutObject's `x-amz-tagging` header value.
pub fn tagging(opt_out: bool) -> String {
    format!("{TAG}={}", value(opt_out))
}

pub async fn tag_object(app: &App, key: &str, opt_out: bool) -> Result<()> {
    let tag = Tag::builder()
        .key(TAG)
        .value(value(opt_out))
        .build()
        .map_err(|e| Error::internal("tag", e))?;
    let tagging = Tagging::builder()
        .tag_set(tag)
        .build()
        .map_err(|e| Error::internal("tagging", e))?;
    app.s3
        .put_object_tagging()
        .bucket(&app.config.media_bucket)
        .key(key)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| Error::internal("tag object", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// Re-tags every ready upload of the user after the flag changed.
pub async fn retag_user(app: &App, user_id: &str, opt_out: bool) -> Result<usize> {
    let mut count = 0;
    for upload in crate::uploads::all_of(app, user_id).await? {
        if upload.status == crate::uploads::UploadStatus::Ready {
            tag_object(app, &upload.key, opt_out).await?;
            count += 1;
        }
    }
    Ok(count)
}

/// The object's training tag, if it has one.
pub async fn tag_of(app: &App, key: &str) -> Result<Option<String>> {
    let out = app
        .s3
        .get_object_tagging()
        .bucket(&app.config.media_bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| Error::internal("get tags", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(out
        .tag_set()
        .iter()
        .find(|t| t.key() == TAG)
        .map(|t| t.value().to_owned()))
}

async fn tagged_opt_out(app: &App, key: &str) -> Result<bool> {
    Ok(tag_of(app, key).await?.is_some_and(|v| v != value(false)))
}

/// The upload keys that may be used for training: ready uploads whose
/// object is not tagged opted out and whose owner has not opted out.
/// An offline job (admin command), so a scan is acceptable here.
pub async fn training_set(app: &App) -> Result<Vec<String>> {
    let accounts = AccountStore::new(&app.dynamo, &app.config.accounts_table);
    let mut keys = Vec::new();
    let mut start = None;
    loop {
        let page = app
            .dynamo
            .scan()
            .table_name(&app.config.content_table)
            .filter_expression("kind = :upload AND #status = :ready")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":upload", s("upload"))
            .expression_attribute_values(":ready", s("ready"))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("scan uploads", e))?;
        for item in page.items() {
            let (Some(key), Some(user_id)) = (get_opt_s(item, "key"), get_opt_s(item, "user_id"))
            else {
                continue;
            };
            let owner_opted_out = accounts
                .user_by_id(&user_id)
                .await?
                .is_none_or(|u| u.training_opt_out);
            if !owner_opted_out && !tagged_opt_out(app, &key).await? {
                keys.push(key);
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(keys);
        }
    }
}
