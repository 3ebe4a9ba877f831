//! The offline payment sandbox: a hosted-checkout page served by the portal that behaves like
//! Stripe's test mode, then announces the outcome as Stripe-format events, signed with the
//! webhook secret and handed to the same `webhooks::receive` the real endpoint uses.
//!
//! Refunds succeed at once: the signed `charge.refunded` event is delivered before the refund
//! call returns.
//!
//! Every charge, refund and dispute goes on the sandbox's balance with Stripe's fee (`balance`);
//! the background job pays out what is available, announced as `payout.paid`.
//!
//! Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined; 4000 0000 0000
//! 9995 has insufficient funds; 4000 0000 0000 0069 is expired. No card number is stored or
//! logged.
//!
//! Bank debits, with Stripe's test bank details: ACH (routing 110000000) account 000123456789
//! succeeds, 000111111113 fails (account closed), 000111111116 fails (no account),
//! 000222222227 fails (insufficient funds), 000333333335 fails (debits not authorised),
//! 000555555559 succeeds and is then returned (a dispute), 000000000009 stays processing; SEPA
//! IBAN DE89370400440532013000 (or AT611904300234573201) succeeds, DE62370400440532013001 (or
//! AT861904300235473202) fails, DE65370400440002222227 fails (insufficient funds),
//! DE35370400440532013002 (or AT591904300235473203) succeeds and is then returned. A debit
//! submitted here is "processing" (`checkout.session.completed` unpaid, then
//! `payment_intent.processing`) and settles after [`DEBIT_SETTLES_AFTER`], when the background
//! job or a test ("Settle now" on the page, Stripe's test helpers' counterpart) advances it.

pub mod balance;
mod saved;

use std::future::Future;
use std::pin::Pin;

use app::format::money;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use ledgerport::checkout::store::checkout_view;
use ledgerport::checkout::{
    CheckoutStatus, CheckoutView, HostedCheckout, HostedCheckoutRequest, PaymentProvider,
    PayoutContents, ProviderError, ProviderRefund, RefundRequest,
};
use ledgerport::db::{Db, now_text, timestamp_text};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use ledgerport::saved_methods::{
    ChargeOutcome, HostedSetup, OffSessionCharge, ProviderMethod, SetupRequest,
};
use serde::Deserialize;
use serde_json::json;

use crate::guard::ContactSession;
use crate::state::ServerState;
use crate::webhooks::{CHECKOUT_METADATA_KEY, WebhookError, receive, signature};

