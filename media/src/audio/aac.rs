//! AAC-LC in and out with FDK AAC: raw access units and their
//! AudioSpecificConfig, which is what an MP4 `mp4a` track stores.

use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, Encoder, EncoderParams, Transport};
use fdk_aac_sys as sys;

use super::{Pcm, to_track_format};
use crate::MediaError;

/// 128 kbit/s is near-transparent for AAC-LC stereo music at 48 kHz, and
/// 160 KB for a 10 s video: small next to its picture.
pub const DEFAULT_BITRATE: u32 = 128_000;
/// Samples per channel in one AAC-LC access unit.
pub const FRAME_SAMPLES: usize = 1024;

/// An encoded track, ready to be muxed: one `Vec` per access unit, each
/// [`FRAME_SAMPLES`] samples per channel long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AacTrack {
    pub sample_rate: u32,
    pub channels: u16,
    pub bitrate: u32,
    pub frames: Vec<Vec<u8>>,
    /// The `esds` decoder-specific info; 2 bytes for AAC-LC.
    pub audio_specific_config: Vec<u8>,
    /// The encoder's delay: decoding the frames gives this many samples (per
    /// channel) before the first input sample. An MP4 edit list should skip
    /// them.
    pub priming_samples: u32,
}

impl AacTrack {
    /// The samples per channel the frames decode to, priming included.
    pub fn decoded_samples(&self) -> u64 {
        self.frames.len() as u64 * FRAME_SAMPLES as u64
    }
}

/// Encodes `pcm` (mono or stereo, at a rate AAC has) as AAC-LC at a constant
/// `bitrate` in bit/s.
///
/// The frames cover all of the input: after the last sample the encoder is
/// fed silence until every input sample has come out of its delay line, so
/// nothing is cut from the end; the padding decodes as silence. (Silence
/// rather than FDK's end-of-stream call, which the `fdk-aac` wrapper cannot
/// make; it would flush the same samples.)
pub fn encode_aac(pcm: &Pcm, bitrate: u32) -> Result<AacTrack, MediaError> {
    encode(pcm, bitrate, false)
}

/// Like [`encode_aac`], but in time with the picture without an edit list
/// (which the `mp4` writer can't write): the first `priming` input samples
/// are left out, so the decoder's start-up delay lands each later sample at
/// its own time and the track decodes as long as the input. What is lost is
/// the input's first ~43 ms, which decode as silence; every bed fades in
/// over longer than that. `priming_samples` is then 0.
pub fn encode_aac_in_time(pcm: &Pcm, bitrate: u32) -> Result<AacTrack, MediaError> {
    encode(pcm, bitrate, true)
}

