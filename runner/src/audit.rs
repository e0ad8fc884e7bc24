//! The call audit: every AWS call a hosted function makes goes through an
//! SDK interceptor that names the IAM actions and resources AWS would
//! authorise it against (AWS's own names, which the emulator does not
//! always use), checks them against the function's role policy, records
//! them, and refuses the call when the policy does not allow it, as AWS
//! would. It covers what the emulator does not enforce (Step Functions,
//! Secrets Manager, SES) and its naming gaps (a tagged PutObject needs
//! `s3:PutObjectTagging` on AWS).
//!
//! With `GLIMVID_AUDIT_DIR` set, each process appends what it saw to
//! `calls-*.jsonl` there and writes each function's grants to
//! `grants-*.json`; `glimvid-audit` summarises a whole test suite.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use serde::{Deserialize, Serialize};

use crate::iam::{Decision, Policy};

/// Stands in for the random part of a secret's ARN (see `Place::secret`).
const SECRET_SUFFIX: &str = "a1B2c3";

/// One IAM authorisation a call needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Need {
    pub action: String,
    pub resource: String,
}

/// One line of `calls-*.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub function: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

/// Where ARNs point: the account and region the functions run in.
#[derive(Debug, Clone)]
pub struct Place {
    pub region: String,
    pub account: String,
}

impl Place {
    fn table(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.region, self.account
        )
    }

    fn index(&self, table: &str, index: Option<&str>) -> String {
        match index {
            Some(i) => format!("{}/index/{i}", self.table(table)),
            None => self.table(table),
        }
    }

    fn queue(&self, url: &str) -> String {
        queue_arn(self, url)
    }

    /// A secret named by name is judged by its ARN, in which Secrets Manager
    /// follows the name with `-` and six random characters (which is why
    /// policies grant `name-??????`); any six stand in for them.
    fn secret(&self, id: &str) -> String {
        if id.starts_with("arn:") {
            id.to_owned()
        } else {
            format!(
                "arn:aws:secretsmanager:{}:{}:secret:{id}-{SECRET_SUFFIX}",
                self.region, self.account
            )
        }
    }
}

/// A queue's ARN from its URL (`…/{account}/{name}`), in `place`.
pub fn queue_arn(place: &Place, url: &str) -> String {
    let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    format!("arn:aws:sqs:{}:{}:{name}", place.region, place.account)
}

fn bucket(name: Option<&str>) -> String {
    format!("arn:aws:s3:::{}", name.unwrap_or_default())
}

fn object(bucket: Option<&str>, key: Option<&str>) -> String {
    format!(
        "arn:aws:s3:::{}/{}",
        bucket.unwrap_or_default(),
        key.unwrap_or_default()
    )
}

fn need(action: &str, resource: impl Into<String>) -> Need {
    Need {
        action: action.to_owned(),
        resource: resource.into(),
    }
}

