//! Work that falls due at a time, found by query rather than by scan.
//!
//! A content-table item that needs the sweeper later carries `due_shard`
//! and `due_at` (unix seconds); the sparse index `due` holds only those
//! items, so the sweeper reads exactly what is due, however large the
//! table. The shard spreads writes over `SHARDS` index partitions (one
//! partition takes about 1,000 writes a second). An item leaves the index
//! when its work is done (the attributes are removed) or moves on when its
//! next step falls due later.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::app::App;
use crate::dynamo::{self, Item, n, s};
use crate::error::Result;

pub const INDEX: &str = "due";
pub const SHARDS: u32 = 8;

pub fn shard(id: &str) -> String {
    // FNV-1a: stable across releases and machines, unlike std's hasher.
    let hash = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("due#{}", hash % SHARDS)
}

/// The two attributes that put an item on the index.
pub fn attributes(id: &str, at: i64) -> [(String, AttributeValue); 2] {
    [
        ("due_shard".to_owned(), s(shard(id))),
        ("due_at".to_owned(), n(at)),
    ]
}

pub fn shards() -> impl Iterator<Item = String> {
    (0..SHARDS).map(|i| format!("due#{i}"))
}

/// One page of a shard's items due by `now`, earliest first.
pub async fn page(
    app: &App,
    shard: &str,
    now: i64,
    limit: i32,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>)> {
    let out = app
        .dynamo
        .query()
        .table_name(&app.config.content_table)
        .index_name(INDEX)
        .key_condition_expression("due_shard = :shard AND due_at <= :now")
        .expression_attribute_values(":shard", s(shard))
        .expression_attribute_values(":now", n(now))
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("query due work", e))?;
    Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
}

/// Moves an item's next step to `at`, or takes it off the index (`None`),
/// unless someone else moved it since it was read as due at `seen`.
pub async fn reschedule(app: &App, key: (&str, &str), seen: i64, at: Option<i64>) -> Result<bool> {
    let req = app
        .dynamo
        .update_item()
        .table_name(&app.config.content_table)
        .key("pk", s(key.0))
        .key("sk", s(key.1))
        .condition_expression("due_at = :seen")
        .expression_attribute_values(":seen", n(seen));
    let req = match at {
        Some(at) => req
            .update_expression("SET due_at = :at")
            .expression_attribute_values(":at", n(at)),
        None => req.update_expression("REMOVE due_shard, due_at"),
    };
    dynamo::written(req.send().await, "reschedule due work")
}

#[cfg(test)]
mod tests {
    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(super::shard("a"), super::shard("a"));
        let used: std::collections::BTreeSet<String> = (0..200)
            .map(|i| super::shard(&format!("JOB#{i}")))
            .collect();
        assert_eq!(used.len(), super::SHARDS as usize);
        assert!(used.iter().all(|s| super::shards().any(|t| &t == s)));
    }
}
