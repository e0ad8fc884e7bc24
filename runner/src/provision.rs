//! Creates the template's resources in the emulator, idempotently: what
//! exists is left alone, what is missing is created.

use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

use crate::template::{Definition, Resolved, ResourceSpec, StateMachineSpec, TableSpec, Template};

/// The SDK's error with its cause chain (the service's code and message).
pub(crate) fn sdk_error<E: std::error::Error + Send + Sync + 'static>(err: E) -> anyhow::Error {
    anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(err))
}

fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn text<'v>(v: &'v Value, key: &str) -> Result<&'v str> {
    field(v, key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing {key}"))
}

fn list<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    field(v, key)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>> {
    list(v, "KeySchema")
        .iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

pub async fn ensure_table(
    db: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: &TableSpec,
) -> Result<bool> {
    if db.describe_table().table_name(name).send().await.is_ok() {
        return Ok(false);
    }
    let p = &spec.properties;
    let mut req = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            field(p, "BillingMode")
                .and_then(Value::as_str)
                .unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(p)?));
    for a in list(p, "AttributeDefinitions") {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()?,
        );
    }
    for g in list(p, "GlobalSecondaryIndexes") {
        let projection =
            field(g, "Projection").ok_or_else(|| anyhow!("index without Projection"))?;
        let mut proj = Projection::builder()
            .projection_type(ProjectionType::from(text(projection, "ProjectionType")?));
        for attr in list(projection, "NonKeyAttributes") {
            proj = proj.non_key_attributes(attr.as_str().unwrap_or_default());
        }
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName")?)
                .set_key_schema(Some(key_schema(g)?))
                .projection(proj.build())
                .build()?,
        );
    }
    req.send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("creating table {name}"))?;
    if let Some(ttl) = field(p, "TimeToLiveSpecification") {
        let enabled = field(ttl, "Enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        db.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(enabled)
                    .build()?,
            )
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("enabling TTL on {name}"))?;
    }
    Ok(true)
}

/// An S3 bucket name from a local resource name: lowercase, 3 to 63
/// characters of letters, digits and hyphens.
pub fn bucket_name(local_name: &str) -> Result<String> {
    let name: String = local_name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !(3..=63).contains(&name.len()) {
        anyhow::bail!("bucket name {name} must be 3 to 63 characters");
    }
    Ok(name)
}

/// Creates the bucket unless it exists, then applies the template's CORS
/// rules (so a re-run picks up changed rules). Returns whether it created.
pub async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    region: &str,
    spec: &ResourceSpec,
) -> Result<bool> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let created = if s3.head_bucket().bucket(name).send().await.is_ok() {
        false
    } else {
        let mut req = s3.create_bucket().bucket(name);
        // us-east-1 is the one region that refuses an explicit constraint.
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => true,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
            {
                false
            }
            Err(err) => {
                return Err(sdk_error(err)).with_context(|| format!("creating bucket {name}"));
            }
        }
    };
    if let Some(cors) = bucket_cors(spec)? {
        s3.put_bucket_cors()
            .bucket(name)
            .cors_configuration(cors)
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("setting CORS on bucket {name}"))?;
    }
    Ok(created)
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    field(v, key).and_then(Value::as_sequence).map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// The bucket's CORS rules as the S3 API has them, if it declares any.
pub fn bucket_cors(spec: &ResourceSpec) -> Result<Option<aws_sdk_s3::types::CorsConfiguration>> {
    field(&spec.properties, "CorsConfiguration")
        .map(cors_configuration)
        .transpose()
}

/// CloudFormation's `CorsConfiguration` (`CorsRules`, `MaxAge`,
/// `ExposedHeaders`) as the S3 API's (`MaxAgeSeconds`, `ExposeHeaders`).
fn cors_configuration(cors: &Value) -> Result<aws_sdk_s3::types::CorsConfiguration> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let mut config = CorsConfiguration::builder();
    for rule in list(cors, "CorsRules") {
        let max_age = field(rule, "MaxAge")
            .and_then(Value::as_i64)
            .map(i32::try_from)
            .transpose()
            .context("CORS MaxAge")?;
        config = config.cors_rules(
            CorsRule::builder()
                .set_id(field(rule, "Id").and_then(Value::as_str).map(str::to_owned))
                .set_allowed_methods(strings(rule, "AllowedMethods"))
                .set_allowed_origins(strings(rule, "AllowedOrigins"))
                .set_allowed_headers(strings(rule, "AllowedHeaders"))
                .set_expose_headers(strings(rule, "ExposedHeaders"))
                .set_max_age_seconds(max_age)
                .build()?,
        );
    }
    Ok(config.build()?)
}

/// A created queue: `Ref` is the URL, `GetAtt .Arn` the ARN.
#[derive(Debug, Clone)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

