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

/// The text strings a PDF shows (its content streams are not compressed).
async fn pdf_text(app: &crate::common::TestApp, path: &str, cookie: &str) -> String {
    let response = app.page(path, Some(cookie)).await;
    assert_eq!(response.status(), 200, "{path}");
    String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned()
}

#[tokio::test]
async fn every_customer_pdf_names_the_company_and_the_customers_billing_details() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (id, number) = acme_invoice(&app).await;
    let invoice = format!("/documents/invoices/{id}.pdf");
    let statement = "/documents/statement.pdf?from=2026-01-01&to=2026-12-31";
    for path in [invoice.as_str(), statement] {
        let text = pdf_text(&app, path, &cookie).await;
        for shown in [
            "(Ledgerport Demo Inc.)",
            "(100 Example Avenue)",
            "(EIN 12-3456789)",
            "(Billing questions: billing@ledgerport.example)",
            "(Bill to)",
            "(Acme Fabrication Ltd)",
            "(1 Works Road)",
            "(Tax ID: 98-7654321)",
            "(How to pay)",
        ] {
            assert!(text.contains(shown), "{path} shows {shown}");
        }
    }
    assert!(
        pdf_text(&app, &invoice, &cookie)
            .await
            .contains(&format!("(Invoice {number})"))
    );

    // The payer's change shows on the next document.
    let saved = app
        .post_form(
            "/api/save-billing-details",
            "address=Acme+Fabrication+Ltd%0A9+Foundry+Lane&country=gb&tax_id=GB+123+4567+89&standing_po=4500012345",
            Some(&cookie),
        )
        .await;
    assert!(saved.status().is_redirection(), "{}", saved.status());
    let text = pdf_text(&app, &invoice, &cookie).await;
    assert!(text.contains("(9 Foundry Lane)") && text.contains("(Tax ID: GB123456789)"));
    assert!(!text.contains("(1 Works Road)"));

    // A tax ID that does not fit the country is refused with the reason, and changes nothing.
    let refused = app
        .invoke(
            "/api/save-billing-details",
            "address=&country=DE&tax_id=DE123&standing_po=",
            Some(&cookie),
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("VAT numbers of DE look like DE123456789")
    );
    assert!(
        pdf_text(&app, &invoice, &cookie)
            .await
            .contains("(Tax ID: GB123456789)")
    );
}

#[tokio::test]
async fn a_receipt_pdf_shows_the_payment_and_where_every_cent_went() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let payments = app.call("/api/portal/payments", Some(&cookie)).await;
    let payment = payments
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !p["applied"].as_array().unwrap().is_empty())
        .expect("the demo account has a payment applied to an invoice");
    let currency: ledgerport::money::Currency =
        payment["currency"].as_str().unwrap().parse().unwrap();
    let shown = |minor: &serde_json::Value| app::format::money(minor.as_i64().unwrap(), currency);
    let text = pdf_text(
        &app,
        &format!("/documents/payments/{}.pdf", payment["id"]),
        &cookie,
    )
    .await;
    for expected in [
        "(Payment receipt)".to_string(),
        "(Ledgerport Demo Inc.)".into(),
        "(Tax ID: 98-7654321)".into(),
        format!("({})", payment["reference"].as_str().unwrap()),
        format!("({})", shown(&payment["amount_minor"])),
    ] {
        assert!(text.contains(&expected), "the receipt shows {expected}");
    }
    for applied in payment["applied"].as_array().unwrap() {
        let number = applied["invoice_number"].as_str().unwrap();
        assert!(text.contains(&format!("(Invoice {number})")));
        assert!(text.contains(&format!("({})", shown(&applied["amount_minor"]))));
    }
    // Another account's contact asking for this payment's receipt finds nothing.
    let northwind = app
        .sign_in("nina@northwind.example", "northwind-checks-every-line")
        .await;
    let other = app
        .page(
            &format!("/documents/payments/{}.pdf", payment["id"]),
            Some(&northwind),
        )
        .await;
    assert_eq!(other.status(), 404);
}

