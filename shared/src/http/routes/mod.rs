//! Thin handlers: parse, call the domain, shape the reply.

pub mod accounts;
pub mod uploads;
pub mod videos;
