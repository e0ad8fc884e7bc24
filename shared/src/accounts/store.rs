//! DynamoDB adapter for accounts. One table, typed by key prefix:
//!
//! | item          | pk                 | sk        | gsi1 (by user)                   |
//! |---------------|--------------------|-----------|----------------------------------|
//! | user          | `USER#{id}`        | `PROFILE` |                                  |
//! | email claim   | `EMAIL#{email}`    | `EMAIL`   |                                  |
//! | session       | `SESSION#{sha256}` | `SESSION` | `USER#{id}` / `SESSION#{created}` |
//!
//! Sessions expire through the `expires_at` TTL attribute; since DynamoDB
//! deletes expired items days late, every read checks it too.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};

use super::{Language, NewSession, ProfilePatch, User};
use crate::dynamo::{self, Item, WriteFailure, b, get_bool, get_n, get_opt_s, get_s, n, s};
use crate::error::{Error, Result};

pub const GSI_BY_USER: &str = "gsi1";
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
    ]);
    if let Some(name) = &user.name {
        item.insert("name".into(), s(name));
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
    })
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
        let claim = Item::from([
            ("pk".into(), s(email_pk(&user.email))),
            ("sk".into(), s("EMAIL")),
            ("kind".into(), s("email_claim")),
            ("user_id".into(), s(&user.id)),
        ]);
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
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str("SET ");
            expression.push_str(&sets.join(", "));
        }
        if !removes.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(&removes.join(", "));
        }
        let out = req
            .update_expression(expression.trim())
            .send()
            .await
            .map_err(|e| match dynamo::classify(&e) {
                WriteFailure::ConditionFailed => {
                    Error::unauthenticated("the account no longer exists")
                }
                _ => dynamo::sdk_error("update profile", e),
            })?;
        let item = out
            .attributes
            .ok_or_else(|| Error::internal("update profile", "no attributes returned"))?;
        user_from_item(&item)
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

    /// Deletes the user's sessions other than `keep`. The generation bump has
    /// already made them useless; this keeps the table tidy.
    pub(crate) async fn delete_other_sessions(&self, user_id: &str, keep: &str) -> Result<usize> {
        let keep_pk = session_pk(keep);
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
