//! The Ledgerport server as a library, so integration tests can build the same router.

// The texts of the PDFs in every language (`server/locales/server.yml`), looked up with `ledgerport::tr!`.
rust_i18n::i18n!("locales", fallback = "en");

pub mod api;
pub mod bank_statements;
pub mod cli;
pub mod company_logo;
pub mod config;
pub mod disputes;
pub mod documents;
mod guard;
pub mod http;
pub mod imports;
pub mod jobs;
pub mod mail;
pub mod recovery_codes;
pub mod sandbox;
pub mod state;
pub mod stripe;
mod telemetry;
pub mod webhooks;
