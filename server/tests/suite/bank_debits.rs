//! Bank debits (ACH) through signed Stripe-format events: processing, then settled, failed, or
//! settled and returned by the bank. Each event is delivered twice and out of order; each path
//! posts (or reverses) exactly once and leaves the ledger healthy.

use crate::common::{TestApp, spawn_app};
use crate::payments::{Acme, acme, checkout, count, deliver, today};
use ledgerport::testing::fixtures::{assert_ledger_healthy, open_minor};
use serde_json::json;

/// The events Stripe sends for one ACH debit of a checkout, each with its own id and time.
struct Debit {
    checkout: String,
    intent: String,
    amount: i64,
}

impl Debit {
    fn event(
        &self,
        id: &str,
        created: i64,
        kind: &str,
        object: serde_json::Value,
    ) -> serde_json::Value {
        json!({ "id": format!("evt_{}_{id}", self.intent), "object": "event", "created": created,
                "type": kind, "data": { "object": object } })
    }

    fn session(
        &self,
        id: &str,
        created: i64,
        kind: &str,
        payment_status: &str,
    ) -> serde_json::Value {
        self.event(
            id,
            created,
            kind,
            json!({
            "id": format!("cs_{}", self.intent), "object": "checkout.session",
            "payment_status": payment_status, "payment_intent": self.intent,
            "amount_total": self.amount, "currency": "usd",
            "metadata": { "ledgerport_payment_id": self.checkout } }),
        )
    }

    fn intent(
        &self,
        id: &str,
        created: i64,
        kind: &str,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let mut object = json!({
            "id": self.intent, "object": "payment_intent", "amount": self.amount,
            "amount_received": if kind == "payment_intent.succeeded" { self.amount } else { 0 },
            "currency": "usd", "payment_method_types": ["us_bank_account"],
            "metadata": { "ledgerport_payment_id": self.checkout } });
        if let (Some(object), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
            object.extend(extra.clone());
        }
        self.event(id, created, kind, object)
    }

    /// Submitted on the hosted page: the session completes unpaid, the intent is processing.
    fn submitted(&self, at: i64) -> Vec<serde_json::Value> {
        vec![
            self.session("completed", at, "checkout.session.completed", "unpaid"),
            self.intent("processing", at, "payment_intent.processing", json!({})),
        ]
    }

    fn settled(&self, at: i64) -> Vec<serde_json::Value> {
        vec![
            self.session(
                "async_ok",
                at,
                "checkout.session.async_payment_succeeded",
                "paid",
            ),
            self.intent("succeeded", at, "payment_intent.succeeded", json!({})),
        ]
    }

    fn failed(&self, at: i64) -> Vec<serde_json::Value> {
        vec![
            self.intent(
                "failed",
                at,
                "payment_intent.payment_failed",
                json!({ "last_payment_error": { "code": "insufficient_funds",
                        "message": "The account has insufficient funds." } }),
            ),
            self.session(
                "async_failed",
                at,
                "checkout.session.async_payment_failed",
                "unpaid",
            ),
        ]
    }

    fn returned(&self, at: i64) -> serde_json::Value {
        self.event(
            "dispute",
            at,
            "charge.dispute.created",
            json!({
            "id": format!("dp_{}", self.intent), "object": "dispute", "payment_intent": self.intent,
            "amount": self.amount, "currency": "usd", "reason": "insufficient_funds",
            "status": "lost" }),
        )
    }
}

/// A debit for Acme's two oldest invoices in full.
async fn debit(app: &TestApp, acme: &Acme, intent: &str) -> Debit {
    let (checkout, amount) = checkout(app, acme, &acme.open[..2]).await;
    Debit {
        checkout,
        intent: intent.into(),
        amount,
    }
}

