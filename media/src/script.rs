//! The offline script writer. It can't be clever, so it is honest: the
//! scenes are the seller's own sentences, trimmed to caption length, framed
//! by a hook and a call to action picked from stock phrasings. Picks come from
//! a stable hash of the input, so a retried job writes the same script while
//! different products don't all read alike.

use serde::{Deserialize, Serialize};

use crate::{Language, MediaError};

pub const MIN_SCENES: usize = 1;
pub const MAX_SCENES: usize = 5;
/// Caps in characters (not bytes), generous enough for any provider's output
/// and small enough that a caption fits in a few lines on a portrait frame.
pub const MAX_HOOK_CHARS: usize = 120;
pub const MAX_SCENE_CHARS: usize = 160;
pub const MAX_CTA_CHARS: usize = 120;

#[derive(Debug, Clone, Copy)]
pub struct ScriptInput<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub language: Language,
    pub duration_s: u32,
    pub style: Option<&'a str>,
    /// Which of a product's variants this is (0 for a lone video): each
    /// one opens with a different hook.
    pub variant: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Script {
    pub hook: String,
    pub scenes: Vec<String>,
    pub call_to_action: String,
}

impl Script {
    /// Checks the shape every script must have, whoever wrote it.
    pub fn validate(&self) -> Result<(), MediaError> {
        check_line("hook", &self.hook, MAX_HOOK_CHARS)?;
        if !(MIN_SCENES..=MAX_SCENES).contains(&self.scenes.len()) {
            return Err(MediaError::InvalidScript(format!(
                "{} scenes; a script needs {MIN_SCENES} to {MAX_SCENES}",
                self.scenes.len()
            )));
        }
        for (i, scene) in self.scenes.iter().enumerate() {
            check_line(&format!("scene {}", i + 1), scene, MAX_SCENE_CHARS)?;
        }
        check_line("call to action", &self.call_to_action, MAX_CTA_CHARS)
    }

    /// The captions in screen order: hook, scenes, call to action.
    pub fn captions(&self) -> Vec<&str> {
        std::iter::once(self.hook.as_str())
            .chain(self.scenes.iter().map(String::as_str))
            .chain(std::iter::once(self.call_to_action.as_str()))
            .collect()
    }
}

