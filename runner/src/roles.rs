//! Each function's identity, as on AWS: the role the SAM translator makes
//! for it (from the template's `Policies`), created in the emulator with
//! exactly those policies, and assumed the way Lambda assumes it, so every
//! call the function makes is signed with that role's temporary keys and
//! checked by the emulator (`--iam strict`) and by the call audit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_s3::config::SharedCredentialsProvider;
use serde_json::{Value, json};

use crate::cfn::Scope;
use crate::iam::{Policy, managed_policy};
use crate::provision::sdk_error;

/// The plain CloudFormation the SAM translator makes of the template.
pub struct Translated(Value);

/// The translator, beside this crate.
fn translator() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/sam-translate")
}

impl Translated {
    /// Runs `scripts/sam-translate` (AWS's `aws-sam-translator`) on the
    /// template; the result is cached by the inputs' content, since every
    /// test binary starts a runner.
    pub fn of(template: &Path, region: &str) -> Result<Self> {
        use sha2::Digest;
        let script = translator();
        let mut hash = sha2::Sha256::new();
        hash.update(
            std::fs::read(template).with_context(|| format!("reading {}", template.display()))?,
        );
        hash.update(
            std::fs::read(&script).with_context(|| format!("reading {}", script.display()))?,
        );
        hash.update(region.as_bytes());
        let dir = std::env::temp_dir().join("glimvid-sam");
        let cached = dir.join(format!("{}.json", hex::encode(hash.finalize())));
        if let Ok(text) = std::fs::read_to_string(&cached)
            && let Ok(doc) = serde_json::from_str(&text)
        {
            return Ok(Translated(doc));
        }
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(template)
            .arg(region)
            .output()
            .with_context(|| format!("running {} (python3 with cfn-lint and aws-sam-translator; ./scripts/test installs them)", script.display()))?;
        if !out.status.success() {
            bail!(
                "the SAM translator failed on {}: {}",
                template.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let doc: Value =
            serde_json::from_slice(&out.stdout).context("the SAM translator's output")?;
        // Concurrent runners may translate at once: write aside, then rename.
        std::fs::create_dir_all(&dir)?;
        let partial = dir.join(format!(
            "{}.{}.partial",
            uuid::Uuid::new_v4().simple(),
            std::process::id()
        ));
        std::fs::write(&partial, &out.stdout)?;
        std::fs::rename(&partial, &cached)?;
        Ok(Translated(doc))
    }

    fn resource(&self, id: &str) -> Result<&Value> {
        self.0
            .get("Resources")
            .and_then(|r| r.get(id))
            .with_context(|| format!("the translated template has no {id}"))
    }

    /// Parameters at their defaults (what `sam deploy` uses unless told).
    pub fn parameter_defaults(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, p) in self
            .0
            .get("Parameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = match p.get("Default") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => continue,
            };
            out.insert(name.clone(), value);
        }
        out
    }

    /// The role a resource (`AWS::Lambda::Function`, `AWS::StepFunctions::
    /// StateMachine`) runs with: the logical id its `Role` / `RoleArn` names.
    pub fn role_of(&self, resource: &str) -> Result<RoleSpec> {
        let props = self
            .resource(resource)?
            .get("Properties")
            .with_context(|| format!("{resource} has no Properties"))?;
        let role = props
            .get("Role")
            .or_else(|| props.get("RoleArn"))
            .and_then(|r| r.get("Fn::GetAtt"))
            .and_then(|g| g.get(0))
            .and_then(Value::as_str)
            .with_context(|| format!("{resource}: its role is not a role of the template"))?;
        let role_props = self
            .resource(role)?
            .get("Properties")
            .with_context(|| format!("{role} has no Properties"))?;
        let inline = role_props
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                Ok((
                    p.get("PolicyName")
                        .and_then(Value::as_str)
                        .context("a policy without PolicyName")?
                        .to_owned(),
                    p.get("PolicyDocument")
                        .cloned()
                        .context("a policy without PolicyDocument")?,
                ))
            })
            .collect::<Result<_>>()?;
        let mut managed = Vec::new();
        for entry in role_props
            .get("ManagedPolicyArns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            managed.push(match entry {
                Value::String(arn) => {
                    let name = arn.rsplit('/').next().unwrap_or(arn);
                    let doc = managed_policy(arn).with_context(|| {
                        format!("{role}: managed policy {arn} is not known locally (iam::managed_policy)")
                    })?;
                    (format!("{MANAGED_PREFIX}{name}"), doc)
                }
                // A customer managed policy of the template's own.
                Value::Object(r) if r.get("Ref").is_some_and(Value::is_string) => {
                    let id = r.get("Ref").and_then(Value::as_str).unwrap_or_default();
                    let policy = self.resource(id)?;
                    if policy.get("Type").and_then(Value::as_str) != Some("AWS::IAM::ManagedPolicy") {
                        bail!("{role}: {id} is not an AWS::IAM::ManagedPolicy");
                    }
                    let doc = policy
                        .pointer("/Properties/PolicyDocument")
                        .cloned()
                        .with_context(|| format!("{id} has no PolicyDocument"))?;
                    (id.to_owned(), doc)
                }
                other => bail!("{role}: managed policy {other} is neither an ARN nor a !Ref"),
            });
        }
        Ok(RoleSpec {
            logical_id: role.to_owned(),
            trust: role_props
                .get("AssumeRolePolicyDocument")
                .cloned()
                .with_context(|| format!("{role} has no AssumeRolePolicyDocument"))?,
            inline,
            managed,
        })
    }
}

