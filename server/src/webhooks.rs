//! Payment-provider webhooks: Stripe's event format, signed. The sandbox delivers the same
//! events through `receive`, so the ledger path is identical in both modes.
//!
//! Each event is verified on its raw bytes, claimed by id and acted on in one transaction: a
//! duplicate changes nothing, and a failure leaves nothing half-posted for the retry.

pub mod signature;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ledgerport::checkout::CheckoutStatus;
use ledgerport::checkout::store::{
    CheckoutStoreError, Collected, claim_event, close_unpaid_in, settle_in,
};
use ledgerport::db::{Db, DbError};
use serde_json::Value;

use crate::http::ServerState;

/// The metadata key naming our checkout in Stripe objects.
pub const CHECKOUT_METADATA_KEY: &str = "ledgerport_payment_id";

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("signature: {0}")]
    Signature(#[from] signature::SignatureError),
    #[error("the event is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] CheckoutStoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        WebhookError::Db(DbError::Query(e))
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        match self {
            WebhookError::Signature(_) | WebhookError::Malformed(_) => {
                tracing::warn!("webhook refused: {self}");
                (StatusCode::BAD_REQUEST, self.to_string()).into_response()
            }
            // A 5xx makes Stripe retry later; nothing was committed.
            WebhookError::Store(_) | WebhookError::Db(_) => {
                tracing::error!("webhook failed: {self}");
                (StatusCode::INTERNAL_SERVER_ERROR, "try again later").into_response()
            }
        }
    }
}

/// What an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Duplicate,
    Settled,
    ClosedUnpaid,
    Chargeback,
    Refunded,
    Ignored,
}

