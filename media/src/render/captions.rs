//! Caption layout and rasterisation: text is wrapped, outlined and drawn
//! once into a premultiplied RGBA [`Layer`]; per frame only layers are
//! blended.

use ab_glyph::{Font, PxScale, ScaleFont, point};

use crate::Aspect;
use crate::fonts::{FaceGlyph, FontSet};
use crate::script::is_cjk;

/// Opacity of the rounded box behind caption text, out of 1.
const BOX_ALPHA: f32 = 0.55;
const MAX_LINES: usize = 3;
/// Below this share of the video's width a caption is too small to read on
/// a phone held upright, so it is cut rather than shrunk further.
const MIN_PX_PER_WIDTH: f32 = 0.045;

/// Where the caption box sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Low, clear of the product.
    Lower,
    /// Centred, when there is no product to keep clear of.
    Middle,
}

/// The part of the frame text may use, as fractions (left, right, top,
/// bottom). Short-video apps lay their buttons over the right edge and
/// their captions and controls over the bottom fifth of a 9:16 video.
pub(crate) fn safe_area(aspect: Aspect) -> (f32, f32, f32, f32) {
    match aspect {
        Aspect::Portrait => (0.06, 0.84, 0.10, 0.80),
        Aspect::Landscape | Aspect::Square => (0.06, 0.94, 0.06, 0.92),
    }
}

/// A premultiplied RGBA layer over rows `top..top + height` of a frame,
/// drawn once and blended per frame, which keeps text off the hot path.
pub(crate) struct Layer {
    top: u32,
    width: u32,
    height: u32,
    rgba: Vec<[u8; 4]>,
    /// Pixels where text coverage exceeds one half; proves glyphs were drawn.
    pub(crate) ink: usize,
}

/// How a line of text is drawn.
#[derive(Clone, Copy)]
pub(crate) struct TextStyle {
    pub(crate) px: f32,
    pub(crate) colour: [u8; 3],
    /// Outline colour and width in pixels.
    pub(crate) outline: Option<([u8; 3], f32)>,
}

impl Layer {
    pub(crate) fn new(top: u32, width: u32, height: u32) -> Layer {
        Layer {
            top,
            width,
            height,
            rgba: vec![[0; 4]; (width * height) as usize],
            ink: 0,
        }
    }

    /// Paints `colour` at `alpha` (0..=1 per pixel) over what is there.
    fn paint(&mut self, x: i64, y: i64, colour: [u8; 3], alpha: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let a = alpha.clamp(0.0, 1.0);
        if a <= 0.0 {
            return;
        }
        let dst = &mut self.rgba[(y * i64::from(self.width) + x) as usize];
        let keep = 1.0 - a;
        for ch in 0..3 {
            dst[ch] = (f32::from(colour[ch]) * a + f32::from(dst[ch]) * keep).round() as u8;
        }
        dst[3] = (a * 255.0 + f32::from(dst[3]) * keep).round() as u8;
    }

