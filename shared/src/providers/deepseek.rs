//! DeepSeek writes scripts: `POST {base}/chat/completions` (OpenAI
//! compatible) in JSON mode. JSON mode needs the word "json" in the prompt
//! and an example of the shape; it may still answer with blank content,
//! which is retried like a 429, 500 or 503 or a timeout, within the retry
//! budget. 400/401/402/422 are permanent. A reply that does not make a valid
//! script gets one more try, then the stage fails.
//!
//! DeepSeek's content checks refuse in two ways, both a content refusal
//! (never retried, never replaced by the offline writer): a 400 whose
//! message is "Content Exists Risk" (the request was flagged), and a
//! completion whose `finish_reason` is `content_filter` (the answer was
//! withheld, its content usually blank).
//!
//! The current models (`deepseek-flash`, `deepseek-v4-pro`) think before
//! they answer unless told not to; a caption script needs no chain of
//! thought, so every request turns thinking off.

use glimvid_media::{Language, Script};
use serde::Deserialize;
use serde_json::json;

use super::http::{self, Budget, Checks};
use super::{BoxFuture, FailureKind, ProviderError, ScriptRequest, ScriptWriter};
use crate::config::{ApiKey, Providers};

const NAME: &str = "the script writer (DeepSeek)";

/// What DeepSeek sees of the product: its name, description and style.
const CHECKS: Checks = Checks {
    provider: NAME,
    flagged: "the product name or description",
    instead: "try different wording",
};

/// The `finish_reason` of an answer DeepSeek's content filter withheld.
const CONTENT_FILTER: &str = "content_filter";

pub struct DeepSeek {
    http: reqwest::Client,
    url: String,
    key: ApiKey,
    model: String,
    budget: std::time::Duration,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

/// One exchange's result, before the retry policy looks at it.
enum Reply {
    Script(Script),
    /// The reply could not be used as a script (malformed body, content
    /// that is not a script); worth exactly one more try.
    Unusable(String),
}

impl DeepSeek {
    pub fn new(config: &Providers) -> Self {
        DeepSeek {
            http: http::client(config),
            url: format!("{}/chat/completions", config.deepseek.base_url),
            key: config.deepseek.key.clone(),
            model: config.deepseek_model.clone(),
            budget: config.retry_budget,
        }
    }

    fn body(&self, req: &ScriptRequest<'_>) -> serde_json::Value {
        let scenes = glimvid_media::script::scene_count(req.duration_s);
        let language = match req.language {
            Language::Zh => "Simplified Chinese",
            _ => "English",
        };
        let system = format!(
            "You write the on-screen captions of a {duration} second marketing video for one product. \
             Answer with json only: one JSON object of exactly this shape: \
             {{\"hook\": \"...\", \"scenes\": [\"...\", \"...\", \"...\"], \"call_to_action\": \"...\"}}. \
             Rules: write in {language}; \"scenes\" has exactly {scenes} items; the hook and the call to action \
             are at most 100 characters, each scene at most 140; one line each, no emoji, no hashtags; \
             use only facts from the product's title and description.",
            duration = req.duration_s,
        );
        // Variants are compared against each other, so each opens from
        // another angle; the first keeps the model's own choice.
        let angle = match req.variant {
            0 => None,
            1 => Some("a question the shopper is asking themselves"),
            2 => Some("a bold claim about what the product does best"),
            _ => Some("the everyday problem the product solves"),
        };
        let system = match angle {
            Some(angle) => format!("{system} Open the hook with {angle}."),
            None => system,
        };
        // Only what the script needs: no account, address or session data.
        let product = json!({
            "title": req.title,
            "description": req.description,
            "style": req.style,
        });
        json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": format!("Product (json): {product}")},
            ],
            "response_format": {"type": "json_object"},
            // On by default for the current models; a script needs none.
            "thinking": {"type": "disabled"},
            "max_tokens": 800,
            "stream": false,
        })
    }

    async fn once(&self, body: &serde_json::Value) -> Result<Reply, ProviderError> {
        let resp = self
            .http
            .post(&self.url)
            .bearer_auth(self.key.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| http::transport(NAME, &e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| http::transport(NAME, &e))?;
        if !status.is_success() {
            return Err(http::status_error(&CHECKS, status, &bytes));
        }
        let Ok(completion) = serde_json::from_slice::<Completion>(&bytes) else {
            return Ok(Reply::Unusable("its reply was not valid JSON".into()));
        };
        let choice = completion.choices.into_iter().next();
        // Before the blank check: a filtered answer is usually blank, and a
        // blank one is otherwise retried.
        if choice.as_ref().and_then(|c| c.finish_reason.as_deref()) == Some(CONTENT_FILTER) {
            return Err(CHECKS.refused());
        }
        let content = choice.and_then(|c| c.message.content).unwrap_or_default();
        if content.trim().is_empty() {
            return Err(ProviderError::transient(
                "blank_script",
                format!("{NAME} returned an empty reply"),
            ));
        }
        let script = match serde_json::from_str::<Script>(content.trim()) {
            Ok(s) => s,
            Err(_) => return Ok(Reply::Unusable("its reply was not a script".into())),
        };
        let script = Script {
            hook: script.hook.trim().to_owned(),
            scenes: script.scenes.iter().map(|s| s.trim().to_owned()).collect(),
            call_to_action: script.call_to_action.trim().to_owned(),
        };
        match script.validate() {
            Ok(()) => Ok(Reply::Script(script)),
            Err(e) => Ok(Reply::Unusable(e.to_string())),
        }
    }
}

