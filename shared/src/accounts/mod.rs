//! Accounts: registration, login, sessions, profile and password changes.
//!
//! Sessions carry the account's `session_generation` from when they were
//! issued; a password change bumps the generation (and re-stamps only the
//! caller's session) in one transaction, so every other session stops
//! working at once, whatever the eventual consistency of the index that the
//! clean-up walks.

pub mod email;
pub mod password;
mod store;
pub mod token;

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::app::App;
use crate::clock;
use crate::error::{Error, Result};
pub use store::AccountStore;

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

/// Creates the account, its first session and (once per client IP, ever)
/// the free-trial credits.
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
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        email,
        name,
        language: input.language.unwrap_or_default(),
        marketing_opt_in: false,
        training_opt_out: false,
        created_at: clock::rfc3339(clock::now()),
        password_hash: password::hash(input.password).await?,
        session_generation: 0,
        deleting: false,
    };
    let (token, session, expires_at) = new_session(app, &user.id, user.session_generation)?;
    let store = store(app);
    let trial = !crate::credits::trial_used_from(app, ip).await?;
    let extra = if trial {
        crate::credits::trial_items(app, &user.id, ip)?
    } else {
        Vec::new()
    };
    match store.create_user(&user, &session, extra).await {
        // With the trial in the transaction, a failed condition is either
        // the email or a racing claim of this IP's trial: tell them apart.
        Err(Error::Conflict {
            code: "email_taken",
            ..
        }) if trial && store.user_by_email(&user.email).await?.is_none() => {
            store.create_user(&user, &session, Vec::new()).await?;
        }
        other => other?,
    }
    tracing::info!(user_id = %user.id, "account registered");
    Ok(IssuedSession {
        token,
        token_type: "Bearer",
        expires_at,
        user: UserView::from(&user),
    })
}

pub async fn login(app: &App, input: LoginInput) -> Result<IssuedSession> {
    let denied = || Error::unauthenticated("email or password is incorrect");
    // A malformed email cannot belong to an account; it still pays for a
    // hash so its timing matches a wrong password.
    let user = match email::normalise(&input.email) {
        Ok(email) => store(app).user_by_email(&email).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(input.password, stored).await? {
        return Err(denied());
    }
    let user = user.filter(|u| !u.deleting).ok_or_else(denied)?;
    let (token, session, expires_at) = new_session(app, &user.id, user.session_generation)?;
    store(app).put_session(&session).await?;
    tracing::info!(user_id = %user.id, "logged in");
    Ok(IssuedSession {
        token,
        token_type: "Bearer",
        expires_at,
        user: UserView::from(&user),
    })
}

/// Resolves an `Authorization` header value to the caller.
pub async fn authenticate(app: &App, authorization: Option<&str>) -> Result<Principal> {
    let token = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| Error::unauthenticated("a bearer token is required"))?;
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
    {
        return Err(Error::bad_request(
            "empty_patch",
            "give at least one of name, language, marketing_opt_in, training_opt_out",
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
        .delete_other_sessions(&principal.user.id, &principal.token_hash)
        .await?;
    tracing::info!(user_id = %principal.user.id, removed_sessions = removed, "password changed");
    Ok(())
}
