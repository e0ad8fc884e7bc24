//! Glimvid's offline media providers: they do the real work of the AI
//! stages (check an upload, write a script, enhance the photo, render the
//! video) in process, with no network and no external binaries, so the whole
//! product runs and is testable on one machine. The video's sound track (a
//! synthesised music bed, loudness normalisation, AAC in and out) is in
//! [`audio`].
//!
//! Every function here takes untrusted bytes or text; none of them panics on
//! bad input, they return a [`MediaError`] whose [`MediaError::code`] is
//! stable enough to store and show.

mod error;
mod mood;
mod options;

#[cfg(feature = "codecs")]
pub mod audio;
#[cfg(feature = "codecs")]
pub mod enhance;
#[cfg(feature = "codecs")]
mod fonts;
#[cfg(feature = "codecs")]
mod imaging;
pub mod probe;
#[cfg(feature = "codecs")]
pub mod render;
pub mod script;

// Re-exported so callers name the same `image` version the API uses.
#[cfg(feature = "codecs")]
pub use image;

#[cfg(feature = "codecs")]
pub use enhance::Enhanced;
pub use error::MediaError;
pub use mood::Mood;
pub use options::{Aspect, Language, MAX_DURATION_S, MIN_DURATION_S};
pub use probe::{ImageFormat, ImageInfo};
#[cfg(feature = "codecs")]
pub use render::{Background, EndCard, RenderRequest, Rendered};
pub use script::{Script, ScriptInput};
