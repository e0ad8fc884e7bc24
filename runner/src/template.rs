//! Reads `infra/template.yaml`, the single source of truth for resources, and
//! resolves what the local runner needs from it: resources to create, HTTP
//! routes and queue subscriptions with the binaries that serve them, and the
//! functions' environment.
//!
//! Intrinsic functions resolve the way CloudFormation resolves them, against
//! a [`Resolved`] map that provisioning fills in as it creates resources:
//! `!Ref` of a parameter is its `Default`; `!Ref` of a resource is what
//! CloudFormation's `Ref` returns for that type (table and bucket name, queue
//! URL, state machine ARN); `!GetAtt X.Attr` (or `[X, Attr]`) is the
//! attribute provisioning recorded (`Arn`, `QueueName`, `Name`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml::Value;

#[derive(Debug, Clone)]
pub struct Template {
    resources: serde_yaml::Mapping,
    parameters: serde_yaml::Mapping,
    /// `Globals.Function`: what every function gets unless it says otherwise.
    globals_function: Value,
    /// The template's folder: `DefinitionUri` and the like are relative to it.
    base_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct HttpRoute {
    pub function: String,
    /// The function's `Handler`: the endpoint it serves.
    pub handler: String,
    pub method: String,
    /// API Gateway path syntax, e.g. `/videos/{id}`.
    pub path: String,
}

/// One `AWS::Serverless::Function`, with what the runner needs to host it
/// as Lambda would.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `Handler`: the route or stage it serves (`_HANDLER` on Lambda).
    pub handler: String,
    /// `Metadata.BuildProperties.Binary`: the artifact that runs it.
    pub binary: String,
    /// `Timeout` (or the Globals'), in seconds: Lambda ends an invocation
    /// that runs longer.
    pub timeout_s: u64,
    /// `MemorySize` (or the Globals'), in MB.
    pub memory_mb: u64,
    /// The Cargo package that builds it, relative to the template.
    pub code_uri: String,
}

/// A function fed by an SQS queue (an `Events` entry of `Type: SQS`), which
/// Lambda serves with an event-source mapping.
#[derive(Debug, Clone)]
pub struct SqsSubscription {
    pub function: String,
    /// The function's `Handler`: the stage it runs.
    pub handler: String,
    /// Logical id of the queue (from `Queue: !GetAtt X.Arn`).
    pub queue: String,
    pub batch_size: i32,
    pub report_batch_item_failures: bool,
}

/// A resource whose `Properties` block mirrors the create request.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub logical_id: String,
    pub properties: Value,
}

pub type TableSpec = ResourceSpec;

#[derive(Debug, Clone)]
pub struct StateMachineSpec {
    pub logical_id: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    pub definition: Definition,
    /// `DefinitionSubstitutions`, still unresolved.
    pub substitutions: serde_yaml::Mapping,
}

#[derive(Debug, Clone)]
pub enum Definition {
    /// `DefinitionUri`, resolved against the template's folder.
    File(PathBuf),
    /// An inline `Definition` block.
    Inline(Value),
}

/// What intrinsic functions resolve to once resources exist.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Logical id to the value of `!Ref`.
    pub refs: BTreeMap<String, String>,
    /// (logical id, attribute) to the value of `!GetAtt`.
    pub attributes: BTreeMap<(String, String), String>,
    /// Variables whose value is where the host itself serves (the API's and
    /// the web app's URL), taken in place of the template's, which name the
    /// AWS endpoints (CloudFront, API Gateway) that do not exist locally.
    pub served: BTreeMap<String, String>,
}

impl Resolved {
    pub fn set_ref(&mut self, logical_id: &str, value: impl Into<String>) {
        self.refs.insert(logical_id.to_owned(), value.into());
    }

    pub fn set_attribute(&mut self, logical_id: &str, attribute: &str, value: impl Into<String>) {
        self.attributes
            .insert((logical_id.to_owned(), attribute.to_owned()), value.into());
    }

    pub fn attribute(&self, logical_id: &str, attribute: &str) -> Option<&str> {
        self.attributes
            .get(&(logical_id.to_owned(), attribute.to_owned()))
            .map(String::as_str)
    }
}

fn tag_name(tagged: &serde_yaml::value::TaggedValue) -> String {
    tagged.tag.to_string().trim_start_matches('!').to_owned()
}

