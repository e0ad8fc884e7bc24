//! A multi-shot video from a generator that makes a clip per shot (Ark):
//! a task for each shot with a caption, started together and polled
//! together, one state machine round at a time (see `work::video`).
//!
//! The shots' states live on the job as one JSON attribute, replaced only
//! if unchanged since it was read, so a duplicate delivery can't undo a
//! round. Every clip is copied into the job's prefix as it arrives (the
//! provider's link expires). A shot that fails for good is rendered
//! offline instead, and the job pays for what it got: see
//! [`partial_fallback_price`]. A refusal fails the whole job, as for a
//! single shot.

use glimvid_media::render::shot_plan;
use serde::{Deserialize, Serialize};

use glimvid_media::{Aspect, Script};

use super::work::{
    Failure, Fallback, Outcome, aspect, enhanced_photos, fresh_attrs, output_key, permanent,
    video_request,
};
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, n, s};
use crate::jobs::{Job, store};
use crate::providers::{ShotRequest, VideoProgress, finish_shots};
use crate::storage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Shot {
    /// No task yet (or creating it failed for now).
    Waiting,
    Running {
        task_id: String,
    },
    /// The clip, in our bucket.
    Ready {
        key: String,
    },
    /// Failed for good: rendered offline.
    Failed {
        code: String,
    },
}

impl Shot {
    fn settled(&self) -> bool {
        matches!(self, Shot::Ready { .. } | Shot::Failed { .. })
    }
}

/// What a multi-shot video costs when `offline` of its `shots` clips had
/// to be camera moves: the fallback discount (see
/// [`super::work::fallback_price`]) in proportion, rounded in the shop
/// owner's favour. All shots offline costs what a whole fallback does.
fn partial_fallback_price(price: i64, offline: usize, shots: usize) -> i64 {
    if shots == 0 || offline == 0 {
        return price;
    }
    let (offline, shots) = (offline.min(shots) as i64, shots as i64);
    let discount = price - super::work::fallback_price(price);
    price - (discount * offline + shots - 1) / shots
}

/// What every shot's step in one round shares.
struct Round<'a> {
    app: &'a App,
    job: &'a Job,
    /// The enhanced photos, fetched only for a round that starts shots.
    photos: &'a [Vec<u8>],
    aspect: Aspect,
    expired: bool,
    last_attempt: bool,
}

