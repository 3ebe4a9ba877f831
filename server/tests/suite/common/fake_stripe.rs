//! A local fake Stripe API for the adapter's tests: it speaks Stripe's wire format
//! (form-encoded requests, JSON objects, JSON error objects) on a random 127.0.0.1 port and
//! plays a script of answers, recording what each request carried.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

/// What the fake does with the next request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Creates the object (a Checkout Session or a Refund) and answers 200 with it.
    Session,
    /// Holds the request open this long before answering (longer than the client waits).
    Hang(Duration),
    /// Answers with this status and a Stripe error object.
    Error(u16, &'static str, &'static str),
    /// A 402 card error with this error code and decline code, as Stripe refuses a charge.
    Decline(&'static str, &'static str),
    /// A PaymentIntent in this status (`processing`, `requires_action`) instead of `succeeded`.
    Intent(&'static str),
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request's path, `/v1/...`.
    pub path: String,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Received {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    received: Vec<Received>,
    /// Balance transactions by payout, in Stripe's list order (newest first).
    balance: Vec<(String, serde_json::Value)>,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FakeStripe {
    /// Starts the fake; when the script runs out it keeps creating sessions.
    pub async fn start(answers: Vec<Answer>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.into(),
            ..Script::default()
        }));
        let router = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/refunds", post(create_refund))
            .route("/v1/balance_transactions", get(list_balance_transactions))
            .route("/v1/customers", post(create_customer))
            .route("/v1/setup_intents/{id}", get(retrieve_setup_intent))
            .route("/v1/payment_intents", post(create_payment_intent))
            .route(
                "/v1/payment_methods/{id}/detach",
                post(detach_payment_method),
            )
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, script }
    }

    /// The base URL to hand to the client (async-stripe appends `v1/...`).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Puts balance transactions on a payout, as (type, amount, fee) in minor units; the
    /// payout's own transaction is listed too, as Stripe does.
    pub fn pay_out(&self, payout: &str, currency: &str, transactions: &[(&str, i64, i64)]) {
        let mut script = self.script.lock().unwrap();
        let net: i64 = transactions
            .iter()
            .map(|(_, amount, fee)| amount - fee)
            .sum();
        let own = ("payout", -net, 0);
        for (n, (kind, amount, fee)) in transactions.iter().chain([&own]).enumerate() {
            let object =
                balance_transaction(&format!("txn_{payout}_{n}"), kind, currency, *amount, *fee);
            script.balance.push((payout.to_string(), object));
        }
    }
}

/// `GET /v1/balance_transactions?payout=…&limit=…&starting_after=…`: one page of the payout's
/// transactions (the query is recorded as the request's form).
async fn list_balance_transactions(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let answer = play(
        &script,
        "/v1/balance_transactions",
        &headers,
        &query,
        |_| axum::Json(json!({})),
    )
    .await;
    if answer.status() != StatusCode::OK {
        return answer;
    }
    let received = script.lock().unwrap().received.last().cloned().unwrap();
    let payout = received.field("payout").unwrap_or_default().to_string();
    let limit: usize = received
        .field("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10);
    let after = received.field("starting_after").map(str::to_string);
    let script = script.lock().unwrap();
    let listed: Vec<&serde_json::Value> = script
        .balance
        .iter()
        .filter(|(p, _)| *p == payout)
        .map(|(_, object)| object)
        .skip_while(|object| after.as_deref().is_some_and(|a| object["id"] != a))
        .skip(usize::from(after.is_some()))
        .collect();
    let page: Vec<&serde_json::Value> = listed.iter().take(limit).copied().collect();
    axum::Json(json!({
        "object": "list", "url": "/v1/balance_transactions",
        "has_more": listed.len() > limit, "data": page,
    }))
    .into_response()
}

/// A BalanceTransaction object shaped like Stripe's.
fn balance_transaction(
    id: &str,
    kind: &str,
    currency: &str,
    amount: i64,
    fee: i64,
) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "id": id, "object": "balance_transaction", "amount": amount, "available_on": now,
        "balance_type": "payments", "created": now, "currency": currency, "description": null,
        "exchange_rate": null, "fee": fee, "fee_details": [], "net": amount - fee,
        "reporting_category": kind, "source": null, "status": "available", "type": kind,
    })
}

