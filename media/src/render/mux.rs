//! MP4 (ISO BMFF) muxing of an H.264 stream with the `mp4` crate.

use std::io::Cursor;

use bytes::Bytes;
use mp4::{
    AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType,
};

use super::h264::EncodedFrame;
use crate::MediaError;

/// Ticks per second for the video track: divisible by 24, 25, 30 and 60, so
/// every frame has a whole-tick duration and the total is exact.
const TRACK_TIMESCALE: u32 = 15_360;
/// The writer converts each sample's duration to the movie timescale with
/// integer division; any other movie timescale would round every frame
/// (1000: 33 ms instead of 33.3) and the video would come out short.
const MOVIE_TIMESCALE: u32 = TRACK_TIMESCALE;

pub(crate) struct VideoTrack<'a> {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: u32,
    pub(crate) sps: &'a [u8],
    pub(crate) pps: &'a [u8],
}

/// Writes the frames as one `avc1` track. Each frame comes with its
/// length in frames (1, or more if the encoder ever dropped one).
pub(crate) fn mux(
    track: &VideoTrack,
    frames: &[(EncodedFrame, u32)],
) -> Result<Vec<u8>, MediaError> {
    let err = |e: mp4::Error| MediaError::Encode(format!("mp4: {e}"));
    let brand = |s: &[u8; 4]| FourCC::from(*s);
    let config = Mp4Config {
        major_brand: brand(b"isom"),
        minor_version: 512,
        compatible_brands: vec![
            brand(b"isom"),
            brand(b"iso2"),
            brand(b"avc1"),
            brand(b"mp41"),
        ],
        timescale: MOVIE_TIMESCALE,
    };
    let (width, height) = (dimension(track.width)?, dimension(track.height)?);
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config).map_err(err)?;
    writer
        .add_track(&TrackConfig {
            track_type: TrackType::Video,
            timescale: TRACK_TIMESCALE,
            language: "und".to_owned(),
            media_conf: MediaConfig::AvcConfig(AvcConfig {
                width,
                height,
                seq_param_set: track.sps.to_vec(),
                pic_param_set: track.pps.to_vec(),
            }),
        })
        .map_err(err)?;

    let ticks_per_frame = TRACK_TIMESCALE / track.fps.max(1);
    let mut start_time = 0u64;
    for (frame, length) in frames {
        let duration = ticks_per_frame * length;
        writer
            .write_sample(
                1,
                &Mp4Sample {
                    start_time,
                    duration,
                    rendering_offset: 0,
                    is_sync: frame.is_idr,
                    bytes: Bytes::copy_from_slice(&frame.avcc),
                },
            )
            .map_err(err)?;
        start_time += u64::from(duration);
    }
    writer.write_end().map_err(err)?;
    Ok(writer.into_writer().into_inner())
}

fn dimension(v: u32) -> Result<u16, MediaError> {
    u16::try_from(v).map_err(|_| MediaError::Encode(format!("dimension {v} too large for MP4")))
}
