//! Dispute forms over HTTP: evidence typed by content, refusals with a reason and no change,
//! and a browser sent back to the form with the reason.

use crate::common::{ORIGIN, TestApp, spawn_app};
use ledgerport::testing::fixtures::{line_ids, rows};
use sqlx::Row;

struct Northwind {
    invoice: i64,
    line: i64,
}

async fn northwind(app: &TestApp) -> Northwind {
    let invoice: i64 = sqlx::query(
        "SELECT min(i.id) FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE c.number = 'C-1002'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    Northwind {
        invoice,
        line: line_ids(&app.db, invoice).await[0],
    }
}

fn form(n: &Northwind, amount: &str, file: Option<(&str, Vec<u8>)>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("invoice_id", n.invoice.to_string())
        .text("line", n.line.to_string())
        .text(format!("reason_{}", n.line), "price")
        .text(format!("amount_{}", n.line), amount.to_string())
        .text("message", "The price is not the one quoted.");
    if let Some((name, bytes)) = file {
        form = form.part(
            "attachment",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    form
}

async fn post(
    app: &TestApp,
    cookie: &str,
    form: reqwest::multipart::Form,
    accept: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/disputes/new"))
        .header("origin", ORIGIN)
        .header("cookie", cookie)
        .header("accept", accept)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_payer_opens_a_dispute_with_a_pdf_and_downloads_it_back_unchanged() {
    let app = spawn_app().await;
    let n = northwind(&app).await;
    let cookie = app
        .sign_in("nina@northwind.example", "northwind-checks-every-line")
        .await;
    let pdf = b"%PDF-1.7\n% a quote\n".to_vec();
    let response = post(
        &app,
        &cookie,
        form(&n, "25.00", Some(("quote.pdf", pdf.clone()))),
        "text/html",
    )
    .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/disputes/"), "{location}");
    let id = location.trim_start_matches("/disputes/");
    let attachment: i64 = sqlx::query("SELECT id FROM dispute_attachments")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let download = app
        .page(
            &format!("/documents/disputes/{id}/attachments/{attachment}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);
    let page = app.page(&location, Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("quote.pdf"));
}

#[tokio::test]
async fn a_file_that_is_not_pdf_png_or_jpeg_is_refused_whatever_its_name_and_nothing_is_written() {
    let app = spawn_app().await;
    let n = northwind(&app).await;
    let cookie = app
        .sign_in("nina@northwind.example", "northwind-checks-every-line")
        .await;
    let script = b"<script>alert(1)</script>".to_vec();
    let response = post(
        &app,
        &cookie,
        form(&n, "25.00", Some(("invoice.pdf", script))),
        "*/*",
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "Attachments must be PDF, PNG or JPEG files"
    );
    assert_eq!(rows(&app.db, "disputes").await, 0);
    assert_eq!(rows(&app.db, "dispute_attachments").await, 0);
}

#[tokio::test]
async fn bad_amounts_come_back_to_a_browser_as_the_form_with_the_reason_and_change_nothing() {
    let app = spawn_app().await;
    let n = northwind(&app).await;
    let cookie = app
        .sign_in("nina@northwind.example", "northwind-checks-every-line")
        .await;
    for amount in ["-5", "abc", "1.005", "99999999999"] {
        let response = post(&app, &cookie, form(&n, amount, None), "text/html").await;
        assert_eq!(response.status(), 303, "{amount}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with(&format!("/invoices/{}/dispute?error=", n.invoice)),
            "{amount}: {location}"
        );
        let plain = post(&app, &cookie, form(&n, amount, None), "*/*").await;
        assert_eq!(plain.status(), 400, "{amount}");
    }
    assert_eq!(rows(&app.db, "disputes").await, 0);
    let held: i64 = sqlx::query("SELECT held_minor FROM invoices WHERE id = $1")
        .bind(n.invoice)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 0);
}

#[tokio::test]
async fn a_viewer_cannot_open_a_dispute_and_staff_cannot_open_one_for_a_customer() {
    let app = spawn_app().await;
    let n = northwind(&app).await;
    let viewer = app.sign_in("vic@acme.example", "acme-reads-only").await;
    assert_eq!(
        post(&app, &viewer, form(&n, "1.00", None), "*/*")
            .await
            .status(),
        403
    );
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    assert_eq!(
        post(&app, &clerk, form(&n, "1.00", None), "*/*")
            .await
            .status(),
        403
    );
    // Acme's payer naming Northwind's invoice finds nothing.
    let other = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    assert_eq!(
        post(&app, &other, form(&n, "1.00", None), "*/*")
            .await
            .status(),
        404
    );
    assert_eq!(rows(&app.db, "disputes").await, 0);
}

#[tokio::test]
async fn a_contact_who_reads_german_is_told_in_german_why_a_dispute_form_was_refused() {
    let app = spawn_app().await;
    let n = northwind(&app).await;
    sqlx::query("UPDATE users SET locale = 'de' WHERE email = 'nina@northwind.example'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let cookie = app
        .sign_in("nina@northwind.example", "northwind-checks-every-line")
        .await;
    // A German amount is read as German: 1.000.000,00 is a million, more than the line.
    let too_much = post(&app, &cookie, form(&n, "1.000.000,00", None), "*/*").await;
    assert_eq!(too_much.status(), 400);
    let reason = too_much.text().await.unwrap();
    assert!(
        reason.starts_with("In Position ") && reason.contains(" reklamiert werden"),
        "{reason}"
    );
    let script = b"<script>alert(1)</script>".to_vec();
    let not_a_pdf = post(
        &app,
        &cookie,
        form(&n, "25,00", Some(("invoice.pdf", script))),
        "*/*",
    )
    .await;
    assert_eq!(
        not_a_pdf.text().await.unwrap(),
        "Anhänge müssen PDF-, PNG- oder JPEG-Dateien sein"
    );
    let unreadable = post(&app, &cookie, form(&n, "1,000.00", None), "*/*").await;
    assert_eq!(
        unreadable.text().await.unwrap(),
        format!(
            "Der Betrag für Position {}: Bitte schreiben Sie ihn als 1234,50 oder 1.234,50.",
            n.line
        )
    );
    assert_eq!(rows(&app.db, "disputes").await, 0);
}