fn get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

/// The function's `Handler`: which route or stage its artifact serves.
fn handler_of(globals: &Value, function: &str, res: &Value) -> Result<String> {
    get(res, "Properties")
        .and_then(|p| get(p, "Handler"))
        .or_else(|| get(globals, "Handler"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("{function}: no Handler"))
}

fn binary_of(function: &str, res: &Value) -> Result<String> {
    get(res, "Metadata")
        .and_then(|m| get(m, "BuildProperties"))
        .and_then(|b| get(b, "Binary"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("{function}: Metadata.BuildProperties.Binary is missing"))
}

/// The `(logical id, attribute)` a `!GetAtt` names, in either spelling:
/// `!GetAtt X.Arn` or `!GetAtt [X, Arn]`.
fn get_att_target(value: &Value) -> Result<(String, String)> {
    match value {
        Value::String(s) => {
            let (id, attr) = s
                .split_once('.')
                .ok_or_else(|| anyhow!("!GetAtt {s} is not Resource.Attribute"))?;
            Ok((id.to_owned(), attr.to_owned()))
        }
        Value::Sequence(items) => match items.as_slice() {
            [Value::String(id), Value::String(attr)] => Ok((id.clone(), attr.clone())),
            _ => bail!("!GetAtt list must be [Resource, Attribute]"),
        },
        other => bail!("!GetAtt of {other:?}"),
    }
}

impl Template {
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Self::parse(&text)?.with_base_dir(base_dir))
    }

    /// The folder `DefinitionUri` and the like are relative to (`parse`
    /// assumes the current one).
    pub fn with_base_dir(mut self, dir: PathBuf) -> Self {
        self.base_dir = dir;
        self
    }

    pub fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_yaml::from_str(text).context("parsing template YAML")?;
        let mapping =
            |v: Option<&Value>| v.and_then(Value::as_mapping).cloned().unwrap_or_default();
        let resources = mapping(get(&doc, "Resources"));
        if resources.is_empty() {
            bail!("template has no Resources");
        }
        Ok(Template {
            resources,
            parameters: mapping(get(&doc, "Parameters")),
            globals_function: Value::Mapping(mapping(
                get(&doc, "Globals").and_then(|g| get(g, "Function")),
            )),
            base_dir: PathBuf::from("."),
        })
    }

    fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources.iter().filter_map(move |(id, res)| {
            let id = id.as_str()?;
            (get(res, "Type")?.as_str()? == kind).then(|| (id.to_owned(), res))
        })
    }

    fn specs(&self, kind: &str) -> Vec<ResourceSpec> {
        self.resources_of_type(kind)
            .map(|(logical_id, res)| ResourceSpec {
                logical_id,
                properties: get(res, "Properties").cloned().unwrap_or(Value::Null),
            })
            .collect()
    }

    /// Logical ids of every resource, whatever its type.
    pub fn resource_ids(&self) -> Vec<String> {
        self.resources
            .keys()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    pub fn tables(&self) -> Vec<TableSpec> {
        self.specs("AWS::DynamoDB::Table")
    }

    pub fn buckets(&self) -> Vec<ResourceSpec> {
        self.specs("AWS::S3::Bucket")
    }

    pub fn email_identities(&self) -> Vec<ResourceSpec> {
        self.specs("AWS::SES::EmailIdentity")
    }

    /// Queues in creation order: a queue comes after every queue its
    /// properties refer to (its dead-letter queue).
    pub fn queues(&self) -> Result<Vec<ResourceSpec>> {
        let mut pending = self.specs("AWS::SQS::Queue");
        let mut ordered: Vec<ResourceSpec> = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let ready = pending.iter().position(|q| {
                let mut deps = Vec::new();
                referenced_ids(&q.properties, &mut deps);
                deps.iter().all(|d| {
                    ordered.iter().any(|o| &o.logical_id == d)
                        || !pending.iter().any(|p| &p.logical_id == d)
                })
            });
            let Some(i) = ready else {
                bail!("queues refer to each other in a cycle");
            };
            ordered.push(pending.remove(i));
        }
        Ok(ordered)
    }

    pub fn state_machines(&self) -> Result<Vec<StateMachineSpec>> {
        let mut out = Vec::new();
        for kind in [
            "AWS::Serverless::StateMachine",
            "AWS::StepFunctions::StateMachine",
        ] {
            for (logical_id, res) in self.resources_of_type(kind) {
                let props = get(res, "Properties")
                    .with_context(|| format!("{logical_id}: no Properties"))?;
                let definition = if let Some(uri) = get(props, "DefinitionUri") {
                    let uri = uri
                        .as_str()
                        .with_context(|| format!("{logical_id}: DefinitionUri must be a path"))?;
                    Definition::File(self.base_dir.join(uri))
                } else if let Some(inline) = get(props, "Definition") {
                    Definition::Inline(inline.clone())
                } else {
                    bail!("{logical_id}: neither DefinitionUri nor Definition");
                };
                let substitutions = get(props, "DefinitionSubstitutions")
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                out.push(StateMachineSpec {
                    logical_id,
                    kind: get(props, "Type")
                        .and_then(Value::as_str)
                        .unwrap_or("STANDARD")
                        .to_owned(),
                    definition,
                    substitutions,
                });
            }
        }
        Ok(out)
    }

    fn function_events(&self) -> impl Iterator<Item = (String, &Value, &Value)> + '_ {
        self.resources_of_type("AWS::Serverless::Function")
            .flat_map(|(function, res)| {
                get(res, "Properties")
                    .and_then(|p| get(p, "Events"))
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flat_map(|events| events.values())
                    .map(move |event| (function.clone(), res, event))
            })
    }

    pub fn http_routes(&self) -> Result<Vec<HttpRoute>> {
        let mut routes = Vec::new();
        for (function, res, event) in self.function_events() {
            if get(event, "Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let props = get(event, "Properties")
                .with_context(|| format!("{function}: HttpApi event without Properties"))?;
            let field = |name: &str| {
                get(props, name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .with_context(|| format!("{function}: HttpApi event without {name}"))
            };
            routes.push(HttpRoute {
                handler: handler_of(&self.globals_function, &function, res)?,
                method: field("Method")?.to_uppercase(),
                path: field("Path")?,
                function,
            });
        }
        Ok(routes)
    }

    pub fn sqs_subscriptions(&self) -> Result<Vec<SqsSubscription>> {
        let mut subs = Vec::new();
        for (function, res, event) in self.function_events() {
            if get(event, "Type").and_then(Value::as_str) != Some("SQS") {
                continue;
            }
            let props = get(event, "Properties")
                .with_context(|| format!("{function}: SQS event without Properties"))?;
            let queue = match get(props, "Queue") {
                Some(Value::Tagged(t)) if tag_name(t) == "GetAtt" => {
                    let (id, attr) = get_att_target(&t.value)?;
                    if attr != "Arn" {
                        bail!("{function}: SQS Queue must be !GetAtt {id}.Arn");
                    }
                    id
                }
                _ => bail!("{function}: SQS Queue must be !GetAtt <queue>.Arn"),
            };
            if !self.resources.contains_key(queue.as_str()) {
                bail!("{function}: SQS Queue {queue} is not a resource");
            }
            let batch_size = match get(props, "BatchSize") {
                None => 10,
                Some(v) => v
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .with_context(|| format!("{function}: BatchSize must be a number"))?,
            };
            let report_batch_item_failures = get(props, "FunctionResponseTypes")
                .and_then(Value::as_sequence)
                .is_some_and(|types| {
                    types
                        .iter()
                        .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
                });
            subs.push(SqsSubscription {
                handler: handler_of(&self.globals_function, &function, res)?,
                function,
                queue,
                batch_size,
                report_batch_item_failures,
            });
        }
        Ok(subs)
    }

    pub fn functions(&self) -> Result<Vec<FunctionSpec>> {
        self.resources_of_type("AWS::Serverless::Function")
            .map(|(logical_id, res)| {
                let timeout = get(res, "Properties")
                    .and_then(|p| get(p, "Timeout"))
                    .or_else(|| get(&self.globals_function, "Timeout"))
                    .cloned();
                let timeout_s = match timeout {
                    // Lambda's default.
                    None => 3,
                    Some(v) => v
                        .as_u64()
                        .with_context(|| format!("{logical_id}: Timeout must be a number"))?,
                };
                let number = |key: &str, default: u64| -> Result<u64> {
                    match get(res, "Properties")
                        .and_then(|p| get(p, key))
                        .or_else(|| get(&self.globals_function, key))
                    {
                        None => Ok(default),
                        Some(v) => v
                            .as_u64()
                            .with_context(|| format!("{logical_id}: {key} must be a number")),
                    }
                };
                let code_uri = get(res, "Properties")
                    .and_then(|p| get(p, "CodeUri"))
                    .or_else(|| get(&self.globals_function, "CodeUri"))
                    .and_then(Value::as_str)
                    .with_context(|| format!("{logical_id}: no CodeUri"))?
                    .to_owned();
                Ok(FunctionSpec {
                    handler: handler_of(&self.globals_function, &logical_id, res)?,
                    binary: binary_of(&logical_id, res)?,
                    // Lambda's default.
                    memory_mb: number("MemorySize", 128)?,
                    code_uri,
                    logical_id,
                    timeout_s,
                })
            })
            .collect()
    }

    /// Variables a function's `Environment` declares, or the Globals'.
    fn variables(props: Option<&Value>) -> Option<&serde_yaml::Mapping> {
        props
            .and_then(|p| get(p, "Environment"))
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
    }

    fn resolve_variables(
        &self,
        vars: Option<&serde_yaml::Mapping>,
        resolved: &Resolved,
        env: &mut BTreeMap<String, String>,
    ) -> Result<()> {
        for (key, value) in vars.into_iter().flatten() {
            let key = key
                .as_str()
                .ok_or_else(|| anyhow!("non-string variable name"))?;
            if let Some(served) = resolved.served.get(key) {
                env.insert(key.to_owned(), served.clone());
                continue;
            }
            let value = self
                .resolve_scalar(value, resolved)
                .with_context(|| format!("variable {key}"))?;
            env.insert(key.to_owned(), value);
        }
        Ok(())
    }

    /// The environment every function gets (`Globals`), resolved.
    pub fn globals_environment(&self, resolved: &Resolved) -> Result<BTreeMap<String, String>> {
        let mut env = BTreeMap::new();
        self.resolve_variables(
            Self::variables(Some(&self.globals_function)),
            resolved,
            &mut env,
        )?;
        Ok(env)
    }

    /// One function's environment as Lambda sets it: the Globals' variables
    /// with the function's own over them, intrinsics resolved.
    pub fn function_environment(
        &self,
        function: &str,
        resolved: &Resolved,
    ) -> Result<BTreeMap<String, String>> {
        let res = self
            .resources
            .get(function)
            .with_context(|| format!("no function {function} in the template"))?;
        let mut env = self.globals_environment(resolved)?;
        self.resolve_variables(Self::variables(get(res, "Properties")), resolved, &mut env)
            .with_context(|| format!("{function}'s environment"))?;
        Ok(env)
    }

    /// A value that must come out as one string (an environment variable, a
    /// substitution); numbers and booleans print as CloudFormation does.
    pub fn resolve_scalar(&self, value: &Value, resolved: &Resolved) -> Result<String> {
        match self.resolve(value, resolved)? {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            serde_json::Value::Bool(b) => Ok(b.to_string()),
            other => bail!("expected a scalar, got {other}"),
        }
    }

    /// Any value, intrinsics resolved, as JSON (as CloudFormation hands
    /// structured properties such as `RedrivePolicy` to the service).
    pub fn resolve(&self, value: &Value, resolved: &Resolved) -> Result<serde_json::Value> {
        use serde_json::Value as J;
        Ok(match value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => serde_json::to_value(n)?,
            Value::String(s) => J::String(s.clone()),
            Value::Sequence(items) => J::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v, resolved))
                    .collect::<Result<_>>()?,
            ),
            Value::Mapping(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let k = k.as_str().ok_or_else(|| anyhow!("non-string key {k:?}"))?;
                    out.insert(k.to_owned(), self.resolve(v, resolved)?);
                }
                J::Object(out)
            }
            Value::Tagged(tagged) => match tag_name(tagged).as_str() {
                "Ref" => {
                    let name = tagged
                        .value
                        .as_str()
                        .ok_or_else(|| anyhow!("!Ref of a non-string"))?;
                    if let Some(param) = self.parameters.get(name) {
                        let default = get(param, "Default")
                            .ok_or_else(|| anyhow!("parameter {name} has no Default"))?;
                        return self.resolve(default, resolved);
                    }
                    if !self.resources.contains_key(name) {
                        bail!("!Ref {name} names no parameter or resource");
                    }
                    J::String(resolved.refs.get(name).cloned().ok_or_else(|| {
                        anyhow!("!Ref {name}: the resource is not provisioned locally")
                    })?)
                }
                "GetAtt" => {
                    let (id, attr) = get_att_target(&tagged.value)?;
                    if !self.resources.contains_key(id.as_str()) {
                        bail!("!GetAtt {id}.{attr} names no resource");
                    }
                    J::String(
                        resolved
                            .attribute(&id, &attr)
                            .ok_or_else(|| anyhow!("!GetAtt {id}.{attr} is not known locally"))?
                            .to_owned(),
                    )
                }
                other => bail!("!{other} is not supported by the local runner"),
            },
        })
    }
}

