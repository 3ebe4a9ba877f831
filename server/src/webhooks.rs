//! Payment-provider webhooks: Stripe's event format, signed. The sandbox delivers the same
//! events through `receive`, so the ledger path is identical in both modes.
//!
//! Each event is verified on its raw bytes, parsed once into a typed [`ProviderEvent`]
//! (`events`), claimed by id and acted on in one transaction: a duplicate changes nothing, and a
//! failure leaves nothing half-posted for the retry.

pub mod events;
pub mod signature;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use events::ProviderEvent;
use ledgerport::chargebacks::{
    DisputeEffect, ReportedDispute, dispute_decided_in, dispute_opened_in,
};
use ledgerport::checkout::store::CheckoutStoreError;
use ledgerport::checkout::{PaymentProvider, PayoutContents, ProviderError};
use ledgerport::db::{Db, DbError, Engine};
use ledgerport::payouts::store::{
    FailedPayout, PaidPayout, PayoutEffect, payout_failed_in, payout_paid_in,
};
use ledgerport::refunds::posting::post_refund_in;
use ledgerport::saved_methods::ProviderMethod;
use ledgerport::saved_methods::store::saved_in;
use ledgerport::settlement::{
    Collected, Repeated, checkout_turn, claim_event, close_unpaid_in, processing_in, repeated,
    settle_in,
};

use crate::state::ServerState;