/// The sandbox provider: its hosted page is `/sandbox/checkout/{id}` on the portal itself, and
/// it announces refunds at once as signed `charge.refunded` events.
#[derive(Clone)]
pub struct SandboxProvider {
    pub public_base_url: String,
    pub db: Db,
    pub webhook_secret: Vec<u8>,
    /// One refund at a time, so each event's running total counts the one before it.
    pub refunding: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for SandboxProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxProvider")
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn create_checkout<'a>(
        &'a self,
        request: HostedCheckoutRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<HostedCheckout, ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            Ok(HostedCheckout {
                session_id: format!("cs_sandbox_{}", request.checkout_id),
                url: format!(
                    "{}/sandbox/checkout/{}",
                    self.public_base_url, request.checkout_id
                ),
            })
        })
    }

    /// Like Stripe's test mode: the refund succeeds, and the charge's `charge.refunded` event
    /// (with its running total refunded) is signed and delivered before the call returns.
    /// Like Stripe: only a session still open can be expired.
    fn expire_checkout<'a>(
        &'a self,
        session_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            let checkout_id = session_id.strip_prefix("cs_sandbox_").unwrap_or(session_id);
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM checkouts WHERE id = $1")
                    .bind(checkout_id)
                    .fetch_optional(self.db.pool())
                    .await
                    .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
            match status.as_deref() {
                Some("open" | "failed") => Ok(()),
                Some(_) => Err(ProviderError::Refused(
                    "this Checkout Session is not open".into(),
                )),
                None => Err(ProviderError::Refused("no such Checkout Session".into())),
            }
        })
    }

    fn refund<'a>(
        &'a self,
        request: RefundRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<ProviderRefund, ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            let refund_id = format!("re_sandbox_{}", request.refund_id);
            let _one_at_a_time = self.refunding.lock().await;
            // The sandbox's refunds post as they happen, so the ledger holds its running total.
            let mut conn = self.db.pool().acquire().await.map_err(unreachable_db)?;
            let before = ledgerport::refunds::posting::posted_refunds_in(
                &mut conn,
                request.payment_reference,
            )
            .await
            .map_err(unreachable_db)?;
            drop(conn);
            let event = json!({
                "id": random_id("evt"), "object": "event",
                "created": chrono::Utc::now().timestamp(), "type": "charge.refunded",
                "data": { "object": {
                    "id": format!("ch_sandbox_{}", request.payment_reference), "object": "charge",
                    "payment_intent": request.payment_reference,
                    "amount_refunded": before + request.amount_minor,
                    "currency": request.currency.code().to_lowercase(), "refunded": true,
                }},
            });
            deliver(self, &self.db, &self.webhook_secret, event)
                .await
                .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
            let refunded = balance::BalanceEntry {
                source: &refund_id,
                kind: "refund",
                currency: request.currency,
                amount_minor: -request.amount_minor,
                fee_minor: 0,
            };
            balance::record(&self.db, &refunded)
                .await
                .map_err(unreachable_db)?;
            Ok(ProviderRefund { id: refund_id })
        })
    }

    fn payout_contents<'a>(
        &'a self,
        payout_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<PayoutContents, ProviderError>> + Send + 'a>> {
        Box::pin(balance::contents(&self.db, payout_id))
    }

    fn start_setup<'a>(
        &'a self,
        request: SetupRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<HostedSetup, ProviderError>> + Send + 'a>> {
        Box::pin(async move { saved::start(self, &request) })
    }

    fn saved_method<'a>(
        &'a self,
        setup_reference: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<ProviderMethod, ProviderError>> + Send + 'a>> {
        Box::pin(saved::saved_method(&self.db, setup_reference))
    }

    fn charge_saved<'a>(
        &'a self,
        charge: OffSessionCharge<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<ChargeOutcome, ProviderError>> + Send + 'a>> {
        Box::pin(async move { saved::charge(self, &charge).await })
    }

    fn remove_saved<'a>(
        &'a self,
        provider_method: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProviderError>> + Send + 'a>> {
        Box::pin(saved::remove(&self.db, provider_method))
    }
}

fn unreachable_db(e: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(format!("the sandbox could not read its refunds: {e}"))
}

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![
        (
            "/sandbox/checkout/{id}",
            get(hosted_page).post(pay_on_hosted_page),
        ),
        ("/sandbox/checkout/{id}/settle", post(settle_now)),
        (
            "/sandbox/setup/{id}",
            get(saved::hosted_setup_page).post(saved::save_on_setup_page),
        ),
    ]
}

