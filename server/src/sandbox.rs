//! The offline payment sandbox: a hosted-checkout page served by the portal that behaves like
//! Stripe's test mode, then announces the outcome as Stripe-format events, signed with the
//! webhook secret and handed to the same `webhooks::receive` the real endpoint uses.
//!
//! Refunds succeed at once: the signed `charge.refunded` event is delivered before the refund
//! call returns.
//!
//! Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined; 4000 0000 0000
//! 9995 has insufficient funds; 4000 0000 0000 0069 is expired. No card number is stored or
//! logged.

use std::future::Future;
use std::pin::Pin;

use app::format::money;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use ledgerport::checkout::store::checkout_view;
use ledgerport::checkout::{
    CheckoutStatus, CheckoutView, HostedCheckout, HostedCheckoutRequest, PaymentProvider,
    ProviderError, ProviderRefund, RefundRequest,
};
use ledgerport::db::Db;
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
            deliver(&self.db, &self.webhook_secret, event)
                .await
                .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
            Ok(ProviderRefund { id: refund_id })
        })
    }
}

fn unreachable_db(e: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(format!("the sandbox could not read its refunds: {e}"))
}

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![(
        "/sandbox/checkout/{id}",
        get(hosted_page).post(pay_on_hosted_page),
    )]
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
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {amount} · Sandbox checkout</title><link rel="stylesheet" href="/pkg/ledgerport.css"></head>
<body><main class="page"><section class="card narrow" aria-labelledby="pay-heading">
<p class="tag">Sandbox checkout · test mode, no real money moves</p>
<h1 id="pay-heading">Pay <span data-testid="sandbox-amount">{amount}</span></h1>
<form method="post" class="form">
<label for="card">Card number</label>
<input id="card" name="card_number" inputmode="numeric" autocomplete="off" required placeholder="4242 4242 4242 4242">
<label for="expiry">Expiry (MM / YY)</label><input id="expiry" name="expiry" autocomplete="off" required placeholder="12 / 34">
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="off" required placeholder="123">
{alert}
<button class="button" type="submit">Pay {amount}</button>
</form>
<p class="hint"><a href="/invoices">Cancel and go back</a></p>
</section></main></body></html>"#
    );
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
        )],
        Html(body),
    )
        .into_response()
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
        Ok(view) => Redirect::to(&format!("/payments/checkout/{}", view.id)).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct CardForm {
    card_number: String,
}

fn random_id(prefix: &str) -> String {
    format!("{prefix}_sandbox_{}", ledgerport::secrets::random_hex(12))
}

/// Signs and delivers one event the way Stripe would.
async fn deliver(db: &Db, secret: &[u8], event: serde_json::Value) -> Result<(), WebhookError> {
    let body = event.to_string();
    let now = chrono::Utc::now().timestamp();
    let header = signature::sign(secret, now, body.as_bytes());
    receive(db, secret, Some(&header), body.as_bytes())
        .await
        .map(|_| ())
}

/// Delivers an event from the hosted page; a failure means nothing was charged.
async fn deliver_from_page(state: &ServerState, event: serde_json::Value) -> Result<(), Response> {
    deliver(&state.app.db, &state.webhook_secret, event)
        .await
        .map_err(|e| {
            tracing::error!("sandbox event delivery failed: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The payment could not be recorded; nothing was charged.",
            )
                .into_response()
        })
}

async fn pay_on_hosted_page(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(id): Path<String>,
    Form(form): Form<CardForm>,
) -> Response {
    let view = match owned_checkout(&state, &contact, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    if view.status == CheckoutStatus::Succeeded {
        return Redirect::to(&format!("/payments/checkout/{id}")).into_response();
    }
    let intent = random_id("pi");
    let metadata = json!({ CHECKOUT_METADATA_KEY: id });
    let currency = view.currency.code().to_lowercase();
    let created = chrono::Utc::now().timestamp();
    match card_outcome(&form.card_number) {
        CardOutcome::Invalid(message) => page(&view, Some(message)),
        CardOutcome::Declined(message) => {
            let event = json!({
                "id": random_id("evt"), "object": "event", "created": created,
                "type": "payment_intent.payment_failed",
                "data": { "object": {
                    "id": intent, "object": "payment_intent", "amount": view.amount_minor,
                    "currency": currency, "metadata": metadata,
                    "last_payment_error": { "message": message },
                }},
            });
            match deliver_from_page(&state, event).await {
                Ok(()) => page(&view, Some(message)),
                Err(response) => response,
            }
        }
        CardOutcome::Succeeds => {
            let completed = json!({
                "id": random_id("evt"), "object": "event", "created": created,
                "type": "checkout.session.completed",
                "data": { "object": {
                    "id": format!("cs_sandbox_{id}"), "object": "checkout.session",
                    "payment_status": "paid", "payment_intent": intent,
                    "amount_total": view.amount_minor, "currency": currency, "metadata": metadata,
                }},
            });
            let succeeded = json!({
                "id": random_id("evt"), "object": "event", "created": created,
                "type": "payment_intent.succeeded",
                "data": { "object": {
                    "id": intent, "object": "payment_intent",
                    "amount_received": view.amount_minor, "currency": currency, "metadata": metadata,
                }},
            });
            for event in [completed, succeeded] {
                if let Err(response) = deliver_from_page(&state, event).await {
                    return response;
                }
            }
            Redirect::to(&format!("/payments/checkout/{id}")).into_response()
        }
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