fn encode(pcm: &Pcm, bitrate: u32, in_time: bool) -> Result<AacTrack, MediaError> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| MediaError::Audio(format!("AAC {what}: {e}"));
    let mode = match pcm.channels {
        1 => ChannelMode::Mono,
        2 => ChannelMode::Stereo,
        n => {
            return Err(MediaError::Audio(format!(
                "AAC encoding takes mono or stereo, not {n} channels"
            )));
        }
    };
    let encoder = Encoder::new(EncoderParams {
        bit_rate: BitRate::Cbr(bitrate),
        sample_rate: pcm.sample_rate,
        transport: Transport::Raw,
        channels: mode,
        audio_object_type: AudioObjectType::Mpeg4LowComplexity,
    })
    .map_err(|e| fail("encoder set-up", &e))?;
    let info = encoder.info().map_err(|e| fail("encoder info", &e))?;
    let asc_len = (info.confSize as usize).min(info.confBuf.len());
    let audio_specific_config = info.confBuf[..asc_len].to_vec();
    let frame_len = info.frameLength as usize;
    if frame_len != FRAME_SAMPLES || audio_specific_config.is_empty() {
        return Err(MediaError::Audio(format!(
            "AAC encoder: unexpected frame length {frame_len} or empty configuration"
        )));
    }

    let ch = usize::from(pcm.channels);
    let skip = if in_time {
        (info.nDelay as usize).min(pcm.frames())
    } else {
        0
    };
    let input: Vec<i16> = pcm.samples[skip * ch..pcm.frames() * ch]
        .iter()
        // Rounding by hand: `f32::round` is a library call, and this runs
        // for every sample. `as` truncates towards zero, saturates, and
        // turns NaN into 0.
        .map(|&s| {
            let v = s * 32768.0;
            (v + if v >= 0.0 { 0.5 } else { -0.5 }) as i16
        })
        .collect();
    let wanted = (pcm.frames() + info.nDelay as usize - skip).div_ceil(frame_len);
    let chunk = frame_len * ch;
    let silence = vec![0i16; chunk];
    // FDK's own bound on one access unit, with room to spare.
    let mut out = vec![0u8; (info.maxOutBufBytes as usize).max(6144 / 8 * ch * 2)];
    let mut frames = Vec::with_capacity(wanted);
    let mut pos = 0;
    let mut idle = 0;
    while frames.len() < wanted {
        let feed = if pos < input.len() {
            &input[pos..(pos + chunk).min(input.len())]
        } else {
            &silence[..]
        };
        let step = encoder
            .encode(feed, &mut out)
            .map_err(|e| fail("encoding", &e))?;
        pos += step.input_consumed;
        if step.output_size > 0 {
            let unit = out.get(..step.output_size).ok_or_else(|| {
                MediaError::Audio("AAC encoder: access unit larger than its buffer".into())
            })?;
            frames.push(unit.to_vec());
            idle = 0;
        } else {
            // The first calls only fill the look-ahead; a stalled encoder
            // must not loop forever.
            idle += 1;
            if idle > 8 {
                return Err(MediaError::Audio("AAC encoder: no output".into()));
            }
        }
    }

    Ok(AacTrack {
        sample_rate: pcm.sample_rate,
        channels: pcm.channels,
        bitrate,
        frames,
        audio_specific_config,
        priming_samples: info.nDelay - skip as u32,
    })
}

/// One decoded frame's (rate, channels, samples per channel) and samples.
type DecodedFrame = ((u32, u16, usize), Vec<i16>);

/// The largest access unit we hand to the decoder: AAC's limit is 6144 bits
/// per channel, and the decoder downmixes to at most eight.
const MAX_UNIT_BYTES: usize = 6144 / 8 * 8;
/// Output room for one frame: 2048 samples (HE-AAC's SBR doubles the 1024)
/// for up to eight channels, twice over for the decoder's working space.
const DECODE_BUFFER: usize = 2048 * 8 * 2;

