//! Online payments end to end over HTTP: the pay flow through the sandbox, and signed
//! Stripe-format webhooks posting into the ledger exactly once.

use std::sync::Arc;

use crate::common::fake_stripe::FakeStripe;
use crate::common::{ORIGIN, TestApp, WEBHOOK_SECRET, spawn_app, spawn_app_paying_through};
use ledgerport::checkout::PayItem;
use ledgerport::checkout::store::open_checkout;
use ledgerport::testing::fixtures::{assert_ledger_healthy, open_minor};
use serde_json::json;
use sqlx::Row;

pub(crate) struct Acme {
    pub customer: i64,
    pub user: i64,
    /// Open invoices, oldest due first: (id, open amount).
    pub open: Vec<(i64, i64)>,
}

pub(crate) async fn acme(app: &TestApp) -> Acme {
    let customer: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let user: i64 = sqlx::query("SELECT id FROM users WHERE email = 'pat@acme.example'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let open = ledgerport::checkout::store::full_amounts(&app.db, customer, &[])
        .await
        .unwrap()
        .iter()
        .map(|i| (i.invoice_id, i.amount_minor))
        .collect();
    Acme {
        customer,
        user,
        open,
    }
}

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

pub(crate) async fn checkout(app: &TestApp, acme: &Acme, items: &[(i64, i64)]) -> (String, i64) {
    let items: Vec<PayItem> = items
        .iter()
        .map(|(id, amount)| PayItem {
            invoice_id: *id,
            amount_minor: *amount,
        })
        .collect();
    let opened = open_checkout(
        &app.db,
        acme.customer,
        acme.user,
        "sandbox",
        &items,
        today(),
    )
    .await
    .unwrap();
    (opened.id, opened.review.total_minor)
}

pub(crate) fn completed(
    event_id: &str,
    checkout: &str,
    intent: &str,
    amount: i64,
) -> serde_json::Value {
    json!({
        "id": event_id, "object": "event", "created": chrono::Utc::now().timestamp(),
        "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_1", "object": "checkout.session", "payment_status": "paid",
            "payment_intent": intent, "amount_total": amount, "currency": "usd",
            "metadata": { "ledgerport_payment_id": checkout } } }
    })
}

fn succeeded(event_id: &str, checkout: &str, intent: &str, amount: i64) -> serde_json::Value {
    json!({
        "id": event_id, "object": "event", "created": chrono::Utc::now().timestamp(),
        "type": "payment_intent.succeeded",
        "data": { "object": { "id": intent, "object": "payment_intent", "amount_received": amount,
            "currency": "usd", "metadata": { "ledgerport_payment_id": checkout } } }
    })
}

