//! S3 helpers shared by the capabilities that own objects.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use crate::app::App;
use crate::error::{Error, Result};

pub async fn put_bytes(app: &App, key: &str, content_type: &str, bytes: Vec<u8>) -> Result<()> {
    app.s3
        .put_object()
        .bucket(&app.config.media_bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| Error::internal("put object", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// A PutObject with its tags set in the same call.
pub async fn put_tagged(
    app: &App,
    key: &str,
    content_type: &str,
    bytes: Vec<u8>,
    tagging: String,
) -> Result<()> {
    app.s3
        .put_object()
        .bucket(&app.config.media_bucket)
        .key(key)
        .content_type(content_type)
        .tagging(tagging)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| Error::internal("put object", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

pub async fn get_bytes(app: &App, key: &str) -> Result<Vec<u8>> {
    let out = app
        .s3
        .get_object()
        .bucket(&app.config.media_bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| Error::internal("get object", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| Error::internal("read object", e))?;
    Ok(bytes.into_bytes().to_vec())
}

/// A server-side copy within the media bucket, with the source's headers.
pub async fn copy(app: &App, from: &str, to: &str) -> Result<()> {
    let bucket = &app.config.media_bucket;
    app.s3
        .copy_object()
        .bucket(bucket)
        .copy_source(format!("{bucket}/{from}"))
        .key(to)
        .send()
        .await
        .map_err(|e| Error::internal("copy object", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// Deletes the keys; a key that is already gone is fine.
pub async fn delete_objects(app: &App, keys: &[String]) -> Result<()> {
    for key in keys {
        app.s3
            .delete_object()
            .bucket(&app.config.media_bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                Error::internal("delete object", aws_sdk_s3::error::DisplayErrorContext(e))
            })?;
    }
    Ok(())
}

/// Asks the sweeper to delete everything under `prefixes` at `at` (unix
/// seconds), once nothing can write there any more: what a running stage
/// or a still-valid upload URL writes after a deletion goes then. The
/// item is in the owner's content partition, so a purge finds it too.
pub async fn sweep_later(app: &App, user_id: &str, prefixes: &[String], at: i64) -> Result<()> {
    let id = uuid::Uuid::new_v4().to_string();
    let pk = format!("SWEEP#{id}");
    let mut item = crate::dynamo::Item::from([
        ("pk".to_owned(), crate::dynamo::s(&pk)),
        ("sk".to_owned(), crate::dynamo::s("SWEEP")),
        ("kind".to_owned(), crate::dynamo::s("sweep")),
        ("user_id".to_owned(), crate::dynamo::s(user_id)),
        (
            "gsi1pk".to_owned(),
            crate::dynamo::s(sweeps_partition(user_id)),
        ),
        ("gsi1sk".to_owned(), crate::dynamo::s(&id)),
        (
            "prefixes".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::Ss(prefixes.to_vec()),
        ),
    ]);
    item.extend(crate::due::attributes(&pk, at));
    app.dynamo
        .put_item()
        .table_name(&app.config.content_table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| crate::dynamo::sdk_error("schedule sweep", e))?;
    Ok(())
}

pub fn sweeps_partition(user_id: &str) -> String {
    format!("USER#{user_id}#SWEEPS")
}

/// Deletes every object under `prefix`, page by page; returns how many.
pub async fn delete_prefix(app: &App, prefix: &str) -> Result<usize> {
    let mut deleted = 0;
    loop {
        let keys = list_keys(app, prefix, 1000).await?;
        if keys.is_empty() {
            return Ok(deleted);
        }
        delete_objects(app, &keys).await?;
        deleted += keys.len();
    }
}

/// Every key under `prefix`, page by page.
pub async fn all_keys(app: &App, prefix: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .s3
            .list_objects_v2()
            .bucket(&app.config.media_bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| {
                Error::internal("list objects", aws_sdk_s3::error::DisplayErrorContext(e))
            })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(keys),
        }
    }
}

/// Up to `max` keys under `prefix`.
pub async fn list_keys(app: &App, prefix: &str, max: i32) -> Result<Vec<String>> {
    let out = app
        .s3
        .list_objects_v2()
        .bucket(&app.config.media_bucket)
        .prefix(prefix)
        .max_keys(max.clamp(1, 1000))
        .send()
        .await
        .map_err(|e| Error::internal("list objects", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect())
}

/// A short-lived GET link to a private object.
pub async fn presigned_get(app: &App, key: &str, ttl: Duration) -> Result<String> {
    presign_get(app, key, ttl, None).await
}

/// A short-lived GET link whose answer carries these headers instead of
/// the object's own (S3's `response-content-disposition` and
/// `response-content-type`, covered by the signature).
pub async fn presigned_get_served_as(
    app: &App,
    key: &str,
    ttl: Duration,
    content_disposition: &str,
    content_type: &str,
) -> Result<String> {
    presign_get(app, key, ttl, Some((content_disposition, content_type))).await
}

async fn presign_get(
    app: &App,
    key: &str,
    ttl: Duration,
    served_as: Option<(&str, &str)>,
) -> Result<String> {
    let config =
        PresigningConfig::expires_in(ttl).map_err(|e| Error::internal("presign config", e))?;
    let mut req = app
        .s3
        .get_object()
        .bucket(&app.config.media_bucket)
        .key(key);
    if let Some((disposition, content_type)) = served_as {
        req = req
            .response_content_disposition(disposition)
            .response_content_type(content_type);
    }
    let req = req
        .presigned(config)
        .await
        .map_err(|e| Error::internal("presign get", e))?;
    Ok(req.uri().to_owned())
}

/// `Content-Disposition` that has a browser save the file as `name`.`ext`:
/// `filename` an ASCII slug of the name (`fallback` when nothing of it is
/// ASCII), which every client reads, and for a name with other characters
/// (a Chinese title) also `filename*` (RFC 8187), which browsers prefer.
pub fn attachment(name: &str, fallback: &str, ext: &str) -> String {
    const MAX_CHARS: usize = 60;
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= MAX_CHARS {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { fallback } else { slug };
    let mut header = format!("attachment; filename=\"{slug}.{ext}\"");
    if !name.is_ascii() {
        // What a file system or a download bar cannot show goes; the rest,
        // spaces included, stays as the user wrote it.
        let unsafe_char = |c: char| c.is_control() || "/\\:*?\"<>|".contains(c);
        let cleaned: String = name
            .chars()
            .map(|c| if unsafe_char(c) { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let cleaned: String = cleaned
            .trim_start_matches('.')
            .chars()
            .take(MAX_CHARS)
            .collect();
        let cleaned = cleaned.trim();
        if !cleaned.is_empty() {
            header.push_str(&format!(
                "; filename*=UTF-8''{}.{ext}",
                percent_encode_attr(cleaned)
            ));
        }
    }
    header
}

/// RFC 8187's `attr-char` kept, every other byte `%XX`.
fn percent_encode_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::attachment;

    #[test]
    fn attachments_are_named_after_the_title_in_ascii_and_utf_8() {
        assert_eq!(
            attachment("Ceramic mug", "video", "mp4"),
            "attachment; filename=\"ceramic-mug.mp4\""
        );
        assert_eq!(
            attachment("  Mug: \"Blue\"/Green!  ", "video", "mp4"),
            "attachment; filename=\"mug-blue-green.mp4\""
        );
        assert_eq!(
            attachment("陶瓷杯", "video", "mp4"),
            "attachment; filename=\"video.mp4\"; filename*=UTF-8''%E9%99%B6%E7%93%B7%E6%9D%AF.mp4"
        );
        assert_eq!(
            attachment("手工 mug 350ml/蓝", "video", "mp4"),
            "attachment; filename=\"mug-350ml.mp4\"; filename*=UTF-8''%E6%89%8B%E5%B7%A5%20mug%20350ml%20%E8%93%9D.mp4"
        );
        let long = attachment(&"a".repeat(200), "video", "mp4");
        assert_eq!(
            long,
            format!("attachment; filename=\"{}.mp4\"", "a".repeat(60))
        );
    }
}
