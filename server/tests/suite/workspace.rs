//! The staff workspace over HTTP: the CSV upload and its commit, account settings with billing
//! contacts (who then receive reminders and receipts), applying a customer's credit, and the
//! report CSVs.

use crate::common::{ORIGIN, TestApp, spawn_app};
use ledgerport::testing::fixtures;
use sqlx::Row;

async fn clerk(app: &TestApp) -> String {
    app.sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await
}

async fn upload(app: &TestApp, cookie: &str, csv: &str, browser: bool) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/admin/imports"))
        .header("origin", ORIGIN)
        .header("cookie", cookie)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("november.csv"),
        ));
    if browser {
        request = request.header("accept", "text/html");
    }
    request.send().await.unwrap()
}

async fn customer_id(app: &TestApp, number: &str) -> i64 {
    sqlx::query("SELECT id FROM customers WHERE number = $1")
        .bind(number)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_uploaded_csv_is_previewed_then_committed_once_over_http() {
    let app = spawn_app().await;
    let cookie = clerk(&app).await;
    let csv = "customer,invoice,issue_date,description,quantity,unit_price\n\
               C-1002,UP-1,2026-11-02,Pallets,3,40\nC-1002,UP-2,2026-11-02,Wrap,1,9.99\n";
    let response = upload(&app, &cookie, csv, true).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location
        .trim_start_matches("/admin/imports/")
        .parse()
        .unwrap();
    let invoices = fixtures::rows(&app.db, "invoices").await;
    let preview: serde_json::Value = app
        .invoke(
            "/api/admin/import-preview",
            &format!("id={id}"),
            Some(&cookie),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(fixtures::rows(&app.db, "invoices").await, invoices);
    let commit = app
        .invoke(
            "/api/admin/commit-import",
            &format!("id={id}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(commit.status(), 200);
    assert_eq!(fixtures::rows(&app.db, "invoices").await, invoices + 2);
    let again = app
        .invoke(
            "/api/admin/commit-import",
            &format!("id={id}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(again.status(), 409);
    fixtures::assert_ledger_healthy(&app.db).await;

    // Not text: a browser goes back to the form with the reason, anything else gets a 400.
    let refused = upload(&app, &cookie, "", true).await;
    assert_eq!(refused.status(), 303);
    assert!(
        refused.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/admin/imports?error=")
    );
    assert_eq!(upload(&app, &cookie, "", false).await.status(), 400);
}

#[tokio::test]
async fn billing_contacts_set_by_staff_receive_the_reminders_and_bad_addresses_change_nothing() {
    let app = spawn_app().await;
    let cookie = clerk(&app).await;
    let northwind = customer_id(&app, "C-1002").await;
    let form = |billing: &str| {
        format!(
            "customer_id={northwind}&name=Northwind+Traders&net_days=45&discount_percent=1.5\
             &discount_days=10&credit_limit=10000&billing_emails={billing}"
        )
    };
    let bad = app
        .invoke(
            "/api/admin/update-customer",
            &form("not-an-address"),
            Some(&cookie),
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(fixtures::rows(&app.db, "billing_contacts").await, 0);
    let saved = app
        .invoke(
            "/api/admin/update-customer",
            &form("ap%40northwind.example%0Acontroller%40northwind.example"),
            Some(&cookie),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let profile: serde_json::Value = app
        .invoke(
            "/api/admin/customer-profile",
            &format!("customer_id={northwind}"),
            Some(&cookie),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        profile["billing_emails"],
        serde_json::json!(["ap@northwind.example", "controller@northwind.example"])
    );
    assert_eq!(profile["terms"]["net_days"], 45);
    assert_eq!(profile["terms"]["discount_bp"], 150);

    // Far enough ahead that every Northwind invoice is at a reminder step.
    let later = chrono::Utc::now().date_naive() + chrono::Duration::days(400);
    ledgerport::reminders::store::run(
        &app.db,
        &ledgerport::reminders::Schedule::default(),
        later,
        ORIGIN,
    )
    .await
    .unwrap();
    let recipients: Vec<String> = sqlx::query(
        "SELECT DISTINCT recipient FROM outbox WHERE kind = 'reminder' AND recipient LIKE '%northwind%' ORDER BY recipient",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(
        recipients,
        ["ap@northwind.example", "controller@northwind.example"]
    );
}

#[tokio::test]
async fn staff_apply_a_customers_credit_to_what_is_due_oldest_first() {
    let app = spawn_app().await;
    let cookie = clerk(&app).await;
    let acme = customer_id(&app, "C-1001").await;
    let none = app
        .invoke(
            "/api/admin/apply-credit",
            &format!("customer_id={acme}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(none.status(), 400, "no credit yet");
    // An overpayment by cheque beyond everything open leaves credit; applying it changes nothing
    // then (nothing is due), so first record a cheque as unapplied credit only.
    let due = ledgerport::checkout::store::full_amounts(&app.db, acme, &[])
        .await
        .unwrap();
    let oldest = due[0];
    let credit = ledgerport::payments::PaymentRequest::new(
        acme,
        "credit-test",
        ledgerport::payments::PaymentMethod::Wire,
        ledgerport::money::Money::from_minor(oldest.amount_minor, ledgerport::money::Currency::Usd),
        chrono::Utc::now().date_naive(),
        ledgerport::payments::AllocationRule::Explicit(vec![]),
        false,
    )
    .unwrap();
    ledgerport::payments::store::record_payment(&app.db, &credit)
        .await
        .unwrap();
    let applied = app
        .invoke(
            "/api/admin/apply-credit",
            &format!("customer_id={acme}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(applied.status(), 200);
    assert_eq!(fixtures::open_minor(&app.db, oldest.invoice_id).await, 0);
    fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn every_report_table_downloads_as_csv_for_staff_only() {
    let app = spawn_app().await;
    let cookie = clerk(&app).await;
    for (file, header) in [
        (
            "aging.csv",
            "customer_number,customer_name,currency,current",
        ),
        ("trial-balance.csv", "account,name,currency,debit,credit"),
        ("dso.csv", "currency,from,to,beginning_ar"),
        ("collections.csv", "date,currency,payments,collected"),
        ("expected.csv", "week_of,currency,expected"),
    ] {
        let response = app
            .page(&format!("/documents/reports/{file}"), Some(&cookie))
            .await;
        assert_eq!(response.status(), 200, "{file}");
        let body = response.text().await.unwrap();
        assert!(body.starts_with(header), "{file}: {body}");
    }
    let aging = app
        .page("/documents/reports/aging.csv", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(aging.contains("C-1001"), "{aging}");
    let payer = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    assert_eq!(
        app.page("/documents/reports/aging.csv", Some(&payer))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.page("/documents/reports/secrets.csv", Some(&cookie))
            .await
            .status(),
        404
    );
}
