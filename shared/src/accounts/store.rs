//! DynamoDB adapter for accounts. One table, typed by key prefix:
//!
//! | item          | pk                 | sk        | gsi1 (by user)                   |
//! |---------------|--------------------|-----------|----------------------------------|
//! | user          | `USER#{id}`        | `PROFILE` |                                  |
//! | email claim   | `EMAIL#{email}`    | `EMAIL`   |                                  |
//! | session       | `SESSION#{sha256}` | `SESSION` | `USER#{id}` / `SESSION#{created}` |
//! | email link    | `LINK#{sha256}`    | `LINK`    | `USER#{id}` / `LINK#{created}`    |
//! | sign-in IP    | `USER#{id}`        | `SIGNIN#{sha256(id, ip)}` |                  |
//! | mail sent     | `USER#{id}`        | `SENT#{notice key}`       |                  |
//!
//! Sessions expire through the `expires_at` TTL attribute; since DynamoDB
//! deletes expired items days late, every read checks it too.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};

use super::{Language, NewSession, ProfilePatch, User};
use crate::dynamo::{self, Item, WriteFailure, b, get_bool, get_n, get_opt_s, get_s, n, s};
use crate::error::{Error, Result};

pub const GSI_BY_USER: &str = "gsi1";
/// Items one page of the policy fan-out reads.
const FANOUT_PAGE: i32 = 200;
const TRANSACTION_ATTEMPTS: usize = 3;

pub struct AccountStore<'a> {
    db: &'a Client,
    table: &'a str,
}

pub(crate) struct StoredSession {
    pub user_id: String,
    pub generation: i64,
}

fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}

fn session_pk(hash: &str) -> String {
    format!("SESSION#{hash}")
}

fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}

/// The item that makes an address belong to one account.
fn email_claim(email: &str, user_id: &str) -> Item {
    Item::from([
        ("pk".into(), s(email_pk(email))),
        ("sk".into(), s("EMAIL")),
        ("kind".into(), s("email_claim")),
        ("user_id".into(), s(user_id)),
    ])
}

fn user_item(user: &User) -> Item {
    let mut item = Item::from([
        ("pk".into(), s(user_pk(&user.id))),
        ("sk".into(), s("PROFILE")),
        ("kind".into(), s("user")),
        ("user_id".into(), s(&user.id)),
        ("email".into(), s(&user.email)),
        ("language".into(), s(user.language.as_str())),
        ("marketing_opt_in".into(), b(user.marketing_opt_in)),
        ("training_opt_out".into(), b(user.training_opt_out)),
        ("created_at".into(), s(&user.created_at)),
        ("password_hash".into(), s(&user.password_hash)),
        ("session_generation".into(), n(user.session_generation)),
        ("email_verified".into(), b(user.email_verified)),
        ("notify_jobs".into(), b(user.notify_jobs)),
    ]);
    if let Some(name) = &user.name {
        item.insert("name".into(), s(name));
    }
    if let Some(at) = user.verification_sent_at {
        item.insert("verification_sent_at".into(), n(at));
    }
    if let Some(ip) = &user.signup_ip {
        item.insert("signup_ip".into(), s(ip));
    }
    if let Some(version) = &user.policy_ack {
        item.insert("policy_ack".into(), s(version));
    }
    item
}

