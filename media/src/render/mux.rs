//! MP4 (ISO BMFF) muxing of an H.264 stream and an optional AAC stream with
//! the `mp4` crate, rearranged for playback over a network: the `mp4`
//! writer puts `moov` after the media (it only knows the sample tables at
//! the end) and leaves the `vmhd` flags at 0, so the finished file is read
//! back, patched and written out again as ftyp, moov, mdat ("fast start").

use std::io::{Cursor, Seek, SeekFrom};

use bytes::Bytes;
use mp4::{
    AacConfig, AudioObjectType, AvcConfig, BoxHeader, BoxType, ChannelConfig, FourCC, MediaConfig,
    MoovBox, Mp4Box, Mp4Config, Mp4Sample, Mp4Writer, ReadBox, SampleFreqIndex, TrackConfig,
    TrackType, WriteBox,
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
/// Samples per channel in one AAC-LC access unit.
const AAC_FRAME_SAMPLES: u32 = 1024;

pub(crate) struct VideoTrack<'a> {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: u32,
    pub(crate) sps: &'a [u8],
    pub(crate) pps: &'a [u8],
}

/// An AAC-LC stream: raw access units of 1024 samples per channel.
pub(crate) struct AudioTrack<'a> {
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    pub(crate) bitrate: u32,
    /// Already free of the encoder's start-up delay (see `audio`), so the
    /// track needs no edit list to start with the picture.
    pub(crate) frames: &'a [Vec<u8>],
}

fn err(e: mp4::Error) -> MediaError {
    MediaError::Encode(format!("mp4: {e}"))
}

/// Writes the frames as an `avc1` track (each frame comes with its length
/// in frames: 1, or more if the encoder ever dropped one) and the audio, if
/// any, as an `mp4a` track, interleaved about once a second.
pub(crate) fn mux(
    video: &VideoTrack,
    frames: &[(EncodedFrame, u32)],
    audio: Option<&AudioTrack>,
) -> Result<Vec<u8>, MediaError> {
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
    let (width, height) = (dimension(video.width)?, dimension(video.height)?);
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config).map_err(err)?;
    writer
        .add_track(&TrackConfig {
            track_type: TrackType::Video,
            timescale: TRACK_TIMESCALE,
            language: "und".to_owned(),
            media_conf: MediaConfig::AvcConfig(AvcConfig {
                width,
                height,
                seq_param_set: video.sps.to_vec(),
                pic_param_set: video.pps.to_vec(),
            }),
        })
        .map_err(err)?;
    if let Some(audio) = audio {
        writer
            .add_track(&TrackConfig {
                track_type: TrackType::Audio,
                timescale: audio.sample_rate,
                language: "und".to_owned(),
                media_conf: MediaConfig::AacConfig(AacConfig {
                    bitrate: audio.bitrate,
                    profile: AudioObjectType::AacLowComplexity,
                    freq_index: freq_index(audio.sample_rate)?,
                    chan_conf: channel_config(audio.channels)?,
                }),
            })
            .map_err(err)?;
    }

    let ticks_per_frame = TRACK_TIMESCALE / video.fps.max(1);
    let mut video_time = 0u64;
    let mut audio_frames = audio.map(|a| a.frames.iter()).into_iter().flatten();
    let mut audio_time = 0u64;
    for (frame, length) in frames {
        let duration = ticks_per_frame * length;
        write(
            &mut writer,
            1,
            video_time,
            duration,
            frame.is_idr,
            &frame.avcc,
        )?;
        video_time += u64::from(duration);
        // Audio up to the picture's time, so both tracks' chunks alternate
        // and a player reading from the start finds both early.
        if let Some(audio) = audio {
            let rate = u64::from(audio.sample_rate);
            while (audio_time + u64::from(AAC_FRAME_SAMPLES)) * u64::from(TRACK_TIMESCALE)
                <= video_time * rate
            {
                let Some(bytes) = audio_frames.next() else {
                    break;
                };
                write(&mut writer, 2, audio_time, AAC_FRAME_SAMPLES, true, bytes)?;
                audio_time += u64::from(AAC_FRAME_SAMPLES);
            }
        }
    }
    // Sound past the picture's end is left out, so the movie is exactly as
    // long as its video (the sound is at most one frame, 21 ms, short).
    if let Some(audio) = audio {
        let rate = u64::from(audio.sample_rate);
        for bytes in audio_frames {
            let end = audio_time + u64::from(AAC_FRAME_SAMPLES);
            if end * u64::from(TRACK_TIMESCALE) > video_time * rate {
                break;
            }
            write(&mut writer, 2, audio_time, AAC_FRAME_SAMPLES, true, bytes)?;
            audio_time = end;
        }
    }
    writer.write_end().map_err(err)?;
    let written = writer.into_writer().into_inner();
    fast_start(&written)
}

