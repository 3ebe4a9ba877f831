//! Property test: random sequences of every use case, with replays, on the real database.
//! After every step the ledger invariants must hold, and a replay must change nothing.

use proptest::prelude::*;
use sqlx::Row;

use crate::adjustments::store::adjust;
use crate::adjustments::{AdjustmentHeader, AdjustmentRequest, RefundSource};
use crate::db::Db;
use crate::money::{Currency, Money};
use crate::payments::store::{apply_credit, record_payment};
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::reports::store::ledger_health;
use crate::testing::fixtures::{customer, date, invoice, line_ids};
use crate::testing::fresh_db;

#[derive(Debug, Clone)]
enum Op {
    Issue {
        minor: i64,
        taxed: bool,
    },
    Pay {
        minor: i64,
        target: Option<usize>,
        discounts: bool,
    },
    ApplyCredit,
    CreditMemo {
        target: usize,
        minor: i64,
    },
    WriteOff {
        target: usize,
        minor: i64,
    },
    Refund {
        minor: i64,
    },
    Void {
        target: usize,
    },
    /// Repeat the n-th successful operation exactly.
    Replay {
        nth: usize,
    },
    /// Fold the receivables queue into its summary (the job does it every few seconds).
    Fold,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1i64..50_000, any::<bool>()).prop_map(|(minor, taxed)| Op::Issue { minor, taxed }),
        3 => (1i64..60_000, proptest::option::of(0usize..64), any::<bool>())
            .prop_map(|(minor, target, discounts)| Op::Pay { minor, target, discounts }),
        1 => Just(Op::ApplyCredit),
        1 => (0usize..64, 1i64..20_000).prop_map(|(target, minor)| Op::CreditMemo { target, minor }),
        1 => (0usize..64, 1i64..20_000).prop_map(|(target, minor)| Op::WriteOff { target, minor }),
        1 => (1i64..10_000).prop_map(|minor| Op::Refund { minor }),
        1 => (0usize..64).prop_map(|target| Op::Void { target }),
        2 => (0usize..1_000).prop_map(|nth| Op::Replay { nth }),
        1 => Just(Op::Fold),
    ]
}

/// Something a replay can repeat.
#[derive(Debug, Clone)]
enum Done {
    Pay(PaymentRequest),
    Adjust(AdjustmentHeader, AdjustmentRequest),
}

/// Counts and sums that a replay must leave unchanged.
async fn fingerprint(db: &Db) -> (i64, i64, i64) {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM journal_entries), (SELECT count(*) FROM journal_lines), \
                (SELECT COALESCE(CAST(sum(open_minor) AS BIGINT), 0) FROM invoices)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn assert_invariants(db: &Db, step: usize, op: &Op) {
    let report = ledger_health(db, None).await.unwrap();
    assert!(
        report.violations.is_empty(),
        "after step {step} ({op:?}): {:#?}",
        report.violations
    );
    // AR control (receivables + unapplied credit) = open invoices − unapplied credit.
    let row = sqlx::query(
        "SELECT (SELECT COALESCE(CAST(sum(amount_minor) AS BIGINT), 0) FROM journal_lines \
                 WHERE account_code IN ('1100', '2200')), \
                (SELECT COALESCE(CAST(sum(open_minor) AS BIGINT), 0) FROM invoices), \
                (SELECT COALESCE(CAST(-sum(amount_minor) AS BIGINT), 0) FROM journal_lines WHERE account_code = '2200')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let (control, open, unapplied): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(control, open - unapplied, "after step {step} ({op:?})");
    assert!(unapplied >= 0);
}

/// Plays `ops` on a fresh book, checking every invariant after each; returns the book.
async fn run(ops: Vec<Op>) -> Db {
    let db = fresh_db().await;
    let c = customer(&db, "C-P", Currency::Usd, (30, 200, 10)).await;
    let usd = |m| Money::from_minor(m, Currency::Usd);
    let mut invoices: Vec<i64> = Vec::new();
    let mut done: Vec<Done> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let key = format!("k{step}");
        let day = date("2026-03-01") + chrono::Days::new(step as u64 / 10);
        let header = AdjustmentHeader::new(c, &key, "property test", day).unwrap();
        let pick = |i: usize| (!invoices.is_empty()).then(|| invoices[i % invoices.len()]);
        match op {
            Op::Issue { minor, taxed } => {
                let issued = day.format("%Y-%m-%d").to_string();
                let tax = if *taxed { 825 } else { 0 };
                invoices.push(
                    invoice(
                        &db,
                        c,
                        &format!("P-{step}"),
                        Currency::Usd,
                        &issued,
                        &[(*minor, tax)],
                    )
                    .await,
                );
            }
            Op::Pay {
                minor,
                target,
                discounts,
            } => {
                let rule = match target.and_then(pick) {
                    Some(id) => AllocationRule::Explicit(vec![(id, usd(*minor))]),
                    None => AllocationRule::OldestFirst,
                };
                let request = PaymentRequest::new(
                    c,
                    &key,
                    PaymentMethod::Card,
                    usd(*minor),
                    day,
                    rule,
                    *discounts,
                )
                .unwrap();
                // Paying a voided invoice explicitly is refused; anything else must succeed.
                if record_payment(&db, &request).await.is_ok() {
                    done.push(Done::Pay(request));
                }
            }
            Op::ApplyCredit => {
                let _ = apply_credit(&db, c, &key, None, &AllocationRule::OldestFirst, day).await;
            }
            Op::CreditMemo { target, minor } => {
                if let Some(id) = pick(*target) {
                    let line = line_ids(&db, id).await[0];
                    let request = AdjustmentRequest::CreditMemo {
                        invoice_id: id,
                        lines: vec![(line, usd(*minor))],
                    };
                    if adjust(&db, &header, &request).await.is_ok() {
                        done.push(Done::Adjust(header, request));
                    }
                }
            }
            Op::WriteOff { target, minor } => {
                if let Some(id) = pick(*target) {
                    let request = AdjustmentRequest::WriteOff {
                        invoice_id: id,
                        amount: usd(*minor),
                    };
                    if adjust(&db, &header, &request).await.is_ok() {
                        done.push(Done::Adjust(header, request));
                    }
                }
            }
            Op::Refund { minor } => {
                let request = AdjustmentRequest::Refund {
                    source: RefundSource::UnappliedCredit,
                    amount: usd(*minor),
                    method: PaymentMethod::Card,
                };
                if adjust(&db, &header, &request).await.is_ok() {
                    done.push(Done::Adjust(header, request));
                }
            }
            Op::Void { target } => {
                if let Some(id) = pick(*target) {
                    let request = AdjustmentRequest::Void { invoice_id: id };
                    if adjust(&db, &header, &request).await.is_ok() {
                        done.push(Done::Adjust(header, request));
                    }
                }
            }
            Op::Fold => {
                crate::ledger::daily::fold(&db).await.unwrap();
            }
            Op::Replay { nth } => {
                if !done.is_empty() {
                    let before = fingerprint(&db).await;
                    match &done[nth % done.len()] {
                        Done::Pay(request) => {
                            assert!(record_payment(&db, request).await.unwrap().replayed)
                        }
                        Done::Adjust(header, request) => {
                            assert!(adjust(&db, header, request).await.unwrap().replayed)
                        }
                    }
                    assert_eq!(
                        fingerprint(&db).await,
                        before,
                        "a replay changed the ledger at step {step}"
                    );
                }
            }
        }
        assert_invariants(&db, step, op).await;
    }
    db
}

