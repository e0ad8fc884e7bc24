//! Structured logging. JSON on Lambda (CloudWatch parses it), compact text
//! for people running the local runner. Level from `RUST_LOG`.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init_json() {
    let format = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_target(false)
        .without_time(); // Lambda stamps every line itself.
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter())
        .try_init();
}

pub fn init_text() {
    let format = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter())
        .try_init();
}

const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_dynamodb=warn";

/// `RUST_LOG` as `level,target=level,...` (targets by prefix; no regex
/// directives, which would link a regex engine into every function).
fn filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| Targets::from_str(&v).ok())
        .unwrap_or_else(|| Targets::from_str(DEFAULT_FILTER).unwrap_or_default())
}

/// Counts `value` of `metric` in CloudWatch through the Embedded Metric
/// Format: one JSON line on stdout, which Lambda's log agent turns into a
/// metric in namespace `Glimvid` per function, no API call or permission
/// needed. `context` (request or message id, route) rides along as fields
/// for Logs Insights; never put personal data in it. Off outside Lambda, so
/// the local runner's output stays readable.
pub fn count(metric: &str, value: u64, context: &[(&str, &str)]) {
    let Ok(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") else {
        return;
    };
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["function"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "function": function,
        metric: value,
    });
    for (key, field) in context {
        line[*key] = serde_json::Value::String((*field).to_owned());
    }
    // One write of one whole line, so it never interleaves with a log line.
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

pub const METRIC_NAMESPACE: &str = "Glimvid";
