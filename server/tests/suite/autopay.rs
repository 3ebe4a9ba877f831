//! Saved payment methods and autopay over HTTP with the offline sandbox: a payer saves a test
//! card on the sandbox's setup page, turns autopay on, and the job charges what is due once;
//! cards that are declined or need the customer behave as Stripe's test cards do.

use crate::common::{ORIGIN, TestApp, spawn_app};
use ledgerport::receivables::DUE_NOW_SQL;
use ledgerport::testing::fixtures::assert_ledger_healthy;

const PAT: (&str, &str) = ("pat@acme.example", "acme-pays-on-time");

async fn acme(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT customer_id FROM users WHERE email = $1")
        .bind(PAT.0)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// What is due now on Acme's invoices whose due date has come.
async fn due_by_today(app: &TestApp, customer: i64) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT COALESCE(CAST(sum({DUE_NOW_SQL}) AS BIGINT), 0) FROM invoices i \
         WHERE i.customer_id = $1 AND i.voided_at IS NULL AND i.due_date <= $2"
    ))
    .bind(customer)
    .bind(chrono::Utc::now().date_naive().to_string())
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

/// Saves a test card through the portal and the sandbox's setup page; the page's answer.
async fn save_card(app: &TestApp, cookie: &str, number: &str) -> reqwest::Response {
    let started = app
        .invoke("/api/autopay/save-method", "consent=agreed", Some(cookie))
        .await;
    assert_eq!(started.status(), 200);
    let url: String = started.json().await.unwrap();
    let page = url
        .strip_prefix(ORIGIN)
        .expect("the sandbox's page on the portal");
    assert!(page.starts_with("/sandbox/setup/ps_"), "{page}");
    assert_eq!(app.page(page, Some(cookie)).await.status(), 200);
    app.post_form(
        page,
        &format!("method=card&card_number={number}&expiry=12%2F34&cvc=123"),
        Some(cookie),
    )
    .await
}

/// The account's newest saved method's id.
async fn newest_method(app: &TestApp, cookie: &str) -> i64 {
    let page = app.call("/api/autopay/page", Some(cookie)).await;
    page["methods"][0]["id"].as_i64().unwrap()
}

async fn turn_on(app: &TestApp, cookie: &str, method: i64) {
    let on = app
        .invoke(
            "/api/autopay/turn-on",
            &format!("method_id={method}&charge_on=due_date&cap="),
            Some(cookie),
        )
        .await;
    assert!(
        on.status().is_success() || on.status().is_redirection(),
        "{}",
        on.status()
    );
}

async fn run_autopay(app: &TestApp) -> serde_json::Value {
    let manager = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    app.call("/api/admin/run-autopay", Some(&manager)).await
}

#[tokio::test]
async fn a_payer_saves_a_card_turns_autopay_on_and_the_job_charges_what_is_due_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let pat = app.sign_in(PAT.0, PAT.1).await;
    let refused = app
        .invoke("/api/autopay/save-method", "consent=", Some(&pat))
        .await;
    assert_eq!(refused.status(), 400, "no consent, no setup");

    let saved = save_card(&app, &pat, "4242424242424242").await;
    assert!(saved.status().is_redirection());
    assert!(
        saved.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/autopay?saved=ps_")
    );
    let page = app.call("/api/autopay/page", Some(&pat)).await;
    let method = &page["methods"][0];
    assert_eq!(method["label"], "Visa");
    assert_eq!(method["last4"], "4242");
    assert_eq!(method["expires"], "12/2034");
    assert_eq!(method["consented_by"], PAT.0);
    assert!(page["autopay"].is_null());

    let due = due_by_today(&app, acme).await;
    assert!(due > 0, "the demo account has something due");
    let payments_before: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    turn_on(&app, &pat, method["id"].as_i64().unwrap()).await;
    let run = run_autopay(&app).await;
    assert_eq!(run["charged"], 1, "{run}");
    assert_eq!(
        due_by_today(&app, acme).await,
        0,
        "everything due was charged and posted"
    );
    let payments_after: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(payments_after, payments_before + 1);
    let receipts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE recipient = $1 AND subject LIKE 'Payment received%'",
    )
    .bind(PAT.0)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(receipts, 1);
    assert_eq!(run_autopay(&app).await["charged"], 0, "once a day");
    let page = app.call("/api/autopay/page", Some(&pat)).await;
    assert_eq!(page["autopay"]["status"], "On");
    assert_eq!(page["autopay"]["charges"][0]["result"], "Succeeded");
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_declined_card_leaves_autopay_retrying_and_one_needing_authentication_stops_it() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let pat = app.sign_in(PAT.0, PAT.1).await;
    let due = due_by_today(&app, acme).await;

    save_card(&app, &pat, "4000000000000341").await;
    turn_on(&app, &pat, newest_method(&app, &pat).await).await;
    let run = run_autopay(&app).await;
    assert_eq!(
        (run["charged"].as_i64(), run["declined"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        due_by_today(&app, acme).await,
        due,
        "a decline takes nothing"
    );
    let page = app.call("/api/autopay/page", Some(&pat)).await;
    assert_eq!(page["autopay"]["status"], "On", "a soft decline is retried");
    assert_eq!(page["autopay"]["charges"][0]["result"], "Declined");

    save_card(&app, &pat, "4000002760003184").await;
    turn_on(&app, &pat, newest_method(&app, &pat).await).await;
    let run = run_autopay(&app).await;
    assert_eq!(run["needs_customer"], 1, "{run}");
    let page = app.call("/api/autopay/page", Some(&pat)).await;
    assert_eq!(page["autopay"]["status"], "Waiting");
    let link: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE recipient = $1 AND subject LIKE 'Please confirm%' \
         AND body LIKE '%/pay?invoice=%'",
    )
    .bind(PAT.0)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(link, 1);
    assert_eq!(due_by_today(&app, acme).await, due);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn the_sandbox_refuses_to_save_a_declined_card_and_saves_nothing() {
    let app = spawn_app().await;
    let pat = app.sign_in(PAT.0, PAT.1).await;
    let refused = save_card(&app, &pat, "4000000000000002").await;
    assert_eq!(refused.status(), 200);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    let page = app.call("/api/autopay/page", Some(&pat)).await;
    assert_eq!(page["methods"].as_array().map(Vec::len), Some(0));
}