/// A role as the translated template declares it.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub logical_id: String,
    pub trust: Value,
    pub inline: Vec<(String, Value)>,
    /// Managed policies by name, with their documents (unresolved).
    pub managed: Vec<(String, Value)>,
}

/// A role with its documents resolved and the policy they make together.
#[derive(Debug, Clone)]
pub struct ResolvedRole {
    pub logical_id: String,
    pub trust: Value,
    /// Inline policies, then the managed ones (locally, inline copies).
    pub documents: Vec<(String, Value)>,
    pub policy: Policy,
}

impl ResolvedRole {
    /// The actions the template's own policies grant: the AWS managed ones
    /// SAM attaches serve the Lambda service (logs, polling the queue), not
    /// the function's code, so no test can be expected to use them.
    pub fn own_grants(&self) -> Result<std::collections::BTreeSet<(String, String)>> {
        let mut own = Policy::default();
        for (name, doc) in &self.documents {
            if !name.starts_with(MANAGED_PREFIX) {
                own.add_document(doc)?;
            }
        }
        Ok(own.granted_pairs())
    }
}

/// How the local copies of AWS managed policies are named.
const MANAGED_PREFIX: &str = "managed-";

impl RoleSpec {
    pub fn resolve(&self, scope: &Scope<'_>) -> Result<ResolvedRole> {
        let mut documents = Vec::new();
        for (name, doc) in self.inline.iter().chain(&self.managed) {
            let doc = scope
                .resolve(doc)
                .with_context(|| format!("{}: policy {name}", self.logical_id))?;
            documents.push((name.clone(), doc));
        }
        let mut policy = Policy::default();
        for (name, doc) in &documents {
            policy
                .add_document(doc)
                .with_context(|| format!("{}: policy {name}", self.logical_id))?;
        }
        Ok(ResolvedRole {
            logical_id: self.logical_id.clone(),
            trust: scope.resolve(&self.trust)?,
            documents,
            policy,
        })
    }
}

/// The emulator's copy of a policy. The emulator (0.51.0) authorises two S3
/// operations under its own action names: HeadObject as `s3:HeadObject`
/// (AWS: `s3:GetObject`) and listing as `s3:ListObjectsV2` / `s3:ListObjects`
/// (AWS: `s3:ListBucket`); the copy grants those names wherever the AWS
/// name is granted, so it allows exactly what AWS allows (the audit checks
/// the AWS names). It also refuses documents without a `Version`, which
/// IAM reads as 2008-10-17 and SAM's policy templates leave out; the
/// documents use no policy variables, so the two versions mean the same.
fn emulator_copy(doc: &Value) -> Value {
    const ALIASES: [(&str, &[&str]); 2] = [
        ("s3:GetObject", &["s3:HeadObject"]),
        ("s3:ListBucket", &["s3:ListObjectsV2", "s3:ListObjects"]),
    ];
    let mut doc = doc.clone();
    if let Some(fields) = doc.as_object_mut() {
        fields
            .entry("Version")
            .or_insert_with(|| json!("2012-10-17"));
    }
    let Some(statements) = doc.get_mut("Statement").and_then(Value::as_array_mut) else {
        return doc;
    };
    for st in statements {
        let actions: Vec<String> = match st.get("Action") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            _ => continue,
        };
        let mut extended = actions.clone();
        for (aws, emulator) in ALIASES {
            if actions.iter().any(|a| Policy::pattern_covers(a, aws)) {
                extended.extend(emulator.iter().map(|s| (*s).to_owned()));
            }
        }
        if extended.len() != actions.len() {
            st["Action"] = json!(extended);
        }
    }
    doc
}

