//! Every built artifact (`cargo lambda build`, as `./scripts/test` does)
//! booted as Lambda runs it: its own process under a Runtime API on
//! loopback, with exactly the environment the template gives it and its
//! role's temporary credentials, against the emulator (which checks every
//! signature and every call against the role). Each gets its sample event
//! from `events/` in the same walk `events.rs` makes in process.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use glimvid_tests::artifacts;
use glimvid_tests::events::{Invoker, walk};
use glimvid_tests::runtime_api::{Outcome, Sandbox};
use glimvid_tests::{for_the_walk, harness_with, unique_email};
use serde_json::Value;

struct Artifacts {
    /// Warm sandboxes by function (Handler): later events reuse them, as
    /// Lambda does.
    warm: BTreeMap<String, Sandbox>,
    inits: BTreeMap<String, Duration>,
}

impl Artifacts {
    async fn sandbox(&mut self, handler: &str) -> &mut Sandbox {
        if !self.warm.contains_key(handler) {
            let sandbox = artifacts::boot(handler)
                .await
                .unwrap_or_else(|e| panic!("{handler} did not boot: {e:#}"));
            self.inits
                .insert(handler.to_owned(), sandbox.init.unwrap_or_default());
            self.warm.insert(handler.to_owned(), sandbox);
        }
        self.warm.get_mut(handler).expect("just booted")
    }
}

impl Invoker for Artifacts {
    fn invoke<'a>(
        &'a mut self,
        handler: &'a str,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Value> + Send + 'a>> {
        Box::pin(async move {
            let timeout = artifacts::invocation_timeout(handler)
                .unwrap_or_else(|e| panic!("{handler}: {e:#}"));
            let sandbox = self.sandbox(handler).await;
            match sandbox.invoke(event, timeout).await {
                Ok(Outcome::Response(value)) => value,
                Ok(Outcome::Error { error_type, body }) => {
                    panic!(
                        "{handler} failed ({error_type}): {body}\n{}",
                        sandbox.tail()
                    )
                }
                Err(e) => panic!("{handler}: {e:#}"),
            }
        })
    }

    fn hold<'a>(&'a mut self, video_id: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(glimvid_tests::stop_pipeline(video_id))
    }
}

#[tokio::test]
async fn every_artifact_boots_and_answers_its_sample_event() {
    harness_with(for_the_walk);
    let mut artifacts = Artifacts {
        warm: BTreeMap::new(),
        inits: BTreeMap::new(),
    };
    let email = unique_email();
    walk(&mut artifacts, &email).await;
    // What no log line may carry: the walk's addresses, its passwords and
    // the link tokens mailed to it.
    let mut secrets = vec![
        email.clone(),
        format!("moved-{email}"),
        "correct horse battery".to_owned(),
        "a new horse battery staple".to_owned(),
    ];
    for mail in glimvid_tests::mail::to(&email).await {
        secrets.extend(mail.token_after("?token="));
    }
    assert!(secrets.len() > 4, "the walk was mailed no link");

    let booted: Vec<String> = artifacts.warm.keys().cloned().collect();
    assert_eq!(
        booted,
        artifacts::all_handlers(),
        "every function booted from its artifact"
    );
    for (handler, init) in &artifacts.inits {
        eprintln!("{handler}: init {init:?}");
    }
    // Each worker's failed message became a CloudWatch metric (EMF).
    for stage in ["script", "enhance", "video", "finalize"] {
        let sandbox = &artifacts.warm[&format!("worker-{stage}")];
        let log = std::fs::read_to_string(&sandbox.log).unwrap_or_default();
        let metric = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["FailedMessages"] == 1)
            .unwrap_or_else(|| panic!("worker-{stage} logged no FailedMessages metric"));
        assert_eq!(
            metric["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "FailedMessages"
        );
        assert_eq!(
            metric["message_ids"],
            format!("{stage}-unreadable-key"),
            "{metric}"
        );
    }
    // Logs are JSON lines, as CloudWatch's JSON format expects.
    for (handler, sandbox) in std::mem::take(&mut artifacts.warm) {
        let log = std::fs::read_to_string(&sandbox.log).unwrap_or_default();
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "{handler} logged a line that is not JSON: {line}"
            );
            for secret in &secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "{handler} logged an address, password or link token: {line}"
                );
            }
        }
        sandbox.stop().await;
    }
}

/// Lambda's provided.al2023 has glibc 2.34: an artifact that needs a newer
/// symbol version would not even load there.
#[test]
fn artifacts_need_no_newer_glibc_than_amazon_linux_2023() {
    for binary in ["api", "worker", "sweeper"] {
        let path = artifacts::bootstrap(binary);
        let out = std::process::Command::new("readelf")
            .arg("-V")
            .arg(&path)
            .output()
            .expect("readelf (binutils)");
        assert!(out.status.success(), "readelf {}", path.display());
        let text = String::from_utf8_lossy(&out.stdout);
        let newest = text
            .split("GLIBC_")
            .skip(1)
            .filter_map(|rest| {
                let version: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
                Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
            })
            .max()
            .expect("a glibc-linked artifact");
        assert!(
            newest <= (2, 34),
            "{binary} needs GLIBC_{}.{}",
            newest.0,
            newest.1
        );
    }
}
