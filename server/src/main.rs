//! `ledgerport`: the server binary. Commands: serve, migrate, seed, create-staff.

use std::process::ExitCode;

use clap::Parser;
use server::cli;

/// Serving a page makes many small allocations on every worker thread; with glibc's allocator,
/// malloc, free and their consolidation were a fifth of the server's CPU under load (`perf`, in
/// BENCHMARKS.md). mimalloc keeps a heap per thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
