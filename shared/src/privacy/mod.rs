//! The privacy policy's rights, as code: see and export everything we hold
//! about you, delete your account with all its content, keep your photos
//! out of model training.

pub mod export;
pub mod purge;
pub mod training;

pub use purge::{purge_step, request_deletion};
