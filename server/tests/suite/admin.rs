//! Staff opening customer accounts over HTTP: checked terms, a unique number, staff only.

use crate::common::spawn_app;
use sqlx::Row;

const GOOD: &str = "number=c-2001&name=Initech+LLC&currency=usd&net_days=30&discount_percent=2&discount_days=10&credit_limit=25000.00";

#[tokio::test]
async fn a_clerk_opens_an_account_with_2_10_net_30_terms_and_a_credit_limit() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let response = app
        .invoke("/api/admin/create-customer", GOOD, Some(&clerk))
        .await;
    assert_eq!(response.status(), 200);
    let id: i64 = response.json().await.unwrap();
    let row = sqlx::query(
        "SELECT number, name, currency, net_days, discount_bp, discount_days, credit_limit_minor \
         FROM customers WHERE id = $1",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("number"), "C-2001");
    assert_eq!(row.get::<String, _>("name"), "Initech LLC");
    assert_eq!(row.get::<String, _>("currency"), "USD");
    assert_eq!(
        (
            row.get::<i64, _>("net_days"),
            row.get::<i64, _>("discount_bp"),
            row.get::<i64, _>("discount_days"),
            row.get::<i64, _>("credit_limit_minor")
        ),
        (30, 200, 10, 2_500_000)
    );
    let again = app
        .invoke("/api/admin/create-customer", GOOD, Some(&clerk))
        .await;
    assert_eq!(again.status(), 409);
    let audited: i64 =
        sqlx::query("SELECT count(*) FROM audit_log WHERE action = 'customer.opened'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn bad_terms_are_refused_with_a_reason_and_nothing_is_created() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let before: i64 = sqlx::query("SELECT count(*) FROM customers")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    for (change, reason) in [
        ("discount_percent=2", "discount_percent=two", "percentage"),
        ("discount_days=10", "discount_days=30", "discount window"),
        ("net_days=30", "net_days=400", "net days"),
        ("currency=usd", "currency=xyz", "currency"),
        ("credit_limit=25000.00", "credit_limit=-1", "credit limit"),
        ("number=c-2001", "number=%3Cscript%3E", "customer number"),
    ]
    .map(|(from, to, reason)| (GOOD.replace(from, to), reason))
    {
        let response = app
            .invoke("/api/admin/create-customer", &change, Some(&clerk))
            .await;
        assert_eq!(response.status(), 400, "{change}");
        let body = response.text().await.unwrap().to_lowercase();
        assert!(body.contains(reason), "{change}: {body}");
    }
    let after: i64 = sqlx::query("SELECT count(*) FROM customers")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, before);
}

fn invoice_form(customer: i64, number: &str, unit_price: &str) -> String {
    format!(
        "customer_id={customer}&number={number}&po_number=PO-77&issue_date=2026-11-02\
         &lines%5B0%5D%5Bdescription%5D=Consulting&lines%5B0%5D%5Bquantity%5D=12.5\
         &lines%5B0%5D%5Bunit_price%5D={unit_price}&lines%5B0%5D%5Bdiscount%5D=&lines%5B0%5D%5Btax%5D=10\
         &lines%5B1%5D%5Bdescription%5D=&lines%5B1%5D%5Bquantity%5D=1&lines%5B1%5D%5Bunit_price%5D=\
         &lines%5B2%5D%5Bdescription%5D=Travel&lines%5B2%5D%5Bquantity%5D=1&lines%5B2%5D%5Bunit_price%5D=80.00"
    )
}

