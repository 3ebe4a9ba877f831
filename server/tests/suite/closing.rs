//! Closing the books over HTTP: the ERP cannot date a credit memo in a closed month (409 naming
//! it), a provider event that arrives late posts on the first open day once, only managers close
//! or reopen; the journal export through the ERP API takes each entry once and downloads again.

use crate::common::{TestApp, spawn_app};
use crate::payments::{acme, checkout, deliver};
use ledgerport::audit::Actor;
use ledgerport::periods::Month;
use serde_json::{Value, json};

const MANAGER: Actor<'static> = Actor {
    user_id: None,
    name: "manager@ledgerport.example",
};

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Closes last month; returns its last day.
async fn close_last_month(app: &TestApp) -> chrono::NaiveDate {
    let last_month = Month::of(today()).previous();
    ledgerport::periods::store::close_month(&app.db, last_month, today(), MANAGER)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_erp_cannot_date_a_credit_memo_in_a_closed_month_and_is_told_which_day_is_open() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let closed = close_last_month(&app).await;
    let invoice: String = sqlx::query_scalar(
        "SELECT i.number FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE c.number = 'C-1001' AND i.open_minor > 0 ORDER BY i.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let entries = ledgerport::testing::fixtures::rows(&app.db, "journal_entries").await;
    let memo = |date: chrono::NaiveDate, number: &str| {
        json!({"number": number, "invoice": invoice, "reason": "Bent brackets",
               "issue_date": date.to_string(), "lines": [{"line": 1, "amount": "1.00"}]})
    };
    let refused = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/credit-memos",
        &key,
        Some(memo(closed, "CM-CLOSED")),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "conflict");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("closed through {closed}")),
        "{message}"
    );
    assert!(
        message.contains(&(closed + chrono::Duration::days(1)).to_string()),
        "{message}"
    );
    assert_eq!(
        ledgerport::testing::fixtures::rows(&app.db, "journal_entries").await,
        entries
    );
    let open = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/credit-memos",
        &key,
        Some(memo(today(), "CM-OPEN")),
    )
    .await;
    assert_eq!(open.status(), 201);
}

#[tokio::test]
async fn a_card_payment_announced_for_a_closed_day_posts_on_the_first_open_day_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (invoice, amount) = acme.open[0];
    let (checkout_id, total) = checkout(&app, &acme, &[(invoice, amount)]).await;
    let closed = close_last_month(&app).await;
    let created = closed.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp();
    let event = json!({
        "id": "evt_late", "object": "event", "created": created, "type": "payment_intent.succeeded",
        "data": { "object": { "id": "pi_late", "object": "payment_intent", "amount_received": total,
            "currency": "usd", "metadata": { "ledgerport_payment_id": checkout_id } } }
    });
    assert_eq!(deliver(&app, &event).await.0, 200);
    let mut again = event.clone();
    again["id"] = json!("evt_late_again");
    assert_eq!(deliver(&app, &again).await.0, 200);
    let posted: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT effective_date, occurred_on FROM journal_entries WHERE business_key LIKE '%pi_late%'",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        posted,
        [(
            (closed + chrono::Duration::days(1)).to_string(),
            Some(closed.to_string())
        )]
    );
    ledgerport::testing::fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn only_a_manager_closes_or_reopens_and_reopening_without_a_reason_is_refused() {
    let app = spawn_app().await;
    let last_month = Month::of(today()).previous().key();
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let response = app
        .invoke(
            "/api/admin/close-period",
            &format!("month={last_month}"),
            Some(&clerk),
        )
        .await;
    assert_eq!(response.status(), 403);
    let manager = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    let closed = app
        .invoke(
            "/api/admin/close-period",
            &format!("month={last_month}"),
            Some(&manager),
        )
        .await;
    assert!(closed.status().is_success() || closed.status().is_redirection());
    let no_reason = app
        .invoke(
            "/api/admin/reopen-period",
            &format!("month={last_month}&reason=+"),
            Some(&manager),
        )
        .await;
    assert_eq!(no_reason.status(), 400);
    let state = app.call("/api/admin/periods", Some(&clerk)).await;
    assert_eq!(state["periods"]["history"].as_array().unwrap().len(), 1);
    assert_eq!(state["may_change"], false);
    let page = app
        .page("/admin/periods", Some(&manager))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The books are closed through"), "{page}");
}