/// How long a sandbox debit processes before it settles (days with a real bank).
pub const DEBIT_SETTLES_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// What a test bank account does, like Stripe's test mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DebitOutcome {
    Succeeds,
    /// Fails while processing, with the provider's code.
    Fails(&'static str),
    /// Succeeds, then the bank takes it back (reported as a dispute with this reason).
    Returned(&'static str),
    /// Never leaves processing.
    Stays,
    Invalid(&'static str),
}

impl DebitOutcome {
    fn stored(self) -> (&'static str, &'static str) {
        match self {
            DebitOutcome::Succeeds => ("succeeds", ""),
            DebitOutcome::Fails(code) => ("fails", code),
            DebitOutcome::Returned(code) => ("returned", code),
            DebitOutcome::Stays | DebitOutcome::Invalid(_) => ("stays", ""),
        }
    }
}

fn ach_outcome(routing: &str, account: &str) -> DebitOutcome {
    let digits = |text: &str| {
        text.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    if digits(routing) != "110000000" {
        return DebitOutcome::Invalid("Use the test routing number 110000000.");
    }
    match digits(account).as_str() {
        "000123456789" => DebitOutcome::Succeeds,
        "000111111113" => DebitOutcome::Fails("account_closed"),
        "000111111116" => DebitOutcome::Fails("no_account"),
        "000222222227" => DebitOutcome::Fails("insufficient_funds"),
        "000333333335" => DebitOutcome::Fails("debit_not_authorized"),
        "000555555559" => DebitOutcome::Returned("insufficient_funds"),
        "000000000009" => DebitOutcome::Stays,
        _ => DebitOutcome::Invalid(
            "Use a test account number, e.g. 000123456789 (succeeds) or 000111111113 (fails).",
        ),
    }
}

fn sepa_outcome(iban: &str) -> DebitOutcome {
    let compact: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    match compact.as_str() {
        "DE89370400440532013000" | "AT611904300234573201" => DebitOutcome::Succeeds,
        "DE62370400440532013001" | "AT861904300235473202" => DebitOutcome::Fails("generic_decline"),
        "DE65370400440002222227" => DebitOutcome::Fails("insufficient_funds"),
        "DE35370400440532013002" | "AT591904300235473203" => {
            DebitOutcome::Returned("debit_not_authorized")
        }
        _ => DebitOutcome::Invalid(
            "Use a test IBAN, e.g. DE89370400440532013000 (succeeds) or DE62370400440532013001 (fails).",
        ),
    }
}

/// What a test card does, like Stripe's test mode.
enum CardOutcome {
    Succeeds,
    Declined(&'static str),
    Invalid(&'static str),
}

fn card_outcome(number: &str) -> CardOutcome {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "4242424242424242" => CardOutcome::Succeeds,
        "4000000000000002" => CardOutcome::Declined("Your card was declined."),
        "4000000000009995" => CardOutcome::Declined("Your card has insufficient funds."),
        "4000000000000069" => CardOutcome::Declined("Your card has expired."),
        _ => CardOutcome::Invalid(
            "Your card number is incorrect. Use a test card, e.g. 4242 4242 4242 4242.",
        ),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(checkout: &CheckoutView, message: Option<&str>) -> Response {
    let amount = escape(&money(checkout.amount_minor, checkout.currency));
    let alert = message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, escape(m)))
        .unwrap_or_default();
    let card = if checkout.methods.contains(&PaymentMethod::Card) {
        format!(
            r#"<form method="post" class="form" aria-label="Pay by card">
<h2>Card</h2>
<input type="hidden" name="method" value="card">
<label for="card">Card number</label>
<input id="card" name="card_number" inputmode="numeric" autocomplete="off" required placeholder="4242 4242 4242 4242">
<label for="expiry">Expiry (MM / YY)</label><input id="expiry" name="expiry" autocomplete="off" required placeholder="12 / 34">
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="off" required placeholder="123">
<button class="button" type="submit">Pay {amount}</button>
</form>"#
        )
    } else {
        String::new()
    };
    let mandate = |who: &str| {
        format!(
            r#"<label class="check"><input type="checkbox" name="mandate" value="accepted" required> I authorise the merchant to debit {amount} from this account {who}, and my bank to pay it. I can ask my bank for a refund under its terms.</label>"#
        )
    };
    let bank = match checkout.methods.iter().find(|m| m.is_bank_debit()) {
        Some(PaymentMethod::Ach) => format!(
            r#"<form method="post" class="form" aria-label="Pay by bank debit">
<h2>US bank account (ACH Direct Debit)</h2>
<input type="hidden" name="method" value="ach">
<label for="holder">Account holder</label><input id="holder" name="holder" required autocomplete="off">
<label for="routing">Routing number</label><input id="routing" name="routing_number" inputmode="numeric" autocomplete="off" required placeholder="110000000">
<label for="account">Account number</label><input id="account" name="account_number" inputmode="numeric" autocomplete="off" required placeholder="000123456789">
{}
<button class="button" type="submit">Pay {amount} by bank debit</button>
</form>"#,
            mandate("through the ACH network (NACHA rules)")
        ),
        Some(_) => format!(
            r#"<form method="post" class="form" aria-label="Pay by bank debit">
<h2>SEPA Direct Debit</h2>
<input type="hidden" name="method" value="sepa_debit">
<label for="holder">Account holder</label><input id="holder" name="holder" required autocomplete="off">
<label for="iban">IBAN</label><input id="iban" name="iban" autocomplete="off" required placeholder="DE89 3704 0044 0532 0130 00">
{}
<button class="button" type="submit">Pay {amount} by SEPA Direct Debit</button>
</form>"#,
            mandate("under a SEPA Direct Debit mandate")
        ),
        None => String::new(),
    };
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {amount} · Sandbox checkout</title><link rel="stylesheet" href="/pkg/ledgerport.css"></head>
<body><main class="page"><section class="card narrow" aria-labelledby="pay-heading">
<p class="tag">Sandbox checkout · test mode, no real money moves</p>
<h1 id="pay-heading">Pay <span data-testid="sandbox-amount">{amount}</span></h1>
{alert}
{card}
{bank}
<p class="hint"><a href="/payments/checkout/{id}">Cancel and go back</a></p>
</section></main></body></html>"#,
        id = escape(&checkout.id)
    );
    sandbox_html(body)
}

/// The sandbox's own pages: no script, forms only to the portal.
fn sandbox_html(body: String) -> Response {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
        )],
        Html(body),
    )
        .into_response()
}