async fn deliver_raw(app: &TestApp, body: &str, signature: &str) -> reqwest::Response {
    app.client
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn deliver(app: &TestApp, event: &serde_json::Value) -> (u16, String) {
    let body = event.to_string();
    let signature = server::webhooks::signature::sign(
        WEBHOOK_SECRET,
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    let response = deliver_raw(app, &body, &signature).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn one_payment_for_three_invoices_settles_each_and_partial_amounts_stay_open() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (a, b, c) = (acme.open[0], acme.open[1], acme.open[2]);
    // Pay A in full, B in part, C in full (C is past its discount window).
    let (id, total) = checkout(&app, &acme, &[(a.0, a.1), (b.0, 1_000), (c.0, c.1)]).await;
    assert_eq!(
        deliver(&app, &completed("evt_1", &id, "pi_1", total)).await,
        (200, "settled".into())
    );
    assert_eq!(open_minor(&app.db, a.0).await, 0);
    assert_eq!(open_minor(&app.db, b.0).await, b.1 - 1_000);
    assert_eq!(open_minor(&app.db, c.0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn the_same_event_five_times_and_both_events_in_reverse_order_post_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    let first = succeeded("evt_pi", &id, "pi_2", total);
    assert_eq!(deliver(&app, &first).await.1, "settled");
    for _ in 0..4 {
        assert_eq!(deliver(&app, &first).await, (200, "duplicate".into()));
    }
    // The session event arrives last; it finds the payment already posted.
    assert_eq!(
        deliver(&app, &completed("evt_cs", &id, "pi_2", total))
            .await
            .1,
        "settled"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM payments WHERE business_key = 'stripe:pi_2'"
        )
        .await,
        1
    );
    // The event that posted is claimed; the later one only repeated it and wrote nothing.
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_events").await, 1);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_success_event_that_waited_while_its_twin_posted_the_payment_keeps_nothing_not_even_its_claim()
 {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    // The twin posts the payment and has not committed yet: it holds the account's lock (and
    // on SQLite the write lock).
    let mut twin = app.db.begin_write().await.unwrap();
    let collected = ledgerport::settlement::Collected {
        checkout_id: &id,
        payment_reference: "pi_wait",
        method: None,
        currency: "USD".parse().unwrap(),
        amount_minor: total,
        received: today(),
    };
    ledgerport::settlement::settle_in(&mut twin, app.db.engine(), &collected)
        .await
        .unwrap();
    // This event finds nothing posted yet, so it opens its transaction and waits for the lock
    // until the twin commits. PostgreSQL shows the wait, so the twin commits only once it is
    // seen; SQLite cannot show a waiting writer, so there the event gets 300 ms to arrive.
    let event = completed("evt_waited", &id, "pi_wait", total);
    let (answer, ()) = tokio::join!(deliver(&app, &event), async {
        if app.db.engine() == ledgerport::db::Engine::Postgres {
            let waiting = "SELECT count(*) FROM pg_stat_activity \
                           WHERE datname = current_database() AND wait_event_type = 'Lock'";
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while count(&app, waiting).await == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the event never waited for its twin"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        twin.commit().await.unwrap();
    });
    assert_eq!(answer, (200, "settled".into()));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM payments WHERE business_key = 'stripe:pi_wait'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_events").await, 0);
    assert_eq!(open_minor(&app.db, acme.open[0].0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_success_event_waits_in_the_server_while_another_event_of_its_checkout_is_acted_on() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    let posted = "SELECT count(*) FROM payments WHERE business_key = 'stripe:pi_turn'";
    // Another event of this checkout is being acted on: it holds the checkout's turn.
    let turn = ledgerport::settlement::checkout_turn(&id).await;
    let event = completed("evt_turn", &id, "pi_turn", total);
    let delivery = deliver(&app, &event);
    tokio::pin!(delivery);
    let wait = std::time::Duration::from_millis(300);
    assert!(
        tokio::time::timeout(wait, &mut delivery).await.is_err(),
        "the event waited for its turn"
    );
    assert_eq!(count(&app, posted).await, 0);
    drop(turn);
    assert_eq!(delivery.await, (200, "settled".into()));
    assert_eq!(count(&app, posted).await, 1);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn an_overpayment_lands_in_unapplied_credit() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    deliver(&app, &completed("evt_over", &id, "pi_3", total + 2_500)).await;
    let overview = ledgerport::reports::store::account_summary(&app.db, acme.customer, today())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(overview.unapplied_credit_minor, 2_500);
    assert_eq!(open_minor(&app.db, acme.open[0].0).await, 0);
}

#[tokio::test]
async fn a_customer_uses_unapplied_credit_first_and_pays_only_the_rest_by_card() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    deliver(
        &app,
        &completed("evt_over", &id, "pi_credit", total + 2_500),
    )
    .await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (invoice, open) = acme.open[1];
    let review: serde_json::Value = app
        .invoke(
            "/api/portal/review-payment",
            &format!("invoices={invoice}&amounts="),
            Some(&cookie),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(review["unapplied_credit_minor"], 2_500);

    let body = format!("items={invoice}%3A{open}");
    let response = app
        .invoke("/api/portal/apply-credit", &body, Some(&cookie))
        .await;
    assert_eq!(response.status(), 200);
    let next: String = response.json().await.unwrap();
    let rest = open - 2_500;
    let expected = format!(
        "/pay?invoice={invoice}&amount={}",
        ledgerport::money::Money::from_minor(rest, ledgerport::money::Currency::Usd).amount()
    );
    assert_eq!(next, expected);
    assert_eq!(open_minor(&app.db, invoice).await, rest);
    // The credit is used up: asking again is refused with the reason and changes nothing.
    let again = app
        .invoke("/api/portal/apply-credit", &body, Some(&cookie))
        .await;
    assert_eq!(again.status(), 400);
    assert_eq!(open_minor(&app.db, invoice).await, rest);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn forged_stale_and_altered_events_are_refused_with_400_and_change_nothing() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    let body = completed("evt_bad", &id, "pi_4", total).to_string();
    let now = chrono::Utc::now().timestamp();
    let forged = server::webhooks::signature::sign(b"whsec_not_ours", now, body.as_bytes());
    assert_eq!(deliver_raw(&app, &body, &forged).await.status(), 400);
    let stale = server::webhooks::signature::sign(WEBHOOK_SECRET, now - 3_600, body.as_bytes());
    assert_eq!(deliver_raw(&app, &body, &stale).await.status(), 400);
    let signed = server::webhooks::signature::sign(WEBHOOK_SECRET, now, body.as_bytes());
    let altered = body.replace(&total.to_string(), &(total * 10).to_string());
    assert_eq!(deliver_raw(&app, &altered, &signed).await.status(), 400);
    let unsigned = app
        .client
        .post(app.url("/webhooks/stripe"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 400);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM payments WHERE business_key LIKE 'stripe:%'"
        )
        .await,
        0
    );
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_events").await, 0);
    assert_eq!(open_minor(&app.db, acme.open[0].0).await, acme.open[0].1);
}

/// Starts a payment as a script does and returns the hosted page it is sent to.
pub(crate) async fn start_payment(app: &TestApp, cookie: &str, items: &str) -> String {
    let body = format!("items={}", items.replace(':', "%3A").replace(';', "%3B"));
    // A plain form post (no JavaScript) is redirected to the hosted page.
    let form = app
        .post_form("/api/portal/start-payment", &body, Some(cookie))
        .await;
    assert_eq!(form.status(), 302);
    let location = form.headers()["location"].to_str().unwrap();
    let prefix = format!("{ORIGIN}/sandbox/checkout/");
    assert!(location.starts_with(&format!("{prefix}lp_")), "{location}");
    // While it is open, the same amounts are not asked for again; cancelled, they are.
    let again = app
        .invoke("/api/portal/start-payment", &body, Some(cookie))
        .await;
    assert_eq!(again.status(), 409);
    let first = location.trim_start_matches(&prefix).to_string();
    let cancelled = app
        .post_form(
            "/api/portal/cancel-payment",
            &format!("id={first}"),
            Some(cookie),
        )
        .await;
    assert_eq!(cancelled.status(), 302);
    let response = app
        .invoke("/api/portal/start-payment", &body, Some(cookie))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) async fn pay_with_card(
    app: &TestApp,
    cookie: &str,
    hosted: &str,
    card: &str,
) -> reqwest::Response {
    let path = hosted.trim_start_matches(ORIGIN);
    app.client
        .post(app.url(path))
        .header("origin", ORIGIN)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "method=card&card_number={card}&expiry=12%2F34&cvc=123"
        ))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn paying_two_invoices_through_the_sandbox_posts_them_at_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (a, b) = (acme.open[0], acme.open[1]);
    let hosted = start_payment(&app, &cookie, &format!("{}:{};{}:{}", a.0, a.1, b.0, b.1)).await;
    assert!(
        hosted.starts_with(&format!("{ORIGIN}/sandbox/checkout/lp_")),
        "{hosted}"
    );
    let page = app
        .page(hosted.trim_start_matches(ORIGIN), Some(&cookie))
        .await;
    assert_eq!(page.status(), 200);
    let paid = pay_with_card(&app, &cookie, &hosted, "4242+4242+4242+4242").await;
    assert_eq!(paid.status(), 303);
    let checkout_page = paid.headers()["location"].to_str().unwrap().to_string();
    assert!(checkout_page.starts_with("/payments/checkout/lp_"));
    assert_eq!(open_minor(&app.db, a.0).await, 0);
    assert_eq!(open_minor(&app.db, b.0).await, 0);
    let id = checkout_page.trim_start_matches("/payments/checkout/");
    let status: serde_json::Value = app
        .invoke("/api/portal/checkout", &format!("id={id}"), Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "Succeeded");
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn paying_through_stripe_opens_a_hosted_session_and_its_signed_events_post_the_payment_once()
{
    let fake = FakeStripe::start(vec![]).await;
    let stripe = server::stripe::StripeProvider::new(
        "sk_test_ledgerport_fake",
        server::stripe::StripeSettings {
            api_base: Some(fake.base_url()),
            ..Default::default()
        },
    )
    .unwrap();
    let app = spawn_app_paying_through(Arc::new(stripe)).await;
    let acme = acme(&app).await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let invoice = acme.open[0];
    let body = format!("items={}%3A{}", invoice.0, invoice.1);
    let response = app
        .invoke("/api/portal/start-payment", &body, Some(&cookie))
        .await;
    assert_eq!(response.status(), 200);
    let hosted: String = response.json().await.unwrap();

    let sent = fake.received().remove(0);
    let checkout = sent
        .field("metadata[ledgerport_payment_id]")
        .unwrap()
        .to_string();
    let amount: i64 = sent
        .field("line_items[0][price_data][unit_amount]")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        hosted,
        format!("https://checkout.stripe.com/c/pay/cs_test_{checkout}")
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM checkouts WHERE provider_session_id = 'cs_test_{checkout}'"
            )
        )
        .await,
        1
    );

    // Stripe reports the payment twice (intent, then session); it posts once.
    let intent = "pi_3StripeTest";
    assert_eq!(
        deliver(&app, &succeeded("evt_pi_1", &checkout, intent, amount))
            .await
            .0,
        200
    );
    assert_eq!(
        deliver(&app, &completed("evt_cs_1", &checkout, intent, amount))
            .await
            .0,
        200
    );
    assert_eq!(open_minor(&app.db, invoice.0).await, 0);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM payments WHERE customer_id = {}",
                acme.customer
            )
        )
        .await,
        3,
        "two demo payments and this one"
    );
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_declined_card_posts_nothing_and_says_why() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let a = acme.open[0];
    let hosted = start_payment(&app, &cookie, &format!("{}:{}", a.0, a.1)).await;
    let declined = pay_with_card(&app, &cookie, &hosted, "4000000000000002").await;
    assert_eq!(declined.status(), 200);
    assert!(
        declined
            .text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    assert_eq!(open_minor(&app.db, a.0).await, a.1);
    assert_eq!(
        count(&app, "SELECT count(*) FROM payments WHERE method = 'card'").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM checkouts WHERE status = 'failed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_viewer_cannot_start_a_payment_and_nobody_pays_another_accounts_checkout() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let a = acme.open[0];
    let viewer = app.sign_in("vic@acme.example", "acme-reads-only").await;
    let refused = app
        .invoke(
            "/api/portal/start-payment",
            &format!("items={}%3A{}", a.0, a.1),
            Some(&viewer),
        )
        .await;
    assert_eq!(refused.status(), 403);
    let payer = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let hosted = start_payment(&app, &payer, &format!("{}:{}", a.0, a.1)).await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let by_staff = pay_with_card(&app, &clerk, &hosted, "4242424242424242").await;
    assert_eq!(by_staff.status(), 403);
    assert_eq!(open_minor(&app.db, a.0).await, a.1);
}

#[tokio::test]
async fn a_card_chargeback_is_posted_once_to_its_own_account_and_leaves_the_invoice_paid() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (id, total) = checkout(&app, &acme, &[acme.open[0]]).await;
    deliver(&app, &completed("evt_paid", &id, "pi_cb", total)).await;
    let dispute = json!({
        "id": "evt_dispute", "object": "event", "created": chrono::Utc::now().timestamp(),
        "type": "charge.dispute.created",
        "data": { "object": { "id": "dp_1", "object": "dispute", "amount": total,
            "currency": "usd", "charge": "ch_1", "payment_intent": "pi_cb", "reason": "fraudulent" } }
    });
    assert_eq!(deliver(&app, &dispute).await, (200, "chargeback".into()));
    assert_eq!(deliver(&app, &dispute).await, (200, "duplicate".into()));
    let lines: Vec<(String, i64)> = sqlx::query(
        "SELECT l.account_code, l.amount_minor FROM journal_lines l \
         JOIN journal_entries e ON e.id = l.entry_id WHERE e.kind = 'chargeback' ORDER BY l.amount_minor DESC",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        lines,
        vec![("1160".to_string(), total), ("1150".to_string(), -total)]
    );
    assert_eq!(open_minor(&app.db, acme.open[0].0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

fn card_dispute(
    event: &str,
    kind: &str,
    dispute: &str,
    intent: &str,
    amount: i64,
    status: &str,
) -> serde_json::Value {
    json!({
        "id": event, "object": "event", "created": chrono::Utc::now().timestamp(),
        "type": kind,
        "data": { "object": { "id": dispute, "object": "dispute", "amount": amount, "status": status,
            "currency": "usd", "charge": "ch_1", "payment_intent": intent, "reason": "fraudulent" } }
    })
}

/// The balance of one account over the whole ledger.
async fn account_balance(app: &TestApp, code: &str) -> i64 {
    count(
        app,
        &format!("SELECT COALESCE(CAST(sum(amount_minor) AS BIGINT), 0) FROM journal_lines WHERE account_code = '{code}'"),
    )
    .await
}

#[tokio::test]
async fn a_won_card_dispute_returns_the_money_and_a_lost_one_is_a_loss_even_when_the_decision_comes_first()
 {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (first, total_a) = checkout(&app, &acme, &[acme.open[0]]).await;
    deliver(&app, &completed("evt_paid_a", &first, "pi_won", total_a)).await;
    let (second, total_b) = checkout(&app, &acme, &[acme.open[1]]).await;
    deliver(&app, &completed("evt_paid_b", &second, "pi_lost", total_b)).await;
    let clearing_after_payments = account_balance(&app, "1150").await;

    let opened = card_dispute(
        "evt_dp_won_1",
        "charge.dispute.created",
        "dp_won",
        "pi_won",
        total_a,
        "needs_response",
    );
    let won = card_dispute(
        "evt_dp_won_2",
        "charge.dispute.closed",
        "dp_won",
        "pi_won",
        total_a,
        "won",
    );
    assert_eq!(deliver(&app, &opened).await.1, "chargeback");
    assert_eq!(deliver(&app, &won).await.1, "chargeback");
    assert_eq!(deliver(&app, &won).await.1, "duplicate");
    assert_eq!(account_balance(&app, "1150").await, clearing_after_payments);

    // The decision arrives before the dispute itself: the chargeback is posted with it, once.
    let lost = card_dispute(
        "evt_dp_lost_2",
        "charge.dispute.closed",
        "dp_lost",
        "pi_lost",
        total_b,
        "lost",
    );
    let opened_late = card_dispute(
        "evt_dp_lost_1",
        "charge.dispute.created",
        "dp_lost",
        "pi_lost",
        total_b,
        "needs_response",
    );
    assert_eq!(deliver(&app, &lost).await.1, "chargeback");
    assert_eq!(deliver(&app, &opened_late).await.1, "chargeback");
    assert_eq!(
        account_balance(&app, "1160").await,
        0,
        "no chargeback is left open"
    );
    assert_eq!(account_balance(&app, "6200").await, total_b);
    assert_eq!(
        account_balance(&app, "1150").await,
        clearing_after_payments - total_b
    );
    let inquiry = card_dispute(
        "evt_dp_inq",
        "charge.dispute.closed",
        "dp_inq",
        "pi_won",
        100,
        "warning_closed",
    );
    assert_eq!(deliver(&app, &inquiry).await.1, "ignored");
    assert_eq!(open_minor(&app.db, acme.open[0].0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

/// Stripe's `charge.refunded` for `intent`: `cumulative` is the charge's running total refunded.
fn refund_event(event: &str, intent: &str, amount: i64, cumulative: i64) -> serde_json::Value {
    json!({
        "id": event, "object": "event", "created": chrono::Utc::now().timestamp(),
        "type": "charge.refunded",
        "data": { "object": { "id": format!("ch_{intent}"), "object": "charge",
            "payment_intent": intent, "amount": amount, "amount_refunded": cumulative,
            "currency": "usd" } }
    })
}

#[tokio::test]
async fn refund_events_post_only_the_new_part_of_the_running_total() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (invoice, open) = acme.open[0];
    let (id, total) = checkout(&app, &acme, &[(invoice, open)]).await;
    deliver(&app, &completed("evt_paid", &id, "pi_rf", total)).await;
    let refunded = |event: &str, cumulative: i64| refund_event(event, "pi_rf", total, cumulative);
    assert_eq!(
        deliver(&app, &refunded("evt_rf1", 1_000)).await.1,
        "refunded"
    );
    assert_eq!(open_minor(&app.db, invoice).await, 1_000);
    assert_eq!(
        deliver(&app, &refunded("evt_rf1", 1_000)).await.1,
        "duplicate"
    );
    // A later refund on the same charge reports 1,500 in all: 500 is new.
    assert_eq!(
        deliver(&app, &refunded("evt_rf2", 1_500)).await.1,
        "refunded"
    );
    assert_eq!(open_minor(&app.db, invoice).await, 1_500);
    // The same running total under another event id posts nothing more.
    assert_eq!(
        deliver(&app, &refunded("evt_rf3", 1_500)).await.1,
        "ignored"
    );
    assert_eq!(open_minor(&app.db, invoice).await, 1_500);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM adjustments WHERE kind = 'refund'"
        )
        .await,
        2
    );
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn partial_refunds_of_a_payment_over_two_invoices_reopen_each_invoice_at_most_by_what_it_received()
 {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (first, second) = (acme.open[0], acme.open[1]);
    let (id, total) = checkout(&app, &acme, &[first, second]).await;
    deliver(&app, &completed("evt_split", &id, "pi_split", total)).await;
    let received = |invoice: i64| {
        format!(
            "SELECT CAST(sum(amount_minor) AS BIGINT) FROM allocations WHERE invoice_id = {invoice}"
        )
    };
    let second_received = count(&app, &received(second.0)).await;
    assert!(count(&app, &received(first.0)).await >= 500);
    // The newest allocation (the second invoice) is reopened first, all but 1.00 of it.
    let first_refund = second_received - 100;
    let (status, outcome) = deliver(
        &app,
        &refund_event("evt_split_1", "pi_split", total, first_refund),
    )
    .await;
    assert_eq!((status, outcome.as_str()), (200, "refunded"));
    assert_eq!(open_minor(&app.db, second.0).await, first_refund);
    // 6.00 more: 1.00 is all the second invoice has left, so 5.00 reopens the first.
    let (status, outcome) = deliver(
        &app,
        &refund_event("evt_split_2", "pi_split", total, first_refund + 600),
    )
    .await;
    assert_eq!((status, outcome.as_str()), (200, "refunded"));
    assert_eq!(open_minor(&app.db, second.0).await, second_received);
    assert_eq!(open_minor(&app.db, first.0).await, 500);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_refund_event_for_more_than_the_payment_settled_posts_nothing_and_is_answered_with_a_retry()
 {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let first = acme.open[0];
    let (id, total) = checkout(&app, &acme, &[first]).await;
    deliver(&app, &completed("evt_small", &id, "pi_small", total)).await;
    let journal_before = count(&app, "SELECT count(*) FROM journal_entries").await;
    let (status, _) = deliver(
        &app,
        &refund_event("evt_too_much", "pi_small", total, total + 1),
    )
    .await;
    assert_eq!(
        status, 500,
        "Stripe retries; reconciliation shows the difference"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM journal_entries").await,
        journal_before
    );
    assert_eq!(open_minor(&app.db, first.0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn reconciliation_matches_a_provider_payment_to_its_receipt_and_flags_a_receipt_without_one()
{
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let first = acme.open[0];
    let (id, total) = checkout(&app, &acme, &[first]).await;
    let (status, _) = deliver(&app, &succeeded("evt_r1", &id, "pi_reconciled", total)).await;
    assert_eq!(status, 200);
    // A card receipt recorded with no checkout behind it: exactly what reconciliation must flag.
    let orphan = ledgerport::payments::PaymentRequest::new(
        acme.customer,
        "pi_orphan",
        ledgerport::payments::PaymentMethod::Card,
        ledgerport::money::Money::from_minor(1_000, ledgerport::money::Currency::Usd),
        today(),
        ledgerport::payments::AllocationRule::OldestFirst,
        false,
    )
    .unwrap();
    ledgerport::payments::store::record_payment(&app.db, &orphan)
        .await
        .unwrap();
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let rows: serde_json::Value = app
        .invoke("/api/admin/reconciliation", "from=&to=", Some(&clerk))
        .await
        .json()
        .await
        .unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let matched = rows
        .iter()
        .find(|r| r["reference"] == "stripe:pi_reconciled")
        .unwrap();
    assert_eq!(matched["difference"], serde_json::Value::Null);
    assert_eq!(
        matched["provider_amount_minor"],
        matched["ledger_amount_minor"]
    );
    let flagged = rows.iter().find(|r| r["reference"] == "pi_orphan").unwrap();
    assert_eq!(flagged["difference"], "NoProviderPayment");
}

async fn payment_page(app: &TestApp, cookie: &str, payment: i64) -> serde_json::Value {
    let response = app
        .invoke(
            "/api/admin/payment",
            &format!("payment_id={payment}"),
            Some(cookie),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_manager_refunds_a_card_payment_through_the_sandbox_and_the_ledger_reopens_the_invoice_once()
 {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (invoice, open) = acme.open[0];
    let (id, total) = checkout(&app, &acme, &[(invoice, open)]).await;
    deliver(&app, &completed("evt_paid", &id, "pi_portal", total)).await;
    assert_eq!(open_minor(&app.db, invoice).await, 0);
    let payment = count(
        &app,
        "SELECT id FROM payments WHERE business_key = 'stripe:pi_portal'",
    )
    .await;
    let manager = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let refund =
        |amount: String| format!("payment_id={payment}&amount={amount}&reason=Returned%20goods");

    // Clerks read the payment but do not refund.
    let page = payment_page(&app, &clerk, payment).await;
    assert_eq!(page["may_refund"], false);
    assert_eq!(page["detail"]["refundable_minor"], total);
    let refused = app
        .invoke(
            "/api/admin/refund-payment",
            &refund("10.00".into()),
            Some(&clerk),
        )
        .await;
    assert_eq!(refused.status(), 403);

    let sent = app
        .invoke(
            "/api/admin/refund-payment",
            &refund("10.00".into()),
            Some(&manager),
        )
        .await;
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    assert_eq!(open_minor(&app.db, invoice).await, 1_000);
    let page = payment_page(&app, &manager, payment).await;
    let detail = &page["detail"];
    assert_eq!(page["may_refund"], true);
    assert_eq!(detail["refundable_minor"], total - 1_000);
    assert_eq!(detail["refunds"][0]["status"], "Sent");
    assert_eq!(detail["refunds"][0]["amount_minor"], 1_000);
    let kinds: Vec<&str> = detail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["payment_received", "refund"], "{detail}");

    // More than is left is refused with the reason, and nothing is reserved or sent.
    let too_much = format!(
        "{}.{:02}",
        (total - 1_000 + 1) / 100,
        (total - 1_000 + 1) % 100
    );
    let over = app
        .invoke(
            "/api/admin/refund-payment",
            &refund(too_much),
            Some(&manager),
        )
        .await;
    assert_eq!(over.status(), 400);
    assert!(over.text().await.unwrap().contains("can still be refunded"));
    assert_eq!(count(&app, "SELECT count(*) FROM refund_requests").await, 1);

    // The rest, in a second refund: the invoice is fully open again, the charge fully refunded.
    let rest = format!("{}.{:02}", (total - 1_000) / 100, (total - 1_000) % 100);
    let second = app
        .invoke("/api/admin/refund-payment", &refund(rest), Some(&manager))
        .await;
    assert_eq!(second.status(), 200);
    assert_eq!(open_minor(&app.db, invoice).await, open);
    assert_eq!(
        payment_page(&app, &manager, payment).await["detail"]["refundable_minor"],
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM adjustments WHERE kind = 'refund'"
        )
        .await,
        2
    );
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_cheque_with_a_remittance_advice_is_applied_as_the_customer_said() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let db = &app.db;
    let number = |id: i64| async move {
        sqlx::query("SELECT number FROM invoices WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get::<String, _>(0)
    };
    // The newest invoice in full and 5.00 of the oldest: not the order oldest-first would take.
    let (oldest, oldest_open) = acme.open[0];
    let (newest, newest_open) = *acme.open.last().unwrap();
    let remittance = format!(
        "{} 5.00\n{} {}.{:02}",
        number(oldest).await,
        number(newest).await,
        newest_open / 100,
        newest_open % 100
    );
    let amount = newest_open + 500;
    let body = |remittance: &str, reference: &str| {
        format!(
            "customer_id={}&method=cheque&amount={}.{:02}&received_on=&reference={reference}&remittance={}",
            acme.customer,
            amount / 100,
            amount % 100,
            url::form_urlencoded::byte_serialize(remittance.as_bytes()).collect::<String>()
        )
    };
    let recorded = app
        .invoke(
            "/api/admin/record-payment",
            &body(&remittance, "CHQ-77"),
            Some(&clerk),
        )
        .await;
    assert_eq!(recorded.status(), 200, "{}", recorded.text().await.unwrap());
    assert_eq!(open_minor(&app.db, oldest).await, oldest_open - 500);
    // The newest invoice may have been inside its discount window: paid in full either way.
    assert_eq!(open_minor(&app.db, newest).await, 0);

    // An invoice that is not on the account is named, and nothing is recorded.
    let payments = count(&app, "SELECT count(*) FROM payments").await;
    let unknown = app
        .invoke(
            "/api/admin/record-payment",
            &body("INV-NOPE 5.00", "CHQ-78"),
            Some(&clerk),
        )
        .await;
    assert_eq!(unknown.status(), 400);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("there is no invoice INV-NOPE on this account")
    );
    assert_eq!(count(&app, "SELECT count(*) FROM payments").await, payments);
    assert_ledger_healthy(&app.db).await;
}
