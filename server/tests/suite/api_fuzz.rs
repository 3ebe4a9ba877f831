//! The ERP API against a schema-driven fuzzer: schemathesis (from PyPI, installed by
//! scripts/test.sh) reads `/api/v1/openapi.json` from the test server on 127.0.0.1 and sends
//! valid and invalid requests to every operation for at most a minute. No answer may
//! be a server error, or a status, content type or body the document does not describe.

use crate::common::spawn_app;

/// The schemathesis command: `SCHEMATHESIS`, else the one scripts/test.sh installs.
fn schemathesis() -> std::path::PathBuf {
    std::env::var_os("SCHEMATHESIS").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/schemathesis/bin/st"),
        std::path::PathBuf::from,
    )
}

#[tokio::test]
async fn a_schema_driven_fuzzer_finds_no_server_error_and_no_undocumented_answer() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let st = schemathesis();
    let mut command = std::process::Command::new(&st);
    command
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "50",
            "--workers",
            "1",
            "--seed",
            "20261205",
            "--max-time",
            "60",
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
        ])
        .env("NO_COLOR", "1")
        // It keeps a cache of what it found in its working directory: not in the repository.
        .current_dir(std::env::temp_dir());
    // The server answers on this test's runtime while the fuzzer runs beside it.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!(
                "schemathesis is not installed at {} ({e}): scripts/test.sh installs it",
                st.display()
            )
        });
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
    ledgerport::testing::fixtures::assert_ledger_healthy(&app.db).await;
}
