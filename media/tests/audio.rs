//! The sound track: the bed is music at the right level, AAC round-trips,
//! provider audio decodes and mixes, and bad audio is refused, not a panic.

mod common;

use common::noise;
use glimvid_media::audio::{
    AacTrack, DEFAULT_BITRATE, FRAME_SAMPLES, Mood, PEAK_CEILING_DBTP, Pcm, TARGET_LUFS, bed,
    decode_aac, encode_aac, loudness_lufs, mix_under, true_peak_dbtp,
};

const RATE: usize = 48_000;

fn frames_of(s: f64) -> usize {
    (s * RATE as f64) as usize
}

/// Mono sum of a stereo PCM's frames `from..to`.
fn mono(pcm: &Pcm, from: usize, to: usize) -> Vec<f32> {
    pcm.samples[from * 2..to * 2]
        .chunks_exact(2)
        .map(|f| (f[0] + f[1]) * 0.5)
        .collect()
}

fn rms_db(x: &[f32]) -> f64 {
    let e: f64 = x.iter().map(|&s| f64::from(s).powi(2)).sum();
    10.0 * (e / x.len() as f64).log10()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    ab / (aa * bb).sqrt()
}

/// Energy at `hz` over `x` (Goertzel).
fn energy_at(x: &[f32], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (i, &v) in x.iter().enumerate() {
        // Hann window: no leakage from the loud bass into its neighbours.
        let win = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / x.len() as f64).cos();
        let s = f64::from(v) * win + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The share of pitched energy (MIDI 36..96) that falls on the seven notes
/// of the best-fitting major key: about 7/12 for noise, near 1 for music in
/// one key.
fn major_key_share(x: &[f32]) -> f64 {
    let mut chroma = [0.0f64; 12];
    for note in 36..96 {
        let hz = 440.0 * 2f64.powf((f64::from(note) - 69.0) / 12.0);
        chroma[(note % 12) as usize] += energy_at(x, hz);
    }
    let total: f64 = chroma.iter().sum();
    let best = (0..12)
        .map(|key| {
            [0, 2, 4, 5, 7, 9, 11]
                .iter()
                .map(|i| chroma[(key + i) % 12])
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    best / total
}

/// Note and drum attacks per second: in 5 ms blocks of the signal's top
/// end (a second difference, so sustained pads and bass barely count), a
/// block at least 6 dB over the quietest of the four before it, and not
/// within 60 ms of the last attack.
fn onsets_per_second(x: &[f32]) -> f64 {
    let block = RATE / 200;
    let top: Vec<f32> = x.windows(3).map(|w| w[2] - 2.0 * w[1] + w[0]).collect();
    let levels: Vec<f64> = top.chunks_exact(block).map(rms_db).collect();
    let floor = rms_db(&top) - 30.0;
    let mut count = 0;
    let mut last: Option<usize> = None;
    for i in 4..levels.len() {
        let before = levels[i - 4..i]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        if levels[i] > floor && levels[i] - before > 6.0 && last.is_none_or(|l| i - l >= 12) {
            count += 1;
            last = Some(i);
        }
    }
    count as f64 / (x.len() as f64 / RATE as f64)
}

/// Energy above a few kHz against the whole, in dB: a fourth difference is
/// a 24 dB/octave tilt, so hats and claps stand out.
fn top_end_db(x: &[f32]) -> f64 {
    let hp: Vec<f32> = x
        .windows(5)
        .map(|w| w[4] - 4.0 * w[3] + 6.0 * w[2] - 4.0 * w[1] + w[0])
        .collect();
    rms_db(&hp) - rms_db(x)
}

#[test]
fn every_mood_is_at_the_target_loudness_under_the_ceiling() {
    for mood in Mood::ALL {
        for seed in [1, 2, 3] {
            let pcm = bed(mood, 10.0, seed);
            assert_eq!((pcm.sample_rate, pcm.channels), (48_000, 2));
            assert_eq!(pcm.frames(), 480_000);
            assert!((pcm.seconds() - 10.0).abs() < 1e-9);
            let lufs = loudness_lufs(&pcm).expect("measurable");
            let peak = true_peak_dbtp(&pcm).expect("measurable");
            eprintln!(
                "{mood:>9} seed {seed}: {lufs:6.2} LUFS, true peak {peak:5.2} dBTP, sample peak {:5.2} dBFS, RMS {:5.2} dBFS",
                pcm.peak_dbfs(),
                pcm.rms_dbfs()
            );
            assert!(
                (lufs - TARGET_LUFS).abs() <= 1.0,
                "{mood} {seed}: {lufs} LUFS"
            );
            assert!(
                peak <= PEAK_CEILING_DBTP + 1e-3,
                "{mood} {seed}: {peak} dBTP"
            );
            assert!(pcm.peak_dbfs() <= -1.0, "{mood} {seed}");
        }
    }
}

#[test]
fn beds_fade_in_and_out() {
    for mood in Mood::ALL {
        let pcm = bed(mood, 8.0, 11);
        let n = pcm.frames();
        let head = rms_db(&pcm.slice_frames(0, frames_of(0.05)).samples);
        let tail = rms_db(
            &pcm.slice_frames(n - frames_of(0.05), frames_of(0.05))
                .samples,
        );
        let middle = rms_db(&pcm.slice_frames(frames_of(3.0), frames_of(2.0)).samples);
        eprintln!("{mood:>9}: head {head:6.1}, middle {middle:6.1}, tail {tail:6.1} dBFS");
        assert!(head < middle - 15.0, "{mood}: head {head} vs {middle}");
        assert!(tail < middle - 25.0, "{mood}: tail {tail} vs {middle}");
        // And no click: the very first and last samples are near silence.
        assert!(
            pcm.samples[..2]
                .iter()
                .chain(&pcm.samples[pcm.samples.len() - 2..])
                .all(|s| s.abs() < 1e-3)
        );
    }
}

#[test]
fn beds_are_deterministic_and_seeded() {
    for mood in Mood::ALL {
        let a = bed(mood, 4.0, 42);
        assert_eq!(a, bed(mood, 4.0, 42), "{mood}");
        let b = bed(mood, 4.0, 43);
        let n = a.frames();
        let r = correlation(&mono(&a, 0, n), &mono(&b, 0, n));
        assert!(r.abs() < 0.8, "{mood}: seeds 42 and 43 correlate {r}");
    }
}

#[test]
fn moods_sound_different() {
    let seconds = 8.0;
    let beds: Vec<(Mood, Vec<f32>)> = Mood::ALL
        .iter()
        .map(|&m| {
            (
                m,
                mono(
                    &bed(m, seconds, 5),
                    frames_of(0.5),
                    frames_of(seconds - 1.0),
                ),
            )
        })
        .collect();
    for (i, (ma, a)) in beds.iter().enumerate() {
        for (mb, b) in &beds[i + 1..] {
            let r = correlation(a, b);
            assert!(r.abs() < 0.5, "{ma} and {mb} correlate {r}");
        }
    }
    let rate = |m: Mood| onsets_per_second(&beds.iter().find(|(x, _)| *x == m).unwrap().1);
    let bright = |m: Mood| top_end_db(&beds.iter().find(|(x, _)| *x == m).unwrap().1);
    for m in Mood::ALL {
        eprintln!(
            "{m:>9}: {:4.1} onsets/s, top end {:6.1} dB",
            rate(m),
            bright(m)
        );
    }
    // Energetic drives harder than upbeat, which is busier than the two
    // quiet moods; the drums make the livelier ones brighter too.
    assert!(rate(Mood::Energetic) > rate(Mood::Upbeat));
    assert!(rate(Mood::Upbeat) > rate(Mood::Calm));
    assert!(rate(Mood::Upbeat) > rate(Mood::Elegant));
    assert!(bright(Mood::Energetic) > bright(Mood::Calm) + 3.0);
    assert!(bright(Mood::Upbeat) > bright(Mood::Elegant) + 3.0);
}

#[test]
fn beds_are_music_in_a_key_and_in_stereo() {
    for mood in Mood::ALL {
        for seed in [3, 4] {
            let pcm = bed(mood, 6.0, seed);
            let x = mono(&pcm, frames_of(1.0), frames_of(5.0));
            let share = major_key_share(&x);
            let (left, right): (Vec<f32>, Vec<f32>) =
                pcm.samples.chunks_exact(2).map(|f| (f[0], f[1])).unzip();
            let side: Vec<f32> = left
                .iter()
                .zip(&right)
                .map(|(l, r)| (l - r) * 0.5)
                .collect();
            let width = rms_db(&side) - rms_db(&mono(&pcm, 0, pcm.frames()));
            eprintln!(
                "{mood:>9} seed {seed}: {:.0}% of pitched energy in one major key, side {width:.1} dB under mid",
                share * 100.0
            );
            assert!(share > 0.85, "{mood} {seed}: {share}");
            assert!(
                width > -20.0 && width < -3.0,
                "{mood} {seed}: side {width} dB"
            );
        }
    }
}

fn round_trip(track: &AacTrack) -> Pcm {
    let frames: Vec<&[u8]> = track.frames.iter().map(Vec::as_slice).collect();
    decode_aac(&track.audio_specific_config, &frames).expect("our own AAC decodes")
}

#[test]
fn aac_round_trip_keeps_the_bed() {
    let source = bed(Mood::Upbeat, 10.0, 9);
    let track = encode_aac(&source, DEFAULT_BITRATE).expect("encodes");
    assert_eq!(
        track.audio_specific_config,
        vec![0x11, 0x90],
        "AAC-LC, 48 kHz, stereo"
    );
    assert_eq!(
        (track.sample_rate, track.channels, track.bitrate),
        (48_000, 2, DEFAULT_BITRATE)
    );
    assert!(track.frames.iter().all(|f| !f.is_empty()));
    // Every input sample, after the priming, is in some frame.
    let covered = track.decoded_samples() as usize;
    assert!(covered >= source.frames() + track.priming_samples as usize);
    assert!(covered < source.frames() + track.priming_samples as usize + FRAME_SAMPLES);
    let bytes: usize = track.frames.iter().map(Vec::len).sum();
    let kbits = bytes as f64 * 8.0 / source.seconds() / 1000.0;
    eprintln!(
        "AAC: {} frames, {bytes} bytes ({kbits:.1} kbit/s), priming {}",
        track.frames.len(),
        track.priming_samples
    );
    assert!((kbits - 128.0).abs() < 16.0, "{kbits} kbit/s");

    let mut decoded = round_trip(&track);
    assert_eq!((decoded.sample_rate, decoded.channels), (48_000, 2));
    assert_eq!(decoded.frames(), covered);
    assert!(decoded.seconds() >= source.seconds());
    decoded.trim_start(track.priming_samples as usize);
    assert!(decoded.frames() >= source.frames());
    let decoded = decoded.slice_frames(0, source.frames());
    let level = decoded.rms_dbfs() - source.rms_dbfs();
    // Sample-aligned once the priming is off: the priming figure is right.
    let r = correlation(&decoded.samples, &source.samples);
    eprintln!("AAC round trip: level {level:+.2} dB, correlation {r:.4}");
    assert!(level.abs() < 1.0, "{level} dB");
    assert!(r > 0.98, "{r}");
    // Nothing is cut from the end: the last second before the fade-out
    // decodes as loud as it went in.
    let from = source.frames() - frames_of(1.5);
    let len = frames_of(0.5);
    let end_level =
        decoded.slice_frames(from, len).rms_dbfs() - source.slice_frames(from, len).rms_dbfs();
    assert!(end_level.abs() < 1.0, "{end_level} dB");
}

/// Two seconds of a mono chord at 44.1 kHz, as a provider might send.
fn mono_44k() -> Pcm {
    let rate = 44_100.0f32;
    let samples = (0..88_200)
        .map(|i| {
            let t = i as f32 / rate;
            [440.0f32, 554.37, 659.26]
                .iter()
                .map(|hz| (std::f32::consts::TAU * hz * t).sin() * 0.2)
                .sum::<f32>()
        })
        .collect();
    Pcm {
        sample_rate: 44_100,
        channels: 1,
        samples,
    }
}

#[test]
fn mono_44k_aac_decodes_to_48k_stereo() {
    let source = mono_44k();
    let track = encode_aac(&source, 64_000).expect("encodes");
    // AAC-LC, 44.1 kHz (index 4), one channel.
    assert_eq!(track.audio_specific_config, vec![0x12, 0x08]);
    let decoded = round_trip(&track);
    assert_eq!((decoded.sample_rate, decoded.channels), (48_000, 2));
    let expected = ((track.decoded_samples() * 48_000 + 22_050) / 44_100) as usize;
    assert_eq!(decoded.frames(), expected);
    assert!(decoded.seconds() >= source.seconds());
    // Mono copied to both sides.
    assert!(decoded.samples.chunks_exact(2).all(|f| f[0] == f[1]));
    // Same level and same pitch: A4 still crosses zero 440 times a second.
    let priming = (f64::from(track.priming_samples) * 48_000.0 / 44_100.0).round() as usize;
    let middle = decoded.slice_frames(priming + 9_600, 48_000);
    let level = middle.rms_dbfs() - source.rms_dbfs();
    assert!(level.abs() < 1.0, "{level} dB");
    let x = mono(&middle, 0, middle.frames());
    let a4 = energy_at(&x, 440.0);
    let off = energy_at(&x, 415.3);
    assert!(a4 > off * 1000.0, "440 Hz {a4} vs 415 Hz {off}");
}

/// A voice stand-in: a buzzy 150 Hz tone in 250 ms syllables, in phrases
/// of two seconds with a second's pause after each.
fn voice(seconds: f64) -> Pcm {
    let n = frames_of(seconds);
    let mut samples = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / RATE as f64;
        let gate = if t % 3.0 < 2.0 {
            (std::f64::consts::PI * (t * 4.0).fract()).sin()
        } else {
            0.0
        };
        let s: f64 = (1..8)
            .map(|k| (std::f64::consts::TAU * 150.0 * k as f64 * t).sin() / k as f64)
            .sum();
        let v = (s * gate * 0.25) as f32;
        samples.extend([v, v]);
    }
    Pcm {
        sample_rate: 48_000,
        channels: 2,
        samples,
    }
}

#[test]
fn mix_keeps_the_foreground_in_front() {
    let music = bed(Mood::Energetic, 8.0, 21);
    let fg = voice(6.0);
    let mix = mix_under(&fg, &music);
    assert_eq!((mix.sample_rate, mix.channels), (48_000, 2));
    assert_eq!(mix.frames(), music.frames());
    let lufs = loudness_lufs(&mix).unwrap();
    assert!((lufs - TARGET_LUFS).abs() <= 1.0, "{lufs}");
    assert!(true_peak_dbtp(&mix).unwrap() <= PEAK_CEILING_DBTP + 1e-3);

    // Over the foreground's span the mix is the foreground (scaled) plus a
    // much quieter rest, which is the bed.
    let span = fg.frames();
    let m = mono(&mix, 0, span);
    let f = mono(&fg, 0, span);
    let r = correlation(&m, &f);
    let scale = m
        .iter()
        .zip(&f)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum::<f64>()
        / f.iter().map(|b| f64::from(*b).powi(2)).sum::<f64>();
    let rest: Vec<f32> = m
        .iter()
        .zip(&f)
        .map(|(a, b)| a - (scale as f32) * b)
        .collect();
    let front: Vec<f32> = f.iter().map(|b| (scale as f32) * b).collect();
    let under = rms_db(&front) - rms_db(&rest);
    let bed_part = correlation(&rest, &mono(&music, 0, span));
    eprintln!(
        "mix: foreground correlation {r:.3}, bed {under:.1} dB under, rest/bed correlation {bed_part:.3}"
    );
    assert!(r > 0.9, "{r}");
    assert!(under > 10.0, "bed only {under} dB under");
    assert!(bed_part > 0.9, "{bed_part}");

    // Ducked: relative to the bed itself, the rest is quieter while the
    // voice speaks than in its gaps.
    let bed_mono = mono(&music, 0, span);
    let relative = |from: f64, to: f64| {
        let (a, b) = (frames_of(from), frames_of(to));
        rms_db(&rest[a..b]) - rms_db(&bed_mono[a..b])
    };
    let speaking = relative(0.5, 1.5);
    let pause = relative(2.6, 2.95);
    eprintln!("mix: bed at {speaking:.1} dB while speaking, {pause:.1} dB in a pause");
    assert!(pause > speaking + 4.0, "speaking {speaking}, pause {pause}");

    // After the foreground ends the mix is the bed alone.
    let after = correlation(
        &mono(&mix, frames_of(6.2), frames_of(6.8)),
        &mono(&music, frames_of(6.2), frames_of(6.8)),
    );
    assert!(after > 0.99, "{after}");
}

#[test]
fn mix_conforms_the_foreground_and_survives_silence() {
    let music = bed(Mood::Calm, 3.0, 2);
    // Silence in front: the bed as it was (already normalised).
    let silent = Pcm::silence(48_000, 2, frames_of(3.0));
    let mix = mix_under(&silent, &music);
    assert_eq!(mix.frames(), music.frames());
    assert!(correlation(&mix.samples, &music.samples) > 0.999);
    // A mono 44.1 kHz foreground, longer than the bed: cut to the bed.
    let fg = mono_44k();
    let mix = mix_under(&fg, &bed(Mood::Calm, 1.5, 2));
    assert_eq!(mix.frames(), frames_of(1.5));
    assert!((loudness_lufs(&mix).unwrap() - TARGET_LUFS).abs() <= 1.0);
    // A foreground that is not audio at all.
    let broken = Pcm {
        sample_rate: 0,
        channels: 0,
        samples: vec![0.5; 10],
    };
    assert_eq!(mix_under(&broken, &music).frames(), music.frames());
}

#[test]
fn garbage_aac_is_an_error_not_a_panic() {
    let good = encode_aac(&bed(Mood::Elegant, 2.0, 1), DEFAULT_BITRATE).unwrap();
    let asc = good.audio_specific_config.as_slice();

    // No configuration, a nonsense one, one far too long.
    for bad in [
        &[][..],
        &[0xff, 0xff],
        &[0x00, 0x00],
        &[0xf8, 0x00, 0x00],
        &[0x11; 200],
    ] {
        let err = decode_aac(bad, &[&[0x21, 0x10]]).expect_err("bad configuration");
        assert_eq!(err.code(), "audio_failed");
    }
    // A good configuration and frames of noise, or no frames at all.
    let junk: Vec<Vec<u8>> = (0..50).map(|i| noise(20 + i * 13, i as u64 + 1)).collect();
    let junk_refs: Vec<&[u8]> = junk.iter().map(Vec::as_slice).collect();
    assert!(decode_aac(asc, &junk_refs).is_err());
    assert!(decode_aac(asc, &[]).is_err());
    assert!(decode_aac(asc, &[&[], &[0u8; 100_000]]).is_err());
    // Random configurations with random frames: any answer but a crash.
    for seed in 1..200u64 {
        let conf = noise(1 + (seed as usize % 6), seed);
        let _ = decode_aac(&conf, &junk_refs[..4]);
    }

    // A few damaged frames in a good stream: silence in their place, the
    // rest in time.
    let mut frames: Vec<Vec<u8>> = good.frames.clone();
    for (i, frame) in frames.iter_mut().enumerate().skip(5).step_by(10) {
        *frame = noise(frame.len(), i as u64);
    }
    frames[20].truncate(3);
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let patched = decode_aac(asc, &refs).expect("mostly good stream decodes");
    assert_eq!(patched.frames(), good.frames.len() * FRAME_SAMPLES);
    let clean = round_trip(&good);
    let (from, len) = (frames_of(0.5), frames_of(1.0));
    let r = correlation(
        &patched.slice_frames(from, len).samples,
        &clean.slice_frames(from, len).samples,
    );
    assert!(r > 0.7, "{r}");
}

#[test]
fn encoder_refuses_what_it_cannot_encode() {
    let three = Pcm {
        sample_rate: 48_000,
        channels: 3,
        samples: vec![0.0; 3 * 4800],
    };
    assert_eq!(
        encode_aac(&three, DEFAULT_BITRATE).unwrap_err().code(),
        "audio_failed"
    );
    let odd_rate = Pcm {
        sample_rate: 12_345,
        channels: 2,
        samples: vec![0.0; 2 * 4800],
    };
    assert!(encode_aac(&odd_rate, DEFAULT_BITRATE).is_err());
    // An empty track still has a valid configuration and a frame of silence.
    let empty = encode_aac(&Pcm::silence(48_000, 2, 0), DEFAULT_BITRATE).unwrap();
    assert_eq!(empty.audio_specific_config, vec![0x11, 0x90]);
    assert!(!empty.frames.is_empty());
}