/// `POST /webhooks/stripe`
pub async fn stripe_webhook(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, WebhookError> {
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let outcome = receive(&state.app.db, &state.webhook_secret, header, &body).await?;
    Ok(match outcome {
        Outcome::Duplicate => "duplicate",
        Outcome::Settled => "settled",
        Outcome::ClosedUnpaid => "closed",
        Outcome::Chargeback => "chargeback",
        Outcome::Refunded => "refunded",
        Outcome::Ignored => "ignored",
    })
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

fn malformed(what: &str) -> WebhookError {
    WebhookError::Malformed(format!("missing {what}"))
}

/// Verifies, claims and acts on one event.
pub async fn receive(
    db: &Db,
    secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Outcome, WebhookError> {
    signature::verify(
        secret,
        signature_header,
        body,
        chrono::Utc::now().timestamp(),
    )?;
    let event: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let event_id = text(&event, &["id"]).ok_or_else(|| malformed("id"))?;
    let event_type = text(&event, &["type"]).ok_or_else(|| malformed("type"))?;
    let object = event
        .get("data")
        .and_then(|d| d.get("object"))
        .ok_or_else(|| malformed("data.object"))?;
    let created = event
        .get("created")
        .and_then(Value::as_i64)
        .ok_or_else(|| malformed("created"))?;
    let checkout_id = text(object, &["metadata", CHECKOUT_METADATA_KEY]);

    let mut tx = db.begin_write().await?;
    if !claim_event(&mut tx, event_id, event_type).await? {
        return Ok(Outcome::Duplicate);
    }
    let card_event = match event_type {
        "charge.refunded" => Some(refund(&mut tx, db, object, created).await?),
        "charge.dispute.created" => Some(card_dispute(&mut tx, object, created, false).await?),
        "charge.dispute.closed" => Some(card_dispute(&mut tx, object, created, true).await?),
        _ => None,
    };
    if let Some(outcome) = card_event {
        tx.commit().await?;
        return Ok(outcome);
    }
    let outcome = match (event_type, checkout_id) {
        // Only our own checkouts move money here; anything else is recorded and left alone.
        (_, None) => Outcome::Ignored,
        // Paid later by a delayed method: `async_payment_succeeded` will follow.
        ("checkout.session.completed", Some(_))
            if text(object, &["payment_status"]) != Some("paid") =>
        {
            Outcome::Ignored
        }
        ("checkout.session.completed" | "checkout.session.async_payment_succeeded", Some(id)) => {
            let reference =
                text(object, &["payment_intent"]).ok_or_else(|| malformed("payment_intent"))?;
            let amount = object
                .get("amount_total")
                .and_then(Value::as_i64)
                .ok_or_else(|| malformed("amount_total"))?;
            settle(&mut tx, db, id, reference, object, amount, created).await?
        }
        ("payment_intent.succeeded", Some(id)) => {
            let reference = text(object, &["id"]).ok_or_else(|| malformed("id"))?;
            let amount = object
                .get("amount_received")
                .and_then(Value::as_i64)
                .ok_or_else(|| malformed("amount_received"))?;
            settle(&mut tx, db, id, reference, object, amount, created).await?
        }
        ("payment_intent.payment_failed" | "checkout.session.async_payment_failed", Some(id)) => {
            let message =
                text(object, &["last_payment_error", "message"]).unwrap_or("The payment failed.");
            close_unpaid_in(&mut tx, id, CheckoutStatus::Failed, message).await?;
            Outcome::ClosedUnpaid
        }
        ("checkout.session.expired", Some(id)) => {
            close_unpaid_in(
                &mut tx,
                id,
                CheckoutStatus::Expired,
                "The payment page expired.",
            )
            .await?;
            Outcome::ClosedUnpaid
        }
        _ => Outcome::Ignored,
    };
    tx.commit().await?;
    Ok(outcome)
}

/// `charge.dispute.created`: the bank pulled the money back. `charge.dispute.closed`: `won`
/// returns it, `lost` is a loss; other closings (`warning_closed`: an inquiry that never became
/// a chargeback) move no money. Stripe's object has no metadata of ours; the PaymentIntent names
/// the payment.
async fn card_dispute(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    object: &Value,
    created: i64,
    closing: bool,
) -> Result<Outcome, WebhookError> {
    let decision = match (closing, text(object, &["status"])) {
        (false, _) => None,
        (true, Some("won")) => Some(true),
        (true, Some("lost")) => Some(false),
        (true, _) => return Ok(Outcome::Ignored),
    };
    let dispute = text(object, &["id"]).ok_or_else(|| malformed("id"))?;
    let reference = text(object, &["payment_intent"]).ok_or_else(|| malformed("payment_intent"))?;
    let amount = object
        .get("amount")
        .and_then(Value::as_i64)
        .ok_or_else(|| malformed("amount"))?;
    let (currency, date) = (parse_currency(object)?, event_date(created)?);
    use ledgerport::checkout::store::{close_chargeback_in, post_chargeback_in};
    let posted = match decision {
        None => post_chargeback_in(tx, reference, dispute, currency, amount, date).await?,
        Some(won) => {
            close_chargeback_in(tx, reference, dispute, currency, amount, won, date).await?
        }
    };
    Ok(if posted {
        Outcome::Chargeback
    } else {
        Outcome::Ignored
    })
}

/// `charge.refunded`: `amount_refunded` is cumulative, so only the new part is posted.
async fn refund(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    db: &Db,
    object: &Value,
    created: i64,
) -> Result<Outcome, WebhookError> {
    let reference = text(object, &["payment_intent"]).ok_or_else(|| malformed("payment_intent"))?;
    let cumulative = object
        .get("amount_refunded")
        .and_then(Value::as_i64)
        .ok_or_else(|| malformed("amount_refunded"))?;
    let posted = ledgerport::checkout::store::post_refund_in(
        tx,
        db.engine(),
        reference,
        parse_currency(object)?,
        cumulative,
        event_date(created)?,
    )
    .await?;
    Ok(if posted > 0 {
        Outcome::Refunded
    } else {
        Outcome::Ignored
    })
}

fn parse_currency(object: &Value) -> Result<ledgerport::money::Currency, WebhookError> {
    text(object, &["currency"])
        .ok_or_else(|| malformed("currency"))?
        .to_uppercase()
        .parse()
        .map_err(|_| WebhookError::Malformed("unknown currency".into()))
}

fn event_date(created: i64) -> Result<chrono::NaiveDate, WebhookError> {
    Ok(chrono::DateTime::from_timestamp(created, 0)
        .ok_or_else(|| malformed("a valid created time"))?
        .date_naive())
}

async fn settle(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    db: &Db,
    checkout_id: &str,
    reference: &str,
    object: &Value,
    amount_minor: i64,
    created: i64,
) -> Result<Outcome, WebhookError> {
    let currency = parse_currency(object)?;
    let received = event_date(created)?;
    settle_in(
        tx,
        db.engine(),
        &Collected {
            checkout_id,
            payment_reference: reference,
            currency,
            amount_minor,
            received,
        },
    )
    .await?;
    Ok(Outcome::Settled)
}