#[tokio::test]
async fn the_erp_takes_each_journal_entry_in_one_export_batch_and_downloads_it_in_every_format() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let entries = ledgerport::testing::fixtures::rows(&app.db, "journal_entries").await;
    let first = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/journal-exports",
        &key,
        None,
    )
    .await;
    assert_eq!(first.status(), 201);
    let batch: Value = first.json().await.unwrap();
    assert_eq!(batch["entries"], entries);
    let nothing = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/journal-exports",
        &key,
        None,
    )
    .await;
    assert_eq!(nothing.status(), 204);
    let listed: Value = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/journal-exports",
        &key,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed["batches"][0]["id"], batch["id"]);

    let id = batch["id"].as_i64().unwrap();
    for (format, content_type, starts) in [
        ("csv", "text/csv", "entry_id,business_key,kind,date"),
        ("hledger", "text/plain", ""),
        (
            "quickbooks",
            "text/csv",
            "Journal No,Journal Date,Currency Code,Account",
        ),
        (
            "xero",
            "text/csv",
            "Narration,Date,Description,AccountCode,TaxRate,Amount",
        ),
    ] {
        let file = call(
            &app,
            reqwest::Method::GET,
            &format!("/api/v1/journal-exports/{id}?format={format}"),
            &key,
            None,
        )
        .await;
        assert_eq!(file.status(), 200, "{format}");
        let header = file.headers()["content-type"].to_str().unwrap().to_string();
        assert!(header.starts_with(content_type), "{format}: {header}");
        let text = file.text().await.unwrap();
        assert!(text.starts_with(starts), "{format}: {text}");
        assert!(!text.is_empty(), "{format}");
    }
    let unknown = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/journal-exports/{id}?format=pdf"),
        &key,
        None,
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let missing = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/journal-exports/999999",
        &key,
        None,
    )
    .await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn a_clerks_credit_memo_dated_in_a_closed_month_is_refused_and_dated_today_credits_the_line_once()
 {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let closed = close_last_month(&app).await;
    let (invoice, open_before): (i64, i64) = sqlx::query_as(
        "SELECT i.id, i.open_minor FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE c.number = 'C-1001' AND i.open_minor > 0 ORDER BY i.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    // Line 1 gets 1.00; line 2 is left blank and so credits nothing.
    let form = |date: chrono::NaiveDate| {
        format!(
            "invoice_id={invoice}&number=CM-STAFF-1&reason=Bent+brackets&issue_date={date}\
             &lines%5B0%5D%5Bline%5D=1&lines%5B0%5D%5Bamount%5D=1.00\
             &lines%5B1%5D%5Bline%5D=2&lines%5B1%5D%5Bamount%5D="
        )
    };
    let entries = ledgerport::testing::fixtures::rows(&app.db, "journal_entries").await;
    let refused = app
        .invoke("/api/admin/credit-memo", &form(closed), Some(&clerk))
        .await;
    assert_eq!(refused.status(), 409);
    let message = refused.text().await.unwrap();
    assert!(
        message.contains(&format!("closed through {closed}")),
        "{message}"
    );
    assert_eq!(
        ledgerport::testing::fixtures::rows(&app.db, "journal_entries").await,
        entries
    );

    for _ in 0..2 {
        let issued = app
            .invoke("/api/admin/credit-memo", &form(today()), Some(&clerk))
            .await;
        assert_eq!(issued.status(), 200);
    }
    let shown = app
        .invoke(
            "/api/admin/invoice",
            &format!("invoice_id={invoice}"),
            Some(&clerk),
        )
        .await;
    assert_eq!(shown.status(), 200);
    let shown: Value = shown.json().await.unwrap();
    assert_eq!(
        shown["invoice"]["open_minor"],
        open_before - 100,
        "credited once"
    );
    assert_eq!(shown["invoice"]["lines"][0]["credited_minor"], 100);
    assert_eq!(shown["invoice"]["lines"][1]["credited_minor"], 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'credit_memo.issued' \
         AND actor = 'clerk@ledgerport.example' AND detail = 'CM-STAFF-1'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // The same number with other content is refused; every amount blank is no credit memo.
    let other = form(today()).replace("amount%5D=1.00", "amount%5D=2.00");
    let conflict = app
        .invoke("/api/admin/credit-memo", &other, Some(&clerk))
        .await;
    assert!(conflict.status().is_client_error(), "{}", conflict.status());
    let blank = form(today())
        .replace("CM-STAFF-1", "CM-STAFF-2")
        .replace("amount%5D=1.00", "amount%5D=");
    let nothing = app
        .invoke("/api/admin/credit-memo", &blank, Some(&clerk))
        .await;
    assert_eq!(nothing.status(), 400);
    assert!(
        nothing
            .text()
            .await
            .unwrap()
            .contains("A credit memo needs at least one line.")
    );
    ledgerport::testing::fixtures::assert_ledger_healthy(&app.db).await;
}
