//! `GET /me/export`: every record we hold about the caller, as JSON, with
//! short-lived links to every object.

use std::time::Duration;

use serde::Serialize;

use crate::accounts::{Principal, UserView};
use crate::app::App;
use crate::credits::{self, Entry};
use crate::dynamo::{get_n, get_opt_s};
use crate::error::Result;
use crate::jobs::{self, JobView};
use crate::storage;
use crate::uploads::UploadView;
use crate::usage::{self, UsageLine};

const LINK_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Serialize)]
pub struct Export {
    pub format: &'static str,
    pub exported_at: String,
    pub account: UserView,
    pub preferences: Preferences,
    pub sessions: Vec<SessionRecord>,
    pub credits: CreditsRecord,
    pub free_trial: Vec<TrialRecord>,
    /// Links mailed to the account and not yet used (their tokens are
    /// kept only as hashes, so only what they are for and until when).
    pub email_links: Vec<LinkRecord>,
    /// Policy versions the account acknowledged, and when.
    pub policy_acknowledgements: Vec<PolicyAckRecord>,
    /// When each IP the account signed in from within 30 days was last
    /// seen (the IPs are kept only as salted hashes, to spot new ones).
    pub recent_sign_ins: Vec<String>,
    /// Every payment, with Stripe's invoice link. After a deletion these
    /// stay (for tax law) with nothing linking them to the account.
    pub payments: Vec<crate::billing::Payment>,
    pub subscriptions: Vec<crate::billing::Subscription>,
    pub uploads: Vec<ExportedUpload>,
    pub videos: Vec<JobView>,
    pub usage_log: Vec<UsageLine>,
    pub links_expire_in_s: u64,
}

#[derive(Debug, Serialize)]
pub struct Preferences {
    pub language: crate::accounts::Language,
    pub marketing_opt_in: bool,
    pub training_opt_out: bool,
    pub notify_jobs: bool,
}

#[derive(Debug, Serialize)]
pub struct SessionRecord {
    pub created_at: String,
    pub expires_at: i64,
}

#[derive(Debug, Serialize)]
pub struct CreditsRecord {
    pub balance: i64,
    pub ledger: Vec<Entry>,
}

#[derive(Debug, Serialize)]
pub struct TrialRecord {
    pub ip: String,
    pub claimed_at: String,
}

#[derive(Debug, Serialize)]
pub struct LinkRecord {
    pub purpose: String,
    pub sent_to: String,
    pub created_at: String,
    pub expires_at: i64,
}

#[derive(Debug, Serialize)]
pub struct PolicyAckRecord {
    pub version: String,
    pub acknowledged_at: String,
}

#[derive(Debug, Serialize)]
pub struct ExportedUpload {
    #[serde(flatten)]
    pub upload: UploadView,
    pub download_url: Option<String>,
}

pub async fn export(app: &App, principal: &Principal) -> Result<Export> {
    let user = &principal.user;
    let records = crate::privacy::purge::records_of(app, &user.id).await?;
    let mut sessions = Vec::new();
    let mut free_trial = Vec::new();
    let mut policy_acknowledgements = Vec::new();
    let mut recent_sign_ins = Vec::new();
    let mut email_links = Vec::new();
    for (table, item) in &records {
        let pk = get_opt_s(item, "pk").unwrap_or_default();
        let sk = get_opt_s(item, "sk").unwrap_or_default();
        if table == &app.config.accounts_table && sk == "PROFILE" {
            let acks = item.get("policy_acks").and_then(|v| v.as_l().ok());
            for ack in acks.into_iter().flatten() {
                let Ok(ack) = ack.as_m() else { continue };
                policy_acknowledgements.push(PolicyAckRecord {
                    version: get_opt_s(ack, "version").unwrap_or_default(),
                    acknowledged_at: get_opt_s(ack, "at").unwrap_or_default(),
                });
            }
        } else if table == &app.config.accounts_table && pk.starts_with("LINK#") {
            email_links.push(LinkRecord {
                purpose: get_opt_s(item, "purpose").unwrap_or_default(),
                sent_to: get_opt_s(item, "email").unwrap_or_default(),
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
                expires_at: get_n(item, "expires_at").unwrap_or_default(),
            });
        } else if table == &app.config.accounts_table && sk.starts_with("SIGNIN#") {
            recent_sign_ins.extend(get_opt_s(item, "last_seen"));
        } else if table == &app.config.accounts_table && pk.starts_with("SESSION#") {
            sessions.push(SessionRecord {
                created_at: get_opt_s(item, "created_at").unwrap_or_default(),
                expires_at: get_n(item, "expires_at").unwrap_or_default(),
            });
        } else if pk.starts_with("TRIAL#") {
            free_trial.push(TrialRecord {
                ip: get_opt_s(item, "ip").unwrap_or_default(),
                claimed_at: get_opt_s(item, "claimed_at").unwrap_or_default(),
            });
        }
    }
    let now = crate::clock::epoch_seconds(crate::clock::now());
    sessions.retain(|s| s.expires_at > now);

    let mut uploads = Vec::new();
    for upload in crate::uploads::all_of(app, &user.id).await? {
        let download_url = Some(storage::presigned_get(app, &upload.key, LINK_TTL).await?);
        uploads.push(ExportedUpload {
            upload: UploadView::from(&upload),
            download_url,
        });
    }
    let mut videos = Vec::new();
    for job in jobs::store::all_of(app, &user.id).await? {
        videos.push(jobs::view(app, &job).await?);
    }
    Ok(Export {
        format: "glimvid-export/1",
        exported_at: crate::clock::rfc3339(crate::clock::now()),
        account: UserView::from(user),
        preferences: Preferences {
            language: user.language,
            marketing_opt_in: user.marketing_opt_in,
            training_opt_out: user.training_opt_out,
            notify_jobs: user.notify_jobs,
        },
        sessions,
        credits: CreditsRecord {
            balance: credits::balance(app, &user.id).await?,
            ledger: credits::ledger(app, &user.id).await?,
        },
        free_trial,
        email_links,
        policy_acknowledgements,
        recent_sign_ins,
        payments: crate::billing::records::payments(app, &user.id).await?,
        subscriptions: crate::billing::records::subscriptions(app, &user.id).await?,
        uploads,
        videos,
        usage_log: usage::for_user(app, &user.id).await?,
        links_expire_in_s: LINK_TTL.as_secs(),
    })
}
