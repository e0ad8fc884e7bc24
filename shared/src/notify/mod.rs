//! The mailer: turns queued notices into letters and sends them, and hands
//! a job's end to the account's webhooks. It reads across capabilities (the
//! account, its links, the job, the policy, the webhooks), so it sits above
//! them; they only queue notices (`mail::enqueue`).
//!
//! Each notice sends at most once: a claim on the account (`SENT#{key}`,
//! expiring) goes before the send and is given back when the send fails, so
//! SQS's redelivery retries it and a duplicate delivery finds it taken. The
//! key is the job for video mail, the version for policy mail, the payment
//! for receipts, the SQS message otherwise.

pub mod compose;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::accounts::links::{self, Purpose};
use crate::accounts::{AccountStore, Language, User};
use crate::app::App;
use crate::clock;
use crate::error::Result;
use crate::jobs::{self, Status};
use crate::mail::{self, Letter, Notice, Sent};
use crate::webhooks;

/// The `Handler` of the mail function.
pub const MAILER_HANDLER: &str = "mailer";

/// How long a send claim is kept: longer than SQS keeps a message.
const CLAIM_DAYS: i64 = 30;

/// Handles one SQS batch of notices; what failed is redelivered.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let notice = match record.body.as_deref().map(serde_json::from_str::<Notice>) {
            Some(Ok(notice)) => notice,
            // Retrying cannot make it readable.
            _ => {
                tracing::error!(message_id = %id, "unreadable notice dropped");
                continue;
            }
        };
        let kind = notice.kind();
        match deliver(app, notice, &id).await {
            Ok(outcome) => tracing::info!(message_id = %id, kind, outcome, "notice handled"),
            Err(err) => {
                tracing::warn!(message_id = %id, kind, error = %format!("{err:#}"), "notice will be retried");
                crate::redelivery::retry(&mut response, id);
            }
        }
    }
    response
}

fn store(app: &App) -> AccountStore<'_> {
    AccountStore::new(&app.dynamo, &app.config.accounts_table)
}

fn web(app: &App) -> &str {
    &app.config.mail.web_app_url
}

/// A live account, or None when the notice no longer concerns anyone.
async fn account(app: &App, user_id: &str) -> Result<Option<User>> {
    Ok(store(app)
        .user_by_id(user_id)
        .await?
        .filter(|u| !u.deleting))
}

/// What became of a notice, for the log line.
async fn deliver(app: &App, notice: Notice, message_id: &str) -> Result<&'static str> {
    let msg_key = format!("MSG#{message_id}");
    let web = web(app);
    match notice {
        Notice::VerifyEmail { user_id } => {
            let Some(user) = account(app, &user_id).await?.filter(|u| !u.email_verified) else {
                return Ok("skipped");
            };
            send_once(app, &user.id, &msg_key, async {
                let token = links::issue(app, Purpose::VerifyEmail, &user.id, &user.email).await?;
                let url = format!("{web}/#/verify?token={token}");
                Ok(compose::verify(user.language, &url).letter(&user.email, user.language, None))
            })
            .await
        }
        Notice::ConfirmNewEmail { user_id } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            let Some(new) = user.pending_email.clone() else {
                return Ok("skipped");
            };
            send_once(app, &user.id, &msg_key, async {
                let token = links::issue(app, Purpose::ChangeEmail, &user.id, &new).await?;
                let url = format!("{web}/#/verify?token={token}");
                Ok(compose::confirm_new(user.language, &url).letter(&new, user.language, None))
            })
            .await
        }
        Notice::EmailChangeRequested { user_id } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            let Some(new) = user.pending_email.as_deref() else {
                return Ok("skipped");
            };
            let letter = compose::change_requested(user.language, &compose::masked(new), web)
                .letter(&user.email, user.language, None);
            send_once(app, &user.id, &msg_key, async { Ok(letter) }).await
        }
        Notice::PasswordReset { user_id } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            send_once(app, &user.id, &msg_key, async {
                let token =
                    links::issue(app, Purpose::PasswordReset, &user.id, &user.email).await?;
                let url = format!("{web}/#/reset?token={token}");
                Ok(compose::reset(user.language, &url).letter(&user.email, user.language, None))
            })
            .await
        }
        Notice::PasswordChanged { user_id, by_reset } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            let letter = compose::password_changed(user.language, by_reset, web).letter(
                &user.email,
                user.language,
                None,
            );
            send_once(app, &user.id, &msg_key, async { Ok(letter) }).await
        }
        Notice::ExportReady { user_id, export_id } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            tracing::info!(export_id = %export_id, "export-ready notice");
            let letter =
                compose::export_ready(user.language, web).letter(&user.email, user.language, None);
            send_once(app, &user.id, &msg_key, async { Ok(letter) }).await
        }
        Notice::NewSignIn { user_id, ip, at } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            let letter = compose::new_signin(user.language, &ip, &at, web).letter(
                &user.email,
                user.language,
                None,
            );
            send_once(app, &user.id, &msg_key, async { Ok(letter) }).await
        }
        Notice::DeletionRequested {
            to,
            language,
            requested_at,
        } => {
            // The account may be gone already: no claim to hold, and a
            // duplicate of this one mail is the lesser harm.
            let language = Language::parse(&language).unwrap_or_default();
            let letter = compose::deletion(language, &requested_at).letter(&to, language, None);
            sent(mail::send(app, &letter).await?)
        }
        Notice::JobEnded {
            user_id,
            job_id,
            status,
        } => job_ended(app, &user_id, &job_id, status.as_deref()).await,
        Notice::PaymentReceived {
            user_id,
            payment_id,
        } => {
            let Some(user) = account(app, &user_id).await? else {
                return Ok("skipped");
            };
            let Some(payment) =
                crate::billing::records::payment(app, &user.id, &payment_id).await?
            else {
                return Ok("skipped");
            };
            let letter = compose::receipt(user.language, &payment, web).letter(
                &user.email,
                user.language,
                None,
            );
            send_once(app, &user.id, &format!("PAY#{payment_id}"), async {
                Ok(letter)
            })
            .await
        }
        Notice::PolicyPublished { version, after } => {
            let (users, next) = store(app).verified_users(after.as_ref()).await?;
            let mut notices: Vec<Notice> = users
                .into_iter()
                .map(|user_id| Notice::PolicyChange {
                    user_id,
                    version: version.clone(),
                })
                .collect();
            let accounts = notices.len();
            // The next page goes with this one: if any send fails, the
            // whole page (and its successor) is retried, and the per-account
            // claims keep repeats from mailing twice.
            if let Some(after) = next {
                notices.push(Notice::PolicyPublished {
                    version: version.clone(),
                    after: Some(after),
                });
            }
            mail::enqueue_all(app, &notices).await?;
            tracing::info!(version = %version, accounts, "policy notices queued");
            Ok("fanned out")
        }
        Notice::PolicyChange { user_id, version } => {
            let Some(user) = account(app, &user_id).await?.filter(|u| u.email_verified) else {
                return Ok("skipped");
            };
            let Some(v) = crate::policy::get(app, &version).await? else {
                return Ok("skipped");
            };
            let summary = match user.language {
                Language::En => &v.summary.en,
                Language::Zh => &v.summary.zh,
            };
            let letter = compose::policy_change(user.language, &v.effective_at, summary, web)
                .letter(&user.email, user.language, None);
            send_once(app, &user.id, &format!("POLICY#{version}"), async {
                Ok(letter)
            })
            .await
        }
    }
}