pub(super) async fn video(
    app: &App,
    job: &Job,
    script: &Script,
    last_attempt: bool,
) -> Result<Outcome, Failure> {
    let plan = shot_plan(script, job.duration_s);
    let lines: Vec<(&str, f64)> = plan
        .iter()
        .filter_map(|shot| shot.line.map(|line| (line, shot.seconds)))
        .collect();
    let stored = fresh_attrs(app, job, "shots, video_task_started").await?;
    let old = stored
        .as_ref()
        .and_then(|item| dynamo::get_opt_s(item, "shots"));
    let shots: Vec<Shot> = match &old {
        Some(json) => serde_json::from_str(json)
            .map_err(|_| permanent("bad_job", "the shots' states can't be read"))?,
        None => vec![Shot::Waiting; lines.len()],
    };
    if shots.len() != lines.len() {
        return Err(permanent("bad_job", "the shots no longer match the script"));
    }
    let now = clock::now().unix_timestamp();
    let started = stored
        .as_ref()
        .and_then(|item| dynamo::get_n(item, "video_task_started").ok())
        .unwrap_or(now);
    let expired = now - started > app.config.providers.video_deadline.as_secs() as i64;

    // Polling rounds, the most of them, need no photos.
    let starts = !expired && shots.contains(&Shot::Waiting);
    let photos = if starts {
        Some(enhanced_photos(app, job).await?)
    } else {
        None
    };
    let round = Round {
        app,
        job,
        photos: photos.as_deref().unwrap_or_default(),
        aspect: aspect(job)?,
        expired,
        last_attempt,
    };
    let steps = shots
        .iter()
        .zip(&lines)
        .enumerate()
        .map(|(k, (shot, line))| advance(&round, k, shot, *line));
    let results = futures::future::join_all(steps).await;
    let written: Vec<String> = results
        .iter()
        .zip(&shots)
        .filter_map(|(now, before)| match (now, before) {
            (Ok(Shot::Ready { key }), Shot::Waiting | Shot::Running { .. }) => Some(key.clone()),
            _ => None,
        })
        .collect();
    let mut next = Vec::with_capacity(shots.len());
    let mut failure: Option<Failure> = None;
    for result in results {
        match result {
            Ok(shot) => next.push(shot),
            // A refusal is the one to report: it decides the job.
            Err(err) => {
                if failure.is_none() || err.code == crate::providers::CONTENT_REJECTED {
                    failure = Some(err);
                }
            }
        }
    }
    if let Some(failure) = failure {
        storage::delete_objects(app, &written).await?;
        return Err(failure);
    }

    let wait_s = app.config.providers.video_poll_seconds;
    let changed = old.is_none() || next != shots;
    if changed && !save(app, job, old.as_deref(), &next, started).await? {
        // Another delivery moved the shots on first (or the job ended): its
        // states stand, and this round's clips go.
        storage::delete_objects(app, &written).await?;
        return Ok(Outcome::Pending { wait_s });
    }
    if !next.iter().all(Shot::settled) {
        return Ok(Outcome::Pending { wait_s });
    }
    if !app.config.providers.video_fallback
        && let Some(Shot::Failed { code }) = next.iter().find(|s| matches!(s, Shot::Failed { .. }))
    {
        return Err(permanent(code, "a shot's clip failed and fallback is off"));
    }
    let photos = match photos {
        Some(photos) => photos,
        None => enhanced_photos(app, job).await?,
    };
    finish(app, job, script, &photos, &next).await
}

/// One shot's step this round: start it, poll it, or leave it be.
async fn advance(
    round: &Round<'_>,
    k: usize,
    shot: &Shot,
    (line, seconds): (&str, f64),
) -> Result<Shot, Failure> {
    let Round {
        app, job, photos, ..
    } = *round;
    let generator = &app.providers.video;
    let progress = match shot {
        Shot::Ready { .. } | Shot::Failed { .. } => return Ok(shot.clone()),
        _ if round.expired => {
            tracing::warn!(job_id = %job.id, shot = k, "video shot took too long; rendering it offline");
            return Ok(Shot::Failed {
                code: "video_timeout".into(),
            });
        }
        Shot::Waiting => {
            // Shot k is over photo k (cycling), as the offline render has it.
            let photo = (!photos.is_empty()).then(|| photos[k % photos.len()].as_slice());
            generator
                .start_shot(&ShotRequest {
                    photo,
                    line,
                    title: &job.title,
                    aspect: round.aspect,
                    seconds,
                })
                .await
        }
        Shot::Running { task_id } => generator.poll(task_id).await,
    };
    match progress {
        Ok(VideoProgress::Pending { task_id }) => Ok(Shot::Running { task_id }),
        Ok(VideoProgress::Clip(mp4)) => {
            let key = output_key(job, &format!("shot{k}"), "mp4");
            storage::put_bytes(app, &key, "video/mp4", mp4).await?;
            Ok(Shot::Ready { key })
        }
        Ok(VideoProgress::Done(_)) => Ok(Shot::Failed {
            code: "provider_bad_result".into(),
        }),
        Err(err) if err.is_refusal() => {
            tracing::info!(job_id = %job.id, shot = k, code = %err.code, "video provider refused a shot");
            Err(err.into())
        }
        Err(err) if err.is_permanent() || round.last_attempt => {
            tracing::warn!(job_id = %job.id, shot = k, code = %err.code, "video shot failed; rendering it offline");
            Ok(Shot::Failed { code: err.code })
        }
        Err(err) => {
            tracing::info!(job_id = %job.id, shot = k, code = %err.code, "video shot will be tried again");
            Ok(shot.clone())
        }
    }
}

