//! The moods a video's music bed can have, and how a job's free-text style
//! picks one. Vocabulary only (no synthesis), so the HTTP functions can
//! check a job's `music` without linking the audio code.

/// What a bed feels like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mood {
    /// Bright pop: mid tempo, plucked eighths, kick and clap.
    Upbeat,
    /// Slow and soft: a warm pad and a music box, no drums.
    Calm,
    /// Unhurried seventh chords on an electric piano, no drums.
    Elegant,
    /// Fast and driving: four-on-the-floor, pumping pad, sixteenth arpeggio.
    Energetic,
}

impl Mood {
    pub const ALL: [Mood; 4] = [Mood::Upbeat, Mood::Calm, Mood::Elegant, Mood::Energetic];

    pub fn parse(s: &str) -> Option<Mood> {
        let s = s.trim();
        Mood::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mood::Upbeat => "upbeat",
            Mood::Calm => "calm",
            Mood::Elegant => "elegant",
            Mood::Energetic => "energetic",
        }
    }

    /// The mood a job's free-text style asks for: the mood of the keyword
    /// that comes first in it (English words match by prefix, so "sporty"
    /// and "calming" count; Chinese ones anywhere). With no keyword, a mood
    /// drawn from `seed`, so different products get different music.
    pub fn for_style(style: Option<&str>, seed: u64) -> Mood {
        let text = style.unwrap_or("").to_lowercase();
        let words: Vec<(usize, &str)> = ascii_words(&text).collect();
        let mut best: Option<(usize, Mood)> = None;
        for &(mood, keywords) in KEYWORDS {
            for keyword in keywords {
                let at = if keyword.is_ascii() {
                    words
                        .iter()
                        .find(|(_, w)| w.starts_with(keyword))
                        .map(|&(at, _)| at)
                } else {
                    text.find(keyword)
                };
                if let Some(at) = at
                    && best.is_none_or(|(first, _)| at < first)
                {
                    best = Some((at, mood));
                }
            }
        }
        match best {
            Some((_, mood)) => mood,
            None => Mood::ALL[(mix64(seed) % Mood::ALL.len() as u64) as usize],
        }
    }
}

impl std::fmt::Display for Mood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const KEYWORDS: &[(Mood, &[&str])] = &[
    (
        Mood::Energetic,
        &[
            "energetic",
            "energy",
            "bold",
            "sport",
            "power",
            "dynamic",
            "intense",
            "action",
            "athlet",
            "fitness",
            "workout",
            "extreme",
            "epic",
            "hype",
            "动感",
            "运动",
            "激情",
            "酷炫",
            "力量",
        ],
    ),
    (
        Mood::Upbeat,
        &[
            "upbeat",
            "lively",
            "fun",
            "playful",
            "happy",
            "cheer",
            "joy",
            "bright",
            "vibrant",
            "colorful",
            "colourful",
            "cute",
            "friendly",
            "young",
            "summer",
            "活泼",
            "欢快",
            "有趣",
            "活力",
            "俏皮",
            "可爱",
            "快乐",
            "热情",
            "青春",
        ],
    ),
    (
        Mood::Calm,
        &[
            "calm", "soft", "cosy", "cozy", "minimal", "gentle", "relax", "quiet", "peace",
            "serene", "tranquil", "natural", "warm", "simple", "clean", "soothing", "安静", "平静",
            "宁静", "温馨", "简约", "柔和", "舒适", "自然", "治愈", "温柔",
        ],
    ),
    (
        Mood::Elegant,
        &[
            "elegan",
            "luxur",
            "premium",
            "classy",
            "sophisticat",
            "refined",
            "classic",
            "chic",
            "exclusive",
            "timeless",
            "graceful",
            "高级",
            "优雅",
            "奢华",
            "高端",
            "质感",
            "精致",
            "典雅",
            "轻奢",
        ],
    ),
];

/// Runs of ASCII letters and digits with their byte offsets.
fn ascii_words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
