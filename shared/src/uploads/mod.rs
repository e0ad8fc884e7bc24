//! Uploads: the browser sends the photo straight to S3 with a presigned
//! PUT whose signature covers Content-Type and Content-Length, so storage
//! itself refuses any other type or size. A completion call then checks the
//! stored bytes carry a real image header of a usable size and writes them
//! to a key no presigned URL names, before any stage may use them: the
//! ticket, valid for its whole life, can never change a verified photo.

mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use glimvid_media::ImageFormat;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::clock;
use crate::error::{Error, Result};
pub use store::{Upload, UploadStatus};

pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const MIN_SIDE: u32 = 300;
pub const MAX_SIDE: u32 = 6000;
const MIN_RATIO: f64 = 0.4;
const MAX_RATIO: f64 = 2.5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    pub content_type: String,
    pub size_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Ticket {
    pub upload_id: String,
    pub method: &'static str,
    pub url: String,
    /// Send exactly these headers with the PUT; the signature covers them.
    pub headers: BTreeMap<String, String>,
    pub expires_in: u64,
}

#[derive(Debug, Serialize)]
pub struct UploadView {
    pub id: String,
    pub status: UploadStatus,
    pub content_type: String,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub created_at: String,
}

impl From<&Upload> for UploadView {
    fn from(u: &Upload) -> Self {
        UploadView {
            id: u.id.clone(),
            status: u.status,
            content_type: u.content_type.clone(),
            size_bytes: u.size_bytes,
            width: u.width,
            height: u.height,
            created_at: u.created_at.clone(),
        }
    }
}

fn format_for(content_type: &str) -> Option<(ImageFormat, &'static str)> {
    match content_type {
        "image/jpeg" => Some((ImageFormat::Jpeg, "jpg")),
        "image/png" => Some((ImageFormat::Png, "png")),
        "image/webp" => Some((ImageFormat::WebP, "webp")),
        _ => None,
    }
}

pub async fn create(app: &App, user_id: &str, input: NewUpload) -> Result<Ticket> {
    let content_type = input.content_type.trim().to_ascii_lowercase();
    let (_, extension) = format_for(&content_type).ok_or_else(|| {
        Error::invalid(
            "content_type",
            "content_type must be image/jpeg, image/png or image/webp",
        )
    })?;
    if input.size_bytes == 0 || input.size_bytes > MAX_BYTES {
        return Err(Error::invalid(
            "size_bytes",
            format!("size_bytes must be between 1 and {MAX_BYTES} (10 MiB)"),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let upload = Upload {
        key: format!("users/{user_id}/uploads/{id}.{extension}"),
        incoming_key: Some(format!("users/{user_id}/incoming/{id}.{extension}")),
        id,
        user_id: user_id.to_owned(),
        status: UploadStatus::Pending,
        content_type,
        size_bytes: input.size_bytes,
        width: None,
        height: None,
        created_at: clock::rfc3339(clock::now()),
    };
    let ttl = url_ttl(app);
    let presign =
        PresigningConfig::expires_in(ttl).map_err(|e| Error::internal("presign config", e))?;
    let size = i64::try_from(upload.size_bytes).map_err(|e| Error::internal("size", e))?;
    let request = app
        .s3
        .put_object()
        .bucket(&app.config.media_bucket)
        .key(upload.put_key())
        .content_type(&upload.content_type)
        .content_length(size)
        .tagging(crate::privacy::training::PENDING_TAGGING)
        .presigned(presign)
        .await
        .map_err(|e| Error::internal("presign upload", e))?;
    store::put(app, &upload, first_due(app, clock::now())).await?;
    let headers = BTreeMap::from([
        ("content-type".to_owned(), upload.content_type.clone()),
        ("content-length".to_owned(), upload.size_bytes.to_string()),
        (
            "x-amz-tagging".to_owned(),
            crate::privacy::training::PENDING_TAGGING.to_owned(),
        ),
    ]);
    Ok(Ticket {
        upload_id: upload.id,
        method: "PUT",
        url: request.uri().to_owned(),
        headers,
        expires_in: ttl.as_secs(),
    })
}

fn url_ttl(app: &App) -> Duration {
    Duration::from_secs(u64::try_from(app.config.upload_url_ttl_seconds).unwrap_or(900))
}

/// When the sweeper first looks at a new upload: once its URL has expired
/// and nothing can write any more. It then removes whatever the ticket
/// left at the incoming key, forgets an upload never completed, and moves
/// a completed one on to its retention date.
fn first_due(app: &App, created: time::OffsetDateTime) -> i64 {
    created.unix_timestamp() + app.config.upload_url_ttl_seconds + app.config.write_quiet_seconds
}

impl Upload {
    /// The key the presigned PUT names.
    pub fn put_key(&self) -> &str {
        self.incoming_key.as_deref().unwrap_or(&self.key)
    }

    /// Every key the upload may have in storage.
    pub fn object_keys(&self) -> Vec<String> {
        let mut keys = vec![self.key.clone()];
        keys.extend(self.incoming_key.iter().cloned());
        keys
    }
}

/// Checks what storage holds is a usable photo; refuses and removes it otherwise.
pub async fn complete(app: &App, user: &crate::accounts::User, id: &str) -> Result<UploadView> {
    let mut upload = store::owned(app, &user.id, id).await?;
    if upload.status == UploadStatus::Ready {
        return Ok(UploadView::from(&upload));
    }
    let Some(bytes) = fetch(app, upload.put_key()).await? else {
        return Err(Error::conflict(
            "upload_missing",
            "the file has not been uploaded yet: PUT it to the upload URL first",
        ));
    };
    let verdict = check_image(&upload, &bytes);
    match verdict {
        Ok((width, height)) => {
            upload.status = UploadStatus::Ready;
            upload.width = Some(width);
            upload.height = Some(height);
            if upload.incoming_key.is_some() {
                // The bytes just checked, not whatever the incoming key
                // holds now: the ticket may have been used again since.
                // The caller's own flag, read with their session.
                crate::storage::put_tagged(
                    app,
                    &upload.key,
                    &upload.content_type,
                    bytes,
                    crate::privacy::training::tagging(user.training_opt_out),
                )
                .await?;
                crate::storage::delete_objects(
                    app,
                    std::slice::from_ref(&upload.put_key().to_owned()),
                )
                .await?;
            } else {
                crate::privacy::training::tag_object(app, &upload.key, user.training_opt_out)
                    .await?;
            }
            store::mark_ready(app, &upload).await?;
            Ok(UploadView::from(&upload))
        }
        Err(err) => {
            remove(app, &upload).await?;
            Err(err)
        }
    }
}

async fn fetch(app: &App, key: &str) -> Result<Option<Vec<u8>>> {
    let out = app
        .s3
        .get_object()
        .bucket(&app.config.media_bucket)
        .key(key)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) => {
            return Err(Error::internal(
                "get upload",
                aws_sdk_s3::error::DisplayErrorContext(err),
            ));
        }
    };
    // The signature pinned the size, but never trust it blindly.
    if out.content_length().unwrap_or_default() as u64 > MAX_BYTES {
        return Err(Error::Unprocessable {
            code: "too_large",
            message: "the stored file is larger than 10 MiB".into(),
        });
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| Error::internal("read upload", e))?
        .into_bytes();
    Ok(Some(bytes.to_vec()))
}

fn check_image(upload: &Upload, bytes: &[u8]) -> Result<(u32, u32)> {
    let declared = format_for(&upload.content_type).map(|(f, _)| f);
    // The header alone: the API links no decoder. The first stage to read the
    // pixels decodes them whole and fails the job on a damaged body.
    let info = glimvid_media::probe::read_header(bytes).map_err(|e| Error::Unprocessable {
        code: "not_an_image",
        message: format!("the file is not a usable JPEG, PNG or WebP image: {e}").into(),
    })?;
    let refuse = |code: &'static str, message: String| Error::Unprocessable {
        code,
        message: message.into(),
    };
    if Some(info.format) != declared {
        return Err(refuse(
            "type_mismatch",
            format!(
                "the file is {:?}, not the declared {}",
                info.format, upload.content_type
            ),
        ));
    }
    let (w, h) = (info.width, info.height);
    if w.min(h) < MIN_SIDE || w.max(h) > MAX_SIDE {
        return Err(refuse(
            "bad_dimensions",
            format!("the photo is {w}x{h}; each side must be {MIN_SIDE}-{MAX_SIDE} px"),
        ));
    }
    let ratio = f64::from(w) / f64::from(h);
    if !(MIN_RATIO..=MAX_RATIO).contains(&ratio) {
        return Err(refuse(
            "bad_aspect_ratio",
            format!(
                "the photo's width/height is {ratio:.2}; it must be between {MIN_RATIO} and {MAX_RATIO}"
            ),
        ));
    }
    Ok((w, h))
}