/// Replaces the shots' states if they are still `old`.
async fn save(
    app: &App,
    job: &Job,
    old: Option<&str>,
    next: &[Shot],
    started: i64,
) -> Result<bool, Failure> {
    let json = serde_json::to_string(next)
        .map_err(|e| Failure::from(crate::error::Error::internal("shots json", e)))?;
    let mut values = vec![
        (":shots", s(json)),
        (":started", n(started)),
        (":now", s(clock::rfc3339(clock::now()))),
    ];
    let condition = match old {
        Some(old) => {
            values.push((":old", s(old)));
            "attribute_not_exists(video_key) AND shots = :old"
        }
        None => "attribute_not_exists(video_key) AND attribute_not_exists(shots)",
    };
    Ok(store::update_live(
        app,
        &job.id,
        "SET shots = :shots, video_task_started = if_not_exists(video_task_started, :started), \
         updated_at = :now",
        Some(condition),
        values,
    )
    .await?)
}

/// Every shot settled: the video, cut from the clips that arrived and
/// camera moves for the rest, recorded at the price of what it has.
async fn finish(
    app: &App,
    job: &Job,
    script: &Script,
    photos: &[Vec<u8>],
    shots: &[Shot],
) -> Result<Outcome, Failure> {
    let keys: Vec<String> = shots
        .iter()
        .filter_map(|shot| match shot {
            Shot::Ready { key } => Some(key.clone()),
            _ => None,
        })
        .collect();
    let clips = futures::future::try_join_all(shots.iter().map(|shot| async move {
        match shot {
            Shot::Ready { key } => storage::get_bytes(app, key).await.map(Some),
            _ => Ok(None),
        }
    }))
    .await?;
    let (output, shown) = finish_shots(clips, &video_request(job, script, photos)?).await?;
    let offline = shots.len() - shown.iter().filter(|&&k| k < shots.len()).count();
    let outcome = if offline == 0 {
        super::work::store_video(app, job, output.mp4, output.poster_jpeg).await?
    } else {
        tracing::info!(job_id = %job.id, offline, shots = shots.len(), "shots rendered offline");
        super::work::record_fallback(
            app,
            job,
            output,
            Fallback {
                whole: offline == shots.len(),
                shots: offline,
                price: partial_fallback_price(job.price, offline, shots.len()),
            },
        )
        .await?
    };
    // The clips are in the video now; a late duplicate finds the video
    // recorded before it needs them.
    storage::delete_objects(app, &keys).await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_shot_refunds_its_share_of_the_discount_rounded_up() {
        // 15 s at 3: the whole fallback costs 1, so 2 are at stake.
        assert_eq!(partial_fallback_price(3, 1, 6), 2);
        assert_eq!(partial_fallback_price(3, 3, 6), 2);
        assert_eq!(partial_fallback_price(3, 4, 6), 1);
        assert_eq!(partial_fallback_price(3, 6, 6), 1);
        // 30 s at 6: 3 at stake over 6 shots.
        assert_eq!(partial_fallback_price(6, 1, 6), 5);
        assert_eq!(partial_fallback_price(6, 2, 6), 5);
        assert_eq!(partial_fallback_price(6, 6, 6), 3);
        assert_eq!(partial_fallback_price(6, 0, 6), 6);
    }

    #[test]
    fn shot_states_round_trip_as_tagged_json() {
        let shots = vec![
            Shot::Waiting,
            Shot::Running {
                task_id: "cgt-1".into(),
            },
            Shot::Ready {
                key: "users/u/jobs/j/shot1.mp4".into(),
            },
            Shot::Failed {
                code: "video_task_failed".into(),
            },
        ];
        let json = serde_json::to_string(&shots).unwrap();
        assert!(
            json.contains(r#"{"state":"running","task_id":"cgt-1"}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Vec<Shot>>(&json).unwrap(), shots);
    }
}
