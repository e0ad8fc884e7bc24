//! The music bed: a short loop of real music written here, note by note, so
//! every video has a sound track nobody else owns.
//!
//! A bed is a four-chord progression in a key drawn from the seed, one chord
//! a bar, played by a detuned stereo pad, a bass line, a plucked arpeggio
//! through a ping-pong delay and, for the livelier moods, a kick, clap and
//! hats made from swept sines and filtered noise. Instruments are wavetable
//! oscillators with simple envelopes: a few operations per sample, so ten
//! seconds take milliseconds. Everything comes from (mood, length, seed), so
//! a job's bed is the same every time it is rendered.

use std::f32::consts::{FRAC_PI_4, PI, TAU};
use std::sync::OnceLock;

use super::{CHANNELS, Pcm, SAMPLE_RATE, TARGET_LUFS, normalize};
pub use crate::Mood;
use crate::mood::mix64;

/// The longest bed [`bed`] writes; asking for more gets this much. Far past
/// any video we render, it only bounds memory for a bad argument.
pub const MAX_BED_SECONDS: f64 = 600.0;
const FADE_IN_S: f64 = 0.3;
const FADE_OUT_S: f64 = 1.0;

/// A `seconds` long 48 kHz stereo bed in `mood`, faded in and out and
/// normalised to [`TARGET_LUFS`]. The same arguments always give the same
/// samples; another seed gives another key, tempo and arrangement.
pub fn bed(mood: Mood, seconds: f64, seed: u64) -> Pcm {
    let seconds = if seconds.is_finite() {
        seconds.clamp(0.0, MAX_BED_SECONDS)
    } else {
        0.0
    };
    let frames = (seconds * f64::from(SAMPLE_RATE)).round() as usize;
    let mut pcm = Pcm::silence(SAMPLE_RATE, CHANNELS, frames);
    if frames == 0 {
        return pcm;
    }
    let mut song = Song::new(mood, frames, seed);
    song.play();
    song.mixdown(&mut pcm.samples);
    fade(&mut pcm, seconds);
    normalize(&mut pcm, TARGET_LUFS);
    pcm
}

/// Raised-cosine fades: they start and end without a corner, so no click.
/// A bed too short for both shares its length between them.
fn fade(pcm: &mut Pcm, seconds: f64) {
    let rate = f64::from(pcm.sample_rate);
    let fade_in = (FADE_IN_S.min(seconds / 4.0) * rate) as usize;
    let fade_out = (FADE_OUT_S.min(seconds / 2.0) * rate) as usize;
    let frames = pcm.frames();
    let ch = usize::from(pcm.channels);
    let shape = |i: usize, n: usize| 0.5 - 0.5 * (PI * i as f32 / n as f32).cos();
    for i in 0..fade_in.min(frames) {
        let g = shape(i, fade_in);
        pcm.samples[i * ch..(i + 1) * ch]
            .iter_mut()
            .for_each(|s| *s *= g);
    }
    for i in 0..fade_out.min(frames) {
        let g = shape(i, fade_out);
        let f = frames - 1 - i;
        pcm.samples[f * ch..(f + 1) * ch]
            .iter_mut()
            .for_each(|s| *s *= g);
    }
}

// ---------------------------------------------------------------------------
// The arrangement: what each mood plays.

/// An instrument for the arpeggio.
#[derive(Clone, Copy)]
enum Pluck {
    /// A bright tone whose upper harmonics die first, like a plucked string.
    String { decay_s: f32 },
    /// A music box: a few bell-like partials and a long ring.
    MusicBox { decay_s: f32 },
    /// A two-operator FM electric piano whose bark fades into a sine.
    Keys { decay_s: f32 },
}

/// A note of a one-bar bass pattern: start and length in beats, interval
/// above the chord's root in semitones.
type BassNote = (f32, f32, i32);

#[derive(Clone, Copy)]
struct Drums {
    /// Kick positions in the bar, in beats.
    kicks: &'static [f32],
    /// Hat spacing in beats; every other hat, the off-beat, is accented.
    hat_step: f32,
    /// Clap on beats two and four.
    clap: bool,
    /// The kit's level against the rest: light, under the music.
    level: f32,
}

/// An arpeggio step: an index into the chord's tones (and their octave
/// above), or a rest.
const REST: u8 = u8::MAX;

