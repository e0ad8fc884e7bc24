//! Caption layout and rasterisation. Each caption is drawn once into a
//! premultiplied RGBA strip (band, shadow, text) the width of the frame; per
//! frame only that strip is blended, which keeps text off the hot path.

use ab_glyph::{Font, PxScale, ScaleFont, point};

use crate::Aspect;
use crate::fonts::{FaceGlyph, FontSet};
use crate::script::is_cjk;

/// Darkness of the band behind the text, out of 1.
const BAND_ALPHA: f32 = 0.5;
const SHADOW_ALPHA: f32 = 0.6;
const MAX_LINES: usize = 3;

/// Where the caption band sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Lower third, clear of the product.
    Lower,
    /// Centred, when there is no product to keep clear of.
    Middle,
}

pub(crate) struct CaptionStrip {
    /// First frame row the strip covers.
    top: u32,
    width: u32,
    height: u32,
    /// Premultiplied RGBA, row-major.
    rgba: Vec<[u8; 4]>,
    /// Pixels where text coverage exceeds one half; proves glyphs were drawn.
    pub(crate) ink: usize,
}

impl CaptionStrip {
    pub(crate) fn new(
        font: &'static FontSet,
        text: &str,
        aspect: Aspect,
        emphasis: bool,
        placement: Placement,
    ) -> CaptionStrip {
        let (w, h) = aspect.video_size();
        let base = w.min(h) as f32 * if emphasis { 0.072 } else { 0.062 };
        let max_width = w as f32 * 0.86;

        // Shrink until the caption fits in MAX_LINES; past 60% of the base
        // size the text would be unreadable, so cut it instead.
        let mut px = base;
        let mut lines = wrap(font, px, text, max_width);
        while lines.len() > MAX_LINES && px > base * 0.6 {
            px *= 0.9;
            lines = wrap(font, px, text, max_width);
        }
        if lines.len() > MAX_LINES {
            lines.truncate(MAX_LINES);
            if let Some(last) = lines.last_mut() {
                *last = ellipsize(font, px, last, max_width);
            }
        }

        let (ascent, descent, line_gap) = font.v_metrics(px);
        let glyph_height = ascent - descent;
        let line_height = (glyph_height + line_gap).max(px) * 1.1;
        let pad = (px * 0.55).round();
        let height = (lines.len() as f32 * line_height + 2.0 * pad).ceil() as u32;
        let height = height.min(h);
        let centre = h as f32
            * match (placement, aspect) {
                (Placement::Middle, _) => 0.5,
                // Low enough to leave the product visible, high enough to
                // clear players' and apps' controls (taller in portrait).
                (Placement::Lower, Aspect::Portrait) => 0.74,
                (Placement::Lower, _) => 0.80,
            };
        let top = (centre - height as f32 / 2.0).clamp(0.0, (h - height) as f32) as u32;

        let mut strip = CaptionStrip {
            top,
            width: w,
            height,
            rgba: vec![[0; 4]; (w * height) as usize],
            ink: 0,
        };
        strip.fill_band(pad * 0.6);

        let shadow = (px / 22.0).max(1.5);
        for (i, line) in lines.iter().enumerate() {
            let line_width = measure(font, px, line);
            let x = (w as f32 - line_width) / 2.0;
            let baseline =
                pad + ascent + i as f32 * line_height + (line_height - glyph_height) / 2.0;
            strip.draw_text(
                font,
                px,
                line,
                x + shadow,
                baseline + shadow,
                [0.0; 3],
                SHADOW_ALPHA,
                false,
            );
            strip.draw_text(font, px, line, x, baseline, [1.0; 3], 1.0, true);
        }
        strip
    }