fn check_line(what: &str, text: &str, max_chars: usize) -> Result<(), MediaError> {
    if text.trim().is_empty() {
        return Err(MediaError::InvalidScript(format!("{what} is empty")));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(MediaError::InvalidScript(format!(
            "{what} has {chars} characters; the limit is {max_chars}"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(MediaError::InvalidScript(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

/// The shortest time a caption stays up: a short line takes about that
/// long to read on a phone, and less reads as flicker.
pub const MIN_CAPTION_S: f64 = 1.5;

/// How long the end card (title, call to action, price, address) closes a
/// video of `duration_s`: a fifth of it, 1.5 to 2.5 s, never over half.
pub fn end_card_seconds(duration_s: u32) -> f64 {
    let d = f64::from(duration_s);
    (d * 0.2).clamp(MIN_CAPTION_S, 2.5).min(d * 0.5)
}

/// How many scenes fit between the hook and the end card when every
/// caption gets at least [`MIN_CAPTION_S`]: 1 in 5 s, 4 in 10 s.
pub fn scene_count(duration_s: u32) -> usize {
    let captions = ((f64::from(duration_s) - end_card_seconds(duration_s)) / MIN_CAPTION_S).floor();
    (captions as usize)
        .saturating_sub(1)
        .clamp(MIN_SCENES, MAX_SCENES)
}

pub fn write(input: &ScriptInput) -> Script {
    let lang = Phrasebook::for_language(input.language);
    let seed = stable_hash(&[
        input.title.as_bytes(),
        input.description.as_bytes(),
        input.language.as_str().as_bytes(),
        input.style.unwrap_or("").as_bytes(),
    ]);
    let tone = Tone::from_style(input.style);

    let title = clean(input.title);
    let title = if title.is_empty() {
        lang.unnamed.to_owned()
    } else {
        truncate(&title, lang.max_title_chars, input.language)
    };

    let hook = fill(pick_nth(lang.hooks(tone), seed, 1, input.variant), &title);
    let call_to_action = fill(pick(lang.ctas(tone), seed, 2), &title);

    let wanted = scene_count(input.duration_s);
    let mut scenes: Vec<String> = phrases(input.description, lang.max_phrase_chars, input.language)
        .into_iter()
        .filter(|p| !p.eq_ignore_ascii_case(&title))
        .map(|p| finish_sentence(&p, input.language))
        .take(wanted)
        .collect();
    // Pad with stock lines, starting at a seed-chosen place and never
    // repeating one, when the description is too thin for every scene.
    let start = (mix(seed, 3) % lang.fillers.len() as u64) as usize;
    let mut fillers = lang.fillers.iter().cycle().skip(start);
    while scenes.len() < wanted.max(MIN_SCENES) {
        match fillers.next() {
            Some(line) if !scenes.iter().any(|s| s == line) => scenes.push((*line).to_owned()),
            Some(_) => {}
            None => break,
        }
    }

    Script {
        hook,
        scenes,
        call_to_action,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Neutral,
    Lively,
    Calm,
}

impl Tone {
    fn from_style(style: Option<&str>) -> Tone {
        const LIVELY: &[&str] = &[
            "energetic",
            "bold",
            "fun",
            "playful",
            "lively",
            "dynamic",
            "upbeat",
            "vibrant",
            "活力",
            "动感",
            "俏皮",
            "热情",
        ];
        const CALM: &[&str] = &[
            "elegant", "luxury", "calm", "minimal", "premium", "soft", "classic", "refined",
            "优雅", "高级", "简约", "奢华", "质感",
        ];
        let style = style.unwrap_or("").to_lowercase();
        if LIVELY.iter().any(|w| style.contains(w)) {
            Tone::Lively
        } else if CALM.iter().any(|w| style.contains(w)) {
            Tone::Calm
        } else {
            Tone::Neutral
        }
    }
}

/// Stock phrasings for one language; `{t}` stands for the product title.
struct Phrasebook {
    unnamed: &'static str,
    max_title_chars: usize,
    max_phrase_chars: usize,
    hooks: [&'static [&'static str]; 3],
    ctas: [&'static [&'static str]; 3],
    fillers: &'static [&'static str],
}

impl Phrasebook {
    fn for_language(language: Language) -> &'static Phrasebook {
        match language {
            Language::En => &EN,
            Language::Zh => &ZH,
        }
    }

    fn hooks(&self, tone: Tone) -> &'static [&'static str] {
        self.hooks[tone as usize]
    }

    fn ctas(&self, tone: Tone) -> &'static [&'static str] {
        self.ctas[tone as usize]
    }
}

static EN: Phrasebook = Phrasebook {
    unnamed: "our latest find",
    max_title_chars: 40,
    max_phrase_chars: 110,
    hooks: [
        &[
            "Meet {t}.",
            "Say hello to {t}.",
            "This is {t}.",
            "Introducing {t}.",
        ],
        &[
            "Stop scrolling: {t} is here!",
            "Ready for an upgrade? Meet {t}!",
            "You'll want {t}. Here's why!",
            "Big news: {t} just landed!",
        ],
        &[
            "Discover {t}.",
            "Quietly brilliant: {t}.",
            "Made to be noticed: {t}.",
            "Take a closer look at {t}.",
        ],
    ],
    ctas: [
        &[
            "Get yours today.",
            "Shop {t} now.",
            "Order now while it lasts.",
            "Tap the link to order.",
        ],
        &[
            "Grab yours now!",
            "Don't miss out: order {t} today!",
            "Tap now and make it yours!",
            "Order today!",
        ],
        &[
            "Find yours today.",
            "Make {t} part of your day.",
            "Discover {t} today.",
            "Treat yourself to {t}.",
        ],
    ],
    fillers: &[
        "Made for everyday moments.",
        "Every detail, thoughtfully done.",
        "See it up close.",
        "Built to last.",
        "A favourite from day one.",
        "Quality you can see and feel.",
    ],
};

static ZH: Phrasebook = Phrasebook {
    unnamed: "这款好物",
    max_title_chars: 16,
    max_phrase_chars: 40,
    hooks: [
        &[
            "认识一下{t}。",
            "全新{t}，来了！",
            "这就是{t}。",
            "为你介绍{t}。",
        ],
        &[
            "别划走！{t}来啦！",
            "想升级？试试{t}！",
            "爆款预警：{t}！",
            "重磅上新：{t}！",
        ],
        &["发现{t}之美。", "静享{t}。", "细看{t}。", "{t}，恰到好处。"],
    ],
    ctas: [
        &[
            "立即下单，马上拥有。",
            "现在就把{t}带回家。",
            "点击链接，立即购买。",
            "喜欢就下单吧。",
        ],
        &[
            "手慢无，马上抢购！",
            "立即下单，把{t}带回家！",
            "快点击购买吧！",
            "现在下单，立刻拥有！",
        ],
        &[
            "把{t}带入你的日常。",
            "今天就拥有{t}。",
            "点击了解更多。",
            "为自己挑一件好物。",
        ],
    ],
    fillers: &[
        "每一个细节都用心打磨。",
        "日常使用，轻松自在。",
        "品质看得见。",
        "经久耐用，值得信赖。",
        "近距离看看细节。",
        "一用就爱上。",
    ],
};

fn fill(template: &str, title: &str) -> String {
    template.replace("{t}", title)
}

fn pick<'a>(options: &[&'a str], seed: u64, salt: u64) -> &'a str {
    pick_nth(options, seed, salt, 0)
}

