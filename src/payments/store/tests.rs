//! Tests of `store` against a real database (a fresh one per test, on either engine).

use super::*;
use crate::payments::PaymentMethod;
use crate::reports::store::{account_summary, trial_balance};
use crate::testing::fixtures::*;
use crate::testing::fresh_db;

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::Usd)
}

fn pay(customer: i64, key: &str, amount: Money, on: &str, rule: AllocationRule) -> PaymentRequest {
    PaymentRequest::new(
        customer,
        key,
        PaymentMethod::Card,
        amount,
        date(on),
        rule,
        true,
    )
    .unwrap()
}

#[tokio::test]
async fn a_partial_payment_leaves_the_rest_of_the_invoice_open() {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let inv = invoice(
        &db,
        c,
        "INV-1",
        Currency::Usd,
        "2026-03-01",
        &[(100_000, 0)],
    )
    .await;
    let receipt = record_payment(
        &db,
        &pay(
            c,
            "pi_1",
            usd(40_000),
            "2026-03-05",
            AllocationRule::Explicit(vec![(inv, usd(40_000))]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(receipt.unapplied, usd(0));
    assert_eq!(open_minor(&db, inv).await, 60_000);
    let summary = account_summary(&db, c, date("2026-03-05"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.balance_due_minor, 60_000);
    assert_eq!(summary.next_due, Some((date("2026-03-31"), 60_000)));
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn an_overpayment_settles_the_invoice_and_the_excess_becomes_unapplied_credit() {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let inv = invoice(
        &db,
        c,
        "INV-1",
        Currency::Usd,
        "2026-03-01",
        &[(100_000, 0)],
    )
    .await;
    let receipt = record_payment(
        &db,
        &pay(
            c,
            "pi_1",
            usd(120_000),
            "2026-03-05",
            AllocationRule::OldestFirst,
        ),
    )
    .await
    .unwrap();
    assert_eq!(receipt.unapplied, usd(20_000));
    assert_eq!(open_minor(&db, inv).await, 0);
    let summary = account_summary(&db, c, date("2026-03-05"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (summary.balance_due_minor, summary.unapplied_credit_minor),
        (0, 20_000)
    );
    // The credit pays the next invoice when applied.
    let next = invoice(&db, c, "INV-2", Currency::Usd, "2026-03-06", &[(15_000, 0)]).await;
    let applied = apply_credit(
        &db,
        c,
        "apply-1",
        None,
        &AllocationRule::OldestFirst,
        date("2026-03-07"),
    )
    .await
    .unwrap();
    assert_eq!(applied[0].amount_minor, 15_000);
    assert_eq!(open_minor(&db, next).await, 0);
    let summary = account_summary(&db, c, date("2026-03-07"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.unapplied_credit_minor, 5_000);
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn one_payment_for_three_invoices_pays_the_oldest_first() {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let a = invoice(&db, c, "INV-A", Currency::Usd, "2026-01-10", &[(10_000, 0)]).await;
    let b = invoice(&db, c, "INV-B", Currency::Usd, "2026-02-10", &[(20_000, 0)]).await;
    let d = invoice(&db, c, "INV-C", Currency::Usd, "2026-03-10", &[(30_000, 0)]).await;
    record_payment(
        &db,
        &pay(
            c,
            "pi_3",
            usd(45_000),
            "2026-03-15",
            AllocationRule::OldestFirst,
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            open_minor(&db, a).await,
            open_minor(&db, b).await,
            open_minor(&db, d).await
        ),
        (0, 0, 15_000)
    );
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn a_payment_listing_several_invoices_settles_each_as_listed_and_names_the_first_it_cannot_pay()
 {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let other = customer(&db, "C-2", Currency::Usd, (30, 0, 0)).await;
    let a = invoice(&db, c, "INV-A", Currency::Usd, "2026-01-10", &[(10_000, 0)]).await;
    let b = invoice(&db, c, "INV-B", Currency::Usd, "2026-02-10", &[(20_000, 0)]).await;
    let d = invoice(&db, c, "INV-C", Currency::Usd, "2026-03-10", &[(30_000, 0)]).await;
    let voided = invoice(&db, c, "INV-V", Currency::Usd, "2026-03-11", &[(5_000, 0)]).await;
    let theirs = invoice(
        &db,
        other,
        "INV-O",
        Currency::Usd,
        "2026-03-12",
        &[(5_000, 0)],
    )
    .await;
    let clerk = crate::audit::Actor {
        user_id: None,
        name: "clerk@example.com",
    };
    crate::adjustments::store::void_invoice(
        &db,
        c,
        voided,
        "issued twice",
        date("2026-03-12"),
        clerk,
    )
    .await
    .unwrap();
    let listed = |parts: &[(i64, i64)]| {
        AllocationRule::Explicit(parts.iter().map(|(id, minor)| (*id, usd(*minor))).collect())
    };
    let before = rows(&db, "payments").await;
    // Whatever their order, the first listed invoice that cannot be paid is the one named.
    let foreign_first = listed(&[(d, 1_000), (theirs, 1_000), (voided, 1_000)]);
    let result = record_payment(
        &db,
        &pay(c, "pi_f", usd(3_000), "2026-03-15", foreign_first),
    )
    .await;
    assert!(
        matches!(result, Err(CashError::Payment(PaymentError::InvoiceNotFound(id))) if id == theirs),
        "{result:?}"
    );
    let void_first = listed(&[(d, 1_000), (voided, 1_000), (theirs, 1_000)]);
    let result = record_payment(&db, &pay(c, "pi_v", usd(3_000), "2026-03-15", void_first)).await;
    assert!(
        matches!(result, Err(CashError::Payment(PaymentError::InvoiceVoid(id))) if id == voided),
        "{result:?}"
    );
    assert_eq!(rows(&db, "payments").await, before);
    // Listed newest first, each gets exactly its amount; the account's kept balance moves by
    // all three (the health check compares it with its invoices).
    let receipt = record_payment(
        &db,
        &pay(
            c,
            "pi_3",
            usd(36_000),
            "2026-03-15",
            listed(&[(d, 30_000), (a, 4_000), (b, 2_000)]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(receipt.allocations.len(), 3);
    assert_eq!(
        (
            open_minor(&db, a).await,
            open_minor(&db, b).await,
            open_minor(&db, d).await
        ),
        (6_000, 18_000, 0)
    );
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn two_ten_net_thirty_settles_a_thousand_dollar_invoice_with_980_inside_the_window() {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 200, 10)).await;
    let inv = invoice(
        &db,
        c,
        "INV-1",
        Currency::Usd,
        "2026-03-01",
        &[(100_000, 0)],
    )
    .await;
    let receipt = record_payment(
        &db,
        &pay(
            c,
            "pi_d",
            usd(98_000),
            "2026-03-11",
            AllocationRule::Explicit(vec![(inv, usd(98_000))]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(receipt.allocations[0].discount_minor, 2_000);
    assert_eq!(open_minor(&db, inv).await, 0);
    let tb = trial_balance(&db, date("2026-03-31")).await.unwrap();
    let discounts = tb.iter().find(|r| r.account_code == "4900").unwrap();
    assert_eq!(discounts.debit_minor, 2_000);
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn yen_and_dinar_amounts_keep_their_own_minor_units() {
    let db = fresh_db().await;
    let jp = customer(&db, "C-JP", Currency::Jpy, (30, 0, 0)).await;
    let kw = customer(&db, "C-KW", Currency::Kwd, (30, 0, 0)).await;
    // ¥12,345 with 10 % tax = ¥13,580 (1,234.5 rounds half up to 1,235)
    let yen = invoice(
        &db,
        jp,
        "INV-JP",
        Currency::Jpy,
        "2026-03-01",
        &[(12_345, 1_000)],
    )
    .await;
    // KWD 1.250 with 5 % tax = KWD 1.313 (0.0625 rounds to 0.063)
    let dinar = invoice(
        &db,
        kw,
        "INV-KW",
        Currency::Kwd,
        "2026-03-01",
        &[(1_250, 500)],
    )
    .await;
    assert_eq!(open_minor(&db, yen).await, 13_580);
    assert_eq!(open_minor(&db, dinar).await, 1_313);
    let jpy = Money::from_minor(10_000, Currency::Jpy);
    record_payment(
        &db,
        &pay(jp, "pi_jp", jpy, "2026-03-02", AllocationRule::OldestFirst),
    )
    .await
    .unwrap();
    let kwd = Money::parse("1.313", Currency::Kwd).unwrap();
    record_payment(
        &db,
        &pay(kw, "pi_kw", kwd, "2026-03-02", AllocationRule::OldestFirst),
    )
    .await
    .unwrap();
    assert_eq!(open_minor(&db, yen).await, 3_580);
    assert_eq!(open_minor(&db, dinar).await, 0);
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn a_replayed_payment_changes_nothing_and_a_changed_one_is_refused() {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let inv = invoice(
        &db,
        c,
        "INV-1",
        Currency::Usd,
        "2026-03-01",
        &[(100_000, 0)],
    )
    .await;
    let request = pay(
        c,
        "pi_r",
        usd(30_000),
        "2026-03-02",
        AllocationRule::OldestFirst,
    );
    let first = record_payment(&db, &request).await.unwrap();
    let again = record_payment(&db, &request).await.unwrap();
    assert!(again.replayed);
    assert_eq!(first.payment_id, again.payment_id);
    assert_eq!(again.allocations, first.allocations);
    let changed = pay(
        c,
        "pi_r",
        usd(31_000),
        "2026-03-02",
        AllocationRule::OldestFirst,
    );
    assert!(matches!(
        record_payment(&db, &changed).await,
        Err(CashError::KeyConflict(_))
    ));
    assert_eq!(open_minor(&db, inv).await, 70_000);
    assert_eq!(rows(&db, "payments").await, 1);
    assert_ledger_healthy(&db).await;
}

#[tokio::test]
async fn bad_payments_are_typed_errors_and_write_nothing() {
    let db = fresh_db().await;
    let a = customer(&db, "C-A", Currency::Usd, (30, 0, 0)).await;
    let b = customer(&db, "C-B", Currency::Usd, (30, 0, 0)).await;
    let theirs = invoice(&db, b, "INV-B", Currency::Usd, "2026-03-01", &[(10_000, 0)]).await;
    let before = (
        rows(&db, "journal_entries").await,
        rows(&db, "payments").await,
    );

    let eur = Money::from_minor(5_000, Currency::Eur);
    let wrong_currency = record_payment(
        &db,
        &pay(a, "pi_eur", eur, "2026-03-02", AllocationRule::OldestFirst),
    )
    .await;
    assert!(matches!(
        wrong_currency,
        Err(CashError::Payment(PaymentError::WrongCurrency { .. }))
    ));

    let other_customer = pay(
        a,
        "pi_x",
        usd(5_000),
        "2026-03-02",
        AllocationRule::Explicit(vec![(theirs, usd(5_000))]),
    );
    let result = record_payment(&db, &other_customer).await;
    assert!(
        matches!(result, Err(CashError::Payment(PaymentError::InvoiceNotFound(id))) if id == theirs)
    );

    let nobody = record_payment(
        &db,
        &pay(
            9_999,
            "pi_n",
            usd(5_000),
            "2026-03-02",
            AllocationRule::OldestFirst,
        ),
    )
    .await;
    assert!(matches!(nobody, Err(CashError::UnknownCustomer(9_999))));

    let no_credit = apply_credit(
        &db,
        a,
        "ap",
        Some(usd(1)),
        &AllocationRule::OldestFirst,
        date("2026-03-02"),
    )
    .await;
    assert!(matches!(
        no_credit,
        Err(CashError::Payment(PaymentError::InsufficientCredit { .. }))
    ));

    assert_eq!(
        (
            rows(&db, "journal_entries").await,
            rows(&db, "payments").await
        ),
        before
    );
    assert_eq!(open_minor(&db, theirs).await, 10_000);
}

#[tokio::test]
async fn simultaneous_payments_for_one_invoice_never_over_apply_it() {
    let db = fresh_db().await;
    let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let inv = invoice(
        &db,
        c,
        "INV-1",
        Currency::Usd,
        "2026-03-01",
        &[(100_000, 0)],
    )
    .await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let request = pay(
                c,
                &format!("pi_race_{n}"),
                usd(10_000),
                "2026-03-02",
                AllocationRule::Explicit(vec![(inv, usd(10_000))]),
            );
            record_payment(&db, &request)
                .await
                .map(|r| r.unapplied.to_minor())
        }));
    }
    let mut unapplied = 0;
    for task in tasks {
        unapplied += task.await.unwrap().unwrap();
    }
    // Ten payments settle the invoice; the other six land in unapplied credit.
    assert_eq!(open_minor(&db, inv).await, 0);
    assert_eq!(unapplied, 60_000);
    let summary = account_summary(&db, c, date("2026-03-02"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.unapplied_credit_minor, 60_000);
    assert_ledger_healthy(&db).await;
}
