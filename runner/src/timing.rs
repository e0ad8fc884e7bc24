//! The pipeline's timing: the template's numbers scaled down by one factor
//! (so a test can watch retries and timeouts happen in seconds), and the
//! rule those numbers obey, stated in the template above the stage queues.
//!
//! Scaling divides every number the rule involves, so a scaled run keeps
//! the production proportions: queue visibility, the state machine's
//! `TimeoutSeconds`, function timeouts and the workers' timing variables.
//! Values round up and stay at least 1, so nothing becomes "no limit".

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use glimvid::config::{Config, Providers};
use glimvid::pipeline::Worker;
use serde_yaml::Value;

use crate::provision;
use crate::template::{Resolved, ResourceSpec, Template};

/// Timing variables in whole seconds.
pub const SCALED_SECONDS: &[&str] = &[
    "STAGE_BACKOFF_BASE_SECONDS",
    "STAGE_BACKOFF_MAX_SECONDS",
    "VIDEO_POLL_SECONDS",
    "VIDEO_DEADLINE_SECONDS",
];

/// Timing variables in milliseconds.
pub const SCALED_MILLIS: &[&str] = &[
    "PROVIDER_CONNECT_TIMEOUT_MS",
    "PROVIDER_REQUEST_TIMEOUT_MS",
    "PROVIDER_RETRY_BUDGET_MS",
    "PROVIDER_DOWNLOAD_TIMEOUT_MS",
];

/// What the rule grants a delivery beyond its provider calls: the DynamoDB,
/// S3, Secrets Manager and Step Functions calls around them.
pub const AWS_CALLS_S: u64 = 10;

/// What the video worker's last attempt may spend rendering offline when
/// the provider failed (the fallback; a 10 s video on the function's
/// vCPUs, with room to spare).
pub const FALLBACK_RENDER_S: u64 = 60;

/// Lambda's advice for an SQS-fed function: a message must not reappear
/// while a retried invocation may still be working on it.
pub const VISIBILITY_PER_TIMEOUT: u64 = 6;

/// `value` divided by `divisor`, rounded up, at least 1 (0 stays 0: it
/// means "none", not "short"). A divisor of 0 or 1 changes nothing.
pub fn scale(value: u64, divisor: u32) -> u64 {
    if divisor <= 1 || value == 0 {
        return value;
    }
    value.div_ceil(u64::from(divisor)).max(1)
}

/// A function's environment with its timing variables scaled; anything
/// that is not a whole number is left for the configuration to reject.
pub fn scale_environment(env: &mut BTreeMap<String, String>, divisor: u32) {
    if divisor <= 1 {
        return;
    }
    for key in SCALED_SECONDS.iter().chain(SCALED_MILLIS) {
        if let Some(value) = env.get_mut(*key)
            && let Ok(n) = value.trim().parse::<u64>()
        {
            *value = scale(n, divisor).to_string();
        }
    }
}

/// A queue's properties with `VisibilityTimeout` scaled.
pub fn scale_queue(spec: &ResourceSpec, divisor: u32) -> Result<ResourceSpec> {
    let mut spec = spec.clone();
    if divisor <= 1 {
        return Ok(spec);
    }
    if let Some(visibility) = spec
        .properties
        .as_mapping_mut()
        .and_then(|p| p.get_mut("VisibilityTimeout"))
    {
        let seconds = visibility.as_u64().with_context(|| {
            format!(
                "{}: VisibilityTimeout must be a number to be scaled",
                spec.logical_id
            )
        })?;
        *visibility = Value::from(scale(seconds, divisor));
    }
    Ok(spec)
}

/// A state machine definition with every state's `TimeoutSeconds`,
/// `HeartbeatSeconds` and Wait `Seconds` scaled. With a divisor of 1 the
/// text is returned as it is, byte for byte.
pub fn scale_definition(text: &str, divisor: u32) -> Result<String> {
    if divisor <= 1 {
        return Ok(text.to_owned());
    }
    let mut doc: serde_json::Value =
        serde_json::from_str(text).context("the state machine definition is not JSON")?;
    scale_field(&mut doc, "TimeoutSeconds", divisor);
    scale_states(&mut doc, divisor);
    Ok(doc.to_string())
}

fn scale_field(object: &mut serde_json::Value, key: &str, divisor: u32) {
    if let Some(field) = object.get_mut(key)
        && let Some(n) = field.as_u64()
    {
        *field = serde_json::Value::from(scale(n, divisor));
    }
}