struct Arrangement {
    bpm: (u32, u32),
    /// Scale degrees (0 = I) of the four chords, one bar each.
    progressions: &'static [[u8; 4]],
    sevenths: bool,
    /// The pad adds the ninth: open and soft, for calm.
    add_ninth: bool,
    pad_attack_s: f32,
    pad_release_s: f32,
    pad_cutoff_hz: f32,
    pad_level: f32,
    /// How deep the pad ducks on each kick, as if side-chained.
    pump: f32,
    bass: &'static [BassNote],
    bass_level: f32,
    pluck: Pluck,
    /// Arpeggio step in beats.
    arp_step: f32,
    arp_patterns: &'static [[u8; 8]],
    arp_level: f32,
    echo: f32,
    drums: Option<Drums>,
}

fn arrangement(mood: Mood) -> &'static Arrangement {
    const UPBEAT: Arrangement = Arrangement {
        bpm: (108, 118),
        progressions: &[[0, 4, 5, 3], [0, 5, 3, 4], [3, 0, 4, 5]],
        sevenths: false,
        add_ninth: false,
        pad_attack_s: 0.08,
        pad_release_s: 0.35,
        pad_cutoff_hz: 3500.0,
        pad_level: 0.13,
        pump: 0.25,
        bass: &[
            (0.0, 0.75, 0),
            (1.5, 0.5, 0),
            (2.0, 0.75, 0),
            (3.0, 0.4, 0),
            (3.5, 0.4, 12),
        ],
        bass_level: 0.29,
        pluck: Pluck::String { decay_s: 0.22 },
        arp_step: 0.5,
        arp_patterns: &[
            [0, 1, 2, 3, 2, 1, 2, 3],
            [0, 2, 1, 3, 2, 4, 3, 1],
            [0, 1, 2, 4, 3, 2, 1, 2],
        ],
        arp_level: 0.28,
        echo: 0.22,
        drums: Some(Drums {
            kicks: &[0.0, 2.0, 2.75],
            hat_step: 0.5,
            clap: true,
            level: 0.6,
        }),
    };
    const ENERGETIC: Arrangement = Arrangement {
        bpm: (124, 130),
        progressions: &[[5, 3, 0, 4], [0, 4, 5, 3], [5, 3, 4, 0]],
        sevenths: false,
        add_ninth: false,
        pad_attack_s: 0.03,
        pad_release_s: 0.25,
        pad_cutoff_hz: 5000.0,
        pad_level: 0.13,
        pump: 0.6,
        bass: &[(0.5, 0.4, 0), (1.5, 0.4, 0), (2.5, 0.4, 0), (3.5, 0.4, 12)],
        bass_level: 0.40,
        pluck: Pluck::String { decay_s: 0.12 },
        arp_step: 0.25,
        arp_patterns: &[
            [0, 1, 2, 3, 4, 3, 2, 1],
            [0, 2, 4, 2, 1, 3, 5, 3],
            [0, 1, 2, 0, 3, 2, 4, 3],
        ],
        arp_level: 0.22,
        echo: 0.18,
        drums: Some(Drums {
            kicks: &[0.0, 1.0, 2.0, 3.0],
            hat_step: 0.25,
            clap: true,
            level: 0.56,
        }),
    };
    const CALM: Arrangement = Arrangement {
        bpm: (68, 78),
        progressions: &[[0, 3, 0, 4], [0, 5, 3, 4], [3, 0, 5, 4]],
        sevenths: false,
        add_ninth: true,
        pad_attack_s: 0.9,
        pad_release_s: 1.2,
        pad_cutoff_hz: 1800.0,
        pad_level: 0.17,
        pump: 0.0,
        bass: &[(0.0, 2.0, 0), (2.0, 1.9, 7)],
        bass_level: 0.21,
        pluck: Pluck::MusicBox { decay_s: 0.9 },
        arp_step: 0.5,
        arp_patterns: &[
            [0, 2, 4, REST, 5, 4, 2, REST],
            [0, 1, 2, 4, 2, 1, REST, REST],
            [2, REST, 4, REST, 3, REST, 1, REST],
        ],
        arp_level: 0.19,
        echo: 0.28,
        drums: None,
    };
    const ELEGANT: Arrangement = Arrangement {
        bpm: (84, 92),
        progressions: &[[0, 5, 1, 4], [0, 3, 2, 5], [1, 4, 0, 5]],
        sevenths: true,
        add_ninth: false,
        pad_attack_s: 0.5,
        pad_release_s: 0.9,
        pad_cutoff_hz: 2400.0,
        pad_level: 0.13,
        pump: 0.0,
        bass: &[(0.0, 1.8, 0), (2.0, 1.4, 7), (3.5, 0.45, 12)],
        bass_level: 0.23,
        pluck: Pluck::Keys { decay_s: 0.7 },
        arp_step: 0.5,
        arp_patterns: &[
            [0, 2, 3, 5, 4, 3, 2, 1],
            [0, 1, 3, 2, 4, 3, 5, 2],
            [1, 3, 2, 4, 3, 5, 4, 2],
        ],
        arp_level: 0.14,
        echo: 0.2,
        drums: None,
    };
    match mood {
        Mood::Upbeat => &UPBEAT,
        Mood::Energetic => &ENERGETIC,
        Mood::Calm => &CALM,
        Mood::Elegant => &ELEGANT,
    }
}

