//! Accounts: registration, login, sessions, profile and password changes.
//!
//! Sessions carry the account's `session_generation` from when they were
//! issued; a password change bumps the generation (and re-stamps only the
//! caller's session) in one transaction, so every other session stops
//! working at once, whatever the eventual consistency of the index that the
//! clean-up walks.

pub mod api_keys;
pub mod email;
pub mod links;
pub mod password;
mod store;
pub mod token;

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::app::App;
use crate::clock;
use crate::error::{Error, Result};
use crate::mail::{self, Notice};
use links::Purpose;
pub use store::AccountStore;

/// A sign-in from an IP the account has not used for this long is news.
pub const KNOWN_IP_DAYS: i64 = 30;
/// At most one verification mail a minute per account.
const RESEND_COOLDOWN_S: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Zh,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Language::En),
            "zh" => Some(Language::Zh),
            _ => None,
        }
    }
}

/// A stored account. `password_hash` never leaves this module's callers
/// except through `UserView`, which leaves it out.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub language: Language,
    pub marketing_opt_in: bool,
    pub training_opt_out: bool,
    pub created_at: String,
    pub password_hash: String,
    pub session_generation: i64,
    /// Deletion requested: no logins, purge pending.
    pub deleting: bool,
    pub email_verified: bool,
    /// The address the account asked to move to, until confirmed.
    pub pending_email: Option<String>,
    /// Mail when a video is ready or failed.
    pub notify_jobs: bool,
    /// The free trial was granted (or is no longer to be).
    pub trial_claimed: bool,
    /// The policy version the account acknowledged last.
    pub policy_ack: Option<String>,
    /// Epoch seconds of the last verification mail asked for.
    pub verification_sent_at: Option<i64>,
    /// Where the account signed up from, until the address is verified
    /// (the trial is once per IP; then it is dropped).
    pub signup_ip: Option<String>,
}

/// What the API shows of an account.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub language: Language,
    pub marketing_opt_in: bool,
    pub training_opt_out: bool,
    pub created_at: String,
    pub email_verified: bool,
    pub pending_email: Option<String>,
    pub notify_jobs: bool,
    pub policy_ack: Option<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            language: u.language,
            marketing_opt_in: u.marketing_opt_in,
            training_opt_out: u.training_opt_out,
            created_at: u.created_at.clone(),
            email_verified: u.email_verified,
            pending_email: u.pending_email.clone(),
            notify_jobs: u.notify_jobs,
            policy_ack: u.policy_ack.clone(),
        }
    }
}

/// A freshly issued session. The token is shown to the client exactly once.
#[derive(Debug, Serialize)]
pub struct IssuedSession {
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: String,
    pub user: UserView,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub token_hash: String,
}

pub(crate) struct NewSession {
    pub token_hash: String,
    pub user_id: String,
    pub generation: i64,
    pub created_at: String,
    pub expires_at_epoch: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    pub confirm_age_16: bool,
    #[serde(default)]
    pub language: Option<Language>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub language: Option<Language>,
    pub marketing_opt_in: Option<bool>,
    pub training_opt_out: Option<bool>,
    pub notify_jobs: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

const NAME_MAX: usize = 100;

fn clean_name(name: Option<String>) -> Result<Option<String>> {
    let Some(name) = name else { return Ok(None) };
    let name = name.trim().to_owned();
    if name.chars().count() > NAME_MAX {
        return Err(Error::invalid(
            "name",
            format!("name must be at most {NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "name must not contain control characters",
        ));
    }
    Ok(Some(name))
}

fn store(app: &App) -> AccountStore<'_> {
    AccountStore::new(&app.dynamo, &app.config.accounts_table)
}

fn new_session(app: &App, user_id: &str, generation: i64) -> Result<(String, NewSession, String)> {
    let token = token::generate()?;
    let now = clock::now();
    let expires = now + Duration::days(app.config.limits.session_days);
    let session = NewSession {
        token_hash: token::digest(&token),
        user_id: user_id.to_owned(),
        generation,
        created_at: clock::rfc3339(now),
        expires_at_epoch: clock::epoch_seconds(expires),
    };
    Ok((token, session, clock::rfc3339(expires)))
}

/// Creates the account and its first session, and mails a link to confirm
/// the address. The free trial waits for that confirmation (`verify_email`).
pub async fn register(app: &App, input: RegisterInput, ip: &str) -> Result<IssuedSession> {
    let email = email::normalise(&input.email)?;
    password::validate("password", &input.password)?;
    let name = clean_name(input.name)?.filter(|n| !n.is_empty());
    if !input.confirm_age_16 {
        return Err(Error::invalid(
            "confirm_age_16",
            "Glimvid is not for users under 16: confirm_age_16 must be true",
        ));
    }
    let now = clock::now();
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        email,
        name,
        language: input.language.unwrap_or_default(),
        marketing_opt_in: false,
        training_opt_out: false,
        created_at: clock::rfc3339(now),
        password_hash: password::hash(input.password).await?,
        session_generation: 0,
        deleting: false,
        email_verified: false,
        pending_email: None,
        notify_jobs: true,
        trial_claimed: false,
        // Signing up accepts the policy in effect; only a later version
        // needs acknowledging.
        policy_ack: crate::policy::versions(app)
            .await?
            .current
            .map(|v| v.version),
        verification_sent_at: Some(clock::epoch_seconds(now)),
        signup_ip: Some(ip.to_owned()),
    };
    let (token, session, expires_at) = new_session(app, &user.id, user.session_generation)?;
    let signin = aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(crate::dynamo::built(
            aws_sdk_dynamodb::types::Put::builder()
                .table_name(&app.config.accounts_table)
                .set_item(Some(store::signin_item(&user.id, ip, now)))
                .build(),
        )?)
        .build();
    store(app)
        .create_user(&user, &session, vec![signin])
        .await?;
    tracing::info!(user_id = %user.id, "account registered");
    mail::enqueue(
        app,
        &Notice::VerifyEmail {
            user_id: user.id.clone(),
        },
    )
    .await;
    Ok(IssuedSession {
        token,
        token_type: "Bearer",
        expires_at,
        user: UserView::from(&user),
    })
}