#[tokio::test]
async fn a_clerk_issues_an_invoice_by_hand_and_issuing_it_again_changes_nothing() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let northwind: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1002'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let body = invoice_form(northwind, "INV-HAND-1", "100.00");
    let response = app
        .invoke("/api/admin/create-invoice", &body, Some(&clerk))
        .await;
    assert_eq!(response.status(), 200);
    let id: i64 = response.json().await.unwrap();
    // 12.5 × 100.00 = 1,250.00 + 10 % tax = 1,375.00; travel 80.00 untaxed; the blank row skipped.
    let row = sqlx::query("SELECT total_minor, open_minor, po_number FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>("total_minor"), 145_500);
    assert_eq!(row.get::<i64, _>("open_minor"), 145_500);
    assert_eq!(row.get::<String, _>("po_number"), "PO-77");
    let lines: i64 = sqlx::query("SELECT count(*) FROM invoice_lines WHERE invoice_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(lines, 2);
    let again = app
        .invoke("/api/admin/create-invoice", &body, Some(&clerk))
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<i64>().await.unwrap(), id);
    let other = invoice_form(northwind, "INV-HAND-1", "90.00");
    let taken = app
        .invoke("/api/admin/create-invoice", &other, Some(&clerk))
        .await;
    assert_eq!(taken.status(), 409);
    for bad in ["-5", "abc", "1.001"] {
        let body = invoice_form(northwind, "INV-HAND-2", bad);
        let refused = app
            .invoke("/api/admin/create-invoice", &body, Some(&clerk))
            .await;
        assert_eq!(refused.status(), 400, "{bad}");
    }
    let count: i64 = sqlx::query("SELECT count(*) FROM invoices WHERE number = 'INV-HAND-2'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
    ledgerport::testing::fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_cheque_is_applied_oldest_first_once_per_reference_and_voiding_needs_an_untouched_invoice()
 {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let northwind: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1002'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let open_total = |db: ledgerport::db::Db| async move {
        sqlx::query("SELECT CAST(sum(open_minor) AS BIGINT) FROM invoices WHERE customer_id = $1")
            .bind(northwind)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    let before = open_total(app.db.clone()).await;
    let cheque = format!(
        "customer_id={northwind}&method=cheque&amount=500.00&received_on=&reference=CHQ-4471"
    );
    for _ in 0..2 {
        let response = app
            .invoke("/api/admin/record-payment", &cheque, Some(&clerk))
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        open_total(app.db.clone()).await,
        before - 50_000,
        "posted once"
    );
    let card = cheque.replace("cheque", "card").replace("CHQ-4471", "X");
    assert_eq!(
        app.invoke("/api/admin/record-payment", &card, Some(&clerk))
            .await
            .status(),
        400
    );

    // The oldest invoice has the cheque on it; the newest is untouched and can be voided.
    let (oldest, newest): (i64, i64) = {
        let row = sqlx::query("SELECT min(id), max(id) FROM invoices WHERE customer_id = $1")
            .bind(northwind)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    let void = |invoice: i64| {
        format!("customer_id={northwind}&invoice_id={invoice}&reason=Issued+in+error")
    };
    let refused = app
        .invoke("/api/admin/void-invoice", &void(oldest), Some(&clerk))
        .await;
    assert_eq!(refused.status(), 400);
    let voided = app
        .invoke("/api/admin/void-invoice", &void(newest), Some(&clerk))
        .await;
    assert_eq!(voided.status(), 200);
    let open: i64 = sqlx::query("SELECT open_minor FROM invoices WHERE id = $1")
        .bind(newest)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, 0);
    ledgerport::testing::fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn staff_search_the_customer_list_and_a_malformed_page_position_is_refused() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let found = app
        .invoke("/api/admin/customers", "search=acme&after=", Some(&clerk))
        .await;
    assert_eq!(found.status(), 200);
    let found: serde_json::Value = found.json().await.unwrap();
    let names: Vec<&str> = found["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["customer"]["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.to_lowercase().contains("acme")),
        "{names:?}"
    );
    assert_eq!(found["next"], serde_json::Value::Null);
    let malformed = app
        .invoke("/api/admin/customers", "search=&after=top", Some(&clerk))
        .await;
    assert_eq!(malformed.status(), 400);
}
