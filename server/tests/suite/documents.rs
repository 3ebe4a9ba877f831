//! Downloads: invoice and statement PDFs and CSVs, scoped to the signed-in contact's account.

use crate::common::spawn_app;
use sqlx::Row;

async fn acme_invoice(app: &crate::common::TestApp) -> (i64, String) {
    let row = sqlx::query(
        "SELECT i.id, i.number FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE c.number = 'C-1001' ORDER BY i.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn an_invoice_pdf_is_a_pdf_attachment_naming_the_invoice_and_its_total() {
    let app = spawn_app().await;
    let cookie = app.sign_in("vic@acme.example", "acme-reads-only").await;
    let (id, number) = acme_invoice(&app).await;
    let response = app
        .page(&format!("/documents/invoices/{id}.pdf"), Some(&cookie))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{number}.pdf\"")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&format!("(Invoice {number})")),
        "the number is in the PDF text"
    );
    // The demo's oldest Acme invoice: 400 x $12.50 + 8.25% tax, plus $180 freight.
    assert!(
        text.contains("($5,592.50)"),
        "the total matches the page to the cent"
    );
}

#[tokio::test]
async fn another_customers_invoice_pdf_is_not_found() {
    let app = spawn_app().await;
    let northwind: i64 = sqlx::query(
        "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE c.number = 'C-1002' LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let response = app
        .page(
            &format!("/documents/invoices/{northwind}.pdf"),
            Some(&cookie),
        )
        .await;
    assert_eq!(response.status(), 404);
    let anonymous = app
        .page(&format!("/documents/invoices/{northwind}.pdf"), None)
        .await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_statement_csv_closes_at_the_balance_the_summary_shows() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(365);
    let csv = app
        .page(
            &format!("/documents/statement.csv?from={from}&to={today}"),
            Some(&cookie),
        )
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("date,activity,reference,amount,balance,currency")
    );
    let closing = csv.lines().last().unwrap();
    assert!(closing.contains("Closing balance"), "{closing}");
    let closing_amount = closing.split(',').nth(4).unwrap().to_string();

    let home = app.invoke("/api/home", "", Some(&cookie)).await;
    assert_eq!(home.status(), 200);
    let home: serde_json::Value = home.json().await.unwrap();
    let overview = &home["Contact"];
    let balance = overview["summary"]["balance_due_minor"].as_i64().unwrap()
        - overview["summary"]["unapplied_credit_minor"]
            .as_i64()
            .unwrap();
    assert_eq!(
        closing_amount,
        format!("{}.{:02}", balance / 100, balance % 100)
    );
    // Two payments were made in the last year, so the statement shows them.
    assert_eq!(csv.matches(",Payment,").count(), 2, "{csv}");
}

#[tokio::test]
async fn a_statement_with_its_dates_reversed_is_refused_with_a_reason() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let response = app
        .page(
            "/documents/statement.pdf?from=2026-05-01&to=2026-04-01",
            Some(&cookie),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "The start date must be on or before the end date."
    );
}

#[tokio::test]
async fn the_invoice_list_csv_has_every_invoice_of_the_account_and_no_other() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let csv = app
        .page("/documents/invoices.csv", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1 + 5, "{csv}");
    assert!(csv.contains("PO-7781") && !csv.contains("NW-2231"));
    assert!(csv.lines().nth(1).unwrap().ends_with(",USD,Paid"), "{csv}");
}
