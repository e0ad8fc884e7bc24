//! Thin handlers: parse, call the domain, shape the reply.

pub mod accounts;
