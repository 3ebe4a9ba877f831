//! Money the provider collected for a checkout, posted once: events are claimed by id, several
//! events announcing one payment post it once, and a failure or expiry never undoes a success.

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use crate::checkout::store::CheckoutStoreError;
use crate::checkout::{CheckoutError, CheckoutStatus, PayItem};
use crate::db::{DbError, Engine, now_text};
use crate::keys;
use crate::money::{Currency, Money};
use crate::payments::store::{PaymentReceipt, record_payment_in};
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::receivables::store::CashError;

/// Records a provider event id; false when it was seen before (the caller then does nothing).
pub async fn claim_event(
    tx: &mut Transaction<'_, Any>,
    event_id: &str,
    event_type: &str,
) -> Result<bool, DbError> {
    let claimed = sqlx::query(
        "INSERT INTO webhook_events (event_id, event_type, received_at, outcome) \
         VALUES ($1, $2, $3, 'processed') ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(event_type)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Money the provider collected for a checkout.
#[derive(Debug, Clone)]
pub struct Collected<'a> {
    pub checkout_id: &'a str,
    /// The provider's payment id (Stripe's PaymentIntent): the payment's business key, so the
    /// several events announcing one payment post it once.
    pub payment_reference: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    pub received: NaiveDate,
}

/// Posts collected money as a card payment on the reviewed allocation, inside the caller's
/// transaction. Money is never dropped: if the reviewed split no longer fits (an invoice was
/// voided meanwhile), all of it becomes unapplied credit for staff to apply. An unknown
/// checkout is an error, so the provider retries the event.
pub async fn settle_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    collected: &Collected<'_>,
) -> Result<PaymentReceipt, CheckoutStoreError> {
    let row = sqlx::query("SELECT customer_id, allocations FROM checkouts WHERE id = $1")
        .bind(collected.checkout_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(CheckoutError::UnknownCheckout)?;
    let customer_id: i64 = row.try_get("customer_id")?;
    let allocations: String = row.try_get("allocations")?;
    let business_key = keys::card_payment(collected.payment_reference);
    // Several events announce one payment (session completed, intent succeeded), possibly a day
    // apart: the first posts it, the others find it here.
    let existing = sqlx::query("SELECT id FROM payments WHERE business_key = $1")
        .bind(&business_key)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(existing) = existing {
        let payment_id: i64 = existing.try_get(0)?;
        mark_succeeded(tx, collected.checkout_id, payment_id).await?;
        return Ok(PaymentReceipt {
            payment_id,
            allocations: Vec::new(),
            unapplied: Money::zero(collected.currency),
            replayed: true,
        });
    }
    let items = PayItem::parse_list(&allocations)
        .ok_or_else(|| DbError::Corrupt(format!("checkout allocations {allocations:?}")))?;
    let amount = Money::from_minor(collected.amount_minor, collected.currency);
    let request = |rule| {
        PaymentRequest::new(
            customer_id,
            &business_key,
            PaymentMethod::Card,
            amount,
            collected.received,
            rule,
            true,
        )
    };
    let explicit = AllocationRule::Explicit(
        items
            .iter()
            .map(|i| {
                (
                    i.invoice_id,
                    Money::from_minor(i.amount_minor, collected.currency),
                )
            })
            .collect(),
    );
    let planned = match request(explicit) {
        Ok(planned) => match record_payment_in(tx, engine, &planned).await {
            Err(CashError::Payment(_)) => None,
            other => Some(other?),
        },
        Err(_) => None,
    };
    let receipt = match planned {
        Some(receipt) => receipt,
        None => {
            let fallback =
                request(AllocationRule::Explicit(Vec::new())).map_err(CashError::Payment)?;
            record_payment_in(tx, engine, &fallback).await?
        }
    };
    mark_succeeded(tx, collected.checkout_id, receipt.payment_id).await?;
    queue_receipt(tx, collected, &receipt).await?;
    Ok(receipt)
}

/// The receipt email to the contact who paid and the account's billing contacts, queued with
/// the posting (sent by SMTP when configured; otherwise it waits in the outbox).
async fn queue_receipt(
    tx: &mut Transaction<'_, Any>,
    collected: &Collected<'_>,
    receipt: &PaymentReceipt,
) -> Result<(), CheckoutStoreError> {
    let payer = sqlx::query(
        "SELECT u.email, u.display_name, c.name, k.customer_id FROM checkouts k \
         JOIN users u ON u.id = k.user_id JOIN customers c ON c.id = k.customer_id \
         WHERE k.id = $1",
    )
    .bind(collected.checkout_id)
    .fetch_one(&mut **tx)
    .await?;
    let email: String = payer.try_get("email")?;
    let name: String = payer.try_get("display_name")?;
    let customer: String = payer.try_get("name")?;
    let customer_id: i64 = payer.try_get("customer_id")?;
    let mut lines = String::new();
    for a in &receipt.allocations {
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
            .bind(a.invoice_id)
            .fetch_one(&mut **tx)
            .await?;
        let applied = Money::from_minor(a.amount_minor, collected.currency);
        lines.push_str(&format!("  {number}: {applied}"));
        if a.discount_minor > 0 {
            let discount = Money::from_minor(a.discount_minor, collected.currency);
            lines.push_str(&format!(" (plus {discount} early-payment discount)"));
        }
        lines.push('\n');
    }
    if !receipt.unapplied.is_zero() {
        lines.push_str(&format!(
            "  credit on your account: {}\n",
            receipt.unapplied
        ));
    }
    let amount = Money::from_minor(collected.amount_minor, collected.currency);
    let body = format!(
        "Hello {name},\n\nwe received {amount} from {customer} on {} (card payment {}).\n\n\
         It was applied as follows:\n{lines}\nThank you.\n",
        collected.received, collected.payment_reference
    );
    let subject = format!("Payment received: {amount}");
    let mut recipients = vec![email];
    for billing in crate::customers::store::billing_emails(&mut **tx, customer_id).await? {
        if !recipients.contains(&billing) {
            recipients.push(billing);
        }
    }
    for recipient in &recipients {
        crate::outbox::store::queue(
            &mut **tx,
            &crate::outbox::store::Message {
                recipient,
                subject: &subject,
                body: &body,
                kind: "receipt",
            },
        )
        .await?;
    }
    Ok(())
}

async fn mark_succeeded(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    payment_id: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE checkouts SET status = 'succeeded', payment_id = $1, failure_message = '', \
         updated_at = $2 WHERE id = $3",
    )
    .bind(payment_id)
    .bind(now_text())
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks a checkout failed or expired (nothing is posted), unless it already succeeded: events
/// arrive in any order, and a success is final.
pub async fn close_unpaid_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    status: CheckoutStatus,
    message: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE checkouts SET status = $1, failure_message = $2, updated_at = $3 \
         WHERE id = $4 AND status <> 'succeeded'",
    )
    .bind(status.as_str())
    .bind(message)
    .bind(now_text())
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Our payment posted for a provider payment id, and its customer: (payment id, customer id).
pub(crate) async fn provider_payment(
    tx: &mut Transaction<'_, Any>,
    payment_reference: &str,
) -> Result<Option<(i64, i64)>, CheckoutStoreError> {
    let row = sqlx::query("SELECT id, customer_id FROM payments WHERE business_key = $1")
        .bind(keys::card_payment(payment_reference))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get("id")?, row.try_get("customer_id")?)),
        None => None,
    })
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::Utc;
    use sqlx::Row;

    use super::*;
    use crate::checkout::store::{checkout_view, open_checkout};
    use crate::testing::fixtures::{assert_ledger_healthy, demo_acme, open_minor};
    use crate::testing::fresh_db;

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    #[tokio::test]
    async fn a_settled_checkout_posts_once_however_often_and_in_whatever_order_events_come() {
        let db = fresh_db().await;
        let (customer, user, open) = demo_acme(&db).await;
        let items: Vec<PayItem> = open[..2]
            .iter()
            .map(|(id, amount)| PayItem {
                invoice_id: *id,
                amount_minor: *amount,
            })
            .collect();
        let (checkout, reviewed) = open_checkout(&db, customer, user, "sandbox", &items, today())
            .await
            .unwrap();
        let collected = Collected {
            checkout_id: &checkout,
            payment_reference: "pi_test_1",
            currency: Currency::Usd,
            amount_minor: reviewed.total_minor,
            received: today(),
        };
        for attempt in 0..3 {
            let mut tx = db.begin_write().await.unwrap();
            // A late failure event never undoes a success.
            close_unpaid_in(&mut tx, &checkout, CheckoutStatus::Failed, "declined")
                .await
                .unwrap();
            let receipt = settle_in(&mut tx, db.engine(), &collected).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(receipt.replayed, attempt > 0);
        }
        let mut tx = db.begin_write().await.unwrap();
        close_unpaid_in(&mut tx, &checkout, CheckoutStatus::Failed, "declined")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let view = checkout_view(&db, customer, &checkout)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.status, CheckoutStatus::Succeeded);
        assert_eq!(view.failure_message, "");
        for item in &items {
            assert_eq!(open_minor(&db, item.invoice_id).await, 0);
        }
        let payments: i64 =
            sqlx::query("SELECT count(*) FROM payments WHERE business_key = 'stripe:pi_test_1'")
                .fetch_one(db.pool())
                .await
                .unwrap()
                .get(0);
        assert_eq!(payments, 1);
        let receipts: Vec<String> =
            sqlx::query("SELECT recipient FROM outbox WHERE kind = 'receipt'")
                .fetch_all(db.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
        assert_eq!(receipts, vec!["pat@acme.example".to_string()]);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn an_event_is_claimed_once() {
        let db = fresh_db().await;
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            claim_event(&mut tx, "evt_1", "payment_intent.succeeded")
                .await
                .unwrap()
        );
        assert!(
            !claim_event(&mut tx, "evt_1", "payment_intent.succeeded")
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
    }
}
