//! The Ledgerport server as a library, so integration tests can build the same router.

pub mod cli;
pub mod config;
pub mod documents;
mod guard;
pub mod http;
pub mod sandbox;
mod telemetry;
pub mod webhooks;
