//! Thin handlers: parse, call the domain, shape the reply.

pub mod accounts;
pub mod billing;
pub mod credits;
pub mod developer;
pub mod privacy;
pub mod uploads;
pub mod videos;
