//! Credits: a balance per user and an append-only ledger beside it.
//!
//! Every change to the balance is a transaction that also appends a ledger
//! entry, so the balance always equals the ledger's sum. Callers compose
//! these writes into their own transactions (a debit with the job it pays
//! for, a refund with the job's failure), which is what makes "no double
//! charge, no double refund, no negative balance" hold.
//!
//! Layout (CreditsTable): balance `pk=USER#{id}, sk=BALANCE`; entries
//! `pk=USER#{id}, sk=ENTRY#{time}#{ref}`.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::Serialize;

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_n, get_opt_s, get_s, n, s};
use crate::error::Result;

/// A new account can make one 5-second video for free.
pub const TRIAL_CREDITS: i64 = 1;

/// Credits a video costs, by length: a credit per 5 seconds.
pub fn price(duration_s: u32) -> Option<i64> {
    match duration_s {
        5 => Some(1),
        10 => Some(2),
        15 => Some(3),
        30 => Some(6),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Grant,
    Debit,
    Refund,
    /// A credit pack, paid once.
    Purchase,
    /// A monthly plan's credits for one paid period.
    Plan,
}

impl EntryKind {
    fn as_str(self) -> &'static str {
        match self {
            EntryKind::Grant => "grant",
            EntryKind::Debit => "debit",
            EntryKind::Refund => "refund",
            EntryKind::Purchase => "purchase",
            EntryKind::Plan => "plan",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub job_id: Option<String>,
    /// What paid for it: the Stripe Checkout Session or invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub created_at: String,
}

fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// One balance change: the signed `amount`, why, and what it refers to.
pub struct Change<'a> {
    pub user_id: &'a str,
    pub kind: EntryKind,
    pub amount: i64,
    pub reason: &'a str,
    pub job_id: Option<&'a str>,
    pub source: Option<&'a str>,
}

/// The two transaction items for a balance change: the conditional balance
/// update and the ledger entry. Debits are conditioned on the balance
/// covering them.
pub fn change_items(table: &str, change: &Change<'_>) -> Result<Vec<TransactWriteItem>> {
    changes_items(table, std::slice::from_ref(change))
}

/// Several changes of one user's balance in one transaction: a single
/// balance update by their sum (a transaction may touch an item once),
/// conditioned on the balance covering it when it is a debit, and a ledger
/// entry per change. So a batch is paid in full or not at all.
pub fn changes_items(table: &str, changes: &[Change<'_>]) -> Result<Vec<TransactWriteItem>> {
    let Some(first) = changes.first() else {
        return Ok(Vec::new());
    };
    if changes.iter().any(|c| c.user_id != first.user_id) {
        return Err(crate::error::Error::internal(
            "credit changes",
            "one transaction changes one balance",
        ));
    }
    let now = clock::now();
    let total: i64 = changes.iter().map(|c| c.amount).sum();
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(user_pk(first.user_id)))
        .key("sk", s("BALANCE"))
        .update_expression("SET updated_at = :now ADD balance :amount")
        .expression_attribute_values(":now", s(clock::rfc3339(now)))
        .expression_attribute_values(":amount", n(total));
    if total < 0 {
        update = update
            .condition_expression("balance >= :needed")
            .expression_attribute_values(":needed", n(-total));
    }
    let mut items = vec![
        TransactWriteItem::builder()
            .update(dynamo::built(update.build())?)
            .build(),
    ];
    for change in changes {
        items.push(
            TransactWriteItem::builder()
                .put(dynamo::built(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(entry_item(change, now)))
                        .condition_expression("attribute_not_exists(sk)")
                        .build(),
                )?)
                .build(),
        );
    }
    Ok(items)
}

fn entry_item(change: &Change<'_>, now: time::OffsetDateTime) -> Item {
    let reference = change
        .job_id
        .or(change.source)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut entry = Item::from([
        ("pk".into(), s(user_pk(change.user_id))),
        (
            "sk".into(),
            s(format!(
                "ENTRY#{}#{}#{reference}",
                clock::rfc3339_nanos(now),
                change.kind.as_str()
            )),
        ),
        ("kind".into(), s(change.kind.as_str())),
        ("amount".into(), n(change.amount)),
        ("reason".into(), s(change.reason)),
        ("created_at".into(), s(clock::rfc3339(now))),
    ]);
    if let Some(job) = change.job_id {
        entry.insert("job_id".into(), s(job));
    }
    if let Some(source) = change.source {
        entry.insert("source".into(), s(source));
    }
    entry
}

fn trial_pk(ip: &str) -> String {
    format!("TRIAL#IP#{ip}")
}