    /// A black band across the strip whose top and bottom edges fade out,
    /// so it doesn't read as a hard box pasted on the picture.
    fn fill_band(&mut self, feather: f32) {
        for y in 0..self.height {
            let from_edge = (y as f32 + 0.5).min(self.height as f32 - y as f32 - 0.5);
            let alpha = BAND_ALPHA * (from_edge / feather.max(1.0)).min(1.0);
            let a = (alpha * 255.0).round() as u8;
            let row = (y * self.width) as usize;
            self.rgba[row..row + self.width as usize].fill([0, 0, 0, a]);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_text(
        &mut self,
        font: &'static FontSet,
        px: f32,
        line: &str,
        x: f32,
        baseline: f32,
        colour: [f32; 3],
        alpha: f32,
        count_ink: bool,
    ) {
        let mut caret = x;
        let mut previous: Option<FaceGlyph> = None;
        for c in line.chars() {
            let face = font.glyph(c);
            caret += kern(previous, face, px);
            previous = Some(face);
            let glyph = face.id.with_scale_and_position(px, point(caret, baseline));
            caret += face.font.as_scaled(PxScale::from(px)).h_advance(face.id);
            let Some(outlined) = face.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            let (width, height) = (self.width as i64, self.height as i64);
            let mut ink = 0;
            let rgba = &mut self.rgba;
            outlined.draw(|gx, gy, coverage| {
                let px_x = bounds.min.x as i64 + i64::from(gx);
                let px_y = bounds.min.y as i64 + i64::from(gy);
                if px_x < 0 || px_y < 0 || px_x >= width || px_y >= height {
                    return;
                }
                let a = (coverage.clamp(0.0, 1.0) * alpha).min(1.0);
                if coverage > 0.5 {
                    ink += 1;
                }
                let dst = &mut rgba[(px_y * width + px_x) as usize];
                // Premultiplied "source over".
                let keep = 1.0 - a;
                for ch in 0..3 {
                    dst[ch] = (colour[ch] * a * 255.0 + f32::from(dst[ch]) * keep).round() as u8;
                }
                dst[3] = (a * 255.0 + f32::from(dst[3]) * keep).round() as u8;
            });
            if count_ink {
                self.ink += ink;
            }
        }
    }

    /// Blends the strip onto a packed RGB frame; `opacity` 0..=256 fades it.
    pub(crate) fn blend_onto(&self, frame: &mut [u8], opacity: u32) {
        if opacity == 0 {
            return;
        }
        let start = (self.top * self.width * 3) as usize;
        let end = start + (self.height * self.width * 3) as usize;
        let Some(rows) = frame.get_mut(start..end) else {
            return;
        };
        for (px, src) in rows.chunks_exact_mut(3).zip(&self.rgba) {
            let a = (u32::from(src[3]) * opacity) >> 8;
            if a == 0 {
                continue;
            }
            let keep = 255 - a;
            for ch in 0..3 {
                let colour = (u32::from(src[ch]) * opacity) >> 8;
                px[ch] = (div255(u32::from(px[ch]) * keep) + colour).min(255) as u8;
            }
        }
    }
}

#[inline]
fn div255(x: u32) -> u32 {
    (x + 128 + ((x + 128) >> 8)) >> 8
}

/// Kerning applies only between two glyphs of the same face.
fn kern(previous: Option<FaceGlyph>, next: FaceGlyph, px: f32) -> f32 {
    match previous {
        Some(prev) if std::ptr::eq(prev.font, next.font) => next
            .font
            .as_scaled(PxScale::from(px))
            .kern(prev.id, next.id),
        _ => 0.0,
    }
}

pub(crate) fn measure(font: &'static FontSet, px: f32, text: &str) -> f32 {
    let mut width = 0.0;
    let mut previous: Option<FaceGlyph> = None;
    for c in text.chars() {
        let face = font.glyph(c);
        width +=
            kern(previous, face, px) + face.font.as_scaled(PxScale::from(px)).h_advance(face.id);
        previous = Some(face);
    }
    width
}

/// Characters that must not start a line (they close what came before).
fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '！'
            | '？'
            | '、'
            | '；'
            | '：'
            | '”'
            | '’'
            | '）'
            | '》'
            | '」'
            | '』'
            | '…'
            | ','
            | '.'
            | '!'
            | '?'
            | ';'
            | ':'
            | ')'
            | '"'
            | '\''
    )
}

