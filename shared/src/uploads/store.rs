//! ContentTable items for uploads: `pk=UPLOAD#{id}, sk=UPLOAD`, listed per
//! user newest first through gsi1 (`USER#{id}#UPLOADS`, `{created}#{id}`).

use serde::Serialize;

use crate::app::App;
use crate::dynamo::{self, Item, get_n, get_opt_s, get_s, n, s};
use crate::error::{Error, Result};

pub const PAGE_SIZE: i32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    Pending,
    Ready,
}

#[derive(Debug, Clone)]
pub struct Upload {
    pub id: String,
    pub user_id: String,
    /// Where the verified photo lives: written by the server alone.
    pub key: String,
    /// Where the presigned PUT writes. Completion checks what is there and
    /// stores it at `key`, so a ticket used again changes nothing a job
    /// reads. (None on uploads from before the split.)
    pub incoming_key: Option<String>,
    pub status: UploadStatus,
    pub content_type: String,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub created_at: String,
}

pub fn pk(id: &str) -> String {
    format!("UPLOAD#{id}")
}

pub fn user_partition(user_id: &str) -> String {
    format!("USER#{user_id}#UPLOADS")
}

/// `due_at`: when the sweeper first looks at it (see `uploads::first_due`).
fn to_item(u: &Upload, due_at: i64) -> Item {
    let mut item = Item::from([
        ("pk".into(), s(pk(&u.id))),
        ("sk".into(), s("UPLOAD")),
        ("kind".into(), s("upload")),
        ("gsi1pk".into(), s(user_partition(&u.user_id))),
        ("gsi1sk".into(), s(format!("{}#{}", u.created_at, u.id))),
        ("upload_id".into(), s(&u.id)),
        ("user_id".into(), s(&u.user_id)),
        ("key".into(), s(&u.key)),
        ("status".into(), s("pending")),
        ("content_type".into(), s(&u.content_type)),
        ("size_bytes".into(), n(u.size_bytes)),
        ("created_at".into(), s(&u.created_at)),
    ]);
    if let Some(incoming) = &u.incoming_key {
        item.insert("incoming_key".into(), s(incoming));
    }
    item.extend(crate::due::attributes(&pk(&u.id), due_at));
    item
}

pub fn from_item(item: &Item) -> Result<Upload> {
    let dim = |k: &'static str| item.contains_key(k).then(|| get_n(item, k)).transpose();
    Ok(Upload {
        id: get_s(item, "upload_id")?,
        user_id: get_s(item, "user_id")?,
        key: get_s(item, "key")?,
        incoming_key: get_opt_s(item, "incoming_key"),
        status: if get_opt_s(item, "status").as_deref() == Some("ready") {
            UploadStatus::Ready
        } else {
            UploadStatus::Pending
        },
        content_type: get_s(item, "content_type")?,
        size_bytes: u64::try_from(get_n(item, "size_bytes")?).unwrap_or_default(),
        width: dim("width")?.and_then(|v| u32::try_from(v).ok()),
        height: dim("height")?.and_then(|v| u32::try_from(v).ok()),
        created_at: get_s(item, "created_at")?,
    })
}

pub async fn put(app: &App, upload: &Upload, due_at: i64) -> Result<()> {
    app.dynamo
        .put_item()
        .table_name(&app.config.content_table)
        .set_item(Some(to_item(upload, due_at)))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("put upload", e))?;
    Ok(())
}

/// The upload if it exists and belongs to `user_id`; anyone else's is "not found".
pub async fn owned(app: &App, user_id: &str, id: &str) -> Result<Upload> {
    // Longer than any id issued: names nothing, and must not reach the key.
    if id.len() > 64 {
        return Err(Error::NotFound { what: "upload" });
    }
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(id)))
        .key("sk", s("UPLOAD"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get upload", e))?;
    match out.item.map(|i| from_item(&i)).transpose()? {
        Some(u) if u.user_id == user_id => Ok(u),
        _ => Err(Error::NotFound { what: "upload" }),
    }
}

pub async fn mark_ready(app: &App, upload: &Upload) -> Result<()> {
    app.dynamo
        .update_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(&upload.id)))
        .key("sk", s("UPLOAD"))
        .update_expression("SET #status = :ready, width = :w, height = :h")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":ready", s("ready"))
        .expression_attribute_values(":w", n(upload.width.unwrap_or_default()))
        .expression_attribute_values(":h", n(upload.height.unwrap_or_default()))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("mark upload ready", e))?;
    Ok(())
}

pub async fn delete(app: &App, id: &str) -> Result<()> {
    app.dynamo
        .delete_item()
        .table_name(&app.config.content_table)
        .key("pk", s(pk(id)))
        .key("sk", s("UPLOAD"))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("delete upload", e))?;
    Ok(())
}

pub async fn list(
    app: &App,
    user_id: &str,
    after: Option<&str>,
) -> Result<(Vec<Upload>, Option<String>)> {
    let (items, next) =
        crate::dynamo::newest_first(app, &user_partition(user_id), after, PAGE_SIZE).await?;
    Ok((items.iter().map(from_item).collect::<Result<_>>()?, next))
}