/// A processing debit, as Stripe's dashboard shows a test payment: when it settles, and a
/// button that settles it now (the test helpers' counterpart).
fn processing_page(checkout: &CheckoutView, settles_at: Option<&str>) -> Response {
    let amount = escape(&money(checkout.amount_minor, checkout.currency));
    let when = settles_at.map_or_else(
        || "never (this test account stays processing)".to_string(),
        escape,
    );
    let settle = if settles_at.is_some() {
        format!(
            r#"<form method="post" action="/sandbox/checkout/{id}/settle" class="form"><button class="button" type="submit">Settle now</button></form>"#,
            id = escape(&checkout.id)
        )
    } else {
        String::new()
    };
    sandbox_html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Debit processing · Sandbox</title><link rel="stylesheet" href="/pkg/ledgerport.css"></head>
<body><main class="page"><section class="card narrow">
<p class="tag">Sandbox · test mode, no real money moves</p>
<h1>Bank debit of {amount} processing</h1>
<p data-testid="sandbox-settles-at">It settles at {when}.</p>
{settle}
<p class="hint"><a href="/payments/checkout/{id}">Back to the payment</a></p>
</section></main></body></html>"#,
        id = escape(&checkout.id)
    ))
}

async fn owned_checkout(
    state: &ServerState,
    contact: &ContactSession,
    id: &str,
) -> Result<CheckoutView, Response> {
    match checkout_view(&state.app.db, contact.customer_id, id).await {
        Ok(Some(view)) => Ok(view),
        Ok(None) => Err((
            StatusCode::NOT_FOUND,
            "There is no such payment on your account.",
        )
            .into_response()),
        Err(e) => {
            tracing::error!("sandbox checkout lookup failed: {e}");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

async fn hosted_page(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(id): Path<String>,
) -> Response {
    match owned_checkout(&state, &contact, &id).await {
        Ok(view)
            if view.status == CheckoutStatus::Open || view.status == CheckoutStatus::Failed =>
        {
            page(&view, None)
        }
        Ok(view) if view.status == CheckoutStatus::Processing => {
            match debit_of(&state.app.db, &view.id).await {
                Ok(settles_at) => processing_page(&view, settles_at.as_deref()),
                Err(response) => response,
            }
        }
        Ok(view) => Redirect::to(&format!("/payments/checkout/{}", view.id)).into_response(),
        Err(response) => response,
    }
}

/// When a checkout's sandbox debit settles (`None`: it stays processing).
async fn debit_of(db: &Db, checkout_id: &str) -> Result<Option<String>, Response> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT outcome, settles_at FROM sandbox_debits WHERE checkout_id = $1 \
         AND settled_at IS NULL",
    )
    .bind(checkout_id)
    .fetch_optional(db.pool())
    .await
    .map_err(|e| {
        tracing::error!("sandbox debit lookup failed: {e}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    Ok(row.and_then(|(outcome, at)| (outcome != "stays").then_some(at)))
}

/// What the hosted pages' forms send (payment and setup): a card, or a bank account with its
/// mandate accepted.
#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    card_number: String,
    /// Kept by the setup page (a saved card's expiry); the payment page ignores it.
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    routing_number: String,
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    mandate: String,
}

fn random_id(prefix: &str) -> String {
    format!("{prefix}_sandbox_{}", ledgerport::secrets::random_hex(12))
}

/// Signs and delivers one event the way Stripe would.
async fn deliver(
    provider: &dyn PaymentProvider,
    db: &Db,
    secret: &[u8],
    event: serde_json::Value,
) -> Result<(), WebhookError> {
    let body = event.to_string();
    let now = chrono::Utc::now().timestamp();
    let header = signature::sign(secret, now, body.as_bytes());
    receive(db, provider, secret, Some(&header), body.as_bytes())
        .await
        .map(|_| ())
}

/// Delivers events from the hosted page; a failure means nothing was charged.
async fn deliver_from_page(
    state: &ServerState,
    events: Vec<serde_json::Value>,
) -> Result<(), Response> {
    for event in events {
        deliver(
            state.app.payments.as_ref(),
            &state.app.db,
            &state.webhook_secret,
            event,
        )
        .await
        .map_err(|e| {
            tracing::error!("sandbox event delivery failed: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The payment could not be recorded; nothing was charged.",
            )
                .into_response()
        })?;
    }
    Ok(())
}

/// One Stripe-format event about a checkout's objects.
fn event(kind: &str, object: serde_json::Value) -> serde_json::Value {
    json!({
        "id": random_id("evt"), "object": "event",
        "created": chrono::Utc::now().timestamp(), "type": kind,
        "data": { "object": object },
    })
}

/// The objects of one sandbox payment, as Stripe's events carry them.
struct SandboxPayment<'a> {
    checkout: &'a str,
    intent: &'a str,
    method: PaymentMethod,
    currency: String,
    amount_minor: i64,
}

impl SandboxPayment<'_> {
    fn metadata(&self) -> serde_json::Value {
        json!({ CHECKOUT_METADATA_KEY: self.checkout })
    }

    fn stripe_type(&self) -> &'static str {
        match self.method {
            PaymentMethod::Ach => "us_bank_account",
            PaymentMethod::SepaDebit => "sepa_debit",
            _ => "card",
        }
    }

    fn session(&self, kind: &str, payment_status: &str) -> serde_json::Value {
        event(
            kind,
            json!({
                "id": format!("cs_sandbox_{}", self.checkout), "object": "checkout.session",
                "payment_status": payment_status, "payment_intent": self.intent,
                "amount_total": self.amount_minor, "currency": self.currency,
                "metadata": self.metadata(),
            }),
        )
    }

    fn intent(&self, kind: &str, error: Option<(&str, &str)>) -> serde_json::Value {
        let received = if kind == "payment_intent.succeeded" {
            self.amount_minor
        } else {
            0
        };
        let mut object = json!({
            "id": self.intent, "object": "payment_intent", "amount": self.amount_minor,
            "amount_received": received, "currency": self.currency,
            "metadata": self.metadata(), "payment_method_types": [self.stripe_type()],
        });
        if let Some((code, message)) = error {
            object["last_payment_error"] = json!({ "code": code, "message": message });
        }
        event(kind, object)
    }

    /// The money collected goes on the sandbox's balance, less Stripe's fee.
    async fn charged(&self, db: &Db, currency: Currency) -> Result<(), sqlx::Error> {
        let collected = balance::BalanceEntry {
            source: self.intent,
            kind: if self.method.is_bank_debit() {
                "payment"
            } else {
                "charge"
            },
            currency,
            amount_minor: self.amount_minor,
            fee_minor: balance::payment_fee(self.method, currency, self.amount_minor),
        };
        balance::record(db, &collected).await
    }

    /// A bank debit submitted: the sandbox's own record of when it settles and how (its test
    /// account's `outcome` and the provider's `code`).
    async fn debit_submitted(&self, db: &Db, outcome: &str, code: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sandbox_debits (payment_intent, checkout_id, outcome, code, settles_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.intent)
        .bind(self.checkout)
        .bind(outcome)
        .bind(code)
        .bind(timestamp_text(chrono::Utc::now() + DEBIT_SETTLES_AFTER))
        .execute(db.write_pool())
        .await
        .map(|_| ())
    }

    /// Paid at once (a card): the session completes paid and the intent succeeds.
    fn paid(&self) -> Vec<serde_json::Value> {
        vec![
            self.session("checkout.session.completed", "paid"),
            self.intent("payment_intent.succeeded", None),
        ]
    }
}

