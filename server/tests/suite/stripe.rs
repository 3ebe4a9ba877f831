//! The Stripe adapter against a local fake Stripe: what it sends, and how it retries.

use std::time::Duration;

use crate::common::fake_stripe::{Answer, FakeStripe};
use ledgerport::checkout::{HostedCheckoutRequest, PaymentProvider, ProviderError};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use server::stripe::{
    StripeProvider, StripeSettings, charge_idempotency_key, customer_idempotency_key,
    idempotency_key, refund_idempotency_key, setup_idempotency_key,
};

const SECRET_KEY: &str = "sk_test_ledgerport_fake";

fn provider(fake: &FakeStripe) -> StripeProvider {
    StripeProvider::new(
        SECRET_KEY,
        StripeSettings {
            api_base: Some(fake.base_url()),
            attempt_timeout: Duration::from_millis(400),
            attempts: 3,
            first_backoff: Duration::from_millis(10),
        },
    )
    .unwrap()
}

fn request(checkout_id: &str) -> HostedCheckoutRequest<'_> {
    HostedCheckoutRequest {
        checkout_id,
        currency: Currency::Usd,
        amount_minor: 123_456,
        methods: &[PaymentMethod::Card, PaymentMethod::Ach],
        expires_at: 1_900_000_000,
        description: "Invoices INV-1001, INV-1002".into(),
        customer_email: "pat@acme.example",
        success_url: format!("http://127.0.0.1:3000/payments/checkout/{checkout_id}"),
        cancel_url: "http://127.0.0.1:3000/invoices".into(),
    }
}

#[tokio::test]
async fn a_checkout_session_carries_our_payment_id_the_amount_and_a_key_derived_from_the_checkout()
{
    let fake = FakeStripe::start(vec![]).await;
    let hosted = provider(&fake)
        .create_checkout(request("lp_abc123"))
        .await
        .unwrap();
    assert_eq!(hosted.session_id, "cs_test_lp_abc123");
    assert_eq!(
        hosted.url,
        "https://checkout.stripe.com/c/pay/cs_test_lp_abc123"
    );

    let received = fake.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some(idempotency_key("lp_abc123").as_str())
    );
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    for (field, value) in [
        ("mode", "payment"),
        ("client_reference_id", "lp_abc123"),
        ("customer_email", "pat@acme.example"),
        ("metadata[ledgerport_payment_id]", "lp_abc123"),
        (
            "payment_intent_data[metadata][ledgerport_payment_id]",
            "lp_abc123",
        ),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "123456"),
        (
            "line_items[0][price_data][product_data][name]",
            "Invoices INV-1001, INV-1002",
        ),
        (
            "success_url",
            "http://127.0.0.1:3000/payments/checkout/lp_abc123",
        ),
        ("cancel_url", "http://127.0.0.1:3000/invoices"),
    ] {
        assert_eq!(sent.field(field), Some(value), "{field}");
    }
}

#[tokio::test]
async fn a_request_that_times_out_is_retried_with_the_same_idempotency_key() {
    let fake = FakeStripe::start(vec![Answer::Hang(Duration::from_secs(3)), Answer::Session]).await;
    let hosted = provider(&fake)
        .create_checkout(request("lp_timeout"))
        .await
        .unwrap();
    assert_eq!(hosted.session_id, "cs_test_lp_timeout");
    let keys: Vec<_> = fake
        .received()
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    let expected = Some(idempotency_key("lp_timeout"));
    assert_eq!(keys, vec![expected.clone(), expected]);
}

#[tokio::test]
async fn stripe_server_errors_are_retried_with_the_same_key_then_reported_as_unavailable() {
    let failure = Answer::Error(500, "api_error", "Something went wrong on Stripe's end.");
    let fake = FakeStripe::start(vec![failure.clone(), failure.clone(), failure]).await;
    let error = provider(&fake)
        .create_checkout(request("lp_down"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ProviderError::Unavailable("Stripe answered 500".into())
    );
    let received = fake.received();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| r.idempotency_key.as_deref() == Some("ledgerport-checkout-lp_down"))
    );
}

