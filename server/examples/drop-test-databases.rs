//! Drops the `lp_test_*` databases earlier test runs left on the PostgreSQL in TEST_DATABASE.
//! Run by scripts/test.sh before the PostgreSQL suite.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let Ok(url) = std::env::var("TEST_DATABASE") else {
        eprintln!("drop-test-databases: TEST_DATABASE is not set");
        return std::process::ExitCode::FAILURE;
    };
    match ledgerport::testing::drop_stale_test_databases(&url).await {
        Ok(n) => {
            if n > 0 {
                eprintln!("dropped {n} test databases left by earlier runs");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("drop-test-databases: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