/// The `nth` option after the seed's pick, so up to `options.len()`
/// variants of one product never share a phrasing.
fn pick_nth<'a>(options: &[&'a str], seed: u64, salt: u64, nth: u32) -> &'a str {
    if options.is_empty() {
        return "";
    }
    let len = options.len() as u64;
    options[((mix(seed, salt) % len + u64::from(nth)) % len) as usize]
}

/// FNV-1a: std's hasher may change between releases, and a script must not
/// change when the toolchain does.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain(std::iter::once(&0xFF)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// Decorrelates picks made from the same seed (splitmix64 finaliser).
pub(crate) fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Collapses whitespace and drops control characters.
fn clean(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3000..=0x303F | 0x3040..=0x30FF | 0x3100..=0x31BF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
        | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

/// Splits a description into caption-sized phrases: sentences first, and
/// sentences too long for a caption at their clause boundaries.
fn phrases(description: &str, max_chars: usize, language: Language) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for sentence in split_keeping(description, is_sentence_end) {
        let sentence = clean(&sentence);
        if sentence.chars().count() <= max_chars {
            push_phrase(&mut out, sentence, language);
            continue;
        }
        // Regroup clauses greedily so a long sentence becomes as few
        // captions as possible, each still readable on its own.
        let mut current = String::new();
        for clause in split_keeping(&sentence, is_clause_end) {
            let clause = clean(&clause);
            let joined = join_clause(&current, &clause, language);
            if joined.chars().count() <= max_chars {
                current = joined;
            } else {
                push_phrase(&mut out, std::mem::take(&mut current), language);
                current = truncate(&clause, max_chars, language);
            }
        }
        push_phrase(&mut out, current, language);
    }
    out
}