impl ScriptWriter for DeepSeek {
    fn write<'a>(
        &'a self,
        req: &'a ScriptRequest<'a>,
    ) -> BoxFuture<'a, Result<Script, ProviderError>> {
        Box::pin(async move {
            if self.key.is_empty() {
                return Err(ProviderError::permanent(
                    "provider_auth",
                    format!("{NAME} has no API key configured"),
                ));
            }
            let body = self.body(req);
            let mut budget = Budget::new(self.budget);
            let mut unusable = 0;
            loop {
                let failure = match self.once(&body).await {
                    Ok(Reply::Script(script)) => return Ok(script),
                    Ok(Reply::Unusable(why)) => {
                        unusable += 1;
                        let err = ProviderError::permanent(
                            "invalid_script",
                            format!("{NAME} did not write a usable script ({why})"),
                        );
                        if unusable >= 2 {
                            return Err(err);
                        }
                        // One more try for an unusable reply, budget allowing;
                        // out of time it is left for redelivery.
                        ProviderError {
                            kind: FailureKind::Transient,
                            ..err
                        }
                    }
                    Err(err) if err.is_permanent() => return Err(err),
                    Err(err) => err,
                };
                tracing::info!(code = %failure.code, "script provider call will be retried");
                if !budget.next().await {
                    return Err(failure);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_request_uses_a_current_model_in_json_mode_without_thinking() {
        let writer = DeepSeek::new(&crate::config::test_support::defaults().providers);
        let body = writer.body(&ScriptRequest {
            title: "Ceramic mug",
            description: "Hand-thrown stoneware",
            language: Language::En,
            duration_s: 5,
            style: None,
            variant: 0,
        });
        assert_eq!(body["model"], "deepseek-flash");
        assert_eq!(body["thinking"]["type"], "disabled");
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["stream"], false);
    }

    #[test]
    fn each_variant_asks_for_another_opening() {
        let writer = DeepSeek::new(&crate::config::test_support::defaults().providers);
        let systems: Vec<String> = (0..4)
            .map(|variant| {
                let body = writer.body(&ScriptRequest {
                    title: "Ceramic mug",
                    description: "Hand-thrown stoneware",
                    language: Language::En,
                    duration_s: 15,
                    style: None,
                    variant,
                });
                body["messages"][0]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert!(!systems[0].contains("Open the hook"));
        let distinct: std::collections::HashSet<&String> = systems.iter().collect();
        assert_eq!(distinct.len(), 4);
        assert!(systems.iter().all(|s| s.contains("exactly 5 items")));
    }
}