/// What AWS authorises a call against, by its input; None for an operation
/// this audit does not know (the call is refused until it is added here).
pub fn needs(input: &Input, place: &Place) -> Option<Vec<Need>> {
    macro_rules! on {
        ($ty:ty, |$i:ident| $body:expr) => {
            if let Some($i) = input.downcast_ref::<$ty>() {
                return Some($body);
            }
        };
    }
    use aws_sdk_dynamodb::operation as ddb;
    let t = |name: Option<&str>| place.table(name.unwrap_or_default());
    on!(ddb::get_item::GetItemInput, |i| vec![need(
        "dynamodb:GetItem",
        t(i.table_name())
    )]);
    on!(ddb::put_item::PutItemInput, |i| vec![need(
        "dynamodb:PutItem",
        t(i.table_name())
    )]);
    on!(ddb::update_item::UpdateItemInput, |i| vec![need(
        "dynamodb:UpdateItem",
        t(i.table_name())
    )]);
    on!(ddb::delete_item::DeleteItemInput, |i| vec![need(
        "dynamodb:DeleteItem",
        t(i.table_name())
    )]);
    on!(ddb::query::QueryInput, |i| vec![need(
        "dynamodb:Query",
        place.index(i.table_name().unwrap_or_default(), i.index_name())
    )]);
    on!(ddb::scan::ScanInput, |i| vec![need(
        "dynamodb:Scan",
        place.index(i.table_name().unwrap_or_default(), i.index_name())
    )]);
    on!(ddb::describe_table::DescribeTableInput, |i| vec![need(
        "dynamodb:DescribeTable",
        t(i.table_name())
    )]);
    // A transaction is authorised item by item, with the item's own action.
    on!(ddb::transact_write_items::TransactWriteItemsInput, |i| i
        .transact_items()
        .iter()
        .filter_map(|item| {
            if let Some(p) = item.put() {
                Some(need("dynamodb:PutItem", t(Some(p.table_name()))))
            } else if let Some(u) = item.update() {
                Some(need("dynamodb:UpdateItem", t(Some(u.table_name()))))
            } else if let Some(d) = item.delete() {
                Some(need("dynamodb:DeleteItem", t(Some(d.table_name()))))
            } else {
                item.condition_check()
                    .map(|c| need("dynamodb:ConditionCheckItem", t(Some(c.table_name()))))
            }
        })
        .collect());
    on!(ddb::transact_get_items::TransactGetItemsInput, |i| i
        .transact_items()
        .iter()
        .filter_map(|item| item.get())
        .map(|g| need("dynamodb:GetItem", t(Some(g.table_name()))))
        .collect());
    on!(ddb::batch_write_item::BatchWriteItemInput, |i| i
        .request_items()
        .into_iter()
        .flat_map(|m| m.keys())
        .map(|name| need("dynamodb:BatchWriteItem", t(Some(name))))
        .collect());
    on!(ddb::batch_get_item::BatchGetItemInput, |i| i
        .request_items()
        .into_iter()
        .flat_map(|m| m.keys())
        .map(|name| need("dynamodb:BatchGetItem", t(Some(name))))
        .collect());

    use aws_sdk_s3::operation as s3;
    on!(s3::put_object::PutObjectInput, |i| {
        let target = object(i.bucket(), i.key());
        let mut needs = vec![need("s3:PutObject", target.clone())];
        // AWS authorises the tags of a PutObject separately.
        if i.tagging().is_some_and(|t| !t.is_empty()) {
            needs.push(need("s3:PutObjectTagging", target));
        }
        needs
    });
    on!(s3::get_object::GetObjectInput, |i| vec![need(
        "s3:GetObject",
        object(i.bucket(), i.key())
    )]);
    // HeadObject is authorised as s3:GetObject on AWS.
    on!(s3::head_object::HeadObjectInput, |i| vec![need(
        "s3:GetObject",
        object(i.bucket(), i.key())
    )]);
    on!(s3::delete_object::DeleteObjectInput, |i| vec![need(
        "s3:DeleteObject",
        object(i.bucket(), i.key())
    )]);
    on!(s3::delete_objects::DeleteObjectsInput, |i| i
        .delete()
        .map(|d| d.objects())
        .unwrap_or_default()
        .iter()
        .map(|o| need("s3:DeleteObject", object(i.bucket(), Some(o.key()))))
        .collect());
    // Listing is s3:ListBucket on the bucket on AWS.
    on!(s3::list_objects_v2::ListObjectsV2Input, |i| vec![need(
        "s3:ListBucket",
        bucket(i.bucket())
    )]);
    on!(s3::list_objects::ListObjectsInput, |i| vec![need(
        "s3:ListBucket",
        bucket(i.bucket())
    )]);
    on!(s3::get_object_tagging::GetObjectTaggingInput, |i| vec![
        need("s3:GetObjectTagging", object(i.bucket(), i.key()))
    ]);
    on!(s3::put_object_tagging::PutObjectTaggingInput, |i| vec![
        need("s3:PutObjectTagging", object(i.bucket(), i.key()))
    ]);
    // A multipart upload is authorised as s3:PutObject, part by part;
    // only its abort has an action of its own.
    on!(
        s3::create_multipart_upload::CreateMultipartUploadInput,
        |i| vec![need("s3:PutObject", object(i.bucket(), i.key()))]
    );
    on!(s3::upload_part::UploadPartInput, |i| vec![need(
        "s3:PutObject",
        object(i.bucket(), i.key())
    )]);
    on!(
        s3::complete_multipart_upload::CompleteMultipartUploadInput,
        |i| vec![need("s3:PutObject", object(i.bucket(), i.key()))]
    );
    on!(
        s3::abort_multipart_upload::AbortMultipartUploadInput,
        |i| vec![need("s3:AbortMultipartUpload", object(i.bucket(), i.key()))]
    );
    on!(s3::copy_object::CopyObjectInput, |i| {
        let source = i.copy_source().unwrap_or_default();
        let source = source.split('?').next().unwrap_or_default();
        let target = object(i.bucket(), i.key());
        let mut needs = vec![
            need("s3:GetObject", format!("arn:aws:s3:::{source}")),
            need("s3:PutObject", target.clone()),
        ];
        if i.tagging().is_some_and(|t| !t.is_empty()) {
            needs.push(need("s3:PutObjectTagging", target));
        }
        needs
    });

    use aws_sdk_sqs::operation as sqs;
    let q = |url: Option<&str>| place.queue(url.unwrap_or_default());
    on!(sqs::receive_message::ReceiveMessageInput, |i| vec![need(
        "sqs:ReceiveMessage",
        q(i.queue_url())
    )]);
    on!(sqs::delete_message::DeleteMessageInput, |i| vec![need(
        "sqs:DeleteMessage",
        q(i.queue_url())
    )]);
    on!(
        sqs::change_message_visibility::ChangeMessageVisibilityInput,
        |i| vec![need("sqs:ChangeMessageVisibility", q(i.queue_url()))]
    );
    on!(sqs::send_message::SendMessageInput, |i| vec![need(
        "sqs:SendMessage",
        q(i.queue_url())
    )]);
    on!(
        sqs::get_queue_attributes::GetQueueAttributesInput,
        |i| vec![need("sqs:GetQueueAttributes", q(i.queue_url()))]
    );

    use aws_sdk_sfn::operation as sfn;
    on!(sfn::start_execution::StartExecutionInput, |i| vec![need(
        "states:StartExecution",
        i.state_machine_arn().unwrap_or_default()
    )]);
    on!(sfn::stop_execution::StopExecutionInput, |i| vec![need(
        "states:StopExecution",
        i.execution_arn().unwrap_or_default()
    )]);
    on!(sfn::describe_execution::DescribeExecutionInput, |i| vec![
        need(
            "states:DescribeExecution",
            i.execution_arn().unwrap_or_default()
        )
    ]);
    // The task-token actions support no resource-level permissions: AWS
    // authorises them against "*" only, so a policy must grant them on "*".
    on!(sfn::send_task_success::SendTaskSuccessInput, |_i| vec![
        need("states:SendTaskSuccess", "*")
    ]);
    on!(sfn::send_task_failure::SendTaskFailureInput, |_i| vec![
        need("states:SendTaskFailure", "*")
    ]);
    on!(sfn::send_task_heartbeat::SendTaskHeartbeatInput, |_i| vec![
        need("states:SendTaskHeartbeat", "*")
    ]);

    // SES authorises a send against the identity that verifies the From
    // address: the sender domain.
    on!(aws_sdk_sesv2::operation::send_email::SendEmailInput, |i| {
        let from = i.from_email_address().unwrap_or_default();
        let domain = from.rsplit('@').next().unwrap_or_default();
        vec![need(
            "ses:SendEmail",
            format!(
                "arn:aws:ses:{}:{}:identity/{domain}",
                place.region, place.account
            ),
        )]
    });

    use aws_sdk_secretsmanager::operation as sm;
    on!(sm::get_secret_value::GetSecretValueInput, |i| vec![need(
        "secretsmanager:GetSecretValue",
        place.secret(i.secret_id().unwrap_or_default())
    )]);
    None
}