/// Only the states' own fields: a `Seconds` inside a message body is data.
fn scale_states(machine: &mut serde_json::Value, divisor: u32) {
    let Some(states) = machine
        .get_mut("States")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for state in states.values_mut() {
        for key in ["TimeoutSeconds", "HeartbeatSeconds", "Seconds"] {
            scale_field(state, key, divisor);
        }
        if let Some(branches) = state
            .get_mut("Branches")
            .and_then(serde_json::Value::as_array_mut)
        {
            branches.iter_mut().for_each(|b| scale_states(b, divisor));
        }
        for nested in ["Iterator", "ItemProcessor"] {
            if let Some(machine) = state.get_mut(nested) {
                scale_states(machine, divisor);
            }
        }
    }
}

/// One task state fed to a worker through its queue, with every number the
/// rule needs, as the runner would serve them at the given scale.
#[derive(Debug, Clone)]
pub struct StageTiming {
    pub state: String,
    pub queue: String,
    pub function: String,
    pub worker: Worker,
    /// The state's `TimeoutSeconds`; None when it has none.
    pub state_timeout_s: Option<u64>,
    pub function_timeout_s: u64,
    /// What one delivery may spend at worst: its provider calls and their
    /// retries, downloads, the fallback render, the AWS calls around them.
    pub work_s: u64,
    pub visibility_s: u64,
    pub max_receive_count: Option<u64>,
    pub attempts: u32,
    /// The wait after each failed delivery but the last.
    pub backoff_s: Vec<u32>,
    /// The queue the worker sets its backoff on (`STAGE_QUEUE_URL`).
    pub backoff_queue: Option<String>,
}

impl StageTiming {
    pub fn max_backoff_s(&self) -> u64 {
        self.backoff_s.iter().copied().max().map_or(0, u64::from)
    }

    /// attempts × (function timeout + the longest backoff).
    pub fn worst_case_s(&self) -> u64 {
        u64::from(self.attempts) * (self.function_timeout_s + self.max_backoff_s())
    }

    /// What breaks the rule, each naming the stage and its numbers.
    pub fn violations(&self) -> Vec<String> {
        let at = format!(
            "{} ({} -> {}, {})",
            self.state,
            self.queue,
            self.function,
            self.worker.name()
        );
        let mut out = Vec::new();
        if self.backoff_queue.as_deref() != Some(self.queue.as_str()) {
            out.push(format!(
                "{at}: STAGE_QUEUE_URL is {:?}, not its own queue {}, so its backoff cannot apply",
                self.backoff_queue, self.queue
            ));
        }
        if self.function_timeout_s < self.work_s {
            out.push(format!(
                "{at}: Timeout {} s does not cover the {} s one delivery may spend",
                self.function_timeout_s, self.work_s
            ));
        }
        if self.visibility_s < VISIBILITY_PER_TIMEOUT * self.function_timeout_s {
            out.push(format!(
                "{at}: VisibilityTimeout {} s is under {VISIBILITY_PER_TIMEOUT} x the {} s function timeout",
                self.visibility_s, self.function_timeout_s
            ));
        }
        match self.max_receive_count {
            Some(n) if n >= u64::from(self.attempts) => {}
            n => out.push(format!(
                "{at}: maxReceiveCount {n:?} is under the {} attempts, so the dead-letter queue takes the message before the last attempt reports",
                self.attempts
            )),
        }
        match self.state_timeout_s {
            None => out.push(format!("{at}: the state has no TimeoutSeconds")),
            Some(limit) if self.worst_case_s() > limit => out.push(format!(
                "{at}: {} attempts x ({} s timeout + {} s backoff) = {} s exceeds TimeoutSeconds {limit}",
                self.attempts,
                self.function_timeout_s,
                self.max_backoff_s(),
                self.worst_case_s()
            )),
            Some(_) => {}
        }
        out
    }
}

/// What one delivery of `worker` may spend at worst. A provider call keeps
/// retrying until its retry budget is spent, and its last try may take the
/// whole request timeout; a download retries the same way, each try up to
/// the download timeout. Counted for the remote providers whichever the
/// configuration picks: the offline ones spend less.
pub fn delivery_work(worker: Worker, providers: &Providers, divisor: u32) -> Duration {
    let call = providers.retry_budget + providers.request_timeout;
    let download = providers.retry_budget + providers.download_timeout;
    let secs = |s: u64| Duration::from_secs(scale(s, divisor));
    let provider = match worker {
        Worker::Script => call,
        Worker::Enhance => call + download,
        Worker::Video => call + download + secs(FALLBACK_RENDER_S),
        Worker::Finalize => Duration::ZERO,
    };
    provider + secs(AWS_CALLS_S)
}

fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Every resource resolving to its own logical id, so a queue URL in the
/// state machine names its queue.
fn by_logical_id(template: &Template) -> Resolved {
    let mut resolved = Resolved::default();
    for id in template.resource_ids() {
        resolved.set_ref(&id, id.clone());
        for attr in ["Arn", "QueueName", "Name"] {
            resolved.set_attribute(&id, attr, id.clone());
        }
    }
    resolved
}

/// The timing of every task state that sends to a worker's queue, at the
/// given scale (1: the template as deployed).
pub fn stages(template: &Template, divisor: u32) -> Result<Vec<StageTiming>> {
    let resolved = by_logical_id(template);
    let functions = template.functions()?;
    let queues = template.queues()?;
    let subscriptions = template.sqs_subscriptions()?;
    let mut out = Vec::new();
    for machine in template.state_machines()? {
        let definition = provision::state_machine_definition(&machine, template, &resolved)?;
        let definition = scale_definition(&definition, divisor)?;
        let doc: serde_json::Value = serde_json::from_str(&definition)?;
        let states = doc
            .get("States")
            .and_then(serde_json::Value::as_object)
            .with_context(|| format!("{}: no States", machine.logical_id))?;
        for (name, state) in states {
            let sends = state
                .get("Resource")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|r| r.starts_with("arn:aws:states:::sqs:sendMessage"));
            if !sends {
                continue;
            }
            let queue = state
                .pointer("/Parameters/QueueUrl")
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("{name}: sendMessage without a QueueUrl"))?;
            let subscription = subscriptions
                .iter()
                .find(|s| s.queue == queue)
                .with_context(|| format!("{name}: no function is fed by {queue}"))?;
            let worker = Worker::from_name(&subscription.handler)
                .with_context(|| format!("{}: no pipeline worker", subscription.handler))?;
            let function = functions
                .iter()
                .find(|f| f.logical_id == subscription.function)
                .with_context(|| format!("{} is not a function", subscription.function))?;
            let queue_spec = queues
                .iter()
                .find(|q| q.logical_id == queue)
                .ok_or_else(|| anyhow!("{queue} is not a queue"))?;
            let queue_spec = scale_queue(queue_spec, divisor)?;
            let property = |key: &str| {
                queue_spec
                    .properties
                    .as_mapping()
                    .and_then(|p| p.get(key))
                    .cloned()
            };
            let visibility_s = match property("VisibilityTimeout") {
                // SQS's default.
                None => scale(30, divisor),
                Some(v) => v
                    .as_u64()
                    .with_context(|| format!("{queue}: VisibilityTimeout must be a number"))?,
            };
            let max_receive_count = property("RedrivePolicy")
                .as_ref()
                .and_then(|p| p.get("maxReceiveCount"))
                .and_then(Value::as_u64);
            let mut env = template.function_environment(&function.logical_id, &resolved)?;
            scale_environment(&mut env, divisor);
            let config = Config::from_lookup(|k| env.get(k).cloned())
                .with_context(|| format!("{}: configuration", function.logical_id))?;
            let stages = &config.stages;
            out.push(StageTiming {
                state: name.clone(),
                queue: queue.to_owned(),
                function: function.logical_id.clone(),
                worker,
                state_timeout_s: state
                    .get("TimeoutSeconds")
                    .and_then(serde_json::Value::as_u64),
                function_timeout_s: scale(function.timeout_s, divisor),
                work_s: whole_seconds(delivery_work(worker, &config.providers, divisor)),
                visibility_s,
                max_receive_count,
                attempts: stages.max_attempts,
                backoff_s: (1..stages.max_attempts)
                    .map(|a| stages.backoff_seconds(a))
                    .collect(),
                backoff_queue: stages.queue_url.clone(),
            });
        }
    }
    if out.is_empty() {
        bail!("no task state sends to a worker's queue");
    }
    Ok(out)
}