pub async fn login(app: &App, input: LoginInput, ip: &str) -> Result<IssuedSession> {
    let denied = || Error::unauthenticated("email or password is incorrect");
    let guard = crate::ratelimit::AccountGuard::new(&input.email);
    guard.admit(app).await?;
    // A malformed email cannot belong to an account; it still pays for a
    // hash so its timing matches a wrong password.
    let user = match email::normalise(&input.email) {
        Ok(email) => store(app).user_by_email(&email).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(input.password, stored).await? {
        guard.failed(app).await?;
        return Err(denied());
    }
    let user = user.filter(|u| !u.deleting).ok_or_else(denied)?;
    let (token, session, expires_at) = new_session(app, &user.id, user.session_generation)?;
    store(app).put_session(&session).await?;
    tracing::info!(user_id = %user.id, "logged in");
    note_signin(app, &user, ip).await;
    Ok(IssuedSession {
        token,
        token_type: "Bearer",
        expires_at,
        user: UserView::from(&user),
    })
}

/// Writes an item counted on the profile (API keys, webhooks) together
/// with its count, in one transaction: adding is refused (Ok(false)) once
/// the count reached `max` or while the account is being deleted; removing
/// is refused when the item is not there (its own condition).
pub(crate) async fn write_counted(
    app: &App,
    user_id: &str,
    attribute: &'static str,
    change: Counted,
    context: &'static str,
) -> Result<bool> {
    use crate::dynamo::{b, n, s};
    use aws_sdk_dynamodb::types::TransactWriteItem;
    let table = &app.config.accounts_table;
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key("pk", s(format!("USER#{user_id}")))
        .key("sk", s("PROFILE"))
        .update_expression("ADD #count :delta")
        .expression_attribute_names("#count", attribute);
    let (update, item) = match change {
        Counted::Add { put, max } => (
            update
                .condition_expression(
                    "attribute_exists(pk) AND NOT deleting = :true AND \
                     (attribute_not_exists(#count) OR #count < :max)",
                )
                .expression_attribute_values(":delta", n(1))
                .expression_attribute_values(":max", n(max))
                .expression_attribute_values(":true", b(true)),
            TransactWriteItem::builder()
                .put(crate::dynamo::built(put.table_name(table).build())?)
                .build(),
        ),
        Counted::Remove { delete } => (
            update
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":delta", n(-1)),
            TransactWriteItem::builder()
                .delete(crate::dynamo::built(delete.table_name(table).build())?)
                .build(),
        ),
    };
    let count = TransactWriteItem::builder()
        .update(crate::dynamo::built(update.build())?)
        .build();
    crate::dynamo::transact_if(&app.dynamo, vec![count, item], context).await
}

/// What `write_counted` writes beside the count.
pub(crate) enum Counted {
    Add {
        put: aws_sdk_dynamodb::types::builders::PutBuilder,
        max: i64,
    },
    Remove {
        delete: aws_sdk_dynamodb::types::builders::DeleteBuilder,
    },
}