/// Where a process's records go.
struct Sink {
    file: Mutex<std::fs::File>,
    seen: Mutex<HashSet<(String, Need)>>,
}

/// The audit of one process: shared by the interceptors of every function
/// it hosts.
pub struct Auditor {
    place: Place,
    sink: Option<Sink>,
    /// Refused calls seen in this process, for tests that look.
    refused: Mutex<Vec<Record>>,
    /// The first action of every call each function made, in order, for
    /// tests and benchmarks that count what a request costs.
    calls: Mutex<BTreeMap<String, Vec<String>>>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

/// The folder named by `GLIMVID_AUDIT_DIR`, if set.
pub fn audit_dir() -> Option<PathBuf> {
    std::env::var_os("GLIMVID_AUDIT_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl Auditor {
    /// `tag` names this process's files (the runner's resource prefix).
    pub fn new(place: Place, tag: &str) -> anyhow::Result<Arc<Self>> {
        let sink = match audit_dir() {
            None => None,
            Some(dir) => {
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("calls-{tag}-{}.jsonl", std::process::id()));
                Some(Sink {
                    file: Mutex::new(
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)?,
                    ),
                    seen: Mutex::new(HashSet::new()),
                })
            }
        };
        Ok(Arc::new(Auditor {
            place,
            sink,
            refused: Mutex::new(Vec::new()),
            calls: Mutex::new(BTreeMap::new()),
        }))
    }