/// The metadata key naming our checkout in Stripe objects.
pub const CHECKOUT_METADATA_KEY: &str = "ledgerport_payment_id";
/// The metadata key naming our saved-method setup on the provider's setup session.
pub const SETUP_METADATA_KEY: &str = "ledgerport_setup_id";

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
    /// The provider could not say what a payout carried; the event waits for its retry.
    #[error("asking the provider about the event failed: {0}")]
    Provider(#[from] ProviderError),
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
            WebhookError::Store(_) | WebhookError::Db(_) | WebhookError::Provider(_) => {
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
    /// A success event whose twin posted the payment while this one waited for the account's
    /// lock (the twin was at another server instance: in one process the twins take turns, see
    /// `settlement::checkout_turn`): nothing to do, so nothing is kept (not even the claim, as
    /// for a repeat seen before the transaction).
    AlreadySettled,
    Processing,
    ClosedUnpaid,
    Chargeback,
    Refunded,
    Payout,
    MethodSaved,
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
    let outcome = receive(
        &state.app.db,
        state.app.payments.as_ref(),
        &state.webhook_secret,
        header,
        &body,
    )
    .await?;
    Ok(match outcome {
        Outcome::Duplicate => "duplicate",
        Outcome::Settled | Outcome::AlreadySettled => "settled",
        Outcome::Processing => "processing",
        Outcome::ClosedUnpaid => "closed",
        Outcome::Chargeback => "chargeback",
        Outcome::Refunded => "refunded",
        Outcome::Payout => "payout",
        Outcome::MethodSaved => "method saved",
        Outcome::Ignored => "ignored",
    })
}

/// Verifies, claims and acts on one event. What the event needs from the provider (a payout's
/// fees) is asked before the transaction opens, so no write lock waits on the network.
pub async fn receive(
    db: &Db,
    provider: &dyn PaymentProvider,
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
    let envelope = events::parse(body)?;
    let contents = match &envelope.event {
        ProviderEvent::PayoutPaid { payout_id, .. } => provider.payout_contents(payout_id).await?,
        _ => PayoutContents::default(),
    };
    let saved = match &envelope.event {
        ProviderEvent::MethodSaved { setup_intent, .. } => {
            match provider.saved_method(setup_intent).await {
                Ok(method) => Some(method),
                // A method this portal cannot keep (another type, no last four digits) stays
                // unsaved; asking again would not change the answer, so the event is taken.
                Err(ProviderError::Refused(reason)) => {
                    tracing::warn!(setup_intent, %reason, "a saved method was not recorded");
                    None
                }
                Err(unanswered) => return Err(unanswered.into()),
            }
        }
        _ => None,
    };
    // Held to the end: the events of one checkout are acted on one at a time in this process.
    let _turn = match &envelope.event {
        ProviderEvent::Collected { checkout_id, .. } => Some(checkout_turn(checkout_id).await),
        _ => None,
    };
    if let ProviderEvent::Collected {
        checkout_id,
        payment_intent,
        method,
        ..
    } = &envelope.event
    {
        match repeated(db, &envelope.id, checkout_id, payment_intent, *method).await? {
            Some(Repeated::SameEvent) => return Ok(Outcome::Duplicate),
            Some(Repeated::SettledPayment) => return Ok(Outcome::Settled),
            None => {}
        }
    }
    let mut tx = db.begin_write().await?;
    if !claim_event(&mut tx, &envelope.id, &envelope.kind).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = act(
        &mut tx,
        db.engine(),
        &envelope.event,
        envelope.created,
        contents,
        saved.as_ref(),
    )
    .await?;
    // Rolled back rather than committed: a commit would wait for the disk to keep nothing.
    if outcome == Outcome::AlreadySettled {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// What the event does to the books, inside the claim's transaction.
async fn act(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    engine: Engine,
    event: &ProviderEvent,
    created: i64,
    contents: PayoutContents,
    saved: Option<&ProviderMethod>,
) -> Result<Outcome, WebhookError> {
    Ok(match event {
        ProviderEvent::Collected {
            checkout_id,
            payment_intent,
            method,
            currency,
            amount_minor,
            received,
        } => {
            let collected = Collected {
                checkout_id,
                payment_reference: payment_intent,
                method: *method,
                currency: *currency,
                amount_minor: *amount_minor,
                received: *received,
            };
            if settle_in(tx, engine, &collected).await?.wrote_nothing {
                Outcome::AlreadySettled
            } else {
                Outcome::Settled
            }
        }
        ProviderEvent::Processing {
            checkout_id,
            payment_intent,
            method,
            submitted,
        } => {
            processing_in(
                tx,
                engine,
                checkout_id,
                payment_intent,
                *method,
                *submitted,
                created,
            )
            .await?;
            Outcome::Processing
        }
        ProviderEvent::Unpaid {
            checkout_id,
            status,
            message,
            code,
        } => {
            close_unpaid_in(tx, engine, checkout_id, *status, message, created).await?;
            if let Some(code) = code {
                ledgerport::autopay::store::failure_code_in(tx, checkout_id, code).await?;
            }
            Outcome::ClosedUnpaid
        }
        ProviderEvent::Refunded {
            payment_intent,
            currency,
            cumulative_minor,
            refunded_on,
        } => {
            let posted = post_refund_in(
                tx,
                engine,
                payment_intent,
                *currency,
                *cumulative_minor,
                *refunded_on,
            )
            .await?;
            if posted > 0 {
                Outcome::Refunded
            } else {
                Outcome::Ignored
            }
        }
        ProviderEvent::DisputeOpened {
            dispute_id,
            payment_intent,
            currency,
            amount_minor,
            reason,
            opened,
        } => {
            let dispute = ReportedDispute {
                dispute_id,
                payment_reference: payment_intent,
                currency: *currency,
                amount_minor: *amount_minor,
                reason,
                reported: *opened,
            };
            dispute_outcome(dispute_opened_in(tx, engine, &dispute).await?)
        }
        ProviderEvent::DisputeDecided {
            dispute_id,
            payment_intent,
            currency,
            amount_minor,
            reason,
            won,
            decided,
        } => {
            let dispute = ReportedDispute {
                dispute_id,
                payment_reference: payment_intent,
                currency: *currency,
                amount_minor: *amount_minor,
                reason,
                reported: *decided,
            };
            dispute_outcome(dispute_decided_in(tx, engine, &dispute, *won).await?)
        }
        ProviderEvent::PayoutPaid {
            payout_id,
            currency,
            amount_minor,
            arrival,
        } => {
            let paid = PaidPayout {
                payout_id,
                currency: *currency,
                amount_minor: *amount_minor,
                fees_minor: contents.fees_minor,
                transactions: contents.transactions,
                arrival: *arrival,
            };
            payout_outcome(
                payout_paid_in(tx, &paid)
                    .await
                    .map_err(CheckoutStoreError::from)?,
            )
        }
        ProviderEvent::PayoutFailed {
            payout_id,
            currency,
            amount_minor,
            arrival,
            failure,
            failed_on,
        } => {
            let failed = FailedPayout {
                payout_id,
                currency: *currency,
                amount_minor: *amount_minor,
                arrival: *arrival,
                failure,
                failed_on: *failed_on,
            };
            payout_outcome(
                payout_failed_in(tx, &failed)
                    .await
                    .map_err(CheckoutStoreError::from)?,
            )
        }
        ProviderEvent::MethodSaved { setup_id, .. } => {
            let recorded = match saved {
                Some(method) => saved_in(tx, setup_id, method).await?,
                None => false,
            };
            if recorded {
                Outcome::MethodSaved
            } else {
                Outcome::Ignored
            }
        }
        ProviderEvent::NoMoney => Outcome::Ignored,
    })
}

fn payout_outcome(effect: PayoutEffect) -> Outcome {
    match effect {
        PayoutEffect::Posted => Outcome::Payout,
        PayoutEffect::Recorded => Outcome::Ignored,
    }
}

/// A dispute on a payment not posted here (yet) is recorded and waits for it.
fn dispute_outcome(effect: DisputeEffect) -> Outcome {
    match effect {
        DisputeEffect::Applied => Outcome::Chargeback,
        DisputeEffect::Waiting => Outcome::Ignored,
    }
}