fn bearer(authorization: Option<&str>) -> Result<&str> {
    authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| Error::unauthenticated("a bearer token is required"))
}

/// Resolves an `Authorization` header value to the caller of a route that
/// needs a signed-in session: everything that touches the account's
/// security (password, email, deletion, keys) or its personal data. An API
/// key is refused here by name.
pub async fn authenticate(app: &App, authorization: Option<&str>) -> Result<Principal> {
    let token = bearer(authorization)?;
    if token.starts_with(api_keys::KEY_PREFIX) {
        return Err(Error::Forbidden {
            code: "api_key_not_allowed",
            field: None,
            message: "API keys cannot be used here; sign in instead".into(),
        });
    }
    let invalid = || Error::unauthenticated("the session is invalid or has expired; log in again");
    if !token::looks_valid(token) {
        return Err(invalid());
    }
    let token_hash = token::digest(token);
    let store = store(app);
    let now = clock::epoch_seconds(clock::now());
    let session = store
        .live_session(&token_hash, now)
        .await?
        .ok_or_else(invalid)?;
    let user = store
        .user_by_id(&session.user_id)
        .await?
        .ok_or_else(invalid)?;
    if user.deleting || user.session_generation != session.generation {
        return Err(invalid());
    }
    Ok(Principal { user, token_hash })
}

/// The caller of a route a shop's own systems may use (videos, uploads,
/// credits, webhooks): a session or a personal API key, each key within
/// its own rate limit.
pub async fn authenticate_or_key(app: &App, authorization: Option<&str>) -> Result<User> {
    let token = bearer(authorization)?;
    if !token.starts_with(api_keys::KEY_PREFIX) {
        return Ok(authenticate(app, authorization).await?.user);
    }
    let invalid = || Error::unauthenticated("the API key is invalid or has been revoked");
    let (user_id, key_id) = api_keys::owner(app, token).await?.ok_or_else(invalid)?;
    let user = store(app)
        .user_by_id(&user_id)
        .await?
        .filter(|u| !u.deleting)
        .ok_or_else(invalid)?;
    crate::ratelimit::admit_key(app, &key_id).await?;
    Ok(user)
}

pub async fn logout(app: &App, principal: &Principal) -> Result<()> {
    store(app).delete_session(&principal.token_hash).await
}

pub async fn update_profile(
    app: &App,
    principal: &Principal,
    patch: ProfilePatch,
) -> Result<UserView> {
    let name = clean_name(patch.name)?;
    if name.is_none()
        && patch.language.is_none()
        && patch.marketing_opt_in.is_none()
        && patch.training_opt_out.is_none()
        && patch.notify_jobs.is_none()
    {
        return Err(Error::bad_request(
            "empty_patch",
            "give at least one of name, language, marketing_opt_in, training_opt_out, notify_jobs",
        ));
    }
    let patch = ProfilePatch { name, ..patch };
    let user = store(app)
        .update_profile(&principal.user.id, &patch)
        .await?;
    if let Some(opt_out) = patch.training_opt_out
        && opt_out != principal.user.training_opt_out
    {
        let retagged = crate::privacy::training::retag_user(app, &user.id, opt_out).await?;
        tracing::info!(user_id = %user.id, opt_out, retagged, "training preference applied to uploads");
    }
    Ok(UserView::from(&user))
}

/// Changes the password and signs out every other session.
pub async fn change_password(
    app: &App,
    principal: &Principal,
    change: PasswordChange,
) -> Result<()> {
    password::validate("new", &change.new)?;
    let stored = Some(principal.user.password_hash.clone());
    if !password::verify(change.current, stored).await? {
        return Err(Error::Forbidden {
            code: "wrong_password",
            field: Some("current"),
            message: "current password is incorrect".into(),
        });
    }
    let new_hash = password::hash(change.new).await?;
    let store = store(app);
    store
        .replace_password(&principal.user, &principal.token_hash, &new_hash)
        .await?;
    let removed = store
        .delete_other_sessions(&principal.user.id, Some(&principal.token_hash))
        .await?;
    tracing::info!(user_id = %principal.user.id, removed_sessions = removed, "password changed");
    mail::enqueue(
        app,
        &Notice::PasswordChanged {
            user_id: principal.user.id.clone(),
            by_reset: false,
        },
    )
    .await;
    Ok(())
}