async fn pay_on_hosted_page(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(id): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let view = match owned_checkout(&state, &contact, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    if !matches!(view.status, CheckoutStatus::Open | CheckoutStatus::Failed) {
        return Redirect::to(&format!("/payments/checkout/{id}")).into_response();
    }
    let Some(method) = PaymentMethod::parse(&form.method).filter(|m| view.methods.contains(m))
    else {
        return page(&view, Some("Choose one of the payment methods offered."));
    };
    let intent = random_id("pi");
    let payment = SandboxPayment {
        checkout: &id,
        intent: &intent,
        method,
        currency: view.currency.code().to_lowercase(),
        amount_minor: view.amount_minor,
    };
    if method.is_bank_debit() {
        return submit_debit(&state, &view, &payment, &form).await;
    }
    match card_outcome(&form.card_number) {
        CardOutcome::Invalid(message) => page(&view, Some(message)),
        CardOutcome::Declined(message) => {
            let failed = payment.intent(
                "payment_intent.payment_failed",
                Some(("card_declined", message)),
            );
            match deliver_from_page(&state, vec![failed]).await {
                Ok(()) => page(&view, Some(message)),
                Err(response) => response,
            }
        }
        CardOutcome::Succeeds => match deliver_from_page(&state, payment.paid()).await {
            Ok(()) => {
                if let Err(e) = payment.charged(&state.app.db, view.currency).await {
                    tracing::error!("the sandbox could not put a charge on its balance: {e}");
                }
                Redirect::to(&format!("/payments/checkout/{id}")).into_response()
            }
            Err(response) => response,
        },
    }
}

/// A bank debit submitted: recorded as the sandbox's own debit (when it settles and how), then
/// announced as Stripe does (the session completes unpaid, the intent is processing).
async fn submit_debit(
    state: &ServerState,
    view: &CheckoutView,
    payment: &SandboxPayment<'_>,
    form: &PayForm,
) -> Response {
    let outcome = match payment.method {
        PaymentMethod::Ach => ach_outcome(&form.routing_number, &form.account_number),
        _ => sepa_outcome(&form.iban),
    };
    if let DebitOutcome::Invalid(message) = outcome {
        return page(view, Some(message));
    }
    if form.mandate != "accepted" {
        return page(view, Some("Accept the debit authorisation to pay by bank."));
    }
    let (stored, code) = outcome.stored();
    let recorded = payment.debit_submitted(&state.app.db, stored, code).await;
    if let Err(e) = recorded {
        tracing::error!("the sandbox could not record a debit: {e}");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let submitted = vec![
        payment.session("checkout.session.completed", "unpaid"),
        payment.intent("payment_intent.processing", None),
    ];
    match deliver_from_page(state, submitted).await {
        Ok(()) => Redirect::to(&format!("/payments/checkout/{}", payment.checkout)).into_response(),
        Err(response) => response,
    }
}

/// "Settle now" on a processing debit's page: the sandbox's clock jumps to its settlement.
async fn settle_now(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = owned_checkout(&state, &contact, &id).await {
        return response;
    }
    let intent: Option<String> = match sqlx::query_scalar(
        "SELECT payment_intent FROM sandbox_debits WHERE checkout_id = $1 AND settled_at IS NULL \
         AND outcome <> 'stays'",
    )
    .bind(&id)
    .fetch_optional(state.app.db.pool())
    .await
    {
        Ok(intent) => intent,
        Err(e) => {
            tracing::error!("sandbox debit lookup failed: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if let Some(intent) = intent
        && let Err(e) = settle_debit(
            state.app.payments.as_ref(),
            &state.app.db,
            &state.webhook_secret,
            &intent,
        )
        .await
    {
        tracing::error!("the sandbox could not settle a debit: {e}");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Redirect::to(&format!("/payments/checkout/{id}")).into_response()
}

impl SandboxProvider {
    /// Settles (or fails, or settles and returns) every sandbox debit whose time has come; the
    /// background job calls it. Returns how many it settled.
    pub async fn settle_due_debits(&self) -> Result<usize, WebhookError> {
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT payment_intent FROM sandbox_debits WHERE settled_at IS NULL \
             AND outcome <> 'stays' AND settles_at <= $1 ORDER BY settles_at LIMIT 100",
        )
        .bind(now_text())
        .fetch_all(self.db.pool())
        .await?;
        let mut settled = 0;
        for intent in due {
            if settle_debit(self, &self.db, &self.webhook_secret, &intent).await? {
                settled += 1;
            }
        }
        Ok(settled)
    }
}

/// Settles one debit as its test account decides, once (the claim is the `settled_at`
/// update, so two instances or a double click deliver its events once).
async fn settle_debit(
    provider: &dyn PaymentProvider,
    db: &Db,
    secret: &[u8],
    intent: &str,
) -> Result<bool, WebhookError> {
    let claimed: Option<(String, String, String)> = sqlx::query_as(
        "UPDATE sandbox_debits SET settled_at = $1 \
         WHERE payment_intent = $2 AND settled_at IS NULL AND outcome <> 'stays' \
         RETURNING checkout_id, outcome, code",
    )
    .bind(now_text())
    .bind(intent)
    .fetch_optional(db.write_pool())
    .await?;
    let Some((checkout, outcome, code)) = claimed else {
        return Ok(false);
    };
    let (currency, amount_minor, method): (String, i64, Option<String>) =
        sqlx::query_as("SELECT currency, amount_minor, method FROM checkouts WHERE id = $1")
            .bind(&checkout)
            .fetch_one(db.pool())
            .await?;
    let payment = SandboxPayment {
        checkout: &checkout,
        intent,
        method: method
            .as_deref()
            .and_then(PaymentMethod::parse)
            .unwrap_or(PaymentMethod::Ach),
        currency: currency.to_lowercase(),
        amount_minor,
    };
    // Derived from the payment, so a retried settlement announces the same dispute.
    let dispute_id = format!("dp_{}", intent.trim_start_matches("pi_"));
    let events = match outcome.as_str() {
        "fails" => vec![
            payment.intent(
                "payment_intent.payment_failed",
                Some((code.as_str(), failure_message(&code))),
            ),
            payment.session("checkout.session.async_payment_failed", "unpaid"),
        ],
        succeeded => {
            let mut events = vec![
                payment.session("checkout.session.async_payment_succeeded", "paid"),
                payment.intent("payment_intent.succeeded", None),
            ];
            if succeeded == "returned" {
                events.push(event(
                    "charge.dispute.created",
                    json!({
                        "id": dispute_id, "object": "dispute",
                        "payment_intent": intent, "amount": amount_minor,
                        "currency": payment.currency, "reason": code, "status": "lost",
                    }),
                ));
            }
            events
        }
    };
    for event in events {
        if let Err(e) = deliver(provider, db, secret, event).await {
            // Not settled after all: the next run tries again (each event is keyed by the
            // payment, so what was delivered already changes nothing then).
            sqlx::query("UPDATE sandbox_debits SET settled_at = NULL WHERE payment_intent = $1")
                .bind(intent)
                .execute(db.write_pool())
                .await?;
            return Err(e);
        }
    }
    if outcome != "fails" {
        let currency = ledgerport::db::currency(&currency)?;
        payment.charged(db, currency).await?;
        if outcome == "returned" {
            let returned = balance::BalanceEntry {
                source: &dispute_id,
                kind: "adjustment",
                currency,
                amount_minor: -amount_minor,
                fee_minor: balance::dispute_fee(currency),
            };
            balance::record(db, &returned).await?;
        }
    }
    Ok(true)
}

/// The message Stripe gives with a failure code the sandbox uses.
fn failure_message(code: &str) -> &'static str {
    match code {
        "account_closed" => "The bank account is closed.",
        "no_account" => "No bank account was found with these details.",
        "insufficient_funds" => "The account has insufficient funds.",
        "debit_not_authorized" => "Debits are not authorised on this account.",
        _ => "The debit was declined by the customer's bank.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_behave_like_stripe_test_mode() {
        assert!(matches!(
            card_outcome("4242 4242 4242 4242"),
            CardOutcome::Succeeds
        ));
        assert!(
            matches!(card_outcome("4000000000000002"), CardOutcome::Declined(m) if m.contains("declined"))
        );
        assert!(
            matches!(card_outcome("4000 0000 0000 9995"), CardOutcome::Declined(m) if m.contains("insufficient"))
        );
        assert!(matches!(card_outcome("1234"), CardOutcome::Invalid(_)));
    }
}
