//! Refunds the provider confirms (`charge.refunded`), however they started: posted once per
//! running total, first out of unapplied credit, then reopening what the payment settled.

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use crate::adjustments::store::adjust_in;
use crate::adjustments::{AdjustmentHeader, AdjustmentRequest, RefundSource};
use crate::checkout::store::CheckoutStoreError;
use crate::db::Engine;
use crate::keys;
use crate::money::{Currency, Money};
use crate::payments::PaymentMethod;
use crate::payments::store::provider_payment_in;
use crate::receivables::store::{CashError, lock_customer, unapplied_credit_in};

/// What the ledger has refunded so far on a provider payment, however the refund started.
pub async fn posted_refunds_in(
    conn: &mut sqlx::AnyConnection,
    payment_reference: &str,
) -> Result<i64, sqlx::Error> {
    // A prefix compared exactly: LIKE ignores case on SQLite, and provider ids are case-sensitive.
    sqlx::query(
        "SELECT COALESCE(CAST(sum(amount_minor) AS BIGINT), 0) FROM adjustments \
         WHERE kind = 'refund' AND substr(business_key, 1, length($1)) = $1",
    )
    .bind(keys::card_refund_prefix(payment_reference))
    .fetch_one(conn)
    .await?
    .try_get(0)
}

/// A provider refund: `cumulative_refunded` is the charge's total refunded so far (Stripe sends
/// the running total), so only the part not yet posted is refunded now. It comes first out of
/// the customer's unapplied credit, then reopens the invoices this payment settled, newest
/// allocation first. Returns the amount posted (0 when nothing is new or the payment is not ours).
pub async fn post_refund_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    payment_reference: &str,
    currency: Currency,
    cumulative_refunded: i64,
    refunded_on: NaiveDate,
) -> Result<i64, CheckoutStoreError> {
    let Some((payment_id, customer_id, _)) = provider_payment_in(tx, payment_reference).await?
    else {
        return Ok(0);
    };
    // Before reading what is posted: two events for one charge (30, then 50 in all) must not
    // both see nothing posted and post 80.
    lock_customer(tx, engine, customer_id).await?;
    let prefix = keys::card_refund_prefix(payment_reference);
    let posted = posted_refunds_in(tx, payment_reference).await?;
    let delta = cumulative_refunded - posted;
    if delta <= 0 {
        return Ok(0);
    }
    let credit = unapplied_credit_in(&mut **tx, customer_id, currency)
        .await?
        .to_minor();
    let mut sources = Vec::new();
    let mut left = delta;
    if credit > 0 {
        let part = credit.min(left);
        sources.push((RefundSource::UnappliedCredit, part));
        left -= part;
    }
    // What each invoice can take back: this payment's allocation less the refunds of this
    // payment that already reopened it.
    let allocations = sqlx::query(
        "SELECT a.invoice_id, a.amount_minor - COALESCE((SELECT CAST(sum(r.amount_minor) AS BIGINT) \
                FROM adjustments r WHERE r.kind = 'refund' AND r.invoice_id = a.invoice_id \
                AND substr(r.business_key, 1, length($2)) = $2), 0) AS reopenable \
         FROM allocations a WHERE a.payment_id = $1 ORDER BY a.id DESC",
    )
    .bind(payment_id)
    .bind(&prefix)
    .fetch_all(&mut **tx)
    .await?;
    for row in allocations {
        if left == 0 {
            break;
        }
        let part = row.try_get::<i64, _>("reopenable")?.min(left);
        if part > 0 {
            sources.push((RefundSource::Invoice(row.try_get("invoice_id")?), part));
            left -= part;
        }
    }
    if left > 0 {
        // The credit this payment left was spent elsewhere: nothing is posted, the event fails,
        // and reconciliation shows the provider refund without its ledger entry.
        return Err(CheckoutStoreError::RefundBeyondPayment {
            payment_reference: payment_reference.to_string(),
            unplaced_minor: left,
        });
    }
    for (n, (source, part)) in sources.into_iter().enumerate() {
        let header = AdjustmentHeader::new(
            customer_id,
            &format!("{prefix}{cumulative_refunded}:{n}"),
            &format!("card refund on {payment_reference}"),
            refunded_on,
        )
        .map_err(CashError::from)?
        .dated_by_event();
        let request = AdjustmentRequest::Refund {
            source,
            amount: Money::from_minor(part, currency),
            method: PaymentMethod::Card,
        };
        adjust_in(tx, engine, &header, &request).await?;
    }
    Ok(delta)
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::checkout::PayItem;
    use crate::checkout::store::open_checkout;
    use crate::settlement::{Collected, settle_in};
    use crate::testing::fixtures::{assert_ledger_healthy, demo_acme, open_minor};
    use crate::testing::fresh_db;

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    #[tokio::test]
    async fn refund_events_for_one_charge_arriving_at_once_post_the_largest_running_total_once() {
        let db = fresh_db().await;
        let (customer, user, open) = demo_acme(&db).await;
        let items = [PayItem {
            invoice_id: open[0].0,
            amount_minor: open[0].1,
        }];
        let opened = open_checkout(&db, customer, user, "sandbox", &items, today())
            .await
            .unwrap();
        let (checkout, reviewed) = (opened.id, opened.review);
        let mut tx = db.begin_write().await.unwrap();
        let collected = Collected {
            checkout_id: &checkout,
            payment_reference: "pi_refunded_at_once",
            method: None,
            currency: Currency::Usd,
            amount_minor: reviewed.total_minor,
            received: today(),
        };
        settle_in(&mut tx, db.engine(), &collected).await.unwrap();
        tx.commit().await.unwrap();
        // Eight deliveries of running totals 1.00 … 8.00, all at once (two instances, retries).
        let deliveries = (1..=8_i64).map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                post_refund_in(
                    &mut tx,
                    db.engine(),
                    "pi_refunded_at_once",
                    Currency::Usd,
                    n * 100,
                    today(),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            })
        });
        for delivery in deliveries.collect::<Vec<_>>() {
            delivery.await.unwrap();
        }
        let mut conn = db.pool().acquire().await.unwrap();
        assert_eq!(
            posted_refunds_in(&mut conn, "pi_refunded_at_once")
                .await
                .unwrap(),
            800
        );
        assert_eq!(open_minor(&db, open[0].0).await, 800);
        drop(conn);
        assert_ledger_healthy(&db).await;
    }
}