/// Remembers the sign-in's IP and, when the account has not used it within
/// `KNOWN_IP_DAYS`, alerts the owner. Bookkeeping only: a fault here is
/// logged and the sign-in stands.
async fn note_signin(app: &App, user: &User, ip: &str) {
    let store = store(app);
    let now = clock::now();
    let known = match store
        .signin_known(&user.id, ip, clock::epoch_seconds(now))
        .await
    {
        Ok(known) => known,
        Err(err) => {
            tracing::warn!(user_id = %user.id, error = %err, "sign-in history unreadable");
            return;
        }
    };
    if let Err(err) = store
        .remember_signin(store::signin_item(&user.id, ip, now))
        .await
    {
        tracing::warn!(user_id = %user.id, error = %err, "sign-in not remembered");
    }
    if !known {
        mail::enqueue(
            app,
            &Notice::NewSignIn {
                user_id: user.id.clone(),
                ip: ip.to_owned(),
                at: clock::rfc3339(now),
            },
        )
        .await;
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub token: String,
}

#[derive(Debug, Serialize)]
pub struct Verified {
    pub user: UserView,
    pub trial_granted: bool,
}

/// Follows a verification link: confirms the address the account has, or
/// moves it to the one it asked for. The first confirmation grants the
/// free trial, once per account and once per client IP, in the same
/// transaction that uses the link up.
pub async fn verify_email(app: &App, input: TokenInput, ip: &str) -> Result<Verified> {
    let link = links::read(
        app,
        &input.token,
        &[Purpose::VerifyEmail, Purpose::ChangeEmail],
    )
    .await?;
    let store = store(app);
    let user = store
        .user_by_id(&link.user_id)
        .await?
        .filter(|u| !u.deleting)
        .ok_or_else(links::invalid)?;
    if link.purpose == Purpose::ChangeEmail {
        return confirm_new_email(app, user, &link).await;
    }
    // A link to an address the account no longer has proves nothing.
    if user.email != link.email {
        return Err(links::invalid());
    }
    // The trial goes once per IP: neither the sign-up's nor this one may
    // have had it.
    let mut ips = vec![ip];
    ips.extend(user.signup_ip.as_deref());
    // A second link, or one after the account verified without the trial,
    // grants nothing more.
    let mut trial = !user.trial_claimed && !user.email_verified;
    for ip in &ips {
        trial = trial && !crate::credits::trial_used_from(app, ip).await?;
    }
    let attempts: &[bool] = if trial { &[true, false] } else { &[false] };
    for &grant in attempts {
        let mut items = vec![
            links::consume(app, &link)?,
            store.verify_item(&user, grant)?,
        ];
        if grant {
            items.extend(crate::credits::trial_items(app, &user.id, &ips)?);
        }
        if crate::dynamo::transact_if(&app.dynamo, items, "verify email").await? {
            tracing::info!(user_id = %user.id, trial_granted = grant, "email verified");
            let mut user = user;
            user.email_verified = true;
            return Ok(Verified {
                user: UserView::from(&user),
                trial_granted: grant,
            });
        }
        // Used meanwhile, or (with the trial) the IP's trial was claimed by
        // a racing account: without the trial, the second pass decides.
        if !links::still_there(app, &link).await? {
            return Err(links::invalid());
        }
    }
    Err(Error::conflict(
        "email_changed",
        "the account's address changed meanwhile; ask for a new link",
    ))
}

async fn confirm_new_email(app: &App, user: User, link: &links::Link) -> Result<Verified> {
    if user.pending_email.as_deref() != Some(link.email.as_str()) {
        return Err(links::invalid());
    }
    let store = store(app);
    let mut items = vec![links::consume(app, link)?];
    items.extend(store.move_email_items(&user, &link.email)?);
    if !crate::dynamo::transact_if(&app.dynamo, items, "change email").await? {
        if !links::still_there(app, link).await? {
            return Err(links::invalid());
        }
        return Err(Error::Conflict {
            code: "email_taken",
            field: Some("email"),
            message: "an account with this email already exists".into(),
        });
    }
    tracing::info!(user_id = %user.id, "email address changed");
    let user = User {
        email: link.email.clone(),
        email_verified: true,
        pending_email: None,
        ..user
    };
    Ok(Verified {
        user: UserView::from(&user),
        trial_granted: false,
    })
}

/// Sends a new verification link to the signed-in account.
pub async fn resend_verification(app: &App, principal: &Principal) -> Result<()> {
    let user = &principal.user;
    if user.email_verified {
        return Err(Error::conflict(
            "already_verified",
            "this address is verified already",
        ));
    }
    let now = clock::epoch_seconds(clock::now());
    if !store(app)
        .stamp_verification(&user.id, now, RESEND_COOLDOWN_S)
        .await?
    {
        return Err(Error::RateLimited {
            retry_after_s: RESEND_COOLDOWN_S as u64,
        });
    }
    mail::enqueue(
        app,
        &Notice::VerifyEmail {
            user_id: user.id.clone(),
        },
    )
    .await;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

/// Mails a reset link if the address has an account. The caller answers
/// the same either way, so this says nothing about which addresses exist.
pub async fn request_password_reset(app: &App, input: ResetRequest) -> Result<()> {
    // Whether a well-formed address has an account is never told; that a
    // malformed one cannot have one tells nothing.
    let email = email::normalise(&input.email)?;
    if let Some(user) = store(app)
        .user_by_email(&email)
        .await?
        .filter(|u| !u.deleting)
    {
        mail::enqueue(app, &Notice::PasswordReset { user_id: user.id }).await;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    pub password: String,
}

/// Follows a reset link: a new password, every session signed out.
pub async fn reset_password(app: &App, input: ResetConfirm) -> Result<()> {
    password::validate("password", &input.password)?;
    let link = links::read(app, &input.token, &[Purpose::PasswordReset]).await?;
    let store = store(app);
    let user = store
        .user_by_id(&link.user_id)
        .await?
        .filter(|u| !u.deleting && u.email == link.email)
        .ok_or_else(links::invalid)?;
    let new_hash = password::hash(input.password).await?;
    let items = vec![
        links::consume(app, &link)?,
        store.reset_password_item(&user, &new_hash)?,
    ];
    if !crate::dynamo::transact_if(&app.dynamo, items, "reset password").await? {
        return Err(links::invalid());
    }
    let removed = store.delete_other_sessions(&user.id, None).await?;
    crate::ratelimit::AccountGuard::new(&user.email)
        .lift(app)
        .await?;
    tracing::info!(user_id = %user.id, removed_sessions = removed, "password reset");
    mail::enqueue(
        app,
        &Notice::PasswordChanged {
            user_id: user.id,
            by_reset: true,
        },
    )
    .await;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct PendingEmail {
    pub pending_email: String,
}

/// Asks to move the account to another address: the new one gets a link
/// that makes the change, the current one is told.
pub async fn request_email_change(
    app: &App,
    principal: &Principal,
    input: EmailChange,
) -> Result<PendingEmail> {
    let user = &principal.user;
    let email = email::normalise(&input.email)?;
    if !password::verify(input.password, Some(user.password_hash.clone())).await? {
        return Err(Error::Forbidden {
            code: "wrong_password",
            field: Some("password"),
            message: "the password is incorrect".into(),
        });
    }
    if email == user.email {
        return Err(Error::invalid_code(
            "same_email",
            "email",
            "this is the account's address already",
        ));
    }
    let store = store(app);
    if store.user_by_email(&email).await?.is_some() {
        return Err(Error::Conflict {
            code: "email_taken",
            field: Some("email"),
            message: "an account with this email already exists".into(),
        });
    }
    store.set_pending_email(user, &email).await?;
    for notice in [
        Notice::ConfirmNewEmail {
            user_id: user.id.clone(),
        },
        Notice::EmailChangeRequested {
            user_id: user.id.clone(),
        },
    ] {
        mail::enqueue(app, &notice).await;
    }
    Ok(PendingEmail {
        pending_email: email,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAck {
    pub version: String,
}

/// Records that the account has seen a published policy version.
pub async fn acknowledge_policy(
    app: &App,
    principal: &Principal,
    input: PolicyAck,
) -> Result<UserView> {
    let version = input.version.trim();
    if version.is_empty() || version.len() > 64 || crate::policy::get(app, version).await?.is_none()
    {
        return Err(Error::invalid_code(
            "unknown_version",
            "version",
            "no policy version by that name was published",
        ));
    }
    let user = store(app)
        .acknowledge_policy(&principal.user.id, version)
        .await?;
    Ok(UserView::from(&user))
}

#[derive(Debug, Serialize)]
pub struct Unsubscribed {
    pub kind: &'static str,
    pub unsubscribed: bool,
}

/// Follows an unsubscribe link (a person, or a mail client's one-click
/// POST): video mail off, no sign-in needed. Works more than once.
pub async fn unsubscribe(app: &App, token: &str) -> Result<Unsubscribed> {
    let link = links::read(app, token, &[Purpose::Unsubscribe]).await?;
    let patch = ProfilePatch {
        notify_jobs: Some(false),
        ..ProfilePatch::default()
    };
    store(app).update_profile(&link.user_id, &patch).await?;
    tracing::info!(user_id = %link.user_id, "video mail turned off by link");
    Ok(Unsubscribed {
        kind: "job_notices",
        unsubscribed: true,
    })
}