    /// An audit that keeps what it refuses in memory only (it never joins
    /// the suite's records).
    pub fn in_memory(place: Place) -> Arc<Self> {
        Arc::new(Auditor {
            place,
            sink: None,
            refused: Mutex::new(Vec::new()),
            calls: Mutex::new(BTreeMap::new()),
        })
    }

    /// Writes what each function is granted, for the suite's summary.
    pub fn write_grants(&self, tag: &str, grants: &BTreeMap<String, Grants>) {
        let Some(dir) = audit_dir() else { return };
        let path = dir.join(format!("grants-{tag}.json"));
        match serde_json::to_vec_pretty(grants) {
            Ok(bytes) => {
                if let Err(err) = std::fs::write(&path, bytes) {
                    tracing::warn!(error = %err, path = %path.display(), "could not write the audit's grants");
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not encode the audit's grants"),
        }
    }

    /// Every call `function` has made so far (its first IAM action each).
    pub fn calls(&self, function: &str) -> Vec<String> {
        self.calls
            .lock()
            .map(|c| c.get(function).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn refused(&self) -> Vec<Record> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn record(&self, function: &str, need: &Need, allowed: bool) {
        let record = Record {
            function: function.to_owned(),
            action: need.action.clone(),
            resource: need.resource.clone(),
            allowed,
        };
        if !allowed && let Ok(mut refused) = self.refused.lock() {
            refused.push(record.clone());
        }
        let Some(sink) = &self.sink else { return };
        let fresh = sink
            .seen
            .lock()
            .map(|mut seen| seen.insert((function.to_owned(), need.clone())))
            .unwrap_or(true);
        if !fresh {
            return;
        }
        if let (Ok(mut line), Ok(mut file)) = (serde_json::to_vec(&record), sink.file.lock()) {
            line.push(b'\n');
            if let Err(err) = file.write_all(&line) {
                tracing::warn!(error = %err, "could not write an audit record");
            }
        }
    }

    /// The interceptor for one function's clients.
    pub fn interceptor(
        self: &Arc<Self>,
        function: &str,
        policy: Arc<Policy>,
    ) -> aws_sdk_s3::config::SharedInterceptor {
        aws_sdk_s3::config::SharedInterceptor::new(Audit {
            function: function.to_owned(),
            policy,
            auditor: self.clone(),
        })
    }
}

#[derive(Debug)]
struct Audit {
    function: String,
    policy: Arc<Policy>,
    auditor: Arc<Auditor>,
}

impl Intercept for Audit {
    fn name(&self) -> &'static str {
        "GlimvidLocalCallAudit"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let Some(needs) = needs(input, &self.auditor.place) else {
            let operation = format!("{input:?}");
            let operation = operation
                .split([' ', '{', '('])
                .next()
                .unwrap_or("an operation");
            let unmapped = need(&format!("unmapped:{operation}"), "*");
            self.auditor.record(&self.function, &unmapped, false);
            return Err(format!(
                "local audit: {} called {operation}, which the audit cannot map to IAM actions (add it to runner/src/audit.rs)",
                self.function
            )
            .into());
        };
        if let (Some(first), Ok(mut calls)) = (needs.first(), self.auditor.calls.lock()) {
            calls
                .entry(self.function.clone())
                .or_default()
                .push(first.action.clone());
        }
        let mut refused = Vec::new();
        for need in &needs {
            let allowed = self.policy.decide(&need.action, &need.resource) == Decision::Allowed;
            self.auditor.record(&self.function, need, allowed);
            if !allowed {
                refused.push(need);
            }
        }
        match refused.first() {
            None => Ok(()),
            Some(need) => {
                tracing::error!(
                    function = %self.function,
                    action = %need.action,
                    resource = %need.resource,
                    "AccessDenied: the function's template role does not allow this call"
                );
                Err(format!(
                    "AccessDenied (local audit): {} is not allowed {} on {} by its role in infra/template.yaml",
                    self.function, need.action, need.resource
                )
                .into())
            }
        }
    }
}

/// What a function's own policies grant: (action, resource) patterns.
pub type Grants = BTreeSet<(String, String)>;

/// The summary of a whole suite: what was refused, and per function what
/// its policy grants that no call used (resources shown with `{prefix}`
/// for each run's resource prefix).
#[derive(Debug, Default)]
pub struct Summary {
    pub calls: usize,
    pub refused: BTreeSet<(String, String, String)>,
    pub unused: BTreeMap<String, Vec<String>>,
    pub used: BTreeMap<String, BTreeSet<String>>,
}

/// One run's (one runner's) grants and calls, by its resource prefix.
#[derive(Default)]
struct Run {
    grants: BTreeMap<String, Grants>,
    calls: Vec<Record>,
}

pub fn summarise(dir: &std::path::Path) -> anyhow::Result<Summary> {
    use anyhow::Context;
    let mut summary = Summary::default();
    let mut runs: BTreeMap<String, Run> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&path)?;
        if let Some(tag) = name
            .strip_prefix("grants-")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let grants: BTreeMap<String, Grants> = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            runs.entry(tag.to_owned()).or_default().grants = grants;
        } else if let Some((tag, _pid)) = name
            .strip_prefix("calls-")
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.rsplit_once('-'))
        {
            let run = runs.entry(tag.to_owned()).or_default();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let r: Record = serde_json::from_str(line)
                    .with_context(|| format!("parsing a line of {}", path.display()))?;
                summary.calls += 1;
                if !r.allowed {
                    summary.refused.insert((
                        r.function.clone(),
                        r.action.clone(),
                        r.resource.clone(),
                    ));
                }
                summary
                    .used
                    .entry(r.function.clone())
                    .or_default()
                    .insert(r.action.clone());
                run.calls.push(r);
            }
        }
    }
    // A grant counts as used when any run made a call it covers.
    let mut unused: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut used_grants: BTreeSet<(String, String)> = BTreeSet::new();
    for (tag, run) in &runs {
        for (function, grants) in &run.grants {
            for (action, resource) in grants {
                let shown = format!(
                    "{action} on {}",
                    resource.replace(&format!("{tag}-"), "{prefix}-")
                );
                let hit = run.calls.iter().any(|c| {
                    &c.function == function
                        && Policy::pattern_covers(action, &c.action)
                        && Policy::resource_covers(resource, &c.resource)
                });
                if hit {
                    used_grants.insert((function.clone(), shown.clone()));
                }
                unused.entry(function.clone()).or_default().insert(shown);
            }
        }
    }
    for (function, grants) in unused {
        let never: Vec<String> = grants
            .into_iter()
            .filter(|g| !used_grants.contains(&(function.clone(), g.clone())))
            .collect();
        summary.unused.insert(function, never);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            region: "ap-southeast-1".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn a_tagged_put_needs_put_object_tagging_as_on_aws() {
        let input = aws_sdk_s3::operation::put_object::PutObjectInput::builder()
            .bucket("b")
            .key("users/u/a.jpg")
            .tagging("training=allowed")
            .build()
            .unwrap();
        let needs = needs(&Input::erase(input), &place()).unwrap();
        assert_eq!(
            needs,
            vec![
                need("s3:PutObject", "arn:aws:s3:::b/users/u/a.jpg"),
                need("s3:PutObjectTagging", "arn:aws:s3:::b/users/u/a.jpg"),
            ]
        );
    }

    #[test]
    fn transactions_are_authorised_per_item_and_queries_per_index() {
        use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
        let put = Put::builder()
            .table_name("credits")
            .set_item(Some(Default::default()))
            .build()
            .unwrap();
        let check = ConditionCheck::builder()
            .table_name("content")
            .set_key(Some(Default::default()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap();
        let input =
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput::builder()
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().condition_check(check).build())
                .build()
                .unwrap();
        let items = needs(&Input::erase(input), &place()).unwrap();
        assert_eq!(items[0].action, "dynamodb:PutItem");
        assert!(items[0].resource.ends_with(":table/credits"));
        assert_eq!(items[1].action, "dynamodb:ConditionCheckItem");

        let query = aws_sdk_dynamodb::operation::query::QueryInput::builder()
            .table_name("content")
            .index_name("gsi1")
            .build()
            .unwrap();
        let by_index = needs(&Input::erase(query), &place()).unwrap();
        assert_eq!(
            by_index[0].resource,
            "arn:aws:dynamodb:ap-southeast-1:123456789012:table/content/index/gsi1"
        );
    }

    #[test]
    fn task_tokens_are_authorised_on_star_and_queues_by_name() {
        let input = aws_sdk_sfn::operation::send_task_success::SendTaskSuccessInput::builder()
            .task_token("t")
            .output("{}")
            .build()
            .unwrap();
        assert_eq!(
            needs(&Input::erase(input), &place()).unwrap(),
            vec![need("states:SendTaskSuccess", "*")]
        );
        let input = aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityInput::builder()
            .queue_url("http://127.0.0.1:4566/123456789012/glimvid-local-ScriptQueue")
            .receipt_handle("r")
            .visibility_timeout(10)
            .build()
            .unwrap();
        assert_eq!(
            needs(&Input::erase(input), &place()).unwrap()[0].resource,
            "arn:aws:sqs:ap-southeast-1:123456789012:glimvid-local-ScriptQueue"
        );
    }

    /// Through a real SDK client: the call the role does not allow never
    /// leaves the process, and the error names function, action and
    /// resource; the allowed one goes on to the network (here a closed
    /// port).
    #[tokio::test]
    async fn a_call_the_role_does_not_allow_is_refused_before_it_is_sent() {
        let mut policy = Policy::default();
        policy
            .add_document(&serde_json::json!({"Statement": [{
                "Effect": "Allow", "Action": "dynamodb:GetItem",
                "Resource": "arn:aws:dynamodb:ap-southeast-1:123456789012:table/users"
            }]}))
            .unwrap();
        let auditor = Auditor::in_memory(place());
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("ap-southeast-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("AKID", "secret", None, None, "unit"),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk);
        config.push_interceptor(auditor.interceptor("MeGetFunction", Arc::new(policy)));
        let db = aws_sdk_dynamodb::Client::from_conf(config.build());
        let key = aws_sdk_dynamodb::types::AttributeValue::S("k".into());

        let err = db
            .put_item()
            .table_name("users")
            .item("pk", key.clone())
            .send()
            .await
            .unwrap_err();
        let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
        assert!(
            text.contains("MeGetFunction is not allowed dynamodb:PutItem on arn:aws:dynamodb:ap-southeast-1:123456789012:table/users"),
            "{text}"
        );
        let err = db
            .get_item()
            .table_name("users")
            .key("pk", key)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
            "allowed, so it reached the (closed) endpoint: {err:?}"
        );
        let refused = auditor.refused();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].action, "dynamodb:PutItem");
    }

    #[test]
    fn the_summary_names_grants_no_run_used_and_calls_not_granted() {
        let dir = std::env::temp_dir().join(format!("audit-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let table = |tag: &str, t: &str| format!("arn:aws:dynamodb:r:1:table/{tag}-{t}");
        for tag in ["ta", "tb"] {
            let grants = BTreeMap::from([(
                "F".to_owned(),
                Grants::from([
                    ("dynamodb:GetItem".to_owned(), table(tag, "Users")),
                    ("dynamodb:PutItem".to_owned(), table(tag, "Users")),
                    ("dynamodb:GetItem".to_owned(), table(tag, "Jobs")),
                ]),
            )]);
            std::fs::write(
                dir.join(format!("grants-{tag}.json")),
                serde_json::to_vec(&grants).unwrap(),
            )
            .unwrap();
        }
        let line = |action: &str, resource: String, allowed: bool| {
            serde_json::to_string(&Record {
                function: "F".into(),
                action: action.into(),
                resource,
                allowed,
            })
            .unwrap()
        };
        std::fs::write(
            dir.join("calls-ta-1.jsonl"),
            line("dynamodb:GetItem", table("ta", "Users"), true) + "\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("calls-tb-2.jsonl"),
            [
                line("dynamodb:PutItem", table("tb", "Users"), true),
                line("dynamodb:DeleteItem", table("tb", "Users"), false),
            ]
            .join("\n"),
        )
        .unwrap();
        let summary = summarise(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(summary.calls, 3);
        assert_eq!(
            summary.unused["F"],
            ["dynamodb:GetItem on arn:aws:dynamodb:r:1:table/{prefix}-Jobs"]
        );
        assert_eq!(summary.refused.len(), 1);
    }

    #[test]
    fn an_unknown_operation_is_not_mapped() {
        let input = aws_sdk_s3::operation::get_bucket_acl::GetBucketAclInput::builder()
            .bucket("b")
            .build()
            .unwrap();
        assert!(needs(&Input::erase(input), &place()).is_none());
    }
}