fn user_from_item(item: &Item) -> Result<User> {
    Ok(User {
        id: get_s(item, "user_id")?,
        email: get_s(item, "email")?,
        name: get_opt_s(item, "name").filter(|n| !n.is_empty()),
        language: get_opt_s(item, "language")
            .and_then(|l| Language::parse(&l))
            .unwrap_or_default(),
        marketing_opt_in: get_bool(item, "marketing_opt_in"),
        training_opt_out: get_bool(item, "training_opt_out"),
        created_at: get_s(item, "created_at")?,
        password_hash: get_s(item, "password_hash")?,
        session_generation: get_n(item, "session_generation")?,
        deleting: get_bool(item, "deleting"),
        email_verified: get_bool(item, "email_verified"),
        pending_email: get_opt_s(item, "pending_email"),
        // On unless turned off.
        notify_jobs: item
            .get("notify_jobs")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        // Accounts from before verification existed got their trial at
        // sign-up (and have no email_verified at all).
        trial_claimed: get_bool(item, "trial_claimed") || !item.contains_key("email_verified"),
        policy_ack: get_opt_s(item, "policy_ack"),
        verification_sent_at: item
            .get("verification_sent_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()),
        signup_ip: get_opt_s(item, "signup_ip"),
    })
}

/// Which sign-in IP record stands for `ip`: hashed with the account, so the
/// table holds no list of addresses.
fn signin_sk(user_id: &str, ip: &str) -> String {
    format!(
        "SIGNIN#{}",
        super::token::digest(&format!("{user_id}\n{ip}"))
    )
}

/// The account signed in (or registered) from `ip`; remembered for
/// `KNOWN_IP_DAYS`, each sign-in extending it.
pub(crate) fn signin_item(user_id: &str, ip: &str, now: time::OffsetDateTime) -> Item {
    Item::from([
        ("pk".into(), s(user_pk(user_id))),
        ("sk".into(), s(signin_sk(user_id, ip))),
        ("kind".into(), s("signin_ip")),
        ("last_seen".into(), s(crate::clock::rfc3339(now))),
        (
            "expires_at".into(),
            n(crate::clock::epoch_seconds(
                now + time::Duration::days(super::KNOWN_IP_DAYS),
            )),
        ),
    ])
}

fn session_item(session: &NewSession) -> Item {
    Item::from([
        ("pk".into(), s(session_pk(&session.token_hash))),
        ("sk".into(), s("SESSION")),
        ("kind".into(), s("session")),
        ("user_id".into(), s(&session.user_id)),
        ("session_generation".into(), n(session.generation)),
        ("created_at".into(), s(&session.created_at)),
        ("expires_at".into(), n(session.expires_at_epoch)),
        ("gsi1pk".into(), s(user_pk(&session.user_id))),
        (
            "gsi1sk".into(),
            s(format!("SESSION#{}", session.created_at)),
        ),
    ])
}

/// The profile an `ALL_NEW` update returned; its failed `attribute_exists`
/// condition means the account is gone.
fn updated_user(
    result: std::result::Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
    context: &'static str,
) -> Result<User> {
    let out = result.map_err(|e| match dynamo::classify(&e) {
        WriteFailure::ConditionFailed => Error::unauthenticated("the account no longer exists"),
        _ => dynamo::sdk_error(context, e),
    })?;
    let item = out
        .attributes
        .ok_or_else(|| Error::internal(context, "no attributes returned"))?;
    user_from_item(&item)
}

impl<'a> AccountStore<'a> {
    pub fn new(db: &'a Client, table: &'a str) -> Self {
        AccountStore { db, table }
    }

    /// Claims the email, writes the user and the first session atomically.
    /// `extra` joins the same transaction (the free-trial grant).
    pub(crate) async fn create_user(
        &self,
        user: &User,
        session: &NewSession,
        extra: Vec<TransactWriteItem>,
    ) -> Result<()> {
        let claim = email_claim(&user.email, &user.id);
        let put = |item: Item, unique: bool| -> Result<TransactWriteItem> {
            let mut p = Put::builder().table_name(self.table).set_item(Some(item));
            if unique {
                p = p.condition_expression("attribute_not_exists(pk)");
            }
            Ok(TransactWriteItem::builder()
                .put(dynamo::built(p.build())?)
                .build())
        };
        let mut items = vec![
            put(claim, true)?,
            put(user_item(user), true)?,
            put(session_item(session), true)?,
        ];
        items.extend(extra);
        for attempt in 1..=TRANSACTION_ATTEMPTS {
            let result = self
                .db
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(err) => match dynamo::classify(&err) {
                    WriteFailure::ConditionFailed => {
                        return Err(Error::Conflict {
                            code: "email_taken",
                            field: Some("email"),
                            message: "an account with this email already exists".into(),
                        });
                    }
                    // Another registration for the same email is in flight;
                    // retrying lets its condition decide who wins.
                    WriteFailure::Conflict if attempt < TRANSACTION_ATTEMPTS => {
                        tokio::time::sleep(std::time::Duration::from_millis(50 * attempt as u64))
                            .await;
                    }
                    _ => return Err(dynamo::sdk_error("create user", err)),
                },
            }
        }
        Err(Error::Conflict {
            code: "email_taken",
            field: Some("email"),
            message: "an account with this email is being created".into(),
        })
    }

    /// Whether `ip` signed in to the account within `KNOWN_IP_DAYS`.
    pub(crate) async fn signin_known(&self, user_id: &str, ip: &str, now: i64) -> Result<bool> {
        let item = self.get(user_pk(user_id), &signin_sk(user_id, ip)).await?;
        Ok(item.is_some_and(|i| get_n(&i, "expires_at").is_ok_and(|at| at > now)))
    }

    pub(crate) async fn remember_signin(&self, item: Item) -> Result<()> {
        self.db
            .put_item()
            .table_name(self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("remember sign-in", e))?;
        Ok(())
    }

    /// Notes that a verification mail goes out now, unless one went out less
    /// than `cooldown_s` ago (then false).
    pub(crate) async fn stamp_verification(
        &self,
        user_id: &str,
        now: i64,
        cooldown_s: i64,
    ) -> Result<bool> {
        let result = self
            .db
            .update_item()
            .table_name(self.table)
            .key("pk", s(user_pk(user_id)))
            .key("sk", s("PROFILE"))
            .update_expression("SET verification_sent_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(verification_sent_at) OR verification_sent_at < :cutoff)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cutoff", n(now - cooldown_s))
            .send()
            .await;
        dynamo::written(result, "stamp verification")
    }

    /// Records the address the account asked to move to.
    pub(crate) async fn set_pending_email(&self, user: &User, email: &str) -> Result<()> {
        self.db
            .update_item()
            .table_name(self.table)
            .key("pk", s(user_pk(&user.id)))
            .key("sk", s("PROFILE"))
            .update_expression("SET pending_email = :new")
            .condition_expression("email = :current")
            .expression_attribute_values(":new", s(email))
            .expression_attribute_values(":current", s(&user.email))
            .send()
            .await
            .map_err(|e| match dynamo::classify(&e) {
                WriteFailure::ConditionFailed => Error::Conflict {
                    code: "email_changed",
                    field: Some("email"),
                    message: "the address changed meanwhile; reload and try again".into(),
                },
                _ => dynamo::sdk_error("set pending email", e),
            })?;
        Ok(())
    }

    /// The claim on an address and the move of the account to it, for the
    /// transaction that confirms a change.
    pub(crate) fn move_email_items(
        &self,
        user: &User,
        new: &str,
    ) -> Result<Vec<TransactWriteItem>> {
        use aws_sdk_dynamodb::types::Delete;
        let claim = Put::builder()
            .table_name(self.table)
            .set_item(Some(email_claim(new, &user.id)))
            .condition_expression("attribute_not_exists(pk)");
        let release = Delete::builder()
            .table_name(self.table)
            .key("pk", s(email_pk(&user.email)))
            .key("sk", s("EMAIL"))
            .condition_expression("user_id = :me")
            .expression_attribute_values(":me", s(&user.id));
        let profile = Update::builder()
            .table_name(self.table)
            .key("pk", s(user_pk(&user.id)))
            .key("sk", s("PROFILE"))
            .update_expression("SET email = :new, email_verified = :true REMOVE pending_email")
            .condition_expression("email = :old AND pending_email = :new")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":old", s(&user.email))
            .expression_attribute_values(":true", b(true));
        Ok(vec![
            TransactWriteItem::builder()
                .put(dynamo::built(claim.build())?)
                .build(),
            TransactWriteItem::builder()
                .delete(dynamo::built(release.build())?)
                .build(),
            TransactWriteItem::builder()
                .update(dynamo::built(profile.build())?)
                .build(),
        ])
    }

    /// Marks the address verified, and with `claim_trial` the account's
    /// trial as claimed (once: the condition refuses a second claim).
    pub(crate) fn verify_item(&self, user: &User, claim_trial: bool) -> Result<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(self.table)
            .key("pk", s(user_pk(&user.id)))
            .key("sk", s("PROFILE"))
            .expression_attribute_values(":email", s(&user.email))
            .expression_attribute_values(":true", b(true));
        // The sign-up IP was kept only to count the trial.
        update = if claim_trial {
            update
                .update_expression(
                    "SET email_verified = :true, trial_claimed = :true REMOVE signup_ip",
                )
                .condition_expression("email = :email AND attribute_not_exists(trial_claimed)")
        } else {
            update
                .update_expression("SET email_verified = :true REMOVE signup_ip")
                .condition_expression("email = :email")
        };
        Ok(TransactWriteItem::builder()
            .update(dynamo::built(update.build())?)
            .build())
    }

    /// A new password and a new session generation (every session ends).
    pub(crate) fn reset_password_item(
        &self,
        user: &User,
        new_hash: &str,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(self.table)
            .key("pk", s(user_pk(&user.id)))
            .key("sk", s("PROFILE"))
            .update_expression("SET password_hash = :hash, session_generation = :next")
            .condition_expression("session_generation = :current")
            .expression_attribute_values(":hash", s(new_hash))
            .expression_attribute_values(":next", n(user.session_generation + 1))
            .expression_attribute_values(":current", n(user.session_generation));
        Ok(TransactWriteItem::builder()
            .update(dynamo::built(update.build())?)
            .build())
    }

    pub(crate) async fn acknowledge_policy(&self, user_id: &str, version: &str) -> Result<User> {
        let now = crate::clock::rfc3339(crate::clock::now());
        let out = self
            .db
            .update_item()
            .table_name(self.table)
            .key("pk", s(user_pk(user_id)))
            .key("sk", s("PROFILE"))
            .update_expression(
                "SET policy_ack = :v, policy_acks = list_append(if_not_exists(policy_acks, :empty), :entry)",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":v", s(version))
            .expression_attribute_values(
                ":entry",
                aws_sdk_dynamodb::types::AttributeValue::L(vec![
                    aws_sdk_dynamodb::types::AttributeValue::M(Item::from([
                        ("version".into(), s(version)),
                        ("at".into(), s(&now)),
                    ])),
                ]),
            )
            .expression_attribute_values(":empty", aws_sdk_dynamodb::types::AttributeValue::L(vec![]))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        updated_user(out, "acknowledge policy")
    }

    /// Claims `key` for one mail to the account (the mailer's idempotency:
    /// a redelivered or repeated notice sends once). False if claimed.
    pub async fn claim_mail(&self, user_id: &str, key: &str, expires_at: i64) -> Result<bool> {
        let result = self
            .db
            .put_item()
            .table_name(self.table)
            .item("pk", s(user_pk(user_id)))
            .item("sk", s(format!("SENT#{key}")))
            .item("kind", s("mail_sent"))
            .item("expires_at", n(expires_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        dynamo::written(result, "claim mail")
    }

    /// Gives a claim back after a send that failed, so the retry sends.
    pub async fn release_mail(&self, user_id: &str, key: &str) -> Result<()> {
        self.db
            .delete_item()
            .table_name(self.table)
            .key("pk", s(user_pk(user_id)))
            .key("sk", s(format!("SENT#{key}")))
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("release mail", e))?;
        Ok(())
    }

    /// One page of verified accounts that are not being deleted (the
    /// policy fan-out): their ids, and the key (pk, sk) to go on after, if
    /// any. A page reads at most `FANOUT_PAGE` items, whatever matches.
    pub async fn verified_users(
        &self,
        after: Option<&[String; 2]>,
    ) -> Result<(Vec<String>, Option<[String; 2]>)> {
        let start = after.map(|[pk, sk]| Item::from([("pk".into(), s(pk)), ("sk".into(), s(sk))]));
        let out = self
            .db
            .scan()
            .table_name(self.table)
            .filter_expression(
                "kind = :user AND email_verified = :true AND attribute_not_exists(deleting)",
            )
            .expression_attribute_values(":user", s("user"))
            .expression_attribute_values(":true", b(true))
            .set_exclusive_start_key(start)
            .limit(FANOUT_PAGE)
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("list verified users", e))?;
        let users = out
            .items()
            .iter()
            .filter_map(|i| get_opt_s(i, "user_id"))
            .collect();
        let next = out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| Some([get_opt_s(k, "pk")?, get_opt_s(k, "sk")?]));
        Ok((users, next))
    }

    pub(crate) async fn put_session(&self, session: &NewSession) -> Result<()> {
        self.db
            .put_item()
            .table_name(self.table)
            .set_item(Some(session_item(session)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("put session", e))?;
        Ok(())
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>> {
        let out = self
            .db
            .get_item()
            .table_name(self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("get item", e))?;
        Ok(out.item)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        self.get(user_pk(id), "PROFILE")
            .await?
            .map(|item| user_from_item(&item))
            .transpose()
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let Some(claim) = self.get(email_pk(email), "EMAIL").await? else {
            return Ok(None);
        };
        self.user_by_id(&get_s(&claim, "user_id")?).await
    }

    /// The session if it exists and has not expired at `now` (epoch seconds).
    pub(crate) async fn live_session(&self, hash: &str, now: i64) -> Result<Option<StoredSession>> {
        let Some(item) = self.get(session_pk(hash), "SESSION").await? else {
            return Ok(None);
        };
        if get_n(&item, "expires_at")? <= now {
            return Ok(None);
        }
        Ok(Some(StoredSession {
            user_id: get_s(&item, "user_id")?,
            generation: get_n(&item, "session_generation")?,
        }))
    }

    pub async fn delete_session(&self, hash: &str) -> Result<()> {
        self.db
            .delete_item()
            .table_name(self.table)
            .key("pk", s(session_pk(hash)))
            .key("sk", s("SESSION"))
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("delete session", e))?;
        Ok(())
    }

    pub(crate) async fn update_profile(&self, user_id: &str, patch: &ProfilePatch) -> Result<User> {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut req = self
            .db
            .update_item()
            .table_name(self.table)
            .key("pk", s(user_pk(user_id)))
            .key("sk", s("PROFILE"))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        match patch.name.as_deref() {
            Some("") => removes.push("#name"),
            Some(name) => {
                sets.push("#name = :name");
                req = req.expression_attribute_values(":name", s(name));
            }
            None => {}
        }
        if patch.name.is_some() {
            req = req.expression_attribute_names("#name", "name");
        }
        if let Some(language) = patch.language {
            sets.push("#language = :language");
            req = req
                .expression_attribute_names("#language", "language")
                .expression_attribute_values(":language", s(language.as_str()));
        }
        if let Some(v) = patch.marketing_opt_in {
            sets.push("marketing_opt_in = :marketing");
            req = req.expression_attribute_values(":marketing", b(v));
        }
        if let Some(v) = patch.training_opt_out {
            sets.push("training_opt_out = :training");
            req = req.expression_attribute_values(":training", b(v));
        }
        if let Some(v) = patch.notify_jobs {
            sets.push("notify_jobs = :notify");
            req = req.expression_attribute_values(":notify", b(v));
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str("SET ");
            expression.push_str(&sets.join(", "));
        }
        if !removes.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(&removes.join(", "));
        }
        let out = req.update_expression(expression.trim()).send().await;
        updated_user(out, "update profile")
    }

    /// Stores the new hash and moves the account to a new session
    /// generation, keeping only the caller's session valid. Conditioned on
    /// the generation the caller authenticated with, so two racing changes
    /// cannot both win.
    pub(crate) async fn replace_password(
        &self,
        user: &User,
        keep_session: &str,
        new_hash: &str,
    ) -> Result<()> {
        let next = user.session_generation + 1;
        let update_user = dynamo::built(
            Update::builder()
                .table_name(self.table)
                .key("pk", s(user_pk(&user.id)))
                .key("sk", s("PROFILE"))
                .update_expression("SET password_hash = :hash, session_generation = :next")
                .condition_expression("session_generation = :current")
                .expression_attribute_values(":hash", s(new_hash))
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":current", n(user.session_generation))
                .build(),
        )?;
        let restamp = dynamo::built(
            Update::builder()
                .table_name(self.table)
                .key("pk", s(session_pk(keep_session)))
                .key("sk", s("SESSION"))
                .update_expression("SET session_generation = :next")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":next", n(next))
                .build(),
        )?;
        self.db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update_user).build())
            .transact_items(TransactWriteItem::builder().update(restamp).build())
            .send()
            .await
            .map_err(|e| match dynamo::classify(&e) {
                WriteFailure::ConditionFailed | WriteFailure::Conflict => Error::Conflict {
                    code: "password_changed",
                    field: None,
                    message: "the password was changed by another session; log in again".into(),
                },
                WriteFailure::Other => dynamo::sdk_error("replace password", e),
            })?;
        Ok(())
    }

    /// Deletes the user's sessions other than `keep` (all, with None). The
    /// generation bump has already made them useless; this keeps the table
    /// tidy.
    pub(crate) async fn delete_other_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<usize> {
        let keep_pk = keep.map(session_pk).unwrap_or_default();
        let query = self
            .db
            .query()
            .table_name(self.table)
            .index_name(GSI_BY_USER)
            .key_condition_expression("gsi1pk = :user AND begins_with(gsi1sk, :prefix)")
            .expression_attribute_values(":user", s(user_pk(user_id)))
            .expression_attribute_values(":prefix", s("SESSION#"));
        let mut removed = 0;
        for item in dynamo::query_all(query, "list sessions").await? {
            let Some(pk) = get_opt_s(&item, "pk").filter(|pk| *pk != keep_pk) else {
                continue;
            };
            self.db
                .delete_item()
                .table_name(self.table)
                .key("pk", s(pk))
                .key("sk", s("SESSION"))
                .send()
                .await
                .map_err(|e| dynamo::sdk_error("delete session", e))?;
            removed += 1;
        }
        Ok(removed)
    }
}