/// The code printed on a PDF: `(Code ABCD-EFGH-JKMN: scan …)`.
fn printed_code(pdf: &str) -> String {
    let at = pdf.find("(Code ").expect("the PDF prints its code") + "(Code ".len();
    pdf[at..at + 14].to_string()
}

/// A public page's text, fetched without a session.
async fn public_page(app: &crate::common::TestApp, path: &str) -> String {
    let response = app.page(path, None).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn an_invoice_pdf_carries_a_code_the_public_page_confirms_and_an_altered_code_is_not_ours() {
    let app = spawn_app().await;
    let cookie = app.sign_in("vic@acme.example", "acme-reads-only").await;
    let (id, number) = acme_invoice(&app).await;
    let invoice = format!("/documents/invoices/{id}.pdf");
    let pdf = pdf_text(&app, &invoice, &cookie).await;
    let code = printed_code(&pdf);
    assert_eq!(code.len(), 14, "{code}");
    assert!(pdf.contains("(Check this document)"));
    assert_eq!(
        printed_code(&pdf_text(&app, &invoice, &cookie).await),
        code,
        "printed again, the same document keeps its code"
    );

    // Anyone with the document, signed in or not, sees what we issued under the code.
    let page = public_page(&app, &format!("/verify/{code}")).await;
    assert!(page.contains("data-testid=\"verified\""), "{page}");
    assert!(page.contains(&format!("Invoice {number}")));
    assert!(page.contains("$5,592.50"), "the total, to the cent");
    assert!(!page.contains("Acme"), "nothing about the customer");
    // Typed from paper, in lower case and without the hyphens (the form's GET).
    let typed = code.replace('-', "").to_lowercase();
    let page = public_page(&app, &format!("/verify?code={typed}")).await;
    assert!(page.contains(&format!("Invoice {number}")));

    // One symbol changed: not issued by us, and nothing of the real document shows.
    let mut altered: Vec<char> = code.chars().collect();
    altered[0] = if altered[0] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    let page = public_page(&app, &format!("/verify/{altered}")).await;
    assert!(page.contains("Not issued by us"), "{page}");
    assert!(!page.contains(&number));
    // Text that is no code at all is not echoed back as markup.
    // Text that is no code is not repeated on our page, neither as markup nor as words.
    let page = public_page(&app, "/verify/%3Cscript%3EPay%20IBAN%20GB99%3C%2Fscript%3E").await;
    assert!(page.contains("Not issued by us"));
    for echoed in ["<script>P", "&lt;script", "Pay IBAN", "Pay%20IBAN"] {
        assert!(!page.contains(echoed), "the page repeats {echoed:?}");
    }
}

#[tokio::test]
async fn a_statement_pdfs_code_confirms_its_period_and_closing_balance_up_to_today_at_the_latest() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    // Asked for a period that ends in the future, the statement ends today: its code confirms
    // a balance the account has reached.
    let pdf = pdf_text(
        &app,
        "/documents/statement.pdf?from=2026-01-01&to=2099-12-31",
        &cookie,
    )
    .await;
    let acme: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE number = 'C-1001'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let statement =
        ledgerport::reports::store::statement(&app.db, acme, "2026-01-01".parse().unwrap(), today)
            .await
            .unwrap()
            .unwrap();
    let closing = ledgerport::money::Money::from_minor(statement.closing_minor, statement.currency);
    let page = public_page(&app, &format!("/verify/{}", printed_code(&pdf))).await;
    let period = format!(
        "Statement of account, 1 Jan 2026 – {}",
        ledgerport::locale::Locale::En.date(today)
    );
    assert!(page.contains(&period), "{page}");
    assert!(page.contains("Closing balance") && page.contains(&closing.to_string()));

    // A period that starts after today is refused with the reason, and issues no code.
    let codes = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM document_codes")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
    };
    let before = codes().await;
    let response = app
        .page(
            "/documents/statement.pdf?from=2099-01-01&to=2099-01-31",
            Some(&cookie),
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "A statement cannot start after today."
    );
    assert_eq!(codes().await, before);
}