/// Creates the queue, or brings an existing one's attributes in line with
/// the template. Every property except `QueueName` and `Tags` is a queue
/// attribute of the same name; structured ones (`RedrivePolicy`) are JSON.
pub async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    spec: &ResourceSpec,
    template: &Template,
    resolved: &Resolved,
) -> Result<(Queue, bool)> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut attributes = std::collections::HashMap::new();
    if let Some(props) = spec.properties.as_mapping() {
        for (key, value) in props {
            let key = key.as_str().ok_or_else(|| anyhow!("non-string property"))?;
            if matches!(key, "QueueName" | "Tags") {
                continue;
            }
            let value = match template
                .resolve(value, resolved)
                .with_context(|| format!("{}.{key}", spec.logical_id))?
            {
                serde_json::Value::String(s) => s,
                structured @ (serde_json::Value::Object(_) | serde_json::Value::Array(_)) => {
                    structured.to_string()
                }
                scalar => scalar.to_string(),
            };
            attributes.insert(QueueAttributeName::from(key), value);
        }
    }
    let existing = sqs.get_queue_url().queue_name(name).send().await;
    let (url, created) = match existing {
        Ok(out) => {
            let url = out.queue_url.unwrap_or_default();
            if !attributes.is_empty() {
                sqs.set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(attributes))
                    .send()
                    .await
                    .map_err(sdk_error)
                    .with_context(|| format!("updating queue {name}"))?;
            }
            (url, false)
        }
        Err(_) => {
            let out = sqs
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("creating queue {name}"))?;
            (out.queue_url.unwrap_or_default(), true)
        }
    };
    if url.is_empty() {
        anyhow::bail!("queue {name}: the emulator returned no URL");
    }
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("reading the ARN of queue {name}"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow!("queue {name} has no QueueArn"))?;
    Ok((Queue { url, arn }, created))
}

/// The state machine's definition with `DefinitionSubstitutions` applied:
/// every `${Key}` replaced by its resolved value.
pub fn state_machine_definition(
    spec: &StateMachineSpec,
    template: &Template,
    resolved: &Resolved,
) -> Result<String> {
    let mut text = match &spec.definition {
        Definition::File(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        Definition::Inline(value) => template.resolve(value, resolved)?.to_string(),
    };
    for (key, value) in &spec.substitutions {
        let key = key
            .as_str()
            .ok_or_else(|| anyhow!("non-string substitution name"))?;
        let value = template
            .resolve_scalar(value, resolved)
            .with_context(|| format!("{}: substitution {key}", spec.logical_id))?;
        text = text.replace(&format!("${{{key}}}"), &value);
    }
    if let Some(at) = text.find("${") {
        let rest: String = text[at..].chars().take(40).collect();
        anyhow::bail!(
            "{}: no DefinitionSubstitutions entry for {rest}",
            spec.logical_id
        );
    }
    serde_json::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{}: the definition is not JSON", spec.logical_id))?;
    Ok(text)
}

/// Creates the state machine, or updates an existing one's definition.
/// Returns its ARN and whether it created it.
pub async fn ensure_state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    kind: &str,
    definition: &str,
    role_arn: &str,
) -> Result<(String, bool)> {
    let mut pages = sfn.list_state_machines().into_paginator().send();
    let mut existing = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_error).context("listing state machines")?;
        if let Some(m) = page.state_machines().iter().find(|m| m.name() == name) {
            existing = Some(m.state_machine_arn().to_owned());
            break;
        }
    }
    if let Some(arn) = existing {
        sfn.update_state_machine()
            .state_machine_arn(&arn)
            .definition(definition)
            .role_arn(role_arn)
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("updating state machine {name}"))?;
        return Ok((arn, false));
    }
    let out = sfn
        .create_state_machine()
        .name(name)
        .r#type(aws_sdk_sfn::types::StateMachineType::from(kind))
        .definition(definition)
        .role_arn(role_arn)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("creating state machine {name}"))?;
    Ok((out.state_machine_arn, true))
}

/// Creates the secret, or gives it a new version with `value` if it exists
/// (provisioning, with the root key: the functions only read it).
pub async fn put_secret(sdk: &aws_config::SdkConfig, name: &str, value: &str) -> Result<()> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("updating secret {name}"))?;
            Ok(())
        }
        Err(e) => Err(sdk_error(e)).with_context(|| format!("creating secret {name}")),
    }
}

/// The SES sender identity the template declares. The emulator verifies a
/// new identity at once; on AWS the domain's DKIM records do.
pub async fn ensure_email_identity(
    sdk: &aws_config::SdkConfig,
    template: &Template,
    spec: &ResourceSpec,
    resolved: &Resolved,
) -> Result<String> {
    let identity = field(&spec.properties, "EmailIdentity")
        .ok_or_else(|| anyhow!("{}: no EmailIdentity", spec.logical_id))?;
    let identity = template.resolve_scalar(identity, resolved)?;
    let client = aws_sdk_sesv2::Client::new(sdk);
    match client
        .create_email_identity()
        .email_identity(&identity)
        .send()
        .await
    {
        Ok(_) => Ok(identity),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(identity)
        }
        Err(e) => Err(sdk_error(e)).with_context(|| format!("creating SES identity {identity}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_valid_for_s3() {
        assert_eq!(
            bucket_name("glimvid-local-MediaBucket").unwrap(),
            "glimvid-local-mediabucket"
        );
        assert_eq!(bucket_name("T_1-X").unwrap(), "t-1-x");
        assert!(bucket_name("ab").is_err());
    }

    #[test]
    fn cors_maps_cloudformation_names_to_the_api() {
        let cors: Value = serde_yaml::from_str(
            "CorsRules:\n  - AllowedMethods: [PUT, GET]\n    AllowedOrigins: ['*']\n    AllowedHeaders: [content-type]\n    MaxAge: 3000\n",
        )
        .unwrap();
        let config = cors_configuration(&cors).unwrap();
        let rule = &config.cors_rules()[0];
        assert_eq!(rule.allowed_methods(), ["PUT", "GET"]);
        assert_eq!(rule.max_age_seconds(), Some(3000));
    }
}