/// Creates the role (or brings an existing one in line) with exactly the
/// resolved documents, and returns its ARN.
///
/// The trust policy is the template's (`lambda.amazonaws.com`) plus the
/// account itself: the runner, acting as the Lambda service, assumes it.
pub async fn ensure_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    role: &ResolvedRole,
    account: &str,
) -> Result<String> {
    let mut trust = role.trust.clone();
    if let Some(statements) = trust.get_mut("Statement").and_then(Value::as_array_mut) {
        statements.push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole"
        }));
    }
    let trust = trust.to_string();
    let arn = match iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(&trust)
        .send()
        .await
    {
        Ok(out) => out.role.map(|r| r.arn).unwrap_or_default(),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_entity_already_exists_exception()) =>
        {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("updating the trust of role {name}"))?;
            iam.get_role()
                .role_name(name)
                .send()
                .await
                .map_err(sdk_error)?
                .role
                .map(|r| r.arn)
                .unwrap_or_default()
        }
        Err(err) => return Err(sdk_error(err)).with_context(|| format!("creating role {name}")),
    };
    if arn.is_empty() {
        bail!("the emulator returned no ARN for role {name}");
    }
    let existing = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(sdk_error)?
        .policy_names;
    for stale in existing
        .iter()
        .filter(|p| !role.documents.iter().any(|(n, _)| n == *p))
    {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(stale)
            .send()
            .await
            .map_err(sdk_error)?;
    }
    for (policy_name, doc) in &role.documents {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .policy_document(emulator_copy(doc).to_string())
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("putting policy {policy_name} on role {name}"))?;
    }
    Ok(arn)
}

/// What a hosted function signs and audits its calls with.
#[derive(Clone, Debug)]
pub struct Identity {
    pub function: String,
    pub role_arn: String,
    /// Checks every call against the role (see `audit`).
    pub audit: aws_sdk_s3::config::SharedInterceptor,
}

impl Identity {
    /// `base` with the role's temporary credentials (assumed through STS
    /// with `base`'s own, refreshed before they expire, as Lambda does).
    pub async fn sdk_config(&self, base: &SdkConfig) -> SdkConfig {
        let provider = AssumeRoleProvider::builder(&self.role_arn)
            .session_name(&self.function)
            .configure(base)
            .build()
            .await;
        base.to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build()
    }

    /// The role's temporary credentials as Lambda hands them to a function's
    /// process: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`, assumed through STS with `base`'s own.
    pub async fn lambda_credentials(&self, base: &SdkConfig) -> Result<BTreeMap<String, String>> {
        let out = aws_sdk_sts::Client::new(base)
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.function)
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("assuming {}", self.role_arn))?;
        let creds = out
            .credentials
            .ok_or_else(|| anyhow!("STS returned no credentials for {}", self.role_arn))?;
        Ok(BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), creds.access_key_id),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), creds.secret_access_key),
            ("AWS_SESSION_TOKEN".to_owned(), creds.session_token),
        ]))
    }

    pub fn wiring(&self, s3_endpoint: Option<String>) -> glimvid::app::Wiring {
        glimvid::app::Wiring {
            interceptors: vec![self.audit.clone()],
            s3_endpoint,
        }
    }
}