async fn create_session(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    play(&script, "/v1/checkout/sessions", &headers, &body, session).await
}

async fn create_refund(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    play(&script, "/v1/refunds", &headers, &body, refund).await
}

async fn create_customer(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    play(&script, "/v1/customers", &headers, &body, |received| {
        let key = received.idempotency_key.clone().unwrap_or_default();
        axum::Json(json!({
            "id": format!("cus_test_{}", key.trim_start_matches("ledgerport-customer-")),
            "object": "customer", "created": chrono::Utc::now().timestamp(), "livemode": false,
            "email": received.field("email"), "name": received.field("name"),
        }))
    })
    .await
}

/// A SetupIntent that saved a Visa card ending 4242 (expanded), or an ACH account when its id
/// says `ach`.
async fn retrieve_setup_intent(
    State(script): State<Arc<Mutex<Script>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let path = format!("/v1/setup_intents/{id}");
    let query = query.unwrap_or_default();
    play(&script, &path, &headers, &query, |_| {
        let now = chrono::Utc::now().timestamp();
        let method = if id.contains("ach") {
            json!({
                "id": "pm_test_ach", "object": "payment_method", "billing_details": {},
                "created": now, "livemode": false, "type": "us_bank_account",
                "us_bank_account": { "bank_name": "STRIPE TEST BANK", "last4": "6789" },
            })
        } else {
            json!({
                "id": "pm_test_card", "object": "payment_method", "billing_details": {},
                "created": now, "livemode": false, "type": "card",
                "card": { "brand": "visa", "exp_month": 12, "exp_year": 2034,
                          "funding": "credit", "last4": "4242" },
            })
        };
        axum::Json(json!({
            "id": id, "object": "setup_intent", "created": now, "livemode": false,
            "payment_method_types": ["card"], "status": "succeeded", "usage": "off_session",
            "payment_method": method,
            "mandate": if id.contains("ach") { json!("mandate_test_1") } else { json!(null) },
        }))
    })
    .await
}

async fn create_payment_intent(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    play(
        &script,
        "/v1/payment_intents",
        &headers,
        &body,
        |received| payment_intent(received, "succeeded"),
    )
    .await
}

/// A PaymentIntent shaped like Stripe's answer to a confirmed create call.
fn payment_intent(received: &Received, status: &str) -> axum::Json<serde_json::Value> {
    let key = received.idempotency_key.clone().unwrap_or_default();
    let field = |name: &str| received.field(name).map(str::to_string);
    let amount: i64 = field("amount")
        .and_then(|a| a.parse().ok())
        .unwrap_or_default();
    axum::Json(json!({
        "id": format!("pi_test_{}", key.trim_start_matches("ledgerport-charge-")),
        "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": if status == "succeeded" { amount } else { 0 },
        "capture_method": "automatic", "confirmation_method": "automatic",
        "created": chrono::Utc::now().timestamp(), "currency": field("currency"),
        "customer": field("customer"), "livemode": false,
        "metadata": metadata(received),
        "payment_method": field("payment_method"), "payment_method_types": ["card"],
        "status": status,
    }))
}

async fn detach_payment_method(
    State(script): State<Arc<Mutex<Script>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = format!("/v1/payment_methods/{id}/detach");
    play(&script, &path, &headers, &body, |_| {
        axum::Json(json!({
            "id": id, "object": "payment_method", "billing_details": {},
            "created": chrono::Utc::now().timestamp(), "livemode": false, "type": "card",
            "customer": null,
        }))
    })
    .await
}

