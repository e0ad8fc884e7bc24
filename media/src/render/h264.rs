//! H.264 encoding with OpenH264 (compiled from its bundled source, so no
//! system library or network is needed), and the Annex-B to MP4 conversion.

use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, Profile,
    RateControlMode, UsageType, VuiConfig,
};
use openh264::formats::YUVBuffer;

use crate::MediaError;

/// One encoded picture, ready to be an MP4 sample.
pub(crate) struct EncodedFrame {
    /// NAL units each prefixed with its 4-byte big-endian length (AVCC).
    pub(crate) avcc: Vec<u8>,
    pub(crate) is_idr: bool,
}

pub(crate) struct H264Encoder {
    encoder: Encoder,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

impl H264Encoder {
    pub(crate) fn new(width: u32, height: u32, fps: u32) -> Result<H264Encoder, MediaError> {
        // ~2.7 bits per pixel per second: 2.5 Mbit/s at 720p, where slow
        // camera moves over a photo look clean.
        let bitrate = (f64::from(width) * f64::from(height) * 2.7) as u32;
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(bitrate))
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            // Every frame must come out: a skipped one would leave the video
            // a frame short. (OpenH264 prints one warning at start-up that
            // it can't then hold the bitrate strictly; it stays close, and
            // the buffer-based and fixed-QP modes measured here gave files
            // 2.5x larger or visibly blockier.)
            .skip_frames(false)
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            // Main, not the Constrained Baseline OpenH264 signals by
            // default: some phone galleries and social apps re-encode or
            // refuse Baseline uploads. The stream uses no tool Main lacks
            // (no FMO, ASO or redundant slices), so the label is true.
            .profile(Profile::Main)
            // A keyframe every 2 s so players can seek.
            .intra_frame_period(IntraFramePeriod::from_num_frames(fps * 2))
            // OpenH264's RGB conversion uses BT.601 limited-range weights;
            // without saying so, players assume BT.709 for HD and shift hues.
            .vui(VuiConfig::bt601());
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| MediaError::Encode(e.to_string()))?;
        Ok(H264Encoder {
            encoder,
            sps: None,
            pps: None,
        })
    }

    /// Encodes one frame. `None` means the encoder produced nothing for it.
    pub(crate) fn encode(&mut self, yuv: &YUVBuffer) -> Result<Option<EncodedFrame>, MediaError> {
        let stream = self
            .encoder
            .encode(yuv)
            .map_err(|e| MediaError::Encode(e.to_string()))?;
        let annex_b = stream.to_vec();
        let mut avcc = Vec::with_capacity(annex_b.len() + 16);
        let mut is_idr = false;
        for nal in split_annex_b(&annex_b) {
            let Some(&header) = nal.first() else { continue };
            // Parameter sets live once in the track header (avcC), as the
            // `avc1` sample entry expects; access unit delimiters are noise.
            match header & 0x1F {
                NAL_SPS => {
                    self.sps.get_or_insert_with(|| nal.to_vec());
                }
                NAL_PPS => {
                    self.pps.get_or_insert_with(|| nal.to_vec());
                }
                NAL_AUD => {}
                kind => {
                    is_idr |= kind == NAL_IDR;
                    let len = u32::try_from(nal.len())
                        .map_err(|_| MediaError::Encode("NAL unit too large".into()))?;
                    avcc.extend_from_slice(&len.to_be_bytes());
                    avcc.extend_from_slice(nal);
                }
            }
        }
        Ok((!avcc.is_empty()).then_some(EncodedFrame { avcc, is_idr }))
    }

    pub(crate) fn parameter_sets(&self) -> Option<(&[u8], &[u8])> {
        Some((self.sps.as_deref()?, self.pps.as_deref()?))
    }
}

/// Splits an Annex-B byte stream at its 3- or 4-byte start codes.
pub(crate) fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut nals = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i + 2 < stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            if let Some(s) = start {
                // A 4-byte start code's leading zero belongs to it, not to
                // the previous NAL (which can't end in a zero byte).
                let end = if i > s && stream[i - 1] == 0 {
                    i - 1
                } else {
                    i
                };
                nals.push(&stream[s..end]);
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        nals.push(&stream[s..]);
    }
    nals.retain(|n| !n.is_empty());
    nals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let nals = split_annex_b(&stream);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
    }

    #[test]
    fn no_start_code_means_no_nals() {
        assert!(split_annex_b(&[1, 2, 3, 4]).is_empty());
    }
}