const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];

/// The MIDI note of scale step `step` (any integer, 0 = the tonic) in the
/// major key on `tonic`.
fn scale_note(tonic: i32, step: i32) -> i32 {
    tonic + MAJOR[step.rem_euclid(7) as usize] + 12 * step.div_euclid(7)
}

/// `note` moved by octaves into `low..low + 12`.
fn fold(note: i32, low: i32) -> i32 {
    low + (note - low).rem_euclid(12)
}

fn hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

// ---------------------------------------------------------------------------
// Rendering.

struct Bus {
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Bus {
    fn new(frames: usize) -> Bus {
        Bus {
            left: vec![0.0; frames],
            right: vec![0.0; frames],
        }
    }

    /// Adds `len` samples of `voice` from `start` at pan −1 (left) ..= 1.
    fn add(&mut self, start: usize, len: usize, pan: f32, mut voice: impl FnMut() -> f32) {
        let end = start.saturating_add(len).min(self.left.len());
        if start >= end {
            return;
        }
        let (gl, gr) = pan_gains(pan);
        for (l, r) in self.left[start..end]
            .iter_mut()
            .zip(&mut self.right[start..end])
        {
            let s = voice();
            *l += s * gl;
            *r += s * gr;
        }
    }
}

/// Constant-power gains for pan −1 (left) ..= 1: the sum sounds equally
/// loud wherever it sits.
fn pan_gains(pan: f32) -> (f32, f32) {
    let angle = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    (angle.cos(), angle.sin())
}

/// The pad is written at half the sample rate: it has nothing above 8 kHz
/// (its top note's fourteenth harmonic) and is low-passed below 5 kHz anyway,
/// and it is eight oscillators, the bed's largest cost.
const PAD_DECIMATION: usize = 2;

struct PadVoice {
    phase: f32,
    step: f32,
    left: f32,
    right: f32,
}

struct Song {
    arr: &'static Arrangement,
    frames: usize,
    rate: f32,
    /// Seconds per beat.
    beat: f32,
    tonic: i32,
    progression: [u8; 4],
    arp: [u8; 8],
    rng: Rng,
    /// At 1/[`PAD_DECIMATION`] of the sample rate.
    pad: Bus,
    arp_bus: Bus,
    /// Bass and drums: neither is filtered, pumped or echoed.
    rhythm: Bus,
    /// Where the kicks fall, in order: the side-chain's triggers.
    kicks: Vec<usize>,
}

impl Song {
    fn new(mood: Mood, frames: usize, seed: u64) -> Song {
        let arr = arrangement(mood);
        // Each mood draws from its own stream, so two moods on one seed do
        // not come out in the same key and tempo.
        let mut rng = Rng(seed ^ (mood as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let bpm = rng.range(arr.bpm.0, arr.bpm.1) as f32;
        // Any of the twelve keys: every part folds its notes into its own
        // range, so the tonic only sets which pitches sound.
        let tonic = 45 + rng.range(0, 11) as i32;
        let progression = arr.progressions[rng.index(arr.progressions.len())];
        let arp = arr.arp_patterns[rng.index(arr.arp_patterns.len())];
        Song {
            arr,
            frames,
            rate: SAMPLE_RATE as f32,
            beat: 60.0 / bpm,
            tonic,
            progression,
            arp,
            rng,
            pad: Bus::new(frames / PAD_DECIMATION + 2),
            arp_bus: Bus::new(frames),
            rhythm: Bus::new(frames),
            kicks: Vec::new(),
        }
    }

    fn at(&self, beats: f32) -> usize {
        (beats * self.beat * self.rate).round() as usize
    }

    fn samples(&self, seconds: f32) -> usize {
        (seconds * self.rate).round().max(1.0) as usize
    }

    /// Chord tones of bar `bar` as MIDI notes, root first, unvoiced.
    fn chord(&self, bar: usize) -> Vec<i32> {
        let degree = i32::from(self.progression[bar % 4]);
        let mut steps = vec![0, 2, 4];
        if self.arr.sevenths {
            steps.push(6);
        }
        steps
            .into_iter()
            .map(|s| scale_note(self.tonic, degree + s))
            .collect()
    }

    fn play(&mut self) {
        let bar_frames = self.at(4.0).max(1);
        let bars = self.frames.div_ceil(bar_frames);
        for bar in 0..bars {
            let chord = self.chord(bar);
            let start = bar * bar_frames;
            self.play_pad(bar, &chord, start, bar_frames);
            self.play_bass(&chord, start);
            self.play_arp(bar, &chord, start);
            if let Some(drums) = self.arr.drums {
                self.play_drums(bar, drums, start);
            }
        }
    }

    fn play_pad(&mut self, bar: usize, chord: &[i32], start: usize, bar_frames: usize) {
        let mut notes: Vec<i32> = chord.iter().map(|&n| fold(n, 55)).collect();
        if self.arr.add_ninth {
            let degree = i32::from(self.progression[bar % 4]);
            notes.push(fold(scale_note(self.tonic, degree + 1), 62));
        }
        // Two voices per note, 7 cents apart and on opposite sides: the slow
        // beating between them is the pad's width and motion.
        let mut voices: Vec<PadVoice> = Vec::with_capacity(notes.len() * 2);
        for (i, &note) in notes.iter().enumerate() {
            for (detune, side) in [(-0.07f32, -0.6f32), (0.07, 0.6)] {
                let pan = if i % 2 == 0 { side } else { side * 0.7 };
                let (left, right) = pan_gains(pan);
                voices.push(PadVoice {
                    phase: self.rng.unit(),
                    step: hz(note as f32 + detune) / (self.rate / PAD_DECIMATION as f32),
                    left,
                    right,
                });
            }
        }
        // Sounding from the bar line into the next bar's attack, so chords
        // cross-fade instead of stopping.
        // In the pad's own, lower rate from here on.
        let d = PAD_DECIMATION;
        let attack = (self.samples(self.arr.pad_attack_s) / d).max(1);
        let release = (self.samples(self.arr.pad_release_s) / d).max(1);
        let bar_frames = bar_frames / d;
        let start = start / d;
        let (rise, fall) = (1.0 / attack as f32, 1.0 / release as f32);
        let level = self.arr.pad_level / (notes.len() as f32).sqrt();
        let end = (start + bar_frames + release).min(self.pad.left.len());
        let table = &tables().warm;
        // All voices in one pass: one read-modify-write of the bus per
        // sample instead of one per voice, and independent phase updates the
        // processor overlaps.
        let bus = &mut self.pad;
        for (t, i) in (start..end).enumerate() {
            let env = if t < attack {
                t as f32 * rise
            } else if t < bar_frames {
                1.0
            } else {
                1.0 - (t - bar_frames) as f32 * fall
            };
            let (mut l, mut r) = (0.0f32, 0.0f32);
            for v in &mut voices {
                let s = table.at(v.phase);
                v.phase = wrap(v.phase + v.step);
                l += s * v.left;
                r += s * v.right;
            }
            bus.left[i] += l * env * level;
            bus.right[i] += r * env * level;
        }
    }

    fn play_bass(&mut self, chord: &[i32], bar_start: usize) {
        // A1 up to G#2: low enough to be bass, high enough for phone
        // speakers to give a hint of it.
        let root = fold(chord[0], 33);
        let attack = self.samples(0.006);
        let release = self.samples(0.04);
        let decay = (-1.0 / (0.25 * self.rate)).exp();
        let level = self.arr.bass_level;
        let table = &tables().bass;
        for &(beat, length, interval) in self.arr.bass {
            let start = bar_start + self.at(beat);
            let gate = self.at(length).max(1);
            let step = hz((root + interval) as f32) / self.rate;
            let mut phase = 0.0f32;
            let mut t = 0usize;
            let mut sustain = 1.0f32;
            self.rhythm.add(start, gate + release, 0.0, || {
                // Decays towards 60%: a plucked attack that still holds.
                sustain = 0.6 + (sustain - 0.6) * decay;
                let env = if t < attack {
                    t as f32 / attack as f32
                } else if t < gate {
                    sustain
                } else {
                    sustain * (1.0 - (t - gate) as f32 / release as f32)
                };
                t += 1;
                let s = table.at(phase);
                phase = wrap(phase + step);
                s * env * level
            });
        }
    }

    fn play_arp(&mut self, bar: usize, chord: &[i32], bar_start: usize) {
        let mut tones: Vec<i32> = chord.iter().map(|&n| fold(n, 64)).collect();
        tones.sort_unstable();
        let octave: Vec<i32> = tones.iter().map(|n| n + 12).collect();
        tones.extend(octave);
        let steps = (4.0 / self.arr.arp_step).round() as usize;
        // Every fourth bar the figure runs backwards: the phrase turns
        // round before the progression repeats.
        let backwards = bar % 4 == 3;
        for s in 0..steps {
            let index = self.arp[if backwards { 7 - s % 8 } else { s % 8 }];
            if index == REST {
                continue;
            }
            let note = tones[usize::from(index) % tones.len()];
            let start = bar_start + self.at(s as f32 * self.arr.arp_step);
            // Louder on the beat, a little softer off it.
            let accent = if s % 2 == 0 { 1.0 } else { 0.8 };
            let velocity = accent * (0.9 + 0.1 * self.rng.unit());
            let pan = if s % 2 == 0 { -0.35 } else { 0.35 };
            self.pluck(start, note, velocity * self.arr.arp_level, pan);
        }
    }

    fn pluck(&mut self, start: usize, note: i32, level: f32, pan: f32) {
        let step = hz(note as f32) / self.rate;
        let t_ = tables();
        let rate = self.rate;
        match self.arr.pluck {
            Pluck::String { decay_s } => {
                let mut ring = Ring::new(rate, decay_s);
                // The upper harmonics die four times as fast as the body.
                let shine = (-1.0 / (decay_s * 0.25 * rate)).exp();
                let (mut bright, mut phase) = (1.0f32, 0.0f32);
                self.arp_bus.add(start, ring.len, pan, || {
                    let soft = t_.soft.at(phase);
                    let s = soft + (t_.bright.at(phase) - soft) * bright;
                    phase = wrap(phase + step);
                    bright *= shine;
                    s * ring.next() * level
                });
            }
            Pluck::MusicBox { decay_s } => {
                let mut ring = Ring::new(rate, decay_s);
                let mut phase = 0.0f32;
                self.arp_bus.add(start, ring.len, pan, || {
                    let s = t_.music_box.at(phase);
                    phase = wrap(phase + step);
                    s * ring.next() * level
                });
            }
            Pluck::Keys { decay_s } => {
                let mut ring = Ring::new(rate, decay_s);
                // The modulation index (in cycles) falls from a bark to a
                // near-sine in 120 ms: the tine's attack.
                let bark = (-1.0 / (0.12 * rate)).exp();
                let rest = 0.15 / TAU;
                let (mut excess, mut carrier, mut modulator) = (1.05f32 / TAU, 0.0f32, 0.0f32);
                self.arp_bus.add(start, ring.len, pan, || {
                    let s = t_
                        .sine
                        .at(carrier + (rest + excess) * t_.sine.at(modulator));
                    carrier = wrap(carrier + step);
                    modulator = wrap(modulator + step);
                    excess *= bark;
                    s * ring.next() * level
                });
            }
        }
    }

    fn play_drums(&mut self, bar: usize, drums: Drums, bar_start: usize) {
        for &beat in drums.kicks {
            // The pickup kick only every other bar, so the groove breathes.
            if beat.fract() != 0.0 && bar.is_multiple_of(2) {
                continue;
            }
            self.kick(bar_start + self.at(beat));
        }
        if drums.clap {
            for beat in [1.0, 3.0] {
                self.clap(bar_start + self.at(beat));
            }
        }
        let hats = (4.0 / drums.hat_step).round() as usize;
        for h in 0..hats {
            let beats = h as f32 * drums.hat_step;
            let sixteenth = (beats * 4.0).round() as usize;
            // Eighth hats sit on the off-beats only; sixteenth ones play
            // through, accented off the beat.
            let level = match (drums.hat_step >= 0.5, sixteenth % 4) {
                (true, 2) => 0.07,
                (true, _) => continue,
                (false, 2) => 0.06,
                (false, 0) => 0.03,
                (false, _) => 0.025,
            };
            // An open hat before every second bar line of the sixteenths.
            let open = drums.hat_step < 0.5 && bar % 2 == 1 && sixteenth == 14;
            self.hat(bar_start + self.at(beats), level, open);
        }
    }

    /// A sine swept from 150 Hz down to 48 with a short click on top.
    fn kick(&mut self, start: usize) {
        let len = self.samples(0.4);
        let per_sample = 1.0 / self.rate;
        let sine = &tables().sine;
        let body = (-per_sample / 0.16).exp();
        let sweep = (-per_sample / 0.035).exp();
        let click = (-per_sample / 0.0008).exp();
        // The click is over (−60 dB) in 6 ms; stopping it there also keeps
        // its envelope from decaying into denormals, which are slow.
        let click_len = self.samples(0.006);
        let level = 0.55 * self.kit_level();
        let mut noise = Noise(self.rng.next() as u32 | 1);
        let (mut env, mut bend, mut snap, mut phase, mut t) =
            (1.0f32, 1.0f32, 0.35f32, 0.0f32, 0usize);
        self.rhythm.add(start, len, 0.0, || {
            let mut s = sine.at(phase) * env;
            if t < click_len {
                s += noise.next() * snap;
                snap *= click;
            }
            t += 1;
            phase = wrap(phase + (48.0 + 102.0 * bend) * per_sample);
            env *= body;
            bend *= sweep;
            s * level
        });
        self.kicks.push(start);
    }

    fn kit_level(&self) -> f32 {
        self.arr.drums.map_or(0.0, |d| d.level)
    }

    /// Band-passed noise in three quick bursts, as hands clap.
    fn clap(&mut self, start: usize) {
        let len = self.samples(0.35);
        let rate = self.rate;
        let burst = self.samples(0.011);
        let tail = (-1.0 / (0.09 * rate)).exp();
        let fast = (-1.0 / (0.004 * rate)).exp();
        let f = 2.0 * (PI * 1400.0 / rate).sin();
        let q = 0.9;
        let level = 0.22 * self.kit_level();
        let mut noise = Noise(self.rng.next() as u32 | 1);
        let (mut low, mut band, mut env, mut flick, mut t) =
            (0.0f32, 0.0f32, 1.0f32, 1.0f32, 0usize);
        self.rhythm.add(start, len, 0.1, || {
            // Chamberlin state-variable filter, band-pass output.
            let x = noise.next();
            low += f * band;
            let high = x - low - q * band;
            band += f * high;
            if t > 0 && t % burst == 0 && t <= 2 * burst {
                flick = 1.0;
            }
            t += 1;
            let amp = if t <= 3 * burst {
                flick.max(env * 0.6)
            } else {
                env
            };
            env *= tail;
            flick *= fast;
            band * amp * level
        });
    }

    /// High-passed noise; closed hats are 30 ms long, an open one 150 ms.
    fn hat(&mut self, start: usize, level: f32, open: bool) {
        let decay_s = if open { 0.15 } else { 0.03 };
        let len = self.samples(decay_s * 5.0);
        let rate = self.rate;
        let decay = (-1.0 / (decay_s * rate)).exp();
        let a = 1.0 - (-TAU * 7000.0 / rate).exp();
        let level = level * self.kit_level();
        let mut noise = Noise(self.rng.next() as u32 | 1);
        let (mut low, mut env) = (0.0f32, 1.0f32);
        self.rhythm.add(start, len, 0.3, || {
            let x = noise.next();
            low += a * (x - low);
            env *= decay;
            (x - low) * env * level
        });
    }

    /// Sums the buses into interleaved stereo: the pad through a gentle
    /// low-pass (warmth, and room for the arpeggio) and the side-chain, the
    /// arpeggio with its ping-pong echo.
    fn mixdown(&self, out: &mut [f32]) {
        let a = 1.0 - (-TAU * self.arr.pad_cutoff_hz / self.rate).exp();
        let (mut lp_l, mut lp_r) = (0.0f32, 0.0f32);
        // A dotted eighth, the classic echo against straight eighths. Each
        // side's echo is the other's from one delay ago, so repeats bounce
        // left and right; only one delay's worth of them is kept.
        let delay = self.at(0.75).max(1);
        let feedback = 0.35;
        let wet = self.arr.echo;
        let mut echo_l = vec![0.0f32; delay];
        let mut echo_r = vec![0.0f32; delay];
        // The side-chain: the pad dips on each kick and swells back over
        // about a beat, the pulse of dance music.
        let recover = (-1.0 / (0.12 * self.rate)).exp();
        let (mut dip, mut next_kick) = (0.0f32, 0);
        for i in 0..self.frames {
            while self.kicks.get(next_kick).is_some_and(|&k| k <= i) {
                dip = self.arr.pump;
                next_kick += 1;
            }
            let pump = 1.0 - dip;
            dip *= recover;
            // Linear interpolation back up to the full rate; the low-pass
            // after it and the encoder's band limit take out what is left
            // of the images (all above 19 kHz).
            let (h, odd) = (i / PAD_DECIMATION, i % PAD_DECIMATION == 1);
            let (pad_l, pad_r) = if odd {
                (
                    (self.pad.left[h] + self.pad.left[h + 1]) * 0.5,
                    (self.pad.right[h] + self.pad.right[h + 1]) * 0.5,
                )
            } else {
                (self.pad.left[h], self.pad.right[h])
            };
            lp_l += a * (pad_l - lp_l);
            lp_r += a * (pad_r - lp_r);

            let slot = i % delay;
            let dry = if i >= delay {
                (self.arp_bus.left[i - delay] + self.arp_bus.right[i - delay]) * 0.5
            } else {
                0.0
            };
            // Both read before either is overwritten: the slot holds the
            // values from one delay ago.
            let (el, er) = (dry + feedback * echo_r[slot], echo_l[slot]);
            echo_l[slot] = el;
            echo_r[slot] = er;

            out[2 * i] = lp_l * pump + self.arp_bus.left[i] + wet * el + self.rhythm.left[i];
            out[2 * i + 1] = lp_r * pump + self.arp_bus.right[i] + wet * er + self.rhythm.right[i];
        }
    }
}

/// A plucked note's amplitude: a 3 ms rise, then an exponential decay. The
/// note stops after five time constants or [`MAX_RING_S`], whichever comes
/// first, fading out over its last fifth so that stopping short does not
/// click.
struct Ring {
    t: usize,
    attack: usize,
    len: usize,
    taper: usize,
    decay: f32,
    env: f32,
}

/// Long rings cost time for every sample they sound and are masked by the
/// notes after them by then (a 0.9 s decay is down 14 dB at 1.5 s).
const MAX_RING_S: f32 = 1.5;

impl Ring {
    fn new(rate: f32, decay_s: f32) -> Ring {
        let len = ((decay_s * 5.0).min(MAX_RING_S) * rate) as usize;
        Ring {
            t: 0,
            attack: (0.003 * rate) as usize,
            len: len.max(1),
            taper: (len / 5).max(1),
            decay: (-1.0 / (decay_s * rate)).exp(),
            env: 1.0,
        }
    }

    #[inline]
    fn next(&mut self) -> f32 {
        let rise = if self.t < self.attack {
            self.t as f32 / self.attack as f32
        } else {
            1.0
        };
        let left = self.len.saturating_sub(self.t);
        let fall = if left < self.taper {
            left as f32 / self.taper as f32
        } else {
            1.0
        };
        self.t += 1;
        self.env *= self.decay;
        rise * fall * self.env
    }
}

// ---------------------------------------------------------------------------
// Oscillators.

const TABLE_SIZE: usize = 2048;

/// One cycle of a waveform, band-limited by construction (a sum of a few
/// harmonics, all far below Nyquist for the notes we play), with one extra
/// sample so interpolation never wraps.
struct Table([f32; TABLE_SIZE + 1]);

impl Table {
    fn harmonics(amps: &[f32]) -> Table {
        let peak: f32 = amps.iter().map(|a| a.abs()).sum();
        let mut table = [0.0; TABLE_SIZE + 1];
        for (i, out) in table.iter_mut().enumerate() {
            let x = TAU * i as f32 / TABLE_SIZE as f32;
            let s: f32 = amps
                .iter()
                .enumerate()
                .map(|(k, a)| a * (x * (k + 1) as f32).sin())
                .sum();
            *out = s / peak;
        }
        Table(table)
    }

    /// The waveform at `phase` in cycles (any value: the table repeats),
    /// linearly interpolated.
    #[inline]
    fn at(&self, phase: f32) -> f32 {
        let x = phase * TABLE_SIZE as f32;
        // Truncation and a mask instead of `floor`, which without SSE4.1 is
        // a library call: this runs for every sample of every voice.
        let mut i = x as i32;
        let mut frac = x - i as f32;
        if frac < 0.0 {
            i -= 1;
            frac += 1.0;
        }
        let i = (i as usize) & (TABLE_SIZE - 1);
        self.0[i] + (self.0[i + 1] - self.0[i]) * frac
    }
}

/// Keeps an oscillator's phase in 0..1 (steps are always below one cycle).
#[inline]
fn wrap(phase: f32) -> f32 {
    if phase >= 1.0 { phase - 1.0 } else { phase }
}

struct Tables {
    sine: Table,
    /// A saw with its top rolled off: the pad.
    warm: Table,
    bass: Table,
    bright: Table,
    soft: Table,
    music_box: Table,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables {
        sine: Table::harmonics(&[1.0]),
        warm: Table::harmonics(
            &(1..=14)
                .map(|k| 1.0 / (k as f32).powf(1.4))
                .collect::<Vec<_>>(),
        ),
        bass: Table::harmonics(&[1.0, 0.45, 0.18, 0.08, 0.04]),
        bright: Table::harmonics(&(1..=10).map(|k| 1.0 / k as f32).collect::<Vec<_>>()),
        soft: Table::harmonics(&[1.0, 0.25, 0.08]),
        music_box: Table::harmonics(&[1.0, 0.3, 0.0, 0.18, 0.0, 0.06]),
    })
}

/// SplitMix64: tiny, fast and, above all, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in `0.0..1.0`.
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `low..=high`.
    fn range(&mut self, low: u32, high: u32) -> u32 {
        low + (self.next() % u64::from(high - low + 1)) as u32
    }

