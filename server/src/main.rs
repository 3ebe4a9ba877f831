//! `ledgerport`: the server binary. Commands: serve, migrate, seed, create-staff.

use std::process::ExitCode;

use clap::Parser;
use server::cli;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is reported by the variable it breaks.
    let _ = dotenvy::dotenv();
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ledgerport: error: {error}");
            ExitCode::FAILURE
        }
    }
}
