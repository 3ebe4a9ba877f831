//! The binary as a user runs it: bad configuration and unavailable resources end with one clear
//! line on stderr and a non-zero exit, never a panic.

use std::process::{Command, Output};

fn ledgerport(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("ledgerport-cli-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ledgerport"));
    command
        .args(args)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn one_error_line(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected failure, got {:?}",
        output.status
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ledgerport: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    lines[0].to_string()
}

#[test]
fn a_bad_database_url_names_the_variable() {
    let out = ledgerport(&["migrate"], &[("DATABASE_URL", "mysql://db/ar")]);
    assert!(one_error_line(&out).contains("DATABASE_URL"));
}

#[test]
fn an_unreachable_postgres_is_one_line() {
    let out = ledgerport(
        &["migrate"],
        &[("DATABASE_URL", "postgres://app:hunter22@127.0.0.1:1/ar")],
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("cannot reach the database at postgres://app:***@127.0.0.1:1/ar"),
        "{line}"
    );
    assert!(!line.contains("hunter22"));
}

#[test]
fn a_port_in_use_is_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = ledgerport(&["serve", "--no-demo"], &[("LISTEN_ADDR", &addr)]);
    let line = one_error_line(&out);
    assert!(line.contains(&format!("cannot listen on {addr}")), "{line}");
}

#[test]
fn migrate_and_seed_work_on_a_new_sqlite_file() {
    let out = ledgerport(&["seed"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pat@acme.example"), "{stdout}");
    assert!(stdout.contains("manager@ledgerport.example"), "{stdout}");
}

#[test]
fn create_staff_refuses_a_common_password_and_accepts_a_good_one() {
    let dir = std::env::temp_dir().join(format!("ledgerport-cli-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = [
        "create-staff",
        "--email",
        "ann@example.com",
        "--name",
        "Ann",
        "--role",
        "manager",
    ];
    let weak = run_in(&dir, &args, b"password123\n");
    assert!(one_error_line(&weak).contains("common passwords"));
    let good = run_in(&dir, &args, b"a long and unusual passphrase\n");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let again = run_in(&dir, &args, b"a long and unusual passphrase\n");
    assert!(one_error_line(&again).contains("already registered"));
}

#[test]
fn a_card_limit_is_set_per_currency_and_per_customer_and_bad_amounts_are_refused() {
    let dir = std::env::temp_dir().join(format!("ledgerport-cli-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(run_in(&dir, &["seed"], b"").status.success());
    let default = run_in(
        &dir,
        &["card-limit", "--currency", "usd", "--amount", "10000.00"],
        b"",
    );
    assert!(
        String::from_utf8_lossy(&default.stdout).contains("card limit for USD default: 10000.00"),
        "{}",
        String::from_utf8_lossy(&default.stderr)
    );
    let customer = run_in(
        &dir,
        &["card-limit", "--customer", "C-1001", "--amount", "500"],
        b"",
    );
    assert!(String::from_utf8_lossy(&customer.stdout).contains("customer C-1001: 500"));
    let removed = run_in(
        &dir,
        &["card-limit", "--customer", "C-1001", "--amount", "none"],
        b"",
    );
    assert!(String::from_utf8_lossy(&removed.stdout).contains("customer C-1001: none"));
    let bad = run_in(
        &dir,
        &["card-limit", "--currency", "USD", "--amount=-5"],
        b"",
    );
    assert!(one_error_line(&bad).contains("positive amount"));
    let unknown = run_in(
        &dir,
        &["card-limit", "--customer", "C-9999", "--amount", "5"],
        b"",
    );
    assert!(one_error_line(&unknown).contains("no customer numbered"));
}

#[test]
fn a_receiving_bank_account_is_checked_and_set_per_currency() {
    let dir = std::env::temp_dir().join(format!("ledgerport-cli-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(run_in(&dir, &["migrate"], b"").status.success());
    let sepa = run_in(
        &dir,
        &[
            "bank-account",
            "--currency",
            "eur",
            "--holder",
            "Example GmbH",
            "--bank",
            "Commerzbank",
            "--iban",
            "de89 3704 0044 0532 0130 00",
            "--bic",
            "COBADEFFXXX",
            "--wait-days",
            "3",
        ],
        b"",
    );
    assert!(
        String::from_utf8_lossy(&sepa.stdout).contains(
            "receiving account set up: EUR: Example GmbH, Commerzbank, IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX; transfers awaited 3 days"
        ),
        "{}",
        String::from_utf8_lossy(&sepa.stderr)
    );
    // Once a currency has an account, only two managers change it, in the portal.
    let again = run_in(
        &dir,
        &[
            "bank-account",
            "--currency",
            "EUR",
            "--holder",
            "Someone Else Ltd",
            "--bank",
            "Other Bank",
            "--iban",
            "GB82 WEST 1234 5698 7654 32",
        ],
        b"",
    );
    assert!(!again.status.success());
    assert!(
        one_error_line(&again).contains("EUR already has a receiving account"),
        "{}",
        one_error_line(&again)
    );
    let bad_iban = run_in(
        &dir,
        &[
            "bank-account",
            "--currency",
            "EUR",
            "--holder",
            "Example GmbH",
            "--bank",
            "B",
            "--iban",
            "DE89370400440532013001",
        ],
        b"",
    );
    assert!(one_error_line(&bad_iban).contains("is not a valid IBAN"));
    let bad_routing = run_in(
        &dir,
        &[
            "bank-account",
            "--currency",
            "USD",
            "--holder",
            "Example Inc.",
            "--bank",
            "B",
            "--account",
            "000123456789",
            "--routing",
            "123456789",
        ],
        b"",
    );
    assert!(one_error_line(&bad_routing).contains("routing number"));
}

#[test]
fn a_banks_csv_mapping_is_saved_and_a_bad_one_refused() {
    let dir = std::env::temp_dir().join(format!("ledgerport-cli-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(run_in(&dir, &["migrate"], b"").status.success());
    let base = [
        "csv-mapping",
        "--name",
        "Sparkasse",
        "--account",
        "DE89370400440532013000",
        "--currency",
        "EUR",
        "--delimiter",
        ";",
        "--date-column",
        "Buchungstag",
        "--amount-column",
        "Betrag",
        "--decimal-separator",
        ",",
        "--reference-column",
        "Referenz",
    ];
    let saved = run_in(
        &dir,
        &[&base[..], &["--date-format", "%d.%m.%Y"]].concat(),
        b"",
    );
    assert!(
        String::from_utf8_lossy(&saved.stdout).contains("CSV mapping \"Sparkasse\" saved"),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let bad = run_in(
        &dir,
        &[&base[..], &["--date-format", "nonsense"]].concat(),
        b"",
    );
    assert!(one_error_line(&bad).contains("is not a date format"));
}

fn run_in(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledgerport"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}