async fn remove(app: &App, upload: &Upload) -> Result<()> {
    crate::storage::delete_objects(app, &upload.object_keys()).await?;
    store::delete(app, &upload.id).await
}

pub async fn list(
    app: &App,
    user_id: &str,
    cursor: Option<&str>,
) -> Result<crate::Page<UploadView>> {
    let (uploads, next) = store::list(app, user_id, cursor).await?;
    Ok(crate::Page {
        items: uploads.iter().map(UploadView::from).collect(),
        next_cursor: next,
    })
}

/// Deletes the upload and everything derived from it: the videos made
/// from it (objects and public links) go too.
pub async fn delete(app: &App, user_id: &str, id: &str) -> Result<()> {
    let upload = store::owned(app, user_id, id).await?;
    for job in crate::jobs::store::all_of(app, user_id).await? {
        if job.uses_upload(id) {
            crate::jobs::delete(app, user_id, &job.id).await?;
        }
    }
    // The ticket may still be valid: what it writes after this is removed
    // once it has expired.
    let created = clock::parse_rfc3339(&upload.created_at).unwrap_or_else(clock::now);
    let after =
        first_due(app, created).max(clock::now().unix_timestamp() + app.config.write_quiet_seconds);
    crate::storage::sweep_later(app, user_id, &upload.object_keys(), after).await?;
    remove(app, &upload).await
}

pub use store::{from_item as from_record, owned};

/// Removes the upload's record (its object is already gone).
pub async fn forget(app: &App, id: &str) -> Result<()> {
    store::delete(app, id).await
}

/// A ready upload the caller owns, for a job to use.
/// `field`: the request field that named it, which an error names too.
pub async fn ready(app: &App, user_id: &str, id: &str, field: &'static str) -> Result<Upload> {
    let upload = store::owned(app, user_id, id).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::invalid(field, "no such upload"),
        other => other,
    })?;
    if upload.status != UploadStatus::Ready {
        return Err(Error::Conflict {
            code: "upload_not_ready",
            field: Some(field),
            message: "complete the upload before using it".into(),
        });
    }
    Ok(upload)
}

/// One page of the user's uploads, newest first, and the next page's cursor.
pub async fn page(
    app: &App,
    user_id: &str,
    cursor: Option<&str>,
) -> Result<(Vec<Upload>, Option<String>)> {
    store::list(app, user_id, cursor).await
}

/// Every upload of the user, newest first.
pub async fn all_of(app: &App, user_id: &str) -> Result<Vec<Upload>> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store::list(app, user_id, cursor.as_deref()).await?;
        all.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(all),
        }
    }
}
