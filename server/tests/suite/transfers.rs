//! Bank transfers over HTTP: a payer announces one, gets a creditor reference and the receiving
//! account (inside the portal only), downloads the instructions, and the invoices wait for the
//! money (no reminders) until the waiting days are over.

use crate::common::{TestApp, spawn_app};
use crate::payments::acme;
use ledgerport::reminders::Schedule;
use ledgerport::transfers::CreditorReference;

async fn reminders_on(app: &TestApp, day: chrono::NaiveDate) -> usize {
    ledgerport::reminders::store::run(&app.db, &Schedule::default(), day, "http://localhost")
        .await
        .unwrap()
        .sent
}

async fn due_date(app: &TestApp, invoice: i64) -> chrono::NaiveDate {
    let text: String = sqlx::query_scalar("SELECT due_date FROM invoices WHERE id = $1")
        .bind(invoice)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    text.parse().unwrap()
}

/// A payer announces a transfer of `amount` for `invoice`: its checkout id and its page's data.
async fn announce(
    app: &TestApp,
    cookie: &str,
    invoice: i64,
    amount: i64,
) -> (String, serde_json::Value) {
    let announced = app
        .invoke(
            "/api/portal/announce-transfer",
            &format!("items={invoice}%3A{amount}"),
            Some(cookie),
        )
        .await;
    assert_eq!(announced.status(), 200);
    let page: String = announced.json().await.unwrap();
    let checkout = page
        .strip_prefix("/payments/checkout/")
        .unwrap()
        .to_string();
    let view = app
        .invoke(
            "/api/portal/checkout",
            &format!("id={checkout}"),
            Some(cookie),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    (checkout, view)
}

#[tokio::test]
async fn a_payer_announces_a_transfer_and_its_invoice_waits_for_the_money_without_reminders() {
    let app = spawn_app().await;
    let acme = crate::payments::acme(&app).await;
    let (invoice, amount) = acme.open[0];
    let pat = app.sign_in("pat@acme.example", "acme-pays-on-time").await;

    // The page's data: the reference, the receiving account, the invoice it pays.
    let (checkout, view) = announce(&app, &pat, invoice, amount).await;
    assert_eq!(view["status"], "Processing");
    let transfer = &view["transfer"];
    let reference: CreditorReference =
        serde_json::from_value(transfer["reference"].clone()).unwrap();
    assert_eq!(
        CreditorReference::parse(reference.as_str()),
        Ok(reference.clone())
    );
    assert_eq!(transfer["amount_minor"], amount);
    assert_eq!(
        transfer["account"]["details"]["Domestic"]["routing_number"],
        "110000000"
    );

    // The instructions as a PDF for whoever makes the transfer; nobody else's to download.
    let pdf = app
        .page(&format!("/documents/transfers/{checkout}.pdf"), Some(&pat))
        .await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let nina = app
        .sign_in("nina@northwind.example", "northwind-checks-every-line")
        .await;
    let foreign = app
        .page(&format!("/documents/transfers/{checkout}.pdf"), Some(&nina))
        .await;
    assert_eq!(foreign.status(), 404);

    // The invoice list says "transfer announced"; the invoice is not due, so not reminded.
    let list = app
        .invoke(
            "/api/portal/invoices",
            "filter=open&search=&sort=due&descending=false&page=1",
            Some(&pat),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let row = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == invoice)
        .unwrap()
        .clone();
    assert_eq!(row["announced_minor"], amount);
    let due = due_date(&app, invoice).await;
    let reminded_before = reminders_on(&app, due + chrono::Days::new(1)).await;
    let body: Vec<String> = sqlx::query_scalar("SELECT body FROM outbox WHERE kind = 'reminder'")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
        .bind(invoice)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(
        body.iter().all(|b| !b.contains(&number)),
        "{reminded_before} reminders, one for the announced invoice"
    );

    // The waiting days pass without the money: due and reminded again.
    let later = chrono::Utc::now() + chrono::Duration::days(6);
    assert_eq!(
        ledgerport::checkout::store::expire_stale_checkouts(&app.db, later)
            .await
            .unwrap(),
        1
    );
    reminders_on(&app, due + chrono::Days::new(7)).await;
    let reminded: Vec<String> =
        sqlx::query_scalar("SELECT body FROM outbox WHERE kind = 'reminder'")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert!(reminded.iter().any(|b| b.contains(&number)));
}

#[tokio::test]
async fn a_withdrawn_transfer_frees_its_invoice_for_another_payment() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (invoice, amount) = acme.open[0];
    let pat = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let items = format!("items={invoice}%3A{amount}");
    let (checkout, _) = announce(&app, &pat, invoice, amount).await;
    // Not asked for twice: a card payment of the same amount is refused meanwhile.
    let twice = app
        .invoke("/api/portal/start-payment", &items, Some(&pat))
        .await;
    assert_eq!(twice.status(), 409);
    let withdrawn = app
        .invoke(
            "/api/portal/cancel-payment",
            &format!("id={checkout}"),
            Some(&pat),
        )
        .await;
    assert_eq!(withdrawn.status(), 200);
    let again = app
        .invoke("/api/portal/start-payment", &items, Some(&pat))
        .await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn a_new_receiving_account_needs_a_second_manager_and_customers_keep_the_old_one_meanwhile() {
    let app = spawn_app().await;
    let acme = crate::payments::acme(&app).await;
    let manager = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    let controller = app
        .sign_in(
            "controller@ledgerport.example",
            "controller-approves-changes",
        )
        .await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let new_account = "currency=usd&holder=Ledgerport+Demo+Inc.&bank_name=Second+Demo+Bank\
        &iban=&bic=&account_number=9876543210&routing_number=021000021&wait_days=5";

    assert_eq!(
        app.invoke("/api/admin/propose-bank-account", new_account, Some(&clerk))
            .await
            .status(),
        403
    );
    // A plain form post, as without JavaScript: back to the page with the outcome.
    let proposed = app
        .post_form(
            "/api/admin/propose-bank-account",
            new_account,
            Some(&manager),
        )
        .await;
    assert_eq!(
        proposed.headers()["location"],
        "/admin/bank-accounts?proposed=1"
    );
    let refused = app
        .invoke(
            "/api/admin/propose-bank-account",
            &new_account.replace("021000021", "021000022"),
            Some(&controller),
        )
        .await;
    assert_eq!(
        refused.status(),
        400,
        "a routing number with a wrong checksum"
    );
    let page = app
        .call("/api/admin/bank-accounts", Some(&controller))
        .await;
    let waiting = page["versions"][0].clone();
    assert_eq!(waiting["status"], "AwaitingApproval");
    let id = waiting["id"].as_i64().unwrap();

    let own = app
        .invoke(
            "/api/admin/approve-bank-account",
            &format!("id={id}"),
            Some(&manager),
        )
        .await;
    assert_eq!(own.status(), 403);
    assert!(own.text().await.unwrap().contains("you proposed it"));
    let approved = app
        .invoke(
            "/api/admin/approve-bank-account",
            &format!("id={id}"),
            Some(&controller),
        )
        .await;
    assert!(approved.status().is_success(), "{}", approved.status());
    let page = app.call("/api/admin/bank-accounts", Some(&manager)).await;
    assert_eq!(page["versions"][0]["status"], "Scheduled");
    assert_eq!(page["wait_hours"], 72);

    // Customers still pay into the account in effect while the change waits.
    let (invoice, amount) = acme.open[0];
    let pat = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (_, view) = announce(&app, &pat, invoice, amount).await;
    assert_eq!(
        view["transfer"]["account"]["details"]["Domestic"]["account_number"],
        "000123456789"
    );
    let told: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM outbox WHERE kind = 'bank_account_change' \
         AND subject LIKE '%changes' ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(told.contains(&"pat@acme.example".to_string()));
    assert!(told.contains(&"nina@northwind.example".to_string()));
}