/// Logical ids a value refers to with `!Ref` or `!GetAtt`.
fn referenced_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Sequence(items) => items.iter().for_each(|v| referenced_ids(v, out)),
        Value::Mapping(map) => map.values().for_each(|v| referenced_ids(v, out)),
        Value::Tagged(tagged) => match tag_name(tagged).as_str() {
            "Ref" => out.extend(tagged.value.as_str().map(str::to_owned)),
            "GetAtt" => out.extend(get_att_target(&tagged.value).ok().map(|(id, _)| id)),
            _ => referenced_ids(&tagged.value, out),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_template() -> Template {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"))
            .unwrap()
    }

    /// Every resource resolved to `local-{id}`, attributes to `{id}.{attr}`.
    fn fake_resolved(t: &Template) -> Resolved {
        let mut r = Resolved::default();
        for id in t.resource_ids() {
            r.set_ref(&id, format!("local-{id}"));
            for attr in ["Arn", "QueueName", "Name"] {
                r.set_attribute(&id, attr, format!("{id}.{attr}"));
            }
        }
        r
    }

    #[test]
    fn reads_routes_tables_and_environment_from_the_real_template() {
        let t = repo_template();
        let routes = t.http_routes().unwrap();
        assert!(routes.iter().any(|r| r.method == "POST"
            && r.path == "/auth/register"
            && r.handler == "auth-register"));
        let tables: Vec<String> = t.tables().into_iter().map(|t| t.logical_id).collect();
        assert!(tables.contains(&"AccountsTable".to_owned()));
        let env = t.globals_environment(&fake_resolved(&t)).unwrap();
        assert_eq!(env["ACCOUNTS_TABLE"], "local-AccountsTable");
        assert_eq!(env["MEDIA_BUCKET"], "local-MediaBucket");
        assert_eq!(
            env["PIPELINE_STATE_MACHINE_ARN"],
            "local-PipelineStateMachine"
        );
        assert_eq!(env["AUTH_RATE_LIMIT_PER_MINUTE"], "10");
    }

    /// The provider settings have two defaults, the template's parameters
    /// (what AWS and the local runner use) and the app's own (a binary
    /// started without them): they must name the same models and hosts.
    #[test]
    fn template_provider_defaults_are_the_apps_defaults() {
        let t = repo_template();
        let env = t.globals_environment(&fake_resolved(&t)).unwrap();
        let from_template = glimvid::config::Config::from_lookup(|k| env.get(k).cloned())
            .unwrap()
            .providers;
        let keys = [
            "DEEPSEEK_BASE_URL",
            "DEEPSEEK_MODEL",
            "ARK_BASE_URL",
            "ARK_IMAGE_MODEL",
            "ARK_VIDEO_MODEL",
            "ARK_VIDEO_RESOLUTION",
            "PROVIDER_DOWNLOAD_HOSTS",
        ];
        for key in keys {
            assert!(env.contains_key(key), "{key} is not in the template");
        }
        let built_in = glimvid::config::Config::from_lookup(|k| {
            (!keys.contains(&k)).then(|| env.get(k).cloned()).flatten()
        })
        .unwrap()
        .providers;
        assert_eq!(from_template.deepseek.base_url, built_in.deepseek.base_url);
        assert_eq!(from_template.deepseek_model, built_in.deepseek_model);
        assert_eq!(from_template.ark.base_url, built_in.ark.base_url);
        assert_eq!(from_template.ark_image_model, built_in.ark_image_model);
        assert_eq!(from_template.ark_video_model, built_in.ark_video_model);
        assert_eq!(
            from_template.ark_video_resolution,
            built_in.ark_video_resolution
        );
        assert_eq!(from_template.download_hosts, built_in.download_hosts);
    }

    #[test]
    fn reads_buckets_queues_state_machine_and_subscriptions() {
        let t = repo_template();
        let buckets: Vec<String> = t.buckets().into_iter().map(|b| b.logical_id).collect();
        assert!(buckets.contains(&"MediaBucket".to_owned()), "{buckets:?}");

        let queues: Vec<String> = t
            .queues()
            .unwrap()
            .into_iter()
            .map(|q| q.logical_id)
            .collect();
        assert_eq!(queues.len(), 14);
        for stage in ["Script", "Enhance", "Video", "Finalize"] {
            let at = |id: String| queues.iter().position(|q| *q == id).unwrap();
            assert!(
                at(format!("{stage}DeadLetterQueue")) < at(format!("{stage}Queue")),
                "{stage}: the dead-letter queue must be created first"
            );
        }

        let machines = t.state_machines().unwrap();
        assert_eq!(machines.len(), 1);
        let m = &machines[0];
        assert_eq!(m.kind, "STANDARD");
        let Definition::File(path) = &m.definition else {
            panic!("expected DefinitionUri")
        };
        assert!(path.exists(), "{} is missing", path.display());
        let url = m.substitutions.get("ScriptQueueUrl").unwrap();
        assert_eq!(
            t.resolve_scalar(url, &fake_resolved(&t)).unwrap(),
            "local-ScriptQueue"
        );

        let subs = t.sqs_subscriptions().unwrap();
        let script = subs
            .iter()
            .find(|s| s.handler == "worker-script")
            .expect("worker-script subscription");
        assert_eq!(script.queue, "ScriptQueue");
        assert_eq!(script.batch_size, 1);
        assert!(script.report_batch_item_failures);
        assert_eq!(subs.len(), 7);
        for s in &subs {
            assert!(
                crate::mapping::Consumer::from_handler(&s.handler).is_some(),
                "{} is no pipeline worker, mailer, export or webhook worker",
                s.handler
            );
        }
    }

    #[test]
    fn redrive_policy_resolves_to_json_with_the_dead_letter_arn() {
        let t = repo_template();
        let queue = t
            .queues()
            .unwrap()
            .into_iter()
            .find(|q| q.logical_id == "ScriptQueue")
            .unwrap();
        let policy = t
            .resolve(
                get(&queue.properties, "RedrivePolicy").unwrap(),
                &fake_resolved(&t),
            )
            .unwrap();
        assert_eq!(
            policy,
            serde_json::json!({"deadLetterTargetArn": "ScriptDeadLetterQueue.Arn", "maxReceiveCount": 6})
        );
    }

    #[test]
    fn get_att_accepts_both_spellings() {
        let t = Template::parse(
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          A: !GetAtt Q.Arn\n          B: !GetAtt [Q, QueueName]\n",
        )
        .unwrap();
        let mut r = Resolved::default();
        r.set_attribute("Q", "Arn", "arn:q");
        r.set_attribute("Q", "QueueName", "q");
        let env = t.function_environment("F", &r).unwrap();
        assert_eq!(env["A"], "arn:q");
        assert_eq!(env["B"], "q");
    }

    #[test]
    fn every_template_route_has_a_handler() {
        for route in repo_template().http_routes().unwrap() {
            assert!(
                glimvid::http::Endpoint::from_name(&route.handler).is_some(),
                "{} has no endpoint",
                route.handler
            );
        }
    }

    #[test]
    fn unknown_ref_is_an_error() {
        let t = Template::parse(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          X: !Ref Nope\n",
        )
        .unwrap();
        assert!(t.function_environment("F", &Resolved::default()).is_err());
    }

    #[test]
    fn unprovisioned_resource_is_an_error() {
        let t = Template::parse(
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          X: !Ref Q\n",
        )
        .unwrap();
        let err = t
            .function_environment("F", &Resolved::default())
            .unwrap_err();
        assert!(format!("{err:#}").contains("not provisioned"), "{err:#}");
    }
}