/// Every violation of the rule at the given scale, each naming the stage.
pub fn violations(template: &Template, divisor: u32) -> Result<Vec<String>> {
    Ok(stages(template, divisor)?
        .iter()
        .flat_map(StageTiming::violations)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn repo_template() -> Template {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"))
            .unwrap()
    }

    #[test]
    fn the_templates_timing_rule_holds_for_every_stage() {
        let template = repo_template();
        let stages = stages(&template, 1).unwrap();
        let mut names: Vec<&str> = stages.iter().map(|s| s.state.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["Enhance", "Finalize", "Refund", "Script", "Video"],
            "every task state is checked"
        );
        let broken: Vec<String> = stages.iter().flat_map(StageTiming::violations).collect();
        assert!(
            broken.is_empty(),
            "the template's timing rule is broken:\n{}",
            broken.join("\n")
        );
        for s in &stages {
            assert!(
                s.attempts >= 3,
                "{}: a transient fault gets retried twice",
                s.state
            );
        }
    }

    /// The retry test runs the template scaled down; the rule must hold
    /// there too, or what it shows would say nothing about production.
    #[test]
    fn the_rule_still_holds_scaled_down() {
        for divisor in [2, 5, 10] {
            let broken = violations(&repo_template(), divisor).unwrap();
            assert!(
                broken.is_empty(),
                "scaled by 1/{divisor}:\n{}",
                broken.join("\n")
            );
        }
    }

    #[test]
    fn a_broken_rule_names_the_stage_and_its_numbers() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
        )
        .unwrap();
        let script = "      Timeout: 90\n      Environment:\n        Variables:\n          STAGE_QUEUE_URL: !Ref ScriptQueue\n";
        assert!(text.contains(script), "the script worker's Timeout moved");
        let text = text.replacen(script, &script.replace("90", "140"), 1);
        let template = Template::parse(&text)
            .unwrap()
            .with_base_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra"));
        let broken = violations(&template, 1).unwrap();
        assert!(
            broken.iter().any(|v| v.starts_with("Script (ScriptQueue")
                && v.contains("VisibilityTimeout")
                && v.contains("140 s")),
            "{broken:?}"
        );
        assert!(
            broken
                .iter()
                .any(|v| v.starts_with("Script (") && v.contains("exceeds TimeoutSeconds")),
            "{broken:?}"
        );
    }

    #[test]
    fn scaling_rounds_up_and_keeps_limits() {
        assert_eq!(scale(90, 1), 90);
        assert_eq!(scale(90, 20), 5);
        assert_eq!(scale(5, 20), 1);
        assert_eq!(scale(0, 20), 0);
        let mut env = BTreeMap::from([
            ("PROVIDER_REQUEST_TIMEOUT_MS".to_owned(), "45000".to_owned()),
            ("STAGE_BACKOFF_BASE_SECONDS".to_owned(), "5".to_owned()),
            ("SESSION_DAYS".to_owned(), "30".to_owned()),
        ]);
        scale_environment(&mut env, 20);
        assert_eq!(env["PROVIDER_REQUEST_TIMEOUT_MS"], "2250");
        assert_eq!(env["STAGE_BACKOFF_BASE_SECONDS"], "1");
        assert_eq!(env["SESSION_DAYS"], "30");
    }

    #[test]
    fn scale_one_leaves_the_definition_byte_for_byte() {
        let text = "{\"States\": {\"A\": {\"Type\": \"Task\", \"TimeoutSeconds\": 600}}}\n";
        assert_eq!(scale_definition(text, 1).unwrap(), text);
        let scaled: serde_json::Value =
            serde_json::from_str(&scale_definition(text, 20).unwrap()).unwrap();
        assert_eq!(scaled["States"]["A"]["TimeoutSeconds"], 30);
    }

    #[test]
    fn only_state_fields_are_scaled() {
        let text = r#"{"TimeoutSeconds": 3600, "States": {
            "W": {"Type": "Wait", "Seconds": 100},
            "T": {"Type": "Task", "HeartbeatSeconds": 60, "Parameters": {"MessageBody": {"Seconds": 100}}},
            "P": {"Type": "Parallel", "Branches": [{"States": {"B": {"Type": "Task", "TimeoutSeconds": 50}}}]}
        }}"#;
        let scaled: serde_json::Value =
            serde_json::from_str(&scale_definition(text, 10).unwrap()).unwrap();
        assert_eq!(scaled["TimeoutSeconds"], 360);
        assert_eq!(scaled["States"]["W"]["Seconds"], 10);
        assert_eq!(scaled["States"]["T"]["HeartbeatSeconds"], 6);
        assert_eq!(
            scaled["States"]["T"]["Parameters"]["MessageBody"]["Seconds"],
            100
        );
        assert_eq!(
            scaled["States"]["P"]["Branches"][0]["States"]["B"]["TimeoutSeconds"],
            5
        );
    }
}