/// Every event twice: the second delivery of each changes nothing. It is a duplicate; a success
/// its twin had posted first was never claimed, and is "settled" again.
async fn deliver_twice(app: &TestApp, events: &[serde_json::Value]) {
    let mut first = Vec::new();
    for event in events {
        let (status, outcome) = deliver(app, event).await;
        assert_eq!(status, 200, "{event}");
        first.push(outcome);
    }
    for (event, first) in events.iter().zip(first) {
        let (status, again) = deliver(app, event).await;
        assert_eq!(status, 200, "{event}");
        let unchanged = again == "duplicate" || (first == "settled" && again == "settled");
        assert!(unchanged, "{event}: {first} then {again}");
    }
}

async fn status(app: &TestApp, checkout: &str) -> String {
    sqlx::query_scalar("SELECT status FROM checkouts WHERE id = $1")
        .bind(checkout)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn pending(app: &TestApp, invoice: i64) -> i64 {
    sqlx::query_scalar("SELECT pending_minor FROM invoices WHERE id = $1")
        .bind(invoice)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn payments_of(app: &TestApp, intent: &str) -> i64 {
    count(
        app,
        &format!("SELECT count(*) FROM payments WHERE business_key = 'stripe:{intent}' AND method = 'ach'"),
    )
    .await
}

#[tokio::test]
async fn a_processing_debit_is_neither_due_nor_cash_and_settles_once_whatever_the_order() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (a, b) = (acme.open[0], acme.open[1]);
    let debit = debit(&app, &acme, "pi_ach_ok").await;
    let now = chrono::Utc::now().timestamp();
    deliver_twice(&app, &debit.submitted(now)).await;
    assert_eq!(status(&app, &debit.checkout).await, "processing");
    // Not cash yet: open as before; not due: held back as pending, left out of what is due.
    assert_eq!(
        (open_minor(&app.db, a.0).await, pending(&app, a.0).await),
        (a.1, a.1)
    );
    let summary = ledgerport::reports::store::account_summary(&app.db, acme.customer, today())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.in_payment_minor, a.1 + b.1);
    let due: i64 = acme.open[2..].iter().map(|(_, open)| open).sum();
    assert_eq!(summary.due_now_minor, due);
    assert_eq!(payments_of(&app, "pi_ach_ok").await, 0);
    // Settled: the intent's event first, the session's after, each twice; then the submission
    // again, late.
    let mut settled = debit.settled(now + 5);
    settled.reverse();
    deliver_twice(&app, &settled).await;
    assert_eq!(payments_of(&app, "pi_ach_ok").await, 1);
    assert_eq!(status(&app, &debit.checkout).await, "succeeded");
    for (invoice, _) in [a, b] {
        assert_eq!(
            (
                open_minor(&app.db, invoice).await,
                pending(&app, invoice).await
            ),
            (0, 0)
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE kind = 'receipt' AND recipient = 'pat@acme.example'"
        )
        .await,
        1
    );
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_debit_settled_before_its_submission_arrives_posts_once_and_holds_nothing_back() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let debit = debit(&app, &acme, "pi_ach_early").await;
    let now = chrono::Utc::now().timestamp();
    deliver_twice(&app, &debit.settled(now + 5)).await;
    deliver_twice(&app, &debit.submitted(now)).await;
    assert_eq!(payments_of(&app, "pi_ach_early").await, 1);
    assert_eq!(status(&app, &debit.checkout).await, "succeeded");
    assert_eq!(pending(&app, acme.open[0].0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_debit_that_fails_posts_nothing_makes_its_invoices_due_again_and_tells_the_payer_and_staff()
 {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let a = acme.open[0];
    let debit = debit(&app, &acme, "pi_ach_fail").await;
    let now = chrono::Utc::now().timestamp();
    deliver_twice(&app, &debit.submitted(now)).await;
    deliver_twice(&app, &debit.failed(now + 5)).await;
    assert_eq!(status(&app, &debit.checkout).await, "failed");
    assert_eq!(
        (open_minor(&app.db, a.0).await, pending(&app, a.0).await),
        (a.1, 0)
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM payments WHERE business_key = 'stripe:pi_ach_fail'"
        )
        .await,
        0
    );
    let told: Vec<(String, String)> = sqlx::query_as(
        "SELECT recipient, body FROM outbox WHERE kind = 'payment_failed' ORDER BY recipient",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(
        told.iter()
            .any(|(to, body)| to == "pat@acme.example" && body.contains("insufficient funds")),
        "{told:?}"
    );
    let staff: Vec<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE role IN ('clerk', 'manager') AND disabled_at IS NULL",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(!staff.is_empty());
    for member in &staff {
        assert!(
            told.iter().any(|(to, _)| to == member),
            "{member} not told: {told:?}"
        );
    }
    assert_eq!(
        told.iter()
            .filter(|(to, _)| to == "pat@acme.example")
            .count(),
        1
    );
    // The submission delivered once more, late (an older event), does not revive it.
    let late = debit.intent(
        "processing_late",
        now,
        "payment_intent.processing",
        json!({}),
    );
    deliver(&app, &late).await;
    assert_eq!(status(&app, &debit.checkout).await, "failed");
    assert_eq!(pending(&app, a.0).await, 0);
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_debit_returned_after_it_settled_reopens_exactly_its_invoices_once_in_either_order() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (a, b, c) = (acme.open[0], acme.open[1], acme.open[2]);
    let now = chrono::Utc::now().timestamp();
    // In order: submitted, settled, returned (twice each).
    let first = debit(&app, &acme, "pi_ach_back").await;
    deliver_twice(&app, &first.submitted(now)).await;
    deliver_twice(&app, &first.settled(now + 5)).await;
    deliver_twice(&app, &[first.returned(now + 10)]).await;
    assert_eq!(status(&app, &first.checkout).await, "returned");
    assert_eq!(open_minor(&app.db, a.0).await, a.1);
    assert_eq!(open_minor(&app.db, b.0).await, b.1);
    assert_eq!(
        open_minor(&app.db, c.0).await,
        c.1,
        "only the invoices it paid reopen"
    );
    let reason: String = sqlx::query_scalar("SELECT failure_message FROM checkouts WHERE id = $1")
        .bind(&first.checkout)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(reason.contains("insufficient funds"), "{reason}");
    assert_eq!(count(&app, "SELECT count(*) FROM payment_returns").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM journal_entries WHERE business_key = 'return:dp_pi_ach_back'"
        )
        .await,
        1
    );
    // The same invoices paid again, and this time the return arrives before the settlement.
    let again = crate::payments::acme(&app).await;
    let second = debit(&app, &again, "pi_ach_back_2").await;
    deliver_twice(&app, &[second.returned(now + 10)]).await;
    deliver_twice(&app, &second.submitted(now)).await;
    deliver_twice(&app, &second.settled(now + 5)).await;
    assert_eq!(status(&app, &second.checkout).await, "returned");
    assert_eq!(open_minor(&app.db, a.0).await, a.1);
    assert_eq!(pending(&app, a.0).await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM payment_returns").await, 2);
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox WHERE kind = 'payment_returned' AND recipient = 'pat@acme.example'").await,
        2
    );
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_card_decline_from_before_the_debit_delivered_late_does_not_end_the_debit() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let a = acme.open[0];
    let debit = debit(&app, &acme, "pi_ach_after_decline").await;
    let now = chrono::Utc::now().timestamp();
    deliver_twice(&app, &debit.submitted(now)).await;
    let declined = debit.intent(
        "declined",
        now - 60,
        "payment_intent.payment_failed",
        json!({ "last_payment_error": { "code": "card_declined",
                "message": "Your card was declined." } }),
    );
    deliver_twice(&app, &[declined]).await;
    assert_eq!(status(&app, &debit.checkout).await, "processing");
    assert_eq!(pending(&app, a.0).await, a.1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE kind = 'payment_failed'"
        )
        .await,
        0
    );
    assert_ledger_healthy(&app.db).await;
}
