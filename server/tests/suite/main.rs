//! The server's integration tests, one binary: each area is a module, so the whole application
//! is linked once instead of once per file.

mod common;

mod access;
mod admin;
mod api;
mod bad_input;
mod cli;
mod disputes;
mod documents;
mod faults;
mod http;
mod mail;
mod payments;
mod stripe;
mod workspace;
