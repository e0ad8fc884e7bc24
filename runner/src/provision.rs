//! Creates the template's resources in the emulator, idempotently: what
//! exists is left alone, what is missing is created.

use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

use crate::template::TableSpec;

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
        .map_err(|e| anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
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
            .map_err(|e| anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
            .with_context(|| format!("enabling TTL on {name}"))?;
    }
    Ok(true)
}
