//! The end card every video finishes on: the product's name, the call to
//! action and, when the seller gave them, the price and the shop's address,
//! over a darkened last shot, inside the aspect's safe area.

use super::captions::{Layer, TextStyle, fit, measure, safe_area};
use crate::Aspect;
use crate::fonts::FontSet;

/// What the end card says. `price` and `url` are the seller's, optional.
#[derive(Debug, Clone, Copy)]
pub struct EndCard<'a> {
    pub title: &'a str,
    pub call_to_action: &'a str,
    pub price: Option<&'a str>,
    pub url: Option<&'a str>,
}

/// How dark the shot behind the card gets, out of 1.
const SCRIM_ALPHA: f32 = 0.62;
const ACCENT: [u8; 3] = [255, 210, 63];
const INK: [u8; 3] = [24, 24, 28];
const WHITE: [u8; 3] = [255, 255, 255];

/// A shop address as people read it: no scheme, no trailing slash.
pub(crate) fn display_url(url: &str) -> String {
    let url = url.trim();
    let bare = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    bare.trim_end_matches('/').to_owned()
}

/// The card as a full-frame layer.
pub(crate) fn layer(font: &'static FontSet, card: &EndCard, aspect: Aspect) -> Layer {
    let (w, h) = aspect.video_size();
    let (fw, fh) = (w as f32, h as f32);
    let (left, right, top_edge, bottom_edge) = safe_area(aspect);
    let unit = fw.min(fh);
    let max_width = (right - left) * fw;
    let centre_x = (left + right) / 2.0 * fw;

    let mut layer = Layer::new(0, w, h);
    layer.rounded_rect((0.0, 0.0, fw, fh), 0.0, [0, 0, 0], SCRIM_ALPHA);

    // Each block: its lines, its style, and a pill behind it or not.
    struct Block {
        lines: Vec<String>,
        style: TextStyle,
        pill: bool,
    }
    // One block of text: sized down from `px` to `min_px` to fit `lines`
    // lines, white and outlined unless it sits on the accent pill.
    let block = |text: &str,
                 px: f32,
                 min_px: f32,
                 width: f32,
                 lines: usize,
                 colour: [u8; 3],
                 pill: bool| {
        let (px, lines) = fit(font, text, unit * px, unit * min_px, width, lines);
        Block {
            lines,
            style: TextStyle {
                px,
                colour,
                outline: (!pill).then(|| ([0u8, 0, 0], (px / 18.0).max(1.2))),
            },
            pill,
        }
    };
    let mut blocks = vec![block(card.title, 0.095, 0.06, max_width, 2, WHITE, false)];
    if let Some(price) = card.price.map(str::trim).filter(|p| !p.is_empty()) {
        blocks.push(block(price, 0.075, 0.05, max_width * 0.8, 1, INK, true));
    }
    blocks.push(block(
        card.call_to_action,
        0.064,
        0.045,
        max_width,
        2,
        WHITE,
        false,
    ));
    if let Some(url) = card.url.map(display_url).filter(|u| !u.is_empty()) {
        blocks.push(block(&url, 0.048, 0.035, max_width, 1, ACCENT, false));
    }

    let line_height = |px: f32| {
        let (ascent, descent, gap) = font.v_metrics(px);
        (ascent - descent + gap).max(px) * 1.1
    };
    let gap = unit * 0.045;
    let block_height = |b: &Block| {
        let pill_pad = if b.pill { b.style.px * 0.5 } else { 0.0 };
        b.lines.len() as f32 * line_height(b.style.px) + 2.0 * pill_pad
    };
    let total: f32 = blocks.iter().map(block_height).sum::<f32>() + gap * (blocks.len() - 1) as f32;
    let mut y = ((top_edge + bottom_edge) / 2.0 * fh - total / 2.0).max(top_edge * fh);
    for block in &blocks {
        let px = block.style.px;
        let (ascent, descent, _) = font.v_metrics(px);
        let lh = line_height(px);
        let pill_pad = if block.pill { px * 0.5 } else { 0.0 };
        if block.pill {
            let widest = block
                .lines
                .iter()
                .map(|l| measure(font, px, l))
                .fold(0.0f32, f32::max);
            let half = widest / 2.0 + px * 0.7;
            let height = block_height(block);
            layer.rounded_rect(
                (centre_x - half, y, centre_x + half, y + height),
                height / 2.0,
                ACCENT,
                1.0,
            );
        }
        for (i, line) in block.lines.iter().enumerate() {
            let baseline = y + pill_pad + i as f32 * lh + (lh - (ascent - descent)) / 2.0 + ascent;
            layer.text_line(font, line, centre_x, baseline, block.style);
        }
        y += block_height(block) + gap;
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fonts::caption_fonts;

    #[test]
    fn addresses_read_without_their_scheme() {
        assert_eq!(
            display_url("https://shop.example.com/mug/"),
            "shop.example.com/mug"
        );
        assert_eq!(display_url("shop.example.com"), "shop.example.com");
    }

    #[test]
    fn the_card_draws_every_part() {
        let font = caption_fonts().expect("fonts");
        let bare = layer(
            font,
            &EndCard {
                title: "Aurora Mug",
                call_to_action: "Order yours today",
                price: None,
                url: None,
            },
            Aspect::Portrait,
        );
        let full = layer(
            font,
            &EndCard {
                title: "Aurora Mug",
                call_to_action: "Order yours today",
                price: Some("$24"),
                url: Some("https://shop.example.com/mug"),
            },
            Aspect::Portrait,
        );
        assert!(bare.ink > 1000, "{}", bare.ink);
        assert!(full.ink > bare.ink + 300, "{} vs {}", full.ink, bare.ink);
    }
}
