//! Small helpers shared by the DynamoDB adapters: reading typed attributes
//! out of items and classifying SDK errors.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::Error;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

pub fn get_s(item: &Item, key: &'static str) -> Result<String, Error> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(corrupt(key)),
    }
}

pub fn get_opt_s(item: &Item, key: &str) -> Option<String> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

pub fn get_n(item: &Item, key: &'static str) -> Result<i64, Error> {
    match item.get(key) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(key)),
        _ => Err(corrupt(key)),
    }
}

/// A list of strings, in order (an `L` of `S`).
pub fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

/// A list of strings as [`strings`] writes it; empty when absent.
pub fn get_strings(item: &Item, key: &str) -> Vec<String> {
    match item.get(key) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

pub fn get_bool(item: &Item, key: &str) -> bool {
    matches!(item.get(key), Some(AttributeValue::Bool(true)))
}

fn corrupt(key: &'static str) -> Error {
    Error::Internal(anyhow::anyhow!("stored item lacks attribute {key}"))
}

/// Unwraps an SDK builder result; a builder only fails on a missing
/// required field, which is a bug here, not bad input.
pub fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T, Error> {
    r.map_err(|e| Error::internal("build DynamoDB request", e))
}

/// Every item a query matches, following the SDK's paginator.
pub async fn query_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    context: &'static str,
) -> Result<Vec<Item>, Error> {
    let mut pages = query.into_paginator().items().send();
    let mut items = Vec::new();
    while let Some(item) = pages.try_next().await.map_err(|e| sdk_error(context, e))? {
        items.push(item);
    }
    Ok(items)
}

/// What a failed conditional write or transaction tells us.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteFailure {
    /// A condition we set did not hold: the business rule said no.
    ConditionFailed,
    /// Another transaction touched the same items; worth retrying.
    Conflict,
    Other,
}

pub fn classify<E, R>(err: &SdkError<E, R>) -> WriteFailure
where
    E: ProvideErrorMetadata,
{
    let Some(service) = err.as_service_error() else {
        return WriteFailure::Other;
    };
    match service.code() {
        Some("ConditionalCheckFailedException") => WriteFailure::ConditionFailed,
        Some("TransactionConflictException") => WriteFailure::Conflict,
        Some("TransactionCanceledException") => {
            let message = service.message().unwrap_or_default();
            if message.contains("ConditionalCheckFailed") {
                WriteFailure::ConditionFailed
            } else if message.contains("TransactionConflict") {
                WriteFailure::Conflict
            } else {
                WriteFailure::Other
            }
        }
        _ => WriteFailure::Other,
    }
}

/// A conditional write's result: Ok(false) when its condition failed,
/// which for idempotent writes means "already done" or "no longer applies".
pub fn written<T, E, R>(
    result: std::result::Result<T, SdkError<E, R>>,
    context: &'static str,
) -> Result<bool, Error>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if classify(&e) == WriteFailure::ConditionFailed => Ok(false),
        Err(e) => Err(sdk_error(context, e)),
    }
}

/// Commits the transaction; Ok(false) when one of its conditions failed.
pub async fn transact_if(
    db: &aws_sdk_dynamodb::Client,
    items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    context: &'static str,
) -> Result<bool, Error> {
    let result = db
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    written(result, context)
}

pub fn sdk_error<E, R>(context: &'static str, err: SdkError<E, R>) -> Error
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Error::Internal(anyhow::anyhow!(
        "{context}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(err)
    ))
}

/// One page of a user's content listing (ContentTable's gsi1 partition),
/// newest first, with the cursor for the next page.
pub async fn newest_first(
    app: &crate::App,
    partition: &str,
    after: Option<&str>,
    limit: i32,
) -> Result<(Vec<Item>, Option<String>), Error> {
    let start = cursor::decode(after, "gsi1pk", partition)?;
    let out = app
        .dynamo
        .query()
        .table_name(&app.config.content_table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(":p", s(partition))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| sdk_error("list content", e))?;
    let next = cursor::encode(out.last_evaluated_key());
    Ok((out.items.unwrap_or_default(), next))
}

/// Opaque pagination cursors: the last evaluated key (string attributes
/// only) as base64url JSON. `partition` pins a cursor to the caller's own
/// listing, so a forged cursor cannot page through someone else's items.
pub mod cursor {
    use std::collections::BTreeMap;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::{Item, s};
    use crate::error::{Error, Result};
    use aws_sdk_dynamodb::types::AttributeValue;

    pub fn encode(key: Option<&Item>) -> Option<String> {
        let key = key?;
        let map: BTreeMap<&str, &str> = key
            .iter()
            .filter_map(|(k, v)| match v {
                AttributeValue::S(v) => Some((k.as_str(), v.as_str())),
                _ => None,
            })
            .collect();
        serde_json::to_vec(&map)
            .ok()
            .map(|json| URL_SAFE_NO_PAD.encode(json))
    }

    pub fn decode(
        cursor: Option<&str>,
        partition_attr: &str,
        partition: &str,
    ) -> Result<Option<Item>> {
        let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let invalid = || Error::invalid("cursor", "cursor is not one this listing returned");
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if map.get(partition_attr).map(String::as_str) != Some(partition) || map.len() > 4 {
            return Err(invalid());
        }
        Ok(Some(map.into_iter().map(|(k, v)| (k, s(v))).collect()))
    }
}
