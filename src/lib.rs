//! Ledgerport's AR engine: money, customers, invoices, the double-entry ledger and the use cases
//! over them. No UI and no HTTP here; persistence sits behind the `ssr` feature so that the WASM
//! client can share the domain types.

// The emails' texts in every language (`src/locales/emails.yml`), looked up with `tr!`; the
// WASM client sends no email, so only the server build carries them.
#[cfg(feature = "ssr")]
rust_i18n::i18n!("src/locales", fallback = "en");

pub mod adjustments;
pub mod api_keys;
pub mod auth;
pub mod autopay;
pub mod checkout;
pub mod collections;
pub mod company;
pub mod customers;
pub mod disputes;
pub mod exports;
pub mod imports;
pub mod invoices;
pub mod journal;
pub mod keys;
pub mod ledger;
pub mod locale;
pub mod money;
pub mod outbox;
pub mod paging;
pub mod payments;
pub mod payouts;
pub mod periods;
pub mod plans;
pub mod printed;
pub mod promises;
pub mod receivables;
pub mod reconciliation;
pub mod refunds;
pub mod reminders;
pub mod reports;
pub mod saved_methods;
pub mod statements;
pub mod terms;
pub mod text_enum;
pub mod transfers;
pub mod users;
pub mod verification;

#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod chargebacks;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(test)]
mod module_graph;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod seed;
#[cfg(feature = "ssr")]
pub mod settlement;
#[cfg(feature = "test-support")]
pub mod testing;