/// Records the request and answers it as the script says; `object` builds a success.
async fn play(
    script: &Mutex<Script>,
    path: &str,
    headers: &HeaderMap,
    body: &str,
    object: impl Fn(&Received) -> axum::Json<serde_json::Value>,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let received = Received {
        path: path.to_string(),
        idempotency_key: header("idempotency-key"),
        authorization: header("authorization"),
        form,
    };
    let answer = {
        let mut script = script.lock().unwrap();
        script.received.push(received.clone());
        script.answers.pop_front().unwrap_or(Answer::Session)
    };
    match answer {
        Answer::Session => object(&received).into_response(),
        Answer::Hang(duration) => {
            tokio::time::sleep(duration).await;
            object(&received).into_response()
        }
        Answer::Error(status, kind, message) => (
            StatusCode::from_u16(status).unwrap(),
            axum::Json(json!({ "error": { "type": kind, "message": message } })),
        )
            .into_response(),
        Answer::Decline(code, decline_code) => (
            StatusCode::PAYMENT_REQUIRED,
            axum::Json(json!({ "error": {
                "type": "card_error", "code": code,
                "decline_code": (!decline_code.is_empty()).then_some(decline_code),
                "message": "Your card was declined.",
            } })),
        )
            .into_response(),
        Answer::Intent(status) => payment_intent(&received, status).into_response(),
    }
}

/// A Refund object shaped like Stripe's answer to a create call.
fn refund(received: &Received) -> axum::Json<serde_json::Value> {
    let key = received.idempotency_key.clone().unwrap_or_default();
    let field = |name: &str| received.field(name).map(str::to_string);
    axum::Json(json!({
        "id": format!("re_test_{}", key.trim_start_matches("ledgerport-refund-")),
        "object": "refund",
        "amount": field("amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or_default(),
        "balance_transaction": null,
        "charge": "ch_test_1",
        "created": chrono::Utc::now().timestamp(),
        "currency": "usd",
        "customer": null,
        "customer_account": null,
        "description": null,
        "destination_details": null,
        "failure_balance_transaction": null,
        "failure_reason": null,
        "instructions_email": null,
        "metadata": { "ledgerport_refund_id": field("metadata[ledgerport_refund_id]") },
        "next_action": null,
        "payment_intent": field("payment_intent"),
        "payment_method": null,
        "pending_reason": null,
        "presentment_details": null,
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    }))
}

/// The object's metadata as the request set it (`metadata[key]=value`).
fn metadata(received: &Received) -> serde_json::Value {
    received
        .form
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_string(), serde_json::Value::from(value.as_str())))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// A Checkout Session object shaped like Stripe's answer to a create call.
fn session(received: &Received) -> axum::Json<serde_json::Value> {
    let key = received.idempotency_key.clone().unwrap_or_default();
    let id = format!("cs_test_{}", key.trim_start_matches("ledgerport-checkout-"));
    let field = |name: &str| received.field(name).map(str::to_string);
    let amount: i64 = field("line_items[0][price_data][unit_amount]")
        .and_then(|a| a.parse().ok())
        .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    axum::Json(json!({
        "id": id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
        "cancel_url": field("cancel_url"),
        "client_reference_id": field("client_reference_id"),
        "created": now,
        "currency": field("line_items[0][price_data][currency]"),
        "custom_fields": [],
        "custom_text": { "after_submit": null, "shipping_address": null, "submit": null,
                         "terms_of_service_acceptance": null },
        "customer": null,
        "customer_email": field("customer_email"),
        "expires_at": now + 86_400,
        "livemode": false,
        "metadata": metadata(received),
        "mode": field("mode"),
        "payment_intent": null,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "shipping_options": [],
        "status": "open",
        "success_url": field("success_url"),
        "url": format!("https://checkout.stripe.com/c/pay/{id}"),
    }))
}