#[tokio::test]
async fn a_request_stripe_refuses_is_reported_with_its_message_and_not_retried() {
    let fake = FakeStripe::start(vec![Answer::Error(
        400,
        "invalid_request_error",
        "Amount must be at least $0.50 usd",
    )])
    .await;
    let error = provider(&fake)
        .create_checkout(request("lp_small"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ProviderError::Refused("Amount must be at least $0.50 usd".into())
    );
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn every_attempt_timing_out_is_reported_as_a_timeout() {
    let hang = Answer::Hang(Duration::from_secs(3));
    let fake = FakeStripe::start(vec![hang.clone(), hang.clone(), hang]).await;
    let error = provider(&fake)
        .create_checkout(request("lp_slow"))
        .await
        .unwrap_err();
    assert_eq!(error, ProviderError::Timeout);
    assert_eq!(fake.received().len(), 3);
}

/// A card payment of `amount_minor` from Acme, as a settled Stripe PaymentIntent leaves it.
async fn card_payment(app: &crate::common::TestApp, intent: &str, amount_minor: i64) -> i64 {
    use ledgerport::payments::{AllocationRule, PaymentMethod, PaymentRequest};
    let customer = scalar(app, "SELECT id FROM customers WHERE number = 'C-1001'").await;
    let request = PaymentRequest::new(
        customer,
        &format!("stripe:{intent}"),
        PaymentMethod::Card,
        ledgerport::money::Money::from_minor(amount_minor, Currency::Usd),
        chrono::Utc::now().date_naive(),
        AllocationRule::OldestFirst,
        false,
    )
    .unwrap();
    ledgerport::payments::store::record_payment(&app.db, &request)
        .await
        .unwrap()
        .payment_id
}

async fn scalar(app: &crate::common::TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn manager(app: &crate::common::TestApp) -> i64 {
    scalar(
        app,
        "SELECT id FROM users WHERE email = 'manager@ledgerport.example'",
    )
    .await
}

async fn refund_status(app: &crate::common::TestApp, refund_id: &str) -> (String, Option<String>) {
    use sqlx::Row;
    let row = sqlx::query("SELECT status, provider_refund_id FROM refund_requests WHERE id = $1")
        .bind(refund_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn a_refund_names_the_payment_intent_and_amount_under_a_key_derived_from_our_refund_id() {
    use ledgerport::refunds::store::{Requester, refund};
    let fake = FakeStripe::start(vec![]).await;
    let stripe = provider(&fake);
    let app = crate::common::spawn_app_paying_through(std::sync::Arc::new(stripe.clone())).await;
    let payment = card_payment(&app, "pi_card", 5_000).await;
    let by = Requester {
        user_id: manager(&app).await,
        email: "manager@ledgerport.example",
    };
    let refund_id = refund(&app.db, &stripe, payment, "12.50", "Charged twice", by)
        .await
        .unwrap();

    let received = fake.received();
    let sent = received.last().unwrap();
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some(refund_idempotency_key(&refund_id).as_str())
    );
    assert_eq!(sent.field("payment_intent"), Some("pi_card"));
    assert_eq!(sent.field("amount"), Some("1250"));
    assert_eq!(
        sent.field("metadata[ledgerport_refund_id]"),
        Some(refund_id.as_str())
    );
    assert_eq!(
        refund_status(&app, &refund_id).await,
        ("sent".to_string(), Some(format!("re_test_{refund_id}")))
    );
    // Stripe's signed charge.refunded event posts the money, not the call.
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM adjustments WHERE kind = 'refund'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_refused_refund_frees_its_amount_and_an_unanswered_one_stays_reserved_until_sent_again_with_the_same_key()
 {
    use ledgerport::refunds::RefundError;
    use ledgerport::refunds::store::{Requester, refund, refundable_minor, resend};
    let hang = Answer::Hang(Duration::from_secs(3));
    let fake = FakeStripe::start(vec![
        Answer::Error(
            400,
            "invalid_request_error",
            "Charge ch_1 has been disputed.",
        ),
        hang.clone(),
        hang.clone(),
        hang,
    ])
    .await;
    let stripe = provider(&fake);
    let app = crate::common::spawn_app_paying_through(std::sync::Arc::new(stripe.clone())).await;
    let payment = card_payment(&app, "pi_slow", 5_000).await;
    let by = Requester {
        user_id: manager(&app).await,
        email: "manager@ledgerport.example",
    };

    let refused = refund(&app.db, &stripe, payment, "10.00", "Goodwill", by)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, RefundError::Provider(ProviderError::Refused(m)) if m.contains("disputed")),
        "{refused:?}"
    );
    assert_eq!(
        refundable_minor(&app.db, payment).await.unwrap(),
        Some(5_000)
    );

    let unanswered = refund(&app.db, &stripe, payment, "50.00", "Cancelled order", by)
        .await
        .unwrap_err();
    assert!(matches!(
        unanswered,
        RefundError::Provider(ProviderError::Timeout)
    ));
    // Reserved while nobody knows whether Stripe refunded it: nothing more can be refunded.
    assert_eq!(refundable_minor(&app.db, payment).await.unwrap(), Some(0));
    assert!(matches!(
        refund(&app.db, &stripe, payment, "1.00", "More", by).await,
        Err(RefundError::MoreThanRefundable { .. })
    ));
    let pending: String = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM refund_requests WHERE status = 'requested'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0)
    };
    resend(&app.db, &stripe, payment, &pending).await.unwrap();
    assert_eq!(refund_status(&app, &pending).await.0, "sent");
    let keys: Vec<_> = fake
        .received()
        .into_iter()
        .skip(1)
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 4, "three timed-out attempts, then the resend");
    assert!(
        keys.iter()
            .all(|k| k.as_deref() == Some(refund_idempotency_key(&pending).as_str()))
    );
    // A refund that was sent is not sent again.
    assert!(matches!(
        resend(&app.db, &stripe, payment, &pending).await,
        Err(RefundError::NotPending("sent"))
    ));
}

