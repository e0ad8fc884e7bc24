//! The runner against the emulator `./scripts/test` starts (with
//! `--verify-sigv4`): provisioning from the template, idempotent re-runs,
//! and presigned URLs whose signatures the emulator checks.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use glimvid_runner::{Options, Running, start};

fn require_emulator() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| !v.is_empty()),
        "AWS_ENDPOINT_URL is not set: run the tests with ./scripts/test, which starts the emulator"
    );
}

fn options(prefix: &str) -> Options {
    Options {
        prefix: prefix.to_owned(),
        ..Options::default()
    }
}

fn fresh_prefix() -> String {
    format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

async fn running(prefix: &str) -> Running {
    require_emulator();
    start(options(prefix))
        .await
        .unwrap_or_else(|e| panic!("runner failed to start: {e:#}"))
}

#[tokio::test]
async fn provisions_every_resource_and_again_idempotently() {
    let prefix = fresh_prefix();
    let first = running(&prefix).await;
    let resources = first.resources.clone();
    assert_eq!(
        resources["MediaBucket"],
        format!("{prefix}-mediabucket"),
        "{resources:?}"
    );
    assert!(resources["ScriptQueue"].ends_with(&format!("/{prefix}-ScriptQueue")));
    assert!(
        resources["PipelineStateMachine"]
            .ends_with(&format!(":stateMachine:{prefix}-PipelineStateMachine"))
    );
    assert_eq!(
        first.config.media_bucket, resources["MediaBucket"],
        "the app's config comes from the same resolution"
    );

    let sdk = glimvid::app::aws_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&resources["ScriptQueue"])
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{prefix}-ScriptDeadLetterQueue")),
        "{redrive}"
    );
    assert_eq!(redrive["maxReceiveCount"], 6);
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "540");
    first.stop().await;

    // A second start with the same prefix finds everything in place.
    let second = running(&prefix).await;
    assert_eq!(second.resources, resources);
    second.stop().await;
}

/// What `./scripts/run` serves (the same emulator flags, the runner's S3
/// front): a presigned PUT is held to the type and length it was signed
/// for, and the browser's CORS preflight is answered as S3 answers it.
#[tokio::test]
async fn presigned_put_is_held_to_its_signed_headers() {
    let prefix = fresh_prefix();
    let runner = running(&prefix).await;
    let bucket = runner.resources["MediaBucket"].clone();
    // The function signs with its role's temporary key, which the emulator
    // verifies (the root `test` key would bypass verification); the role may
    // sign only for the incoming prefix.
    let presign = |key: &str| {
        runner.functions["UploadsCreateFunction"]
            .app
            .s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .content_type("image/png")
            .content_length(5)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
    };
    let origin = "http://127.0.0.1:3000";
    let http = reqwest::Client::new();
    let put = |url: String, content_type: &'static str, body: Vec<u8>| {
        http.put(url)
            .header("origin", origin)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let ok = presign("users/u1/incoming/ok.png").await.unwrap();
    assert!(
        ok.uri().starts_with(&runner.s3_front.url()),
        "presigned for the S3 front: {}",
        ok.uri()
    );
    let preflight = http
        .request(reqwest::Method::OPTIONS, ok.uri())
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let refused = http
        .request(reqwest::Method::OPTIONS, ok.uri())
        .header("origin", origin)
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "DELETE is not in the bucket's CORS rules"
    );

    let res = put(ok.uri().to_owned(), "image/png", b"12345".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().contains_key("access-control-allow-origin"),
        "the browser may read the answer: {:?}",
        res.headers()
    );

    let other_type = presign("users/u1/incoming/type.png").await.unwrap();
    let res = put(other_type.uri().to_owned(), "image/jpeg", b"12345".to_vec())
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "a different Content-Type must break the signature; is the emulator running with --verify-sigv4?"
    );

    let longer = presign("users/u1/incoming/long.png").await.unwrap();
    let res = put(longer.uri().to_owned(), "image/png", vec![b'x'; 105])
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "100 bytes more than signed must break the signature; is the emulator running with --verify-sigv4?"
    );

    let sdk = glimvid::app::aws_sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let stored = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let keys: Vec<&str> = stored.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        ["users/u1/incoming/ok.png"],
        "only the well-signed upload is stored"
    );
    runner.stop().await;
}