/// Characters that must not end a line (they open what comes next).
fn is_opening(c: char) -> bool {
    matches!(c, '“' | '‘' | '（' | '《' | '「' | '『' | '(')
}

/// A run of text that is never split across lines, and whether a space
/// separated it from the previous one.
struct Unit {
    text: String,
    space_before: bool,
}

/// Words for spaced scripts, single characters for CJK (which has no spaces
/// and may break between any two characters), with punctuation kept on the
/// correct side of a break.
fn units(text: &str) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let mut space = false;
    let mut glue_next = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let joins_previous = !space
            && out.last().is_some_and(|last| {
                glue_next
                    || is_closing(c)
                    || !(is_cjk(c) || last.text.chars().last().is_some_and(is_cjk))
            });
        match out.last_mut() {
            Some(last) if joins_previous => last.text.push(c),
            _ => out.push(Unit {
                text: c.to_string(),
                space_before: space && !out.is_empty(),
            }),
        }
        glue_next = is_opening(c);
        space = false;
    }
    out
}

pub(crate) fn wrap(font: &'static FontSet, px: f32, text: &str, max_width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for unit in units(text) {
        let candidate = if current.is_empty() {
            unit.text.clone()
        } else if unit.space_before {
            format!("{current} {}", unit.text)
        } else {
            format!("{current}{}", unit.text)
        };
        if measure(font, px, &candidate) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // A single word wider than the frame (a long URL, say) is broken
        // wherever it has to be.
        for c in unit.text.chars() {
            current.push(c);
            if measure(font, px, &current) > max_width && current.chars().count() > 1 {
                current.pop();
                lines.push(std::mem::replace(&mut current, c.to_string()));
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn ellipsize(font: &'static FontSet, px: f32, line: &str, max_width: f32) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    loop {
        let candidate: String = chars.iter().collect::<String>() + "…";
        if chars.is_empty() || measure(font, px, &candidate) <= max_width {
            return candidate;
        }
        chars.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fonts::caption_fonts;

    #[test]
    fn the_font_has_latin_and_chinese_glyphs() {
        let font = caption_fonts().expect("bundled font loads");
        for c in "Glimvid 立即下单，马上拥有！"
            .chars()
            .filter(|c| !c.is_whitespace())
        {
            assert!(font.covers(c), "no glyph for {c:?}");
        }
    }

    #[test]
    fn chinese_captions_rasterise_ink() {
        let font = caption_fonts().expect("bundled font loads");
        let strip = CaptionStrip::new(
            font,
            "手工上釉的陶瓷杯，保温一整天。",
            Aspect::Portrait,
            false,
            Placement::Lower,
        );
        assert!(strip.ink > 500, "only {} ink pixels", strip.ink);
    }

    #[test]
    fn cjk_wraps_per_character_and_fits() {
        let font = caption_fonts().expect("bundled font loads");
        let text =
            "这是一段很长很长的中文字幕，用来检查换行是否按字符进行并且每一行都不超过画面宽度。";
        let lines = wrap(font, 44.0, text, 400.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| measure(font, 44.0, l) <= 400.0));
        assert_eq!(lines.concat(), text);
        assert!(
            lines.iter().skip(1).all(|l| !l.starts_with(is_closing)),
            "{lines:?}"
        );
    }

    #[test]
    fn latin_wraps_at_spaces() {
        let font = caption_fonts().expect("bundled font loads");
        let lines = wrap(
            font,
            40.0,
            "Hand glazed stoneware that keeps coffee hot for hours",
            300.0,
        );
        assert!(lines.len() > 1);
        assert_eq!(
            lines.join(" "),
            "Hand glazed stoneware that keeps coffee hot for hours"
        );
    }
}