    /// A filled rectangle with round corners (antialiased), in layer
    /// coordinates.
    pub(crate) fn rounded_rect(
        &mut self,
        (x0, y0, x1, y1): (f32, f32, f32, f32),
        radius: f32,
        colour: [u8; 3],
        alpha: f32,
    ) {
        let r = radius.min((x1 - x0) / 2.0).min((y1 - y0) / 2.0).max(0.0);
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let (hx, hy) = ((x1 - x0) / 2.0 - r, (y1 - y0) / 2.0 - r);
        for y in y0.floor().max(0.0) as i64..y1.ceil() as i64 {
            for x in x0.floor().max(0.0) as i64..x1.ceil() as i64 {
                // Signed distance to the rounded box's edge (negative
                // inside), for an antialiased rim one pixel wide.
                let qx = (x as f32 + 0.5 - cx).abs() - hx;
                let qy = (y as f32 + 0.5 - cy).abs() - hy;
                let outside =
                    (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt() + qx.max(qy).min(0.0) - r;
                let coverage = (0.5 - outside).clamp(0.0, 1.0);
                self.paint(x, y, colour, alpha * coverage);
            }
        }
    }

    /// Draws one line of text centred on `centre_x` with its baseline at
    /// `baseline` (layer coordinates): outline first, then the fill.
    pub(crate) fn text_line(
        &mut self,
        font: &'static FontSet,
        line: &str,
        centre_x: f32,
        baseline: f32,
        style: TextStyle,
    ) {
        let outline = style.outline.map_or(0.0, |(_, w)| w);
        let mask = LineMask::new(font, style.px, line, outline.ceil() as u32 + 1);
        let left = (centre_x - mask.text_width / 2.0).round() as i64 - i64::from(mask.pad);
        let top = (baseline - mask.ascent).round() as i64 - i64::from(mask.pad);
        if let Some((colour, width)) = style.outline {
            let ring = mask.dilated(width);
            ring.paint_into(self, left, top, colour, 1.0);
        }
        self.ink += mask.paint_into(self, left, top, style.colour, 1.0);
    }

    /// Blends the layer onto a packed RGB frame; `opacity` 0..=256 fades it.
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

/// The coverage (0..=1) of one rasterised line of text, with `pad` pixels
/// of room on every side for an outline.
struct LineMask {
    width: u32,
    height: u32,
    pad: u32,
    ascent: f32,
    text_width: f32,
    coverage: Vec<f32>,
}

impl LineMask {
    fn new(font: &'static FontSet, px: f32, line: &str, pad: u32) -> LineMask {
        let (ascent, descent, _) = font.v_metrics(px);
        let text_width = measure(font, px, line);
        let width = text_width.ceil() as u32 + 2 * pad + 2;
        let height = (ascent - descent).ceil() as u32 + 2 * pad + 2;
        let mut mask = LineMask {
            width,
            height,
            pad,
            ascent,
            text_width,
            coverage: vec![0.0; (width * height) as usize],
        };
        let baseline = pad as f32 + ascent;
        let mut caret = pad as f32;
        let mut previous: Option<FaceGlyph> = None;
        let mut cjk = false;
        for c in line.chars() {
            cjk |= is_cjk(c);
            let face = font.glyph(c);
            caret += kern(previous, face, px);
            previous = Some(face);
            let glyph = face.id.with_scale_and_position(px, point(caret, baseline));
            caret += face.font.as_scaled(PxScale::from(px)).h_advance(face.id);
            let Some(outlined) = face.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            let (w, h) = (i64::from(width), i64::from(height));
            let coverage = &mut mask.coverage;
            outlined.draw(|gx, gy, c| {
                let x = bounds.min.x as i64 + i64::from(gx);
                let y = bounds.min.y as i64 + i64::from(gy);
                if x >= 0 && y >= 0 && x < w && y < h {
                    let cell = &mut coverage[(y * w + x) as usize];
                    *cell = cell.max(c.clamp(0.0, 1.0));
                }
            });
        }
        // The CJK face has one weight; a slight dilation makes it as heavy
        // as the bold Latin face next to it.
        if cjk {
            mask = mask.dilated((px / 36.0).max(0.6));
        }
        mask
    }

    /// The mask grown by `radius` pixels with a round brush, for outlines
    /// (and weight); antialiased at the rim.
    fn dilated(&self, radius: f32) -> LineMask {
        let reach = radius.ceil() as i64;
        let offsets: Vec<(i64, i64, f32)> = (-reach..=reach)
            .flat_map(|dy| (-reach..=reach).map(move |dx| (dx, dy)))
            .filter_map(|(dx, dy)| {
                let d = ((dx * dx + dy * dy) as f32).sqrt();
                let weight = (radius + 0.5 - d).clamp(0.0, 1.0);
                (weight > 0.0).then_some((dx, dy, weight))
            })
            .collect();
        let (w, h) = (i64::from(self.width), i64::from(self.height));
        let mut out = vec![0.0f32; self.coverage.len()];
        for y in 0..h {
            for x in 0..w {
                let here = self.coverage[(y * w + x) as usize];
                if here <= 0.0 {
                    continue;
                }
                for &(dx, dy, weight) in &offsets {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx >= 0 && ny >= 0 && nx < w && ny < h {
                        let cell = &mut out[(ny * w + nx) as usize];
                        *cell = cell.max(here * weight);
                    }
                }
            }
        }
        LineMask {
            coverage: out,
            ..*self
        }
    }

    /// Paints the mask at (left, top) of the layer; returns the ink count.
    fn paint_into(
        &self,
        layer: &mut Layer,
        left: i64,
        top: i64,
        colour: [u8; 3],
        alpha: f32,
    ) -> usize {
        let mut ink = 0;
        for y in 0..i64::from(self.height) {
            for x in 0..i64::from(self.width) {
                let c = self.coverage[(y * i64::from(self.width) + x) as usize];
                if c <= 0.0 {
                    continue;
                }
                if c > 0.5 {
                    ink += 1;
                }
                layer.paint(left + x, top + y, colour, c * alpha);
            }
        }
        ink
    }
}

impl Clone for LineMask {
    fn clone(&self) -> Self {
        LineMask {
            coverage: self.coverage.clone(),
            ..*self
        }
    }
}

/// Text wrapped into at most `max_lines` lines of `max_width`, shrunk down
/// to `min_px` first and cut with an ellipsis only past that.
pub(crate) fn fit(
    font: &'static FontSet,
    text: &str,
    px: f32,
    min_px: f32,
    max_width: f32,
    max_lines: usize,
) -> (f32, Vec<String>) {
    let mut px = px;
    let mut lines = wrap(font, px, text, max_width);
    while lines.len() > max_lines && px * 0.92 >= min_px {
        px *= 0.92;
        lines = wrap(font, px, text, max_width);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = ellipsize(font, px, last, max_width);
        }
    }
    (px, lines)
}

/// One caption: bold white text with a dark outline on a translucent
/// rounded box, inside the aspect's safe area.
pub(crate) fn caption(
    font: &'static FontSet,
    text: &str,
    aspect: Aspect,
    emphasis: bool,
    placement: Placement,
) -> Layer {
    let (w, h) = aspect.video_size();
    let (fw, fh) = (w as f32, h as f32);
    let (left, right, top_edge, bottom_edge) = safe_area(aspect);
    let unit = fw.min(fh);
    let base = unit * if emphasis { 0.078 } else { 0.066 };
    let pad_x = unit * 0.035;
    let max_width = (right - left) * fw - 2.0 * pad_x;
    let (px, lines) = fit(
        font,
        text,
        base,
        unit * MIN_PX_PER_WIDTH,
        max_width,
        MAX_LINES,
    );

    let (ascent, descent, line_gap) = font.v_metrics(px);
    let line_height = (ascent - descent + line_gap).max(px) * 1.08;
    let pad_y = px * 0.4;
    let box_height = lines.len() as f32 * line_height + 2.0 * pad_y;
    let widest = lines
        .iter()
        .map(|l| measure(font, px, l))
        .fold(0.0f32, f32::max);
    let box_width = widest + 2.0 * pad_x;
    let centre_x = (left + right) / 2.0 * fw;
    let box_top = match placement {
        // Low enough to leave the product visible, its bottom on the safe
        // area's edge.
        Placement::Lower => bottom_edge * fh - box_height - unit * 0.02,
        Placement::Middle => (top_edge + bottom_edge) / 2.0 * fh - box_height / 2.0,
    };
    // The layer covers only the box's rows (plus the outline's reach).
    let margin = (px * 0.2).ceil();
    let layer_top = (box_top - margin).clamp(0.0, fh - 1.0) as u32;
    let layer_height = ((box_height + 2.0 * margin).ceil() as u32).min(h - layer_top);
    let mut layer = Layer::new(layer_top, w, layer_height);
    let y0 = box_top - layer_top as f32;
    layer.rounded_rect(
        (
            centre_x - box_width / 2.0,
            y0,
            centre_x + box_width / 2.0,
            y0 + box_height,
        ),
        px * 0.35,
        [0, 0, 0],
        BOX_ALPHA,
    );
    let style = TextStyle {
        px,
        colour: [255, 255, 255],
        outline: Some(([0, 0, 0], (px / 16.0).max(1.5))),
    };
    for (i, line) in lines.iter().enumerate() {
        let baseline =
            y0 + pad_y + i as f32 * line_height + (line_height - (ascent - descent)) / 2.0 + ascent;
        layer.text_line(font, line, centre_x, baseline, style);
    }
    layer
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
    fn boxes_fill_their_inside_and_round_their_corners() {
        let mut layer = Layer::new(0, 100, 60);
        layer.rounded_rect((0.0, 0.0, 100.0, 60.0), 0.0, [0, 0, 0], 0.5);
        assert!(
            layer.rgba.iter().all(|p| p[3] == 128),
            "a square box is even"
        );
        let mut layer = Layer::new(0, 100, 60);
        layer.rounded_rect((10.0, 10.0, 90.0, 50.0), 12.0, [255, 255, 255], 1.0);
        let at = |x: usize, y: usize| layer.rgba[y * 100 + x][3];
        assert_eq!((at(50, 30), at(11, 30), at(50, 11)), (255, 255, 255));
        assert_eq!((at(10, 10), at(5, 5)), (0, 0), "corners are cut");
    }

    #[test]
    fn chinese_captions_rasterise_ink() {
        let font = caption_fonts().expect("bundled font loads");
        let strip = caption(
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