#[tokio::test]
async fn an_unconfirmed_refund_older_than_the_providers_idempotency_window_is_not_sent_again() {
    use ledgerport::refunds::RefundError;
    use ledgerport::refunds::store::{Requester, refund, resend};
    let down = Answer::Error(500, "api_error", "Something went wrong on Stripe's end.");
    let fake = FakeStripe::start(vec![down.clone(), down.clone(), down]).await;
    let stripe = provider(&fake);
    let app = crate::common::spawn_app_paying_through(std::sync::Arc::new(stripe.clone())).await;
    let payment = card_payment(&app, "pi_old", 5_000).await;
    let by = Requester {
        user_id: manager(&app).await,
        email: "manager@ledgerport.example",
    };
    assert!(matches!(
        refund(&app.db, &stripe, payment, "20.00", "Returned goods", by).await,
        Err(RefundError::Provider(ProviderError::Unavailable(_)))
    ));
    let a_day_ago =
        ledgerport::db::timestamp_text(chrono::Utc::now() - chrono::Duration::hours(24));
    sqlx::query("UPDATE refund_requests SET created_at = $1")
        .bind(&a_day_ago)
        .execute(app.db.pool())
        .await
        .unwrap();
    let pending: String = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM refund_requests")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0)
    };
    let sent_before = fake.received().len();
    assert!(matches!(
        resend(&app.db, &stripe, payment, &pending).await,
        Err(RefundError::TooOldToResend)
    ));
    assert_eq!(
        fake.received().len(),
        sent_before,
        "Stripe was not asked again"
    );
    assert_eq!(refund_status(&app, &pending).await.0, "requested");
}

fn setup_request(provider_customer: Option<&str>) -> ledgerport::saved_methods::SetupRequest<'_> {
    ledgerport::saved_methods::SetupRequest {
        setup_id: "ps_abc",
        customer_id: 7,
        customer_name: "Acme Corp",
        provider_customer,
        email: "pat@acme.example",
        currency: Currency::Usd,
        methods: &[PaymentMethod::Card, PaymentMethod::Ach],
        success_url: "http://127.0.0.1:3000/autopay?saved=ps_abc".into(),
        cancel_url: "http://127.0.0.1:3000/autopay".into(),
    }
}

#[tokio::test]
async fn saving_a_method_makes_the_stripe_customer_once_and_opens_a_setup_session_under_keys_from_our_ids()
 {
    let fake = FakeStripe::start(vec![]).await;
    let hosted = provider(&fake)
        .start_setup(setup_request(None))
        .await
        .unwrap();
    assert_eq!(hosted.provider_customer, "cus_test_7");
    let received = fake.received();
    assert_eq!(received.len(), 2);
    let (customer, session) = (&received[0], &received[1]);
    assert_eq!(customer.path, "/v1/customers");
    assert_eq!(
        customer.idempotency_key.as_deref(),
        Some(customer_idempotency_key(7).as_str())
    );
    assert_eq!(
        customer.field("metadata[ledgerport_customer_id]"),
        Some("7")
    );
    assert_eq!(customer.field("email"), Some("pat@acme.example"));
    assert_eq!(session.path, "/v1/checkout/sessions");
    assert_eq!(
        session.idempotency_key.as_deref(),
        Some(setup_idempotency_key("ps_abc").as_str())
    );
    for (field, value) in [
        ("mode", "setup"),
        ("currency", "usd"),
        ("customer", "cus_test_7"),
        ("client_reference_id", "ps_abc"),
        ("metadata[ledgerport_setup_id]", "ps_abc"),
        ("setup_intent_data[metadata][ledgerport_setup_id]", "ps_abc"),
        ("allowed_payment_method_types[0]", "card"),
        ("allowed_payment_method_types[1]", "us_bank_account"),
        ("success_url", "http://127.0.0.1:3000/autopay?saved=ps_abc"),
    ] {
        assert_eq!(session.field(field), Some(value), "{field}");
    }

    // A customer Stripe already knows is not made again.
    let fake = FakeStripe::start(vec![]).await;
    let hosted = provider(&fake)
        .start_setup(setup_request(Some("cus_known")))
        .await
        .unwrap();
    assert_eq!(hosted.provider_customer, "cus_known");
    let received = fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].field("customer"), Some("cus_known"));
}

