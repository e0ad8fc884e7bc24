//! IAM policies as AWS evaluates identity policies: an explicit Deny wins,
//! otherwise some Allow must match the action (case-insensitive, `*` and
//! `?` wildcards) and the resource (case-sensitive, the same wildcards).
//! A statement with a `Condition` is not evaluated here: an Allow with one
//! never matches and a Deny with one always does, so the audit fails closed.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    /// `Action`, or `NotAction` when `not_action`.
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    conditional: bool,
}

/// The identity policies of one role, merged.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// No Allow matched (AWS's implicit deny).
    NotAllowed,
    ExplicitlyDenied,
}

fn strings(value: Option<&Value>) -> Result<Vec<String>> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("policy element {v} is not a string"))
            })
            .collect(),
        Some(other) => bail!("policy element {other} is neither a string nor a list"),
    }
}

impl Policy {
    /// Adds one policy document (already free of intrinsics).
    pub fn add_document(&mut self, document: &Value) -> Result<()> {
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) => list.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => bail!("policy document without Statement"),
        };
        for st in statements {
            let effect = match st.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => bail!("statement Effect {other:?}"),
            };
            let (actions, not_action) = match (st.get("Action"), st.get("NotAction")) {
                (Some(a), None) => (strings(Some(a))?, false),
                (None, Some(a)) => (strings(Some(a))?, true),
                _ => bail!("a statement needs exactly one of Action and NotAction"),
            };
            let (resources, not_resource) = match (st.get("Resource"), st.get("NotResource")) {
                (Some(r), None) => (strings(Some(r))?, false),
                (None, Some(r)) => (strings(Some(r))?, true),
                _ => bail!("a statement needs exactly one of Resource and NotResource"),
            };
            self.statements.push(Statement {
                effect,
                actions,
                not_action,
                resources,
                not_resource,
                conditional: st.get("Condition").is_some(),
            });
        }
        Ok(())
    }

    pub fn decide(&self, action: &str, resource: &str) -> Decision {
        let applies = |st: &Statement| {
            let action_hit = st.actions.iter().any(|p| glob(p, action, true));
            let resource_hit = st.resources.iter().any(|p| glob(p, resource, false));
            (action_hit != st.not_action) && (resource_hit != st.not_resource)
        };
        if self
            .statements
            .iter()
            .any(|st| st.effect == Effect::Deny && applies(st))
        {
            return Decision::ExplicitlyDenied;
        }
        if self
            .statements
            .iter()
            .any(|st| st.effect == Effect::Allow && !st.conditional && applies(st))
        {
            Decision::Allowed
        } else {
            Decision::NotAllowed
        }
    }

    /// Every (action pattern, resource pattern) an Allow statement grants.
    pub fn granted_pairs(&self) -> BTreeSet<(String, String)> {
        self.statements
            .iter()
            .filter(|st| st.effect == Effect::Allow && !st.not_action && !st.not_resource)
            .flat_map(|st| {
                st.actions
                    .iter()
                    .flat_map(|a| st.resources.iter().map(move |r| (a.clone(), r.clone())))
            })
            .collect()
    }

    /// Whether an action pattern (e.g. `sqs:SendMessage*`) covers `action`.
    pub fn pattern_covers(pattern: &str, action: &str) -> bool {
        glob(pattern, action, true)
    }

    /// Whether a resource pattern covers `resource` (case-sensitive).
    pub fn resource_covers(pattern: &str, resource: &str) -> bool {
        glob(pattern, resource, false)
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    // Iterative matcher with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The AWS managed policies SAM attaches to function roles. IAM holds them
/// on AWS; locally they are written out (documents as AWS publishes them).
pub fn managed_policy(arn: &str) -> Option<Value> {
    let logs = [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ];
    let name = arn.rsplit('/').next()?;
    let actions: Vec<&str> = match name {
        "AWSLambdaBasicExecutionRole" => logs.to_vec(),
        "AWSLambdaSQSQueueExecutionRole" => [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ]
        .into_iter()
        .chain(logs)
        .collect(),
        _ => return None,
    };
    Some(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(doc: Value) -> Policy {
        let mut p = Policy::default();
        p.add_document(&doc).unwrap();
        p
    }

    #[test]
    fn wildcards_follow_iam() {
        assert!(glob("s3:Get*", "s3:getobject", true));
        assert!(!glob("s3:Get*", "s3:PutObject", true));
        assert!(glob(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/users/u/x.jpg",
            false
        ));
        assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("arn:aws:s3:::B/*", "arn:aws:s3:::b/x", false));
        assert!(glob("*", "", false));
    }

    #[test]
    fn deny_wins_and_conditions_fail_closed() {
        let p = policy(json!({"Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "arn:t/*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "arn:t/secret"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        ]}));
        assert_eq!(p.decide("dynamodb:GetItem", "arn:t/a"), Decision::Allowed);
        assert_eq!(
            p.decide("dynamodb:DeleteItem", "arn:t/secret"),
            Decision::ExplicitlyDenied
        );
        assert_eq!(p.decide("s3:GetObject", "arn:x"), Decision::NotAllowed);
        assert_eq!(p.decide("sqs:SendMessage", "arn:t/a"), Decision::NotAllowed);
    }

    #[test]
    fn not_action_and_not_resource() {
        let p = policy(
            json!({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:private"}}),
        );
        assert_eq!(p.decide("s3:GetObject", "arn:public"), Decision::Allowed);
        assert_eq!(
            p.decide("iam:CreateUser", "arn:public"),
            Decision::NotAllowed
        );
        assert_eq!(
            p.decide("s3:GetObject", "arn:private"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn managed_policies_sam_attaches_are_known() {
        let sqs =
            managed_policy("arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")
                .unwrap();
        let p = policy(sqs);
        assert_eq!(p.decide("sqs:ReceiveMessage", "arn:q"), Decision::Allowed);
        assert_eq!(p.decide("sqs:SendMessage", "arn:q"), Decision::NotAllowed);
        assert!(managed_policy("arn:aws:iam::aws:policy/AdministratorAccess").is_none());
    }
}
