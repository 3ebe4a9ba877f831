//! The server's integration tests, linked once as one binary: each area is a module, run in
//! parallel beside the others. `common` is the test server and the local fakes (Stripe, SMTP).

mod common;

mod access;
mod admin;
mod api;
mod api_fuzz;
mod autopay;
mod bad_input;
mod bank_debits;
mod cash_application;
mod cli;
mod closing;
mod disputes;
mod documents;
mod faults;
mod http;
mod mail;
mod passkeys;
mod payments;
mod payouts;
mod stripe;
mod transfers;
mod two_factor;
mod workspace;