fn write(
    writer: &mut Mp4Writer<Cursor<Vec<u8>>>,
    track: u32,
    start_time: u64,
    duration: u32,
    is_sync: bool,
    bytes: &[u8],
) -> Result<(), MediaError> {
    writer
        .write_sample(
            track,
            &Mp4Sample {
                start_time,
                duration,
                rendering_offset: 0,
                is_sync,
                bytes: Bytes::copy_from_slice(bytes),
            },
        )
        .map_err(err)
}

/// Rewrites `ftyp, mdat, moov` as `ftyp, moov, mdat`, moving every chunk
/// offset by the size of the moved `moov`; sets the `vmhd` flags to 1 as
/// ISO/IEC 14496-12 requires (some Android decoders refuse a 0).
fn fast_start(file: &[u8]) -> Result<Vec<u8>, MediaError> {
    let mut reader = Cursor::new(file);
    let mut ftyp = None;
    let mut mdat = None;
    let mut moov = None;
    while (reader.position() as usize) < file.len() {
        let start = reader.position();
        let header = BoxHeader::read(&mut reader).map_err(err)?;
        let end = start
            .checked_add(header.size)
            .filter(|&end| header.size >= 8 && end as usize <= file.len())
            .ok_or_else(|| MediaError::Encode("mp4: box runs past the end".into()))?;
        match header.name {
            BoxType::FtypBox => ftyp = Some(start..end),
            BoxType::MdatBox => mdat = Some(start..end),
            BoxType::MoovBox => {
                moov = Some(MoovBox::read_box(&mut reader, header.size).map_err(err)?)
            }
            _ => {}
        }
        reader
            .seek(SeekFrom::Start(end))
            .map_err(|e| MediaError::Encode(e.to_string()))?;
    }
    let (Some(ftyp), Some(mdat), Some(mut moov)) = (ftyp, mdat, moov) else {
        return Err(MediaError::Encode("mp4: the writer left out a box".into()));
    };

    for trak in &mut moov.traks {
        if let Some(vmhd) = trak.mdia.minf.vmhd.as_mut() {
            vmhd.flags = 1;
        }
    }
    // The offsets' widths don't change with their values (stco stays
    // stco below 4 GiB), so moov's size is known before they move.
    let shift = moov.box_size();
    for trak in &mut moov.traks {
        let stbl = &mut trak.mdia.minf.stbl;
        if let Some(stco) = stbl.stco.as_mut() {
            for offset in &mut stco.entries {
                *offset = u32::try_from(u64::from(*offset) + shift)
                    .map_err(|_| MediaError::Encode("mp4: file too large".into()))?;
            }
        }
        if let Some(co64) = stbl.co64.as_mut() {
            for offset in &mut co64.entries {
                *offset += shift;
            }
        }
    }

    let mut out = Vec::with_capacity(file.len());
    out.extend_from_slice(&file[ftyp.start as usize..ftyp.end as usize]);
    let before = out.len() as u64;
    moov.write_box(&mut out).map_err(err)?;
    if out.len() as u64 - before != shift {
        return Err(MediaError::Encode(
            "mp4: moov changed size when written".into(),
        ));
    }
    out.extend_from_slice(&file[mdat.start as usize..mdat.end as usize]);
    Ok(out)
}

fn freq_index(rate: u32) -> Result<SampleFreqIndex, MediaError> {
    Ok(match rate {
        48_000 => SampleFreqIndex::Freq48000,
        44_100 => SampleFreqIndex::Freq44100,
        32_000 => SampleFreqIndex::Freq32000,
        24_000 => SampleFreqIndex::Freq24000,
        other => {
            return Err(MediaError::Encode(format!(
                "no AAC sampling index for {other} Hz"
            )));
        }
    })
}

fn channel_config(channels: u16) -> Result<ChannelConfig, MediaError> {
    Ok(match channels {
        1 => ChannelConfig::Mono,
        2 => ChannelConfig::Stereo,
        other => return Err(MediaError::Encode(format!("{other} audio channels"))),
    })
}

fn dimension(v: u32) -> Result<u16, MediaError> {
    u16::try_from(v).map_err(|_| MediaError::Encode(format!("dimension {v} too large for MP4")))
}