/// Decodes a provider's AAC track (its AudioSpecificConfig and raw access
/// units, as an MP4 stores them) to 48 kHz stereo: mono is copied to both
/// sides, more channels are downmixed by the decoder, other rates resampled.
///
/// The priming samples stay in (only the container's edit list says how
/// many there are; [`Pcm::trim_start`] takes them off). A frame that does
/// not decode (or decodes to another format than most) becomes silence of
/// the same length, so the rest stays in time; an unusable configuration, no
/// decodable frame, or more bad frames than good ones is an error.
pub fn decode_aac(audio_specific_config: &[u8], frames: &[&[u8]]) -> Result<Pcm, MediaError> {
    let mut decoder = FdkDecoder::open()?;
    decoder.configure(audio_specific_config).map_err(|code| {
        MediaError::Audio(format!("unusable AAC configuration ({})", describe(code)))
    })?;
    // Spectral muting: FDK's default, energy interpolation, holds every
    // frame back by one (so the last would need a flush).
    decoder.set(sys::AACDEC_PARAM_AAC_CONCEAL_METHOD, 0)?;
    // FDK's output limiter delays everything by its 15 ms attack (and holds
    // the last 15 ms back); the mix is limited after normalisation anyway.
    decoder.set(sys::AACDEC_PARAM_AAC_PCM_LIMITER_ENABLE, 0)?;
    decoder.set(sys::AACDEC_PARAM_AAC_PCM_MAX_OUTPUT_CHANNELS, 2)?;

    let mut buffer = vec![0i16; DECODE_BUFFER];
    let mut decoded: Vec<Option<DecodedFrame>> = Vec::with_capacity(frames.len());
    let mut last_error = 0;
    for unit in frames {
        match decoder.decode(unit, &mut buffer) {
            Ok(format) => {
                let len = usize::from(format.1) * format.2;
                decoded.push(buffer.get(..len).map(|pcm| (format, pcm.to_vec())));
            }
            Err(code) => {
                last_error = code;
                decoded.push(None);
            }
        }
    }

    // The track's format is the one most frames decode to: a stream whose
    // first frames come out otherwise (HE-AAC before its SBR data shows up,
    // say) keeps the rest.
    let mut counts: Vec<((u32, u16, usize), usize)> = Vec::new();
    for (format, _) in decoded.iter().flatten() {
        match counts.iter_mut().find(|(f, _)| f == format) {
            Some((_, n)) => *n += 1,
            None => counts.push((*format, 1)),
        }
    }
    let Some(&(format, good)) = counts.iter().max_by_key(|(_, n)| *n) else {
        return Err(MediaError::Audio(format!(
            "no AAC frame decodes ({})",
            describe(last_error)
        )));
    };
    if good * 2 < decoded.len() {
        return Err(MediaError::Audio(format!(
            "{} of {} AAC frames do not decode ({})",
            decoded.len() - good,
            decoded.len(),
            describe(last_error)
        )));
    }
    let (rate, channels, samples_per_frame) = format;
    let frame_len = usize::from(channels) * samples_per_frame;
    let mut samples = Vec::with_capacity(decoded.len() * frame_len);
    for frame in &decoded {
        match frame {
            Some((f, pcm)) if *f == format => {
                samples.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0))
            }
            _ => samples.resize(samples.len() + frame_len, 0.0),
        }
    }
    to_track_format(&Pcm {
        sample_rate: rate,
        channels,
        samples,
    })
}

fn describe(code: u32) -> String {
    let name = match code {
        sys::AAC_DECODER_ERROR_AAC_DEC_UNSUPPORTED_AOT => "unsupported object type",
        sys::AAC_DECODER_ERROR_AAC_DEC_UNSUPPORTED_FORMAT => "unsupported format",
        sys::AAC_DECODER_ERROR_AAC_DEC_UNSUPPORTED_CHANNELCONFIG => "unsupported channel layout",
        sys::AAC_DECODER_ERROR_AAC_DEC_UNSUPPORTED_SAMPLINGRATE => "unsupported sample rate",
        sys::AAC_DECODER_ERROR_AAC_DEC_NOT_ENOUGH_BITS => "truncated frame",
        sys::AAC_DECODER_ERROR_AAC_DEC_PARSE_ERROR
        | sys::AAC_DECODER_ERROR_AAC_DEC_DECODE_FRAME_ERROR
        | sys::AAC_DECODER_ERROR_AAC_DEC_INVALID_CODE_BOOK => "corrupt frame",
        _ => "decoder error",
    };
    format!("{name}, FDK code {code:#x}")
}

/// Our own binding to FDK's decoder, not `fdk_aac::dec`: that one cannot set
/// the concealment method, and trusts a handle that may be null.
struct FdkDecoder {
    handle: sys::HANDLE_AACDECODER,
    /// A copy of each unit, because FDK's API takes mutable pointers.
    scratch: Vec<u8>,
}

impl FdkDecoder {
    fn open() -> Result<FdkDecoder, MediaError> {
        // SAFETY: plain constructor; a null result (out of memory) is checked.
        let handle = unsafe { sys::aacDecoder_Open(sys::TRANSPORT_TYPE_TT_MP4_RAW, 1) };
        if handle.is_null() {
            return Err(MediaError::Audio("the AAC decoder could not start".into()));
        }
        Ok(FdkDecoder {
            handle,
            scratch: Vec::new(),
        })
    }