#[tokio::test]
async fn the_code_of_an_invoice_voided_after_it_was_printed_says_it_is_void() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    // An invoice nothing was paid or credited on can be voided.
    let row = sqlx::query(
        "SELECT i.id, i.number, i.customer_id FROM invoices i JOIN customers c \
         ON c.id = i.customer_id WHERE c.number = 'C-1001' AND i.open_minor = i.total_minor \
         AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.invoice_id = i.id) \
         ORDER BY i.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let (id, number, acme): (i64, String, i64) = (row.get(0), row.get(1), row.get(2));
    let pdf = pdf_text(&app, &format!("/documents/invoices/{id}.pdf"), &cookie).await;
    let code = printed_code(&pdf);
    let page = public_page(&app, &format!("/verify/{code}")).await;
    assert!(page.contains(&format!("Invoice {number}")), "{page}");
    assert!(!page.contains("data-testid=\"voided\""), "{page}");

    let today = chrono::Utc::now().date_naive();
    let clerk = ledgerport::audit::Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };
    ledgerport::adjustments::store::void_invoice(&app.db, acme, id, "sent twice", today, clerk)
        .await
        .unwrap();
    let page = public_page(&app, &format!("/verify/{code}")).await;
    assert!(page.contains(&format!("Invoice {number}")), "{page}");
    let voided = format!(
        "We voided this invoice on {}: nothing is owed on it. Do not pay it.",
        ledgerport::locale::Locale::En.date(today)
    );
    assert!(page.contains(&voided), "{page}");
}

/// Posts a logo file as the company profile page's form does; the answer's status and text.
async fn upload_logo(app: &crate::common::TestApp, cookie: &str, png: Vec<u8>) -> (u16, String) {
    let form = reqwest::multipart::Form::new().part(
        "logo",
        reqwest::multipart::Part::bytes(png).file_name("logo.png"),
    );
    let response = app
        .client
        .post(app.url("/admin/company/logo"))
        .header("origin", crate::common::ORIGIN)
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_managers_logo_prints_on_every_customer_pdf_until_removed_and_a_clerk_cannot_set_one() {
    let app = spawn_app().await;
    let manager = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let payer = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (id, _) = acme_invoice(&app).await;
    let invoice = format!("/documents/invoices/{id}.pdf");
    let statement = "/documents/statement.pdf?from=2026-01-01&to=2026-12-31";
    assert!(!pdf_text(&app, &invoice, &payer).await.contains("/Logo Do"));

    let png = crate::common::endpoints::tiny_png();
    assert_eq!(upload_logo(&app, &clerk, png.clone()).await.0, 403);
    let (status, reason) = upload_logo(&app, &manager, b"GIF89a\x01\0\x01\0".to_vec()).await;
    assert_eq!(status, 400);
    assert!(reason.starts_with("A logo is a PNG file"), "{reason}");
    // Starts like a PNG, but only a decoder would find it broken: refused as well.
    let (status, _) = upload_logo(&app, &manager, png[..40].to_vec()).await;
    assert_eq!(status, 400);
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM company_logo")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(none, 0);

    assert_eq!(upload_logo(&app, &manager, png.clone()).await.0, 303);
    for path in [invoice.as_str(), statement] {
        let pdf = pdf_text(&app, path, &payer).await;
        assert!(pdf.contains("/Logo Do"), "{path} draws the logo");
        assert!(
            pdf.contains("/Subtype /Image") && pdf.contains("/SMask"),
            "{path}"
        );
    }
    let shown = app.page("/admin/company/logo.png", Some(&manager)).await;
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/png");
    assert_eq!(shown.bytes().await.unwrap().to_vec(), png);
    assert_eq!(
        app.page("/admin/company/logo.png", Some(&payer))
            .await
            .status(),
        403
    );

    let removed = app
        .post_form("/admin/company/logo/remove", "", Some(&manager))
        .await;
    assert!(removed.status().is_redirection(), "{}", removed.status());
    assert!(!pdf_text(&app, &invoice, &payer).await.contains("/Logo Do"));
}
