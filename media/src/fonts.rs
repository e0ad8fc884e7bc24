//! The caption fonts, compiled into the binary so rendering never depends on
//! what fonts a host (or a Lambda image) happens to have installed.
//!
//! Two faces, both Apache-2.0 (see assets/fonts/): Roboto Bold for Latin
//! text, whose heavy strokes stay legible over moving video on a phone, and Droid Sans
//! Fallback Full for CJK, which Roboto lacks (and which lacks Latin).

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont};

use crate::MediaError;

static LATIN_BYTES: &[u8] = include_bytes!("../assets/fonts/Roboto-Bold.ttf");
static CJK_BYTES: &[u8] = include_bytes!("../assets/fonts/DroidSansFallbackFull.ttf");

pub(crate) struct FontSet {
    latin: FontRef<'static>,
    cjk: FontRef<'static>,
}

/// A glyph resolved to the face that has it.
#[derive(Clone, Copy)]
pub(crate) struct FaceGlyph {
    pub(crate) font: &'static FontRef<'static>,
    pub(crate) id: GlyphId,
}

impl FontSet {
    /// The face that can draw `c`: Latin first, CJK as the fallback.
    pub(crate) fn glyph(&'static self, c: char) -> FaceGlyph {
        let id = self.latin.glyph_id(c);
        if id.0 != 0 {
            return FaceGlyph {
                font: &self.latin,
                id,
            };
        }
        FaceGlyph {
            font: &self.cjk,
            id: self.cjk.glyph_id(c),
        }
    }

    /// True when some face has a real glyph (not the missing-glyph box).
    #[cfg(test)]
    pub(crate) fn covers(&'static self, c: char) -> bool {
        self.glyph(c).id.0 != 0
    }

    /// (ascent, descent, line gap) at `px`, taking the larger of both faces
    /// so mixed lines never overlap.
    pub(crate) fn v_metrics(&self, px: f32) -> (f32, f32, f32) {
        let scale = PxScale::from(px);
        let (a, b) = (self.latin.as_scaled(scale), self.cjk.as_scaled(scale));
        (
            a.ascent().max(b.ascent()),
            a.descent().min(b.descent()),
            a.line_gap().max(b.line_gap()),
        )
    }
}

pub(crate) fn caption_fonts() -> Result<&'static FontSet, MediaError> {
    static FONTS: OnceLock<Option<FontSet>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(FontSet {
                latin: FontRef::try_from_slice(LATIN_BYTES).ok()?,
                cjk: FontRef::try_from_slice(CJK_BYTES).ok()?,
            })
        })
        .as_ref()
        .ok_or_else(|| MediaError::Encode("the bundled caption fonts failed to load".into()))
}