/// The account an ARN is in (`arn:aws:iam::123456789012:role/x`).
pub fn arn_account(arn: &str) -> Result<&str> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| anyhow!("{arn} names no account"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_translated() -> Translated {
        Translated::of(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
            "ap-southeast-1",
        )
        .expect("translating the template (python3 with aws-sam-translator)")
    }

    #[test]
    fn emulator_copies_grant_its_names_for_head_and_list() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
        ]});
        let out = emulator_copy(&doc);
        assert_eq!(out["Version"], "2012-10-17");
        assert_eq!(
            out["Statement"][0]["Action"],
            json!([
                "s3:GetObject",
                "s3:ListBucket",
                "s3:HeadObject",
                "s3:ListObjectsV2",
                "s3:ListObjects"
            ])
        );
        assert_eq!(out["Statement"][1]["Action"], json!("dynamodb:GetItem"));
    }

    #[test]
    fn the_repository_template_gives_every_function_a_role_of_its_own() {
        let t = repo_translated();
        let template = crate::template::Template::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
        )
        .unwrap();
        let mut roles = std::collections::BTreeSet::new();
        for f in template.functions().unwrap() {
            let role = t.role_of(&f.logical_id).unwrap();
            assert!(
                role.inline.len() + role.managed.len() > 1,
                "{} has no policies beyond logging",
                f.logical_id
            );
            assert!(
                roles.insert(role.logical_id),
                "{} shares a role",
                f.logical_id
            );
        }
    }

    /// Logs hold IPs and user ids: like the usage log, they are kept at
    /// most 30 days, for every function, the state machine and the API.
    #[test]
    fn every_log_the_stack_writes_expires_within_30_days() {
        let t = repo_translated();
        let resources = t.0["Resources"].as_object().unwrap();
        let retention = |group: &Value| -> u64 {
            let id = group
                .get("Ref")
                .or_else(|| group.pointer("/Fn::GetAtt/0"))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("log group {group} is not one of the template's"));
            let days = &resources[id]["Properties"]["RetentionInDays"];
            let days = match days.get("Ref").and_then(Value::as_str) {
                Some(param) => t.parameter_defaults()[param].parse().unwrap(),
                None => days.as_u64().unwrap_or(u64::MAX),
            };
            assert_eq!(resources[id]["Type"], "AWS::Logs::LogGroup");
            days
        };
        let mut checked = 0;
        for (id, r) in resources {
            let group = match r["Type"].as_str().unwrap_or_default() {
                "AWS::Lambda::Function" => r.pointer("/Properties/LoggingConfig/LogGroup"),
                "AWS::StepFunctions::StateMachine" => r.pointer(
                    "/Properties/LoggingConfiguration/Destinations/0/CloudWatchLogsLogGroup/LogGroupArn",
                ),
                "AWS::ApiGatewayV2::Stage" => r.pointer("/Properties/AccessLogSettings/DestinationArn"),
                _ => continue,
            };
            let group = group.unwrap_or_else(|| panic!("{id} has no log group of its own"));
            assert!(
                retention(group) <= 30,
                "{id} keeps its logs longer than 30 days"
            );
            checked += 1;
        }
        assert_eq!(
            checked,
            52 + 1 + 1,
            "52 functions, the state machine, the API stage"
        );
    }

    /// Queue workers are capped (a burst of renders cannot starve the API
    /// of account concurrency) and storage refuses plain HTTP.
    #[test]
    fn workers_are_capped_and_buckets_refuse_plain_http() {
        let t = repo_translated();
        let resources = t.0["Resources"].as_object().unwrap();
        let of_type = |kind: &'static str| resources.iter().filter(move |(_, r)| r["Type"] == kind);
        let mappings: Vec<_> = of_type("AWS::Lambda::EventSourceMapping").collect();
        assert_eq!(
            mappings.len(),
            7,
            "four stages, the mailer, the export and the webhook workers"
        );
        for (id, m) in mappings {
            let cap = m
                .pointer("/Properties/ScalingConfig/MaximumConcurrency")
                .and_then(Value::as_u64);
            assert!(cap.is_some_and(|c| (2..=20).contains(&c)), "{id}: {cap:?}");
        }
        for (bucket, _) in of_type("AWS::S3::Bucket") {
            let denies_plain_http = of_type("AWS::S3::BucketPolicy").any(|(_, p)| {
                p.pointer("/Properties/Bucket/Ref") == Some(&json!(bucket))
                    && p.pointer("/Properties/PolicyDocument/Statement")
                        .and_then(Value::as_array)
                        .is_some_and(|st| {
                            st.iter().any(|s| {
                                s["Effect"] == "Deny"
                                    && s.pointer("/Condition/Bool/aws:SecureTransport")
                                        == Some(&json!("false"))
                            })
                        })
            });
            assert!(denies_plain_http, "{bucket} accepts plain HTTP");
        }
    }

    /// What no retry fixes raises an alarm: a message in any dead-letter
    /// queue, failed or timed-out executions, a run of 5xx answers.
    #[test]
    fn every_dead_letter_queue_failed_execution_and_5xx_run_alarms() {
        let t = repo_translated();
        let resources = t.0["Resources"].as_object().unwrap();
        let alarms: Vec<&Value> = resources
            .values()
            .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
            .map(|r| &r["Properties"])
            .collect();
        let watched = |metric: &str, dimension: &Value| {
            alarms.iter().any(|a| {
                a["MetricName"] == metric
                    && a["Dimensions"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|d| &d["Value"] == dimension))
            })
        };
        let queues_with_dlq: Vec<&String> = resources
            .iter()
            .filter(|(_, r)| r.pointer("/Properties/RedrivePolicy").is_some())
            .map(|(id, _)| id)
            .collect();
        assert_eq!(queues_with_dlq.len(), 7);
        for queue in queues_with_dlq {
            let dlq = resources[queue]
                .pointer("/Properties/RedrivePolicy/deadLetterTargetArn/Fn::GetAtt/0")
                .unwrap();
            assert!(
                watched(
                    "ApproximateNumberOfMessagesVisible",
                    &json!({"Fn::GetAtt": [dlq, "QueueName"]})
                ),
                "{queue}'s dead-letter queue has no alarm"
            );
        }
        let machine = json!({"Ref": "PipelineStateMachine"});
        assert!(watched("ExecutionsFailed", &machine));
        assert!(watched("ExecutionsTimedOut", &machine));
        assert!(watched("5xx", &json!({"Ref": "HttpApi"})));
    }
}