#[tokio::test]
async fn the_saved_method_is_read_from_its_setup_intent_with_the_card_or_the_bank_account() {
    let fake = FakeStripe::start(vec![]).await;
    let stripe = provider(&fake);
    let card = stripe.saved_method("seti_card").await.unwrap();
    assert_eq!(
        card,
        ledgerport::saved_methods::ProviderMethod {
            id: "pm_test_card".into(),
            kind: PaymentMethod::Card,
            label: "Visa".into(),
            last4: "4242".into(),
            exp_month: Some(12),
            exp_year: Some(2034),
            mandate: None,
        }
    );
    let bank = stripe.saved_method("seti_ach").await.unwrap();
    assert_eq!(bank.kind, PaymentMethod::Ach);
    assert_eq!(bank.label, "STRIPE TEST BANK");
    assert_eq!(bank.last4, "6789");
    assert_eq!(bank.mandate.as_deref(), Some("mandate_test_1"));
    let asked = fake.received();
    assert_eq!(asked[0].path, "/v1/setup_intents/seti_card");
    assert_eq!(asked[0].field("expand[0]"), Some("payment_method"));
}

fn charge(checkout_id: &str) -> ledgerport::saved_methods::OffSessionCharge<'_> {
    ledgerport::saved_methods::OffSessionCharge {
        checkout_id,
        provider_customer: "cus_test_7",
        provider_method: "pm_test_card",
        kind: PaymentMethod::Card,
        currency: Currency::Usd,
        amount_minor: 100_000,
        description: "Autopay: invoices INV-1001".into(),
    }
}

#[tokio::test]
async fn an_off_session_charge_is_confirmed_at_once_and_each_answer_read_as_stripe_gives_it() {
    use ledgerport::saved_methods::ChargeOutcome;
    let fake = FakeStripe::start(vec![
        Answer::Session,
        Answer::Intent("processing"),
        Answer::Intent("requires_action"),
        Answer::Decline("card_declined", "insufficient_funds"),
        Answer::Decline("authentication_required", ""),
    ])
    .await;
    let stripe = provider(&fake);
    let mut outcomes = Vec::new();
    for id in ["lp_1", "lp_2", "lp_3", "lp_4", "lp_5"] {
        outcomes.push(stripe.charge_saved(charge(id)).await.unwrap());
    }
    assert_eq!(outcomes[0], ChargeOutcome::Succeeded);
    assert_eq!(outcomes[1], ChargeOutcome::Processing);
    assert!(matches!(outcomes[2], ChargeOutcome::NeedsCustomer { .. }));
    assert_eq!(
        outcomes[3],
        ChargeOutcome::Declined {
            code: "insufficient_funds".into(),
            message: "Your card was declined.".into()
        }
    );
    assert!(matches!(outcomes[4], ChargeOutcome::NeedsCustomer { .. }));
    let received = fake.received();
    assert_eq!(received.len(), 5, "a decline is an answer, not retried");
    let sent = &received[0];
    assert_eq!(sent.path, "/v1/payment_intents");
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some(charge_idempotency_key("lp_1").as_str())
    );
    for (field, value) in [
        ("amount", "100000"),
        ("currency", "usd"),
        ("customer", "cus_test_7"),
        ("payment_method", "pm_test_card"),
        ("confirm", "true"),
        ("off_session", "true"),
        ("allowed_payment_method_types[0]", "card"),
        ("metadata[ledgerport_payment_id]", "lp_1"),
    ] {
        assert_eq!(sent.field(field), Some(value), "{field}");
    }
}

#[tokio::test]
async fn an_off_session_charge_that_times_out_is_retried_under_the_same_key() {
    let fake = FakeStripe::start(vec![Answer::Hang(Duration::from_secs(3)), Answer::Session]).await;
    let outcome = provider(&fake)
        .charge_saved(charge("lp_slow"))
        .await
        .unwrap();
    assert_eq!(outcome, ledgerport::saved_methods::ChargeOutcome::Succeeded);
    let keys: Vec<_> = fake
        .received()
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    let expected = Some(charge_idempotency_key("lp_slow"));
    assert_eq!(keys, vec![expected.clone(), expected]);

    // Every attempt timing out is no answer: the caller leaves the charge to the provider's event.
    let fake = FakeStripe::start(vec![Answer::Hang(Duration::from_secs(3)); 3]).await;
    assert_eq!(
        provider(&fake).charge_saved(charge("lp_lost")).await,
        Err(ProviderError::Timeout)
    );
}

#[tokio::test]
async fn removing_a_saved_method_detaches_it_from_the_customer() {
    let fake = FakeStripe::start(vec![]).await;
    provider(&fake).remove_saved("pm_test_card").await.unwrap();
    assert_eq!(
        fake.received()[0].path,
        "/v1/payment_methods/pm_test_card/detach"
    );
}
