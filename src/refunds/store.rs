//! Reserving, sending and listing refund requests.

use sqlx::{AnyConnection, Row};

use super::{RefundError, RefundStatus, RefundView, parse_amount, parse_reason};
use crate::checkout::{PaymentProvider, ProviderError, RefundRequest};
use crate::db::{Db, DbError, currency, now_text};
use crate::money::Currency;
use crate::receivables::store::{CashError, lock_customer};

/// Who asks for the refund (staff).
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub user_id: i64,
    pub email: &'a str,
}

/// One refund request as the provider call needs it.
#[derive(Debug, Clone)]
struct Pending {
    id: String,
    payment_reference: String,
    currency: Currency,
    amount_minor: i64,
}

/// A card payment as the refund rules need it.
struct CardPayment {
    customer_id: i64,
    reference: String,
    currency: Currency,
    amount_minor: i64,
}

async fn card_payment(
    conn: &mut AnyConnection,
    payment_id: i64,
) -> Result<CardPayment, RefundError> {
    let row = sqlx::query(
        "SELECT customer_id, method, business_key, currency, amount_minor FROM payments WHERE id = $1",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(RefundError::UnknownPayment)?;
    let key: String = row.try_get("business_key")?;
    let reference = match (
        row.try_get::<String, _>("method")?.as_str(),
        key.strip_prefix("stripe:"),
    ) {
        ("card", Some(reference)) => reference.to_string(),
        _ => return Err(RefundError::NotACardPayment),
    };
    Ok(CardPayment {
        customer_id: row.try_get("customer_id")?,
        reference,
        currency: currency(&row.try_get::<String, _>("currency")?)?,
        amount_minor: row.try_get("amount_minor")?,
    })
}

/// What is already gone from the payment: the refunds the ledger has posted (from the portal or
/// the provider's dashboard), or the portal's live requests, whichever is more. The provider
/// refuses anything beyond the charge anyway.
async fn refunded_so_far(
    conn: &mut AnyConnection,
    payment_id: i64,
    reference: &str,
) -> Result<i64, RefundError> {
    let posted = super::posting::posted_refunds_in(&mut *conn, reference).await?;
    let requested: i64 = sqlx::query_scalar(
        "SELECT COALESCE(CAST(sum(amount_minor) AS BIGINT), 0) FROM refund_requests \
         WHERE payment_id = $1 AND status <> 'failed'",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(posted.max(requested))
}

/// Writes the request, reserving its amount, under the customer lock.
async fn reserve(
    db: &Db,
    payment_id: i64,
    amount: &str,
    reason: &str,
    by: Requester<'_>,
) -> Result<Pending, RefundError> {
    let reason = parse_reason(reason)?;
    let mut tx = db.begin_write().await?;
    let payment = card_payment(&mut tx, payment_id).await?;
    lock_customer(&mut tx, db.engine(), payment.customer_id)
        .await
        .map_err(cash_error)?;
    let gone = refunded_so_far(&mut tx, payment_id, &payment.reference).await?;
    let amount_minor = parse_amount(amount, payment.currency, payment.amount_minor - gone)?;
    let id = format!("rf_{}", crate::secrets::random_hex(12));
    let now = now_text();
    sqlx::query(
        "INSERT INTO refund_requests (id, payment_id, customer_id, currency, amount_minor, reason, \
                                      requested_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(payment_id)
    .bind(payment.customer_id)
    .bind(payment.currency.code())
    .bind(amount_minor)
    .bind(&reason)
    .bind(by.user_id)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        Some(by.user_id),
        by.email,
        "payment.refund_requested",
        &format!("payment:{payment_id}"),
        &format!(
            "{id} {} {reason}",
            crate::money::Money::from_minor(amount_minor, payment.currency)
        ),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(Pending {
        id,
        payment_reference: payment.reference,
        currency: payment.currency,
        amount_minor,
    })
}

fn cash_error(e: CashError) -> RefundError {
    match e {
        CashError::Db(e) => RefundError::Db(e),
        other => RefundError::Db(DbError::Corrupt(other.to_string())),
    }
}

/// Asks the provider and records its answer. A refusal frees the reservation; no answer keeps
/// it, so the same refund (same idempotency key) can be sent again without refunding twice.
async fn send(
    db: &Db,
    provider: &dyn PaymentProvider,
    pending: &Pending,
) -> Result<(), RefundError> {
    let outcome = provider
        .refund(RefundRequest {
            refund_id: &pending.id,
            payment_reference: &pending.payment_reference,
            currency: pending.currency,
            amount_minor: pending.amount_minor,
        })
        .await;
    let (status, provider_id, message) = match &outcome {
        Ok(accepted) => (
            RefundStatus::Sent,
            Some(accepted.id.as_str()),
            String::new(),
        ),
        Err(ProviderError::Refused(message)) => (RefundStatus::Failed, None, message.clone()),
        Err(unanswered) => (RefundStatus::Requested, None, unanswered.to_string()),
    };
    sqlx::query(
        "UPDATE refund_requests SET status = $1, provider_refund_id = $2, failure_message = $3, \
                updated_at = $4 WHERE id = $5 AND status = 'requested'",
    )
    .bind(status.as_str())
    .bind(provider_id)
    .bind(&message)
    .bind(now_text())
    .bind(&pending.id)
    .execute(db.write_pool())
    .await?;
    outcome.map(|_| ()).map_err(RefundError::from)
}

/// Refunds `amount` (as typed, in the payment's currency) of a card payment through the
/// provider. Returns the refund's id.
pub async fn refund(
    db: &Db,
    provider: &dyn PaymentProvider,
    payment_id: i64,
    amount: &str,
    reason: &str,
    by: Requester<'_>,
) -> Result<String, RefundError> {
    let pending = reserve(db, payment_id, amount, reason, by).await?;
    send(db, provider, &pending).await?;
    Ok(pending.id)
}

/// Sends an unconfirmed refund again, with the same idempotency key.
pub async fn resend(
    db: &Db,
    provider: &dyn PaymentProvider,
    payment_id: i64,
    refund_id: &str,
) -> Result<(), RefundError> {
    // Only reads: `send` moves the request on with a conditional update.
    let mut conn = db.pool().acquire().await?;
    let payment = card_payment(&mut conn, payment_id).await?;
    let row = sqlx::query(
        "SELECT status, amount_minor, created_at FROM refund_requests WHERE id = $1 AND payment_id = $2",
    )
    .bind(refund_id)
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(RefundError::UnknownRefund)?;
    let status = RefundStatus::parse(&row.try_get::<String, _>("status")?)
        .ok_or_else(|| DbError::Corrupt(format!("refund {refund_id} status")))?;
    if status != RefundStatus::Requested {
        return Err(RefundError::NotPending(status.as_str()));
    }
    let oldest_resendable = crate::db::timestamp_text(
        chrono::Utc::now() - chrono::Duration::hours(super::RESEND_WITHIN_HOURS),
    );
    if row.try_get::<String, _>("created_at")? < oldest_resendable {
        return Err(RefundError::TooOldToResend);
    }
    let amount_minor: i64 = row.try_get("amount_minor")?;
    drop(conn);
    let pending = Pending {
        id: refund_id.to_string(),
        payment_reference: payment.reference,
        currency: payment.currency,
        amount_minor,
    };
    send(db, provider, &pending).await
}

/// What can still be refunded of a card payment through the provider; `None` for other methods.
pub async fn refundable_minor(db: &Db, payment_id: i64) -> Result<Option<i64>, RefundError> {
    let mut conn = db.pool().acquire().await?;
    let payment = match card_payment(&mut conn, payment_id).await {
        Ok(payment) => payment,
        Err(RefundError::NotACardPayment) => return Ok(None),
        Err(e) => return Err(e),
    };
    let gone = refunded_so_far(&mut conn, payment_id, &payment.reference).await?;
    Ok(Some((payment.amount_minor - gone).max(0)))
}

/// The payment's refund requests, newest first.
pub async fn refunds_of(db: &Db, payment_id: i64) -> Result<Vec<RefundView>, DbError> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.payment_id, r.currency, r.amount_minor, r.reason, r.status, \
                r.provider_refund_id, r.failure_message, u.email, r.created_at \
         FROM refund_requests r JOIN users u ON u.id = r.requested_by \
         WHERE r.payment_id = $1 ORDER BY r.created_at DESC, r.id",
    )
    .bind(payment_id)
    .fetch_all(db.pool())
    .await?)
}