    fn index(&mut self, len: usize) -> usize {
        (self.next() % len as u64) as usize
    }
}

/// White noise from xorshift32, in −1..1.
struct Noise(u32);

impl Noise {
    #[inline]
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 as i32) as f32 / 2_147_483_648.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moods_parse_and_print() {
        for mood in Mood::ALL {
            assert_eq!(Mood::parse(mood.as_str()), Some(mood));
            assert_eq!(
                Mood::parse(&format!(" {} ", mood.as_str().to_uppercase())),
                Some(mood)
            );
        }
        assert_eq!(Mood::parse("sad"), None);
    }

    #[test]
    fn style_keywords_pick_the_mood() {
        let cases = [
            ("Lively and fun", Mood::Upbeat),
            ("bold, sporty", Mood::Energetic),
            ("for the gym: energetic!", Mood::Energetic),
            ("calm, minimal", Mood::Calm),
            ("soft cosy evenings", Mood::Calm),
            ("Luxury", Mood::Elegant),
            ("premium, elegant", Mood::Elegant),
            ("活泼可爱", Mood::Upbeat),
            ("安静", Mood::Calm),
            ("高级感", Mood::Elegant),
            ("运动风", Mood::Energetic),
            // The first keyword decides.
            ("calm but premium", Mood::Calm),
            ("premium but calm", Mood::Elegant),
        ];
        for (style, mood) in cases {
            for seed in [0, 1, 2, 3] {
                assert_eq!(Mood::for_style(Some(style), seed), mood, "{style}");
            }
        }
    }