    fn set(&mut self, param: sys::AACDEC_PARAM, value: i32) -> Result<(), MediaError> {
        // SAFETY: the handle is valid for our lifetime.
        let code = unsafe { sys::aacDecoder_SetParam(self.handle, param, value) };
        if code == sys::AAC_DECODER_ERROR_AAC_DEC_OK {
            Ok(())
        } else {
            Err(MediaError::Audio(format!(
                "AAC decoder set-up ({})",
                describe(code)
            )))
        }
    }

    fn configure(&mut self, asc: &[u8]) -> Result<(), u32> {
        if asc.is_empty() || asc.len() > 64 {
            return Err(sys::AAC_DECODER_ERROR_AAC_DEC_UNSUPPORTED_FORMAT);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(asc);
        let mut ptr = self.scratch.as_mut_ptr();
        let len = self.scratch.len() as u32;
        // SAFETY: FDK reads `len` bytes from `ptr`, which `scratch` owns.
        let code = unsafe { sys::aacDecoder_ConfigRaw(self.handle, &mut ptr, &len) };
        if code == sys::AAC_DECODER_ERROR_AAC_DEC_OK {
            Ok(())
        } else {
            Err(code)
        }
    }

    /// Decodes one access unit into `out`; returns the output's rate,
    /// channels and samples per channel.
    fn decode(&mut self, unit: &[u8], out: &mut [i16]) -> Result<(u32, u16, usize), u32> {
        if unit.is_empty() || unit.len() > MAX_UNIT_BYTES {
            return Err(sys::AAC_DECODER_ERROR_AAC_DEC_NOT_ENOUGH_BITS);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(unit);
        let mut ptr = self.scratch.as_mut_ptr();
        let len = self.scratch.len() as u32;
        let mut left = len;
        // SAFETY: FDK copies up to `len` bytes from `ptr` into its own
        // buffer and reports in `left` what it did not take.
        let code = unsafe { sys::aacDecoder_Fill(self.handle, &mut ptr, &len, &mut left) };
        if code != sys::AAC_DECODER_ERROR_AAC_DEC_OK {
            return Err(code);
        }
        let room = i32::try_from(out.len()).unwrap_or(i32::MAX);
        // SAFETY: FDK writes at most `room` samples to `out`, and returns
        // AAC_DEC_OUTPUT_BUFFER_TOO_SMALL rather than overrun it.
        let code = unsafe { sys::aacDecoder_DecodeFrame(self.handle, out.as_mut_ptr(), room, 0) };
        if left > 0 {
            // A unit the raw transport did not take whole is not one unit;
            // drop what is left so it cannot spoil the next frame.
            // SAFETY: as above; the flag only discards buffered input.
            unsafe {
                sys::aacDecoder_DecodeFrame(
                    self.handle,
                    out.as_mut_ptr(),
                    room,
                    2, /* AACDEC_FLUSH */
                );
            }
            return Err(sys::AAC_DECODER_ERROR_AAC_DEC_DECODE_FRAME_ERROR);
        }
        if code != sys::AAC_DECODER_ERROR_AAC_DEC_OK {
            return Err(code);
        }
        // SAFETY: the handle is valid; FDK returns a pointer into itself
        // (or null), valid until the next call on this handle.
        let info = unsafe { sys::aacDecoder_GetStreamInfo(self.handle).as_ref() }
            .ok_or(sys::AAC_DECODER_ERROR_AAC_DEC_UNKNOWN)?;
        let rate = u32::try_from(info.sampleRate).unwrap_or(0);
        let channels = u16::try_from(info.numChannels).unwrap_or(0);
        let per_channel = usize::try_from(info.frameSize).unwrap_or(0);
        if rate == 0
            || channels == 0
            || per_channel == 0
            || usize::from(channels) * per_channel > out.len()
        {
            return Err(sys::AAC_DECODER_ERROR_AAC_DEC_UNKNOWN);
        }
        Ok((rate, channels, per_channel))
    }
}

impl Drop for FdkDecoder {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once.
        unsafe { sys::aacDecoder_Close(self.handle) };
    }
}