/// Calls the account's webhooks first (whatever its mail preference), then
/// mails a finished or failed video: a repeat of the notice finds both
/// done (the deliveries recorded, the mail claimed).
async fn job_ended(
    app: &App,
    user_id: &str,
    job_id: &str,
    status: Option<&str>,
) -> Result<&'static str> {
    let Some(user) = account(app, user_id).await? else {
        return Ok("skipped");
    };
    let job = jobs::store::get(app, job_id)
        .await?
        .filter(|j| j.user_id == user.id);
    let announced = announce(app, &user.id, job_id, job.as_ref(), status).await?;
    let outcome = if announced > 0 {
        "announced"
    } else {
        "skipped"
    };
    let Some(job) = job.filter(|_| user.notify_jobs) else {
        return Ok(outcome);
    };
    if !matches!(job.status, Status::Succeeded | Status::Failed) {
        return Ok(outcome);
    }
    let web = web(app);
    send_once(app, &user.id, &format!("JOB#{}", job.id), async {
        let token = links::issue(app, Purpose::Unsubscribe, &user.id, &user.email).await?;
        let one_click = format!(
            "{}/email/unsubscribe?token={token}",
            app.config.mail.api_url
        );
        let footer =
            compose::optional_footer(user.language, &format!("{web}/#/unsubscribe?token={token}"));
        let page = format!("{web}/#/videos/{}", job.id);
        let draft = if job.status == Status::Succeeded {
            compose::job_ready(user.language, &job.title, &page, footer)
        } else {
            let reason = job
                .error
                .as_ref()
                .map(|e| e.text(user.language))
                .unwrap_or_default();
            compose::job_failed(user.language, &job.title, &reason, job.price, &page, footer)
        };
        Ok(draft.letter(&user.email, user.language, Some(one_click)))
    })
    .await
}

/// Queues the job's end for each webhook; a job deleted since is described
/// by its id and how it ended.
async fn announce(
    app: &App,
    user_id: &str,
    job_id: &str,
    job: Option<&jobs::Job>,
    status: Option<&str>,
) -> Result<usize> {
    let status = match job {
        Some(job) => job.status.as_str(),
        None => status.unwrap_or_default(),
    };
    let event = match status {
        "succeeded" => webhooks::Event::JobSucceeded,
        "failed" => webhooks::Event::JobFailed,
        "cancelled" => webhooks::Event::JobCancelled,
        // Still running: a notice from before the job was retried, say.
        _ => return Ok(0),
    };
    match job {
        Some(job) => {
            let summary = jobs::Summary::from(job);
            let ended = job.finished_at.as_deref();
            webhooks::announce(app, user_id, job_id, event, ended, &summary).await
        }
        None => {
            let gone = serde_json::json!({ "id": job_id, "status": status, "deleted": true });
            webhooks::announce(app, user_id, job_id, event, None, &gone).await
        }
    }
}

fn sent(outcome: Sent) -> Result<&'static str> {
    Ok(match outcome {
        Sent::Sent => "sent",
        Sent::Rejected => "rejected",
    })
}

/// Claims the send, then writes the letter (which may store a link) and
/// sends it; a failure in either gives the claim back for the retry.
async fn send_once(
    app: &App,
    user_id: &str,
    key: &str,
    letter: impl std::future::Future<Output = Result<Letter>>,
) -> Result<&'static str> {
    let store = store(app);
    let expires = clock::epoch_seconds(clock::now() + time::Duration::days(CLAIM_DAYS));
    if !store.claim_mail(user_id, key, expires).await? {
        return Ok("sent before");
    }
    let result = match letter.await {
        Ok(letter) => mail::send(app, &letter).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(outcome) => sent(outcome),
        Err(err) => {
            if let Err(release) = store.release_mail(user_id, key).await {
                tracing::error!(error = %release, "send claim not released; this mail will not be retried");
            }
            Err(err)
        }
    }
}
