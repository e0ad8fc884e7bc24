/// The video lengths a job may ask for, in seconds.
pub const MIN_DURATION_S: u32 = 1;
pub const MAX_DURATION_S: u32 = 60;

/// The video's shape. Stored and sent as "9:16", "16:9" or "1:1".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aspect {
    /// 9:16, for stories and short-video feeds.
    Portrait,
    /// 16:9, for web pages and players.
    Landscape,
    /// 1:1, for feeds that crop everything square.
    Square,
}

impl Aspect {
    pub const ALL: [Aspect; 3] = [Aspect::Portrait, Aspect::Landscape, Aspect::Square];

    pub fn parse(s: &str) -> Option<Aspect> {
        match s.trim() {
            "9:16" => Some(Aspect::Portrait),
            "16:9" => Some(Aspect::Landscape),
            "1:1" => Some(Aspect::Square),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aspect::Portrait => "9:16",
            Aspect::Landscape => "16:9",
            Aspect::Square => "1:1",
        }
    }

    /// Output video size in pixels (both even, as 4:2:0 H.264 needs).
    pub fn video_size(self) -> (u32, u32) {
        match self {
            Aspect::Portrait => (720, 1280),
            Aspect::Landscape => (1280, 720),
            Aspect::Square => (720, 720),
        }
    }

    /// Width over height.
    pub fn ratio(self) -> f64 {
        let (w, h) = self.video_size();
        f64::from(w) / f64::from(h)
    }
}

impl std::fmt::Display for Aspect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language of the script and captions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    Zh,
}

impl Language {
    pub fn parse(s: &str) -> Option<Language> {
        match s.trim() {
            "en" => Some(Language::En),
            "zh" => Some(Language::Zh),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