fn push_phrase(out: &mut Vec<String>, phrase: String, language: Language) {
    let phrase = phrase
        .trim_matches(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；' | ':' | '：')
        })
        .to_owned();
    let min_chars = match language {
        Language::En => 4,
        Language::Zh => 2,
    };
    if phrase.chars().filter(|c| c.is_alphanumeric()).count() >= min_chars
        && !out.iter().any(|p| p == &phrase)
    {
        out.push(phrase);
    }
}

fn join_clause(current: &str, clause: &str, language: Language) -> String {
    if current.is_empty() {
        clause.to_owned()
    } else if language == Language::Zh || current.ends_with(is_cjk) {
        format!("{current}{clause}")
    } else {
        format!("{current} {clause}")
    }
}

fn is_sentence_end(text: &[char], i: usize) -> bool {
    match text[i] {
        '!' | '?' | ';' | '\n' | '。' | '！' | '？' | '；' | '…' => true,
        // A full stop ends a sentence only before a space or the end, so
        // "3.5 mm" and "e.g." inside words stay whole.
        '.' => text.get(i + 1).is_none_or(|c| c.is_whitespace()),
        _ => false,
    }
}

fn is_clause_end(text: &[char], i: usize) -> bool {
    match text[i] {
        '，' | '、' | '：' => true,
        ',' | ':' => text.get(i + 1).is_none_or(|c| c.is_whitespace()),
        _ => false,
    }
}

/// Splits after every position `is_end` accepts, keeping the terminator.
fn split_keeping(text: &str, is_end: fn(&[char], usize) -> bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        if is_end(&chars, i) {
            parts.push(chars[start..=i].iter().collect());
            start = i + 1;
        }
    }
    if start < chars.len() {
        parts.push(chars[start..].iter().collect());
    }
    parts
}

/// Cuts to `max_chars`, at a word boundary for spaced text, with an ellipsis.
fn truncate(text: &str, max_chars: usize, language: Language) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let keep: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    let keep = match (language, keep.rfind(' ')) {
        (Language::En, Some(space)) if space > keep.len() / 2 => keep[..space].to_owned(),
        _ => keep,
    };
    format!(
        "{}…",
        keep.trim_end_matches(|c: char| c.is_whitespace() || c == ',')
    )
}

/// Captions read better as full sentences: capitalised, with an end mark.
fn finish_sentence(phrase: &str, language: Language) -> String {
    let mut chars = phrase.chars();
    let mut out = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    if out.ends_with(|c: char| c.is_alphanumeric() || c == ')' || c == '"') {
        out.push(if language == Language::Zh || out.ends_with(is_cjk) {
            '。'
        } else {
            '.'
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_but_not_decimals() {
        let p = phrases(
            "Holds 3.5 litres. Dishwasher safe! Light",
            110,
            Language::En,
        );
        assert_eq!(p, ["Holds 3.5 litres.", "Dishwasher safe!", "Light"]);
    }

    #[test]
    fn long_sentences_break_at_clauses() {
        let long = "This jacket keeps you warm on the coldest mornings, dries in minutes after a downpour, packs into its own pocket, and still looks sharp at dinner";
        let p = phrases(long, 60, Language::En);
        assert!(p.len() >= 3, "{p:?}");
        assert!(p.iter().all(|s| s.chars().count() <= 60), "{p:?}");
    }

    #[test]
    fn chinese_splits_on_full_width_marks() {
        let p = phrases(
            "手工上釉的陶瓷杯。保温效果好，洗碗机可用！容量350毫升",
            40,
            Language::Zh,
        );
        assert_eq!(
            p,
            [
                "手工上釉的陶瓷杯。",
                "保温效果好，洗碗机可用！",
                "容量350毫升"
            ]
        );
    }

    #[test]
    fn truncates_at_word_boundary() {
        let t = truncate(
            "An extraordinarily long product name for a mug",
            20,
            Language::En,
        );
        assert!(t.chars().count() <= 20, "{t}");
        assert!(t.ends_with('…'));
        assert!(!t.contains("extraordinarily l…"));
    }
}