    #[test]
    fn without_keywords_the_seed_decides() {
        let picked: std::collections::HashSet<Mood> = (0..64)
            .map(|seed| Mood::for_style(Some("a mug"), seed))
            .chain((0..64).map(|seed| Mood::for_style(None, seed)))
            .collect();
        assert_eq!(picked.len(), 4);
        assert_eq!(Mood::for_style(None, 7), Mood::for_style(Some(""), 7));
        // "fun" is a prefix match on words, not a substring anywhere.
        for seed in 0..8 {
            assert_eq!(
                Mood::for_style(Some("refund policy"), seed),
                Mood::for_style(None, seed)
            );
        }
    }

    #[test]
    fn scale_and_fold() {
        // C major from middle C, and its ninth an octave up.
        let c: Vec<i32> = (0..8).map(|s| scale_note(60, s)).collect();
        assert_eq!(c, vec![60, 62, 64, 65, 67, 69, 71, 72]);
        assert_eq!(scale_note(60, -1), 59);
        assert_eq!(fold(40, 55), 64);
        assert_eq!(fold(66, 55), 66);
    }

    #[test]
    fn tables_are_normalised_cycles() {
        let t = tables();
        for table in [&t.sine, &t.warm, &t.bass, &t.bright, &t.soft, &t.music_box] {
            assert!(table.0.iter().all(|s| s.abs() <= 1.0));
            assert!((table.0[0] - table.0[TABLE_SIZE]).abs() < 1e-5);
        }
        assert!((t.sine.at(0.25) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn odd_lengths() {
        assert_eq!(bed(Mood::Calm, 0.0, 1).frames(), 0);
        assert_eq!(bed(Mood::Calm, -3.0, 1).frames(), 0);
        assert_eq!(bed(Mood::Calm, f64::NAN, 1).frames(), 0);
        assert_eq!(bed(Mood::Upbeat, 0.01, 1).frames(), 480);
        let short = bed(Mood::Energetic, 0.25, 1);
        assert_eq!(short.frames(), 12_000);
        assert!(
            short
                .samples
                .iter()
                .all(|s| s.is_finite() && s.abs() <= 1.0)
        );
    }
}
