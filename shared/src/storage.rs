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

/// A short-lived GET link to a private object.
pub async fn presigned_get(app: &App, key: &str, ttl: Duration) -> Result<String> {
    let config =
        PresigningConfig::expires_in(ttl).map_err(|e| Error::internal("presign config", e))?;
    let req = app
        .s3
        .get_object()
        .bucket(&app.config.media_bucket)
        .key(key)
        .presigned(config)
        .await
        .map_err(|e| Error::internal("presign get", e))?;
    Ok(req.uri().to_owned())
}