/// Whether a free trial was already granted to an account from this IP.
/// Claims are never reset: that is the abuse protection.
pub async fn trial_used_from(app: &App, ip: &str) -> Result<bool> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.credits_table)
        .key("pk", s(trial_pk(ip)))
        .key("sk", s("TRIAL"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get trial claim", e))?;
    Ok(out.item.is_some())
}

/// The free-trial grant and each IP's claim on it (the account's sign-up
/// IP and the one it verified from), for the verification transaction.
/// The claims' conditions make a racing second account from either IP lose.
pub fn trial_items(app: &App, user_id: &str, ips: &[&str]) -> Result<Vec<TransactWriteItem>> {
    let mut items = change_items(
        &app.config.credits_table,
        &Change {
            user_id,
            kind: EntryKind::Grant,
            amount: TRIAL_CREDITS,
            reason: "free trial",
            job_id: None,
            source: None,
        },
    )?;
    let mut ips = ips.to_vec();
    ips.sort_unstable();
    ips.dedup();
    for ip in ips {
        let claim = Put::builder()
            .table_name(&app.config.credits_table)
            .item("pk", s(trial_pk(ip)))
            .item("sk", s("TRIAL"))
            .item("ip", s(ip))
            .item("user_id", s(user_id))
            .item("claimed_at", s(clock::rfc3339(clock::now())))
            .condition_expression("attribute_not_exists(pk)");
        items.push(
            TransactWriteItem::builder()
                .put(dynamo::built(claim.build())?)
                .build(),
        );
        // Lets export and deletion find the claim from the user's partition.
        let pointer = Put::builder()
            .table_name(&app.config.credits_table)
            .item("pk", s(user_pk(user_id)))
            .item("sk", s(format!("TRIAL#{ip}")))
            .item("kind", s("trial_pointer"));
        items.push(
            TransactWriteItem::builder()
                .put(dynamo::built(pointer.build())?)
                .build(),
        );
    }
    Ok(items)
}

pub async fn balance(app: &App, user_id: &str) -> Result<i64> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.credits_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s("BALANCE"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get balance", e))?;
    out.item
        .map(|i| get_n(&i, "balance"))
        .transpose()
        .map(Option::unwrap_or_default)
}

#[derive(Debug, Serialize)]
pub struct Statement {
    pub balance: i64,
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

const STATEMENT_PAGE: i32 = 50;

/// The balance and one page of the ledger, newest first.
pub async fn statement(app: &App, user_id: &str, after: Option<&str>) -> Result<Statement> {
    let partition = user_pk(user_id);
    let start = dynamo::cursor::decode(after, "pk", &partition)?;
    let page = app
        .dynamo
        .query()
        .table_name(&app.config.credits_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :entry)")
        .expression_attribute_values(":pk", s(&partition))
        .expression_attribute_values(":entry", s("ENTRY#"))
        .scan_index_forward(false)
        .limit(STATEMENT_PAGE)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("query ledger", e))?;
    Ok(Statement {
        balance: balance(app, user_id).await?,
        entries: page
            .items()
            .iter()
            .map(entry_from_item)
            .collect::<Result<_>>()?,
        next_cursor: dynamo::cursor::encode(page.last_evaluated_key()),
    })
}

/// The user's ledger entries, oldest first, for reading page by page.
pub fn ledger_query(
    app: &App,
    user_id: &str,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    app.dynamo
        .query()
        .table_name(&app.config.credits_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :entry)")
        .expression_attribute_values(":pk", s(user_pk(user_id)))
        .expression_attribute_values(":entry", s("ENTRY#"))
        .consistent_read(true)
}

pub fn entry_from_item(item: &Item) -> Result<Entry> {
    Ok(Entry {
        kind: get_s(item, "kind")?,
        amount: get_n(item, "amount")?,
        reason: get_s(item, "reason")?,
        job_id: get_opt_s(item, "job_id"),
        source: get_opt_s(item, "source"),
        created_at: get_s(item, "created_at")?,
    })
}

/// The whole ledger, oldest first.
pub async fn ledger(app: &App, user_id: &str) -> Result<Vec<Entry>> {
    dynamo::query_all(ledger_query(app, user_id), "query ledger")
        .await?
        .iter()
        .map(entry_from_item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_by_length() {
        assert_eq!(price(5), Some(1));
        assert_eq!(price(10), Some(2));
        assert_eq!(price(15), Some(3));
        assert_eq!(price(30), Some(6));
        for other in [0, 7, 20, 60] {
            assert_eq!(price(other), None);
        }
        assert_eq!(
            price(5),
            Some(TRIAL_CREDITS),
            "the trial pays for exactly one 5 s video"
        );
    }
}