/// Exports the whole book as an hledger journal and has the real hledger read it: hledger
/// refuses a transaction that does not balance, and its balance per account must be the trial
/// balance to the cent.
async fn hledger_agrees_with_the_trial_balance(db: &Db) {
    use crate::exports::ExportFormat;
    use crate::exports::formats::{hledger_account, render};
    use crate::exports::store::{export_lines, export_new_entries};
    let actor = crate::audit::Actor {
        user_id: None,
        name: "property test",
    };
    let batch = export_new_entries(db, actor).await.unwrap().unwrap();
    let journal = render(
        ExportFormat::Hledger,
        batch.id,
        &export_lines(db, batch.id).await.unwrap(),
    )
    .unwrap();
    let file = std::env::temp_dir().join(format!(
        "ledgerport-{}-{}.journal",
        std::process::id(),
        batch.id
    ));
    std::fs::write(&file, &journal).unwrap();
    let output = std::process::Command::new("hledger")
        .arg("-f")
        .arg(&file)
        .args(["balance", "--flat", "--no-total", "-O", "csv"])
        .output()
        .expect("hledger is not installed: scripts/test.sh installs it (apt-get install hledger)");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "hledger refused the journal: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut from_hledger: Vec<(String, String)> =
        csv::Reader::from_reader(output.stdout.as_slice())
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[1].to_string())
            })
            .collect();
    from_hledger.sort();
    let kinds: std::collections::HashMap<String, String> =
        sqlx::query_as("SELECT code, kind FROM accounts")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut from_ledger: Vec<(String, String)> =
        crate::reports::store::trial_balance(db, date("2099-12-31"))
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.debit_minor != row.credit_minor)
            .map(|row| {
                let currency: Currency = row.currency.parse().unwrap();
                (
                    hledger_account(
                        &kinds[&row.account_code],
                        &row.account_code,
                        &row.account_name,
                    ),
                    format!(
                        "{} {}",
                        Money::from_minor(row.debit_minor - row.credit_minor, currency)
                            .decimal_text(),
                        currency.code()
                    ),
                )
            })
            .collect();
    from_ledger.sort();
    assert_eq!(from_hledger, from_ledger);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_with_replays_keep_every_ledger_invariant(
        ops in proptest::collection::vec(op(), 150..350)
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(run(ops));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    #[test]
    fn a_random_books_hledger_journal_balances_and_agrees_with_the_trial_balance_to_the_cent(
        ops in proptest::collection::vec(op(), 60..200)
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let db = run(ops).await;
            hledger_agrees_with_the_trial_balance(&db).await;
        });
    }
}
