//! Money the provider collects for a checkout, posted once: events are claimed by id, several
//! events announcing one payment post it once, a bank debit waits as "processing" until it
//! settles or fails, and a failure or expiry never undoes a success.
//!
//! While a checkout is open or processing its amounts are pending on its invoices (not due
//! again, not cash yet); leaving those states releases them once (`leave_flight`).

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use crate::chargebacks::{Disputed, apply_disputes_of_in};
use crate::checkout::store::{
    CheckoutStoreError, Pending, change_pending_of, leave_flight, stored_method,
};
use crate::checkout::{CheckoutError, CheckoutStatus, PayItem, expected_settlement};
use crate::db::{Db, DbError, Engine, date_text, now_text};
use crate::keys;
use crate::locale::Locale;
use crate::money::{Currency, Money};
use crate::outbox::store::{queue_in_their_language, queue_to_each, staff_emails};
use crate::payments::receipt_mail::{self, ReceiptMail, ReceiptTo};
use crate::payments::store::{PaymentReceipt, record_new_payment_in};
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::receivables::store::{CashError, lock_before_reading_checkout, lock_checkout_customer};
use crate::tr;

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

/// What a success event repeats, found without a write transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeated {
    /// This very event was claimed before.
    SameEvent,
    /// Its checkout succeeded with this provider payment, by the same method, and no provider
    /// dispute names the payment: the event that posted it was its twin (every payment is
    /// announced twice).
    SettledPayment,
}

/// Whether a success event only repeats what is recorded (`None`: it must be acted on, in a
/// write transaction). A repeat writes nothing, nor is it claimed: claims record the events
/// that acted.
pub async fn repeated(
    db: &Db,
    event_id: &str,
    checkout_id: &str,
    payment_reference: &str,
    method: Option<PaymentMethod>,
) -> Result<Option<Repeated>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Seen {
        status: String,
        payment_intent: Option<String>,
        method: Option<String>,
        disputes: i64,
        claimed: i64,
    }
    let seen: Option<Seen> = sqlx::query_as(
        "SELECT k.status, k.payment_intent, k.method, \
                (SELECT count(*) FROM provider_disputes d WHERE d.payment_intent = $2) AS disputes, \
                (SELECT count(*) FROM webhook_events w WHERE w.event_id = $3) AS claimed \
         FROM checkouts k WHERE k.id = $1",
    )
    .bind(checkout_id)
    .bind(payment_reference)
    .bind(event_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(seen) = seen else {
        return Ok(None);
    };
    if seen.claimed > 0 {
        return Ok(Some(Repeated::SameEvent));
    }
    let settled = seen.status == CheckoutStatus::Succeeded.as_str()
        && seen.payment_intent.as_deref() == Some(payment_reference)
        && method.is_none_or(|m| seen.method.as_deref() == Some(m.as_str()))
        && seen.disputes == 0;
    Ok(settled.then_some(Repeated::SettledPayment))
}

/// In-process turns for the events of one checkout, striped by its id: enough stripes that
/// unrelated checkouts rarely share one, none to clean up.
static CHECKOUT_TURNS: [tokio::sync::Mutex<()>; 1024] =
    [const { tokio::sync::Mutex::const_new(()) }; 1024];

/// This process's turn at a checkout's events, held from [`repeated`] to the commit. Every
/// payment is announced twice, often at the same moment: the twin waits here, in memory, not
/// on the account's row lock with a connection and a transaction open, and then is answered by
/// [`repeated`]'s one read. The row lock stays the guarantee across server processes.
pub async fn checkout_turn(checkout_id: &str) -> tokio::sync::MutexGuard<'static, ()> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    checkout_id.hash(&mut hasher);
    let stripe = (hasher.finish() % CHECKOUT_TURNS.len() as u64) as usize;
    CHECKOUT_TURNS[stripe].lock().await
}

/// Money the provider collected for a checkout.
#[derive(Debug, Clone)]
pub struct Collected<'a> {
    pub checkout_id: &'a str,
    /// The provider's payment id (Stripe's PaymentIntent): the payment's business key, so the
    /// several events announcing one payment post it once.
    pub payment_reference: &'a str,
    /// Card, or the bank debit the customer chose on the provider's page, when the event says;
    /// otherwise the checkout's own record (a debit seen processing), else card.
    pub method: Option<PaymentMethod>,
    pub currency: Currency,
    pub amount_minor: i64,
    pub received: NaiveDate,
}

/// Posts collected money on the reviewed allocation, inside the caller's transaction, and
/// releases what the checkout had made pending. Money is never dropped: if the reviewed split no
/// longer fits (an invoice was voided meanwhile), all of it becomes unapplied credit for staff
/// to apply. An unknown checkout is an error, so the provider retries the event. A dispute the
/// provider reported before this payment (events are unordered) is applied right after it.
pub async fn settle_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    collected: &Collected<'_>,
) -> Result<PaymentReceipt, CheckoutStoreError> {
    let business_key = keys::card_payment(collected.payment_reference);
    settle_as_in(tx, engine, collected, &business_key).await
}

/// [`settle_in`] under a given business key: a bank transfer's money is named by its bank
/// line, not by a provider payment.
pub(crate) async fn settle_as_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    collected: &Collected<'_>,
    business_key: &str,
) -> Result<PaymentReceipt, CheckoutStoreError> {
    lock_before_reading_checkout(tx, engine, collected.checkout_id).await?;
    // With its account and the payment posted under the key, if any: one read, not three.
    let row = sqlx::query(
        "SELECT k.customer_id, c.currency, k.allocations, k.method, k.status, k.payment_id, \
                k.payment_intent, p.method AS paid_by, \
                (SELECT id FROM payments WHERE business_key = $2) AS keyed_payment_id \
         FROM checkouts k JOIN customers c ON c.id = k.customer_id \
         LEFT JOIN payments p ON p.id = k.payment_id WHERE k.id = $1",
    )
    .bind(collected.checkout_id)
    .bind(business_key)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CheckoutError::UnknownCheckout)?;
    let customer_id: i64 = row.try_get("customer_id")?;
    let currency = crate::db::currency(&row.try_get::<String, _>("currency")?)?;
    let allocations: String = row.try_get("allocations")?;
    let recorded = stored_method(row.try_get::<Option<String>, _>("method")?.as_deref())?;
    let method = collected.method.or(recorded).unwrap_or(PaymentMethod::Card);
    let replayed = |payment_id, wrote_nothing| PaymentReceipt {
        payment_id,
        allocations: Vec::new(),
        unapplied: Money::zero(collected.currency),
        replayed: true,
        wrote_nothing,
    };
    // Several events announce one payment (session completed, intent succeeded), often at the
    // same moment: the first posts it and links the checkout; one that waited here for its lock
    // finds the link, and only a dispute recorded meanwhile is left to apply.
    let provider_key = business_key == keys::card_payment(collected.payment_reference);
    if provider_key
        && row.try_get::<String, _>("status")? == CheckoutStatus::Succeeded.as_str()
        && row
            .try_get::<Option<String>, _>("payment_intent")?
            .as_deref()
            == Some(collected.payment_reference)
        && recorded == Some(method)
        && let Some(payment_id) = row.try_get::<Option<i64>, _>("payment_id")?
        && let Some(paid_by) =
            stored_method(row.try_get::<Option<String>, _>("paid_by")?.as_deref())?
    {
        // The payment's own method: a dispute on a bank debit is a return, on a card a chargeback.
        let payment = Disputed {
            payment_id,
            customer_id,
            method: paid_by,
            reference: collected.payment_reference,
        };
        let disputes = apply_disputes_of_in(tx, engine, &payment).await?;
        return Ok(replayed(payment_id, disputes == 0));
    }
    // Otherwise (another method, a bank line's key, a returned debit) it is found by its key.
    if let Some(payment_id) = row.try_get::<Option<i64>, _>("keyed_payment_id")? {
        mark_succeeded(tx, collected, method, payment_id).await?;
        // A dispute recorded while the first success was committing is applied now.
        crate::chargebacks::apply_disputes_in(tx, engine, collected.payment_reference).await?;
        return Ok(replayed(payment_id, false));
    }
    let items = PayItem::parse_list(&allocations)
        .ok_or_else(|| DbError::Corrupt(format!("checkout allocations {allocations:?}")))?;
    let amount = Money::from_minor(collected.amount_minor, collected.currency);
    let request = |rule| {
        PaymentRequest::new(
            customer_id,
            business_key,
            method,
            amount,
            collected.received,
            rule,
            true,
        )
        .map(PaymentRequest::dated_by_event)
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
    // The pending amounts go first: the payment then settles what they held back.
    leave_flight(tx, collected.checkout_id, CheckoutStatus::Succeeded, "").await?;
    // The customer is locked and nothing is posted under the key: recorded as new.
    let planned = match request(explicit) {
        Ok(planned) => match record_new_payment_in(tx, engine, currency, &planned).await {
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
            record_new_payment_in(tx, engine, currency, &fallback).await?
        }
    };
    link_payment(tx, collected, method, receipt.payment_id).await?;
    queue_receipt(tx, collected, method, &receipt).await?;
    // Provider disputes name the provider's payment; a bank line's money has none.
    if provider_key {
        let payment = Disputed {
            payment_id: receipt.payment_id,
            customer_id,
            method,
            reference: collected.payment_reference,
        };
        apply_disputes_of_in(tx, engine, &payment).await?;
    }
    Ok(receipt)
}

/// The checkout succeeded: out of flight (releasing its pending amounts, if that is not done
/// yet) and linked to its payment. A returned debit stays returned.
async fn mark_succeeded(
    tx: &mut Transaction<'_, Any>,
    collected: &Collected<'_>,
    method: PaymentMethod,
    payment_id: i64,
) -> Result<(), DbError> {
    leave_flight(tx, collected.checkout_id, CheckoutStatus::Succeeded, "").await?;
    link_payment(tx, collected, method, payment_id).await
}

/// The checkout is linked to its payment, as succeeded (a returned debit stays returned).
async fn link_payment(
    tx: &mut Transaction<'_, Any>,
    collected: &Collected<'_>,
    method: PaymentMethod,
    payment_id: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE checkouts SET status = 'succeeded', payment_id = $1, failure_message = '', \
         method = $2, payment_intent = $3, updated_at = $4 \
         WHERE id = $5 AND status <> 'returned'",
    )
    .bind(payment_id)
    .bind(method.as_str())
    .bind(collected.payment_reference)
    .bind(now_text())
    .bind(collected.checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A bank debit the customer submitted on the provider's page: the checkout waits as
/// "processing" (its amounts stay pending, not due and not cash) until the provider says it
/// settled or failed. A checkout that had failed or expired here before the submission (a
/// declined card, the page closing) holds its amounts back again; a failure that happened
/// after it (`event_at`, the provider's event time, is older) means this event came late and
/// changes nothing. Nothing changes once it succeeded.
pub async fn processing_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    checkout_id: &str,
    payment_reference: &str,
    method: PaymentMethod,
    submitted: NaiveDate,
    event_at: i64,
) -> Result<(), CheckoutStoreError> {
    lock_checkout_customer(tx, engine, checkout_id)
        .await?
        .ok_or(CheckoutError::UnknownCheckout)?;
    let row = sqlx::query("SELECT status, in_flight, failed_event_at FROM checkouts WHERE id = $1")
        .bind(checkout_id)
        .fetch_one(&mut **tx)
        .await?;
    let status = CheckoutStatus::try_from(row.try_get::<String, _>("status")?)
        .map_err(|e| DbError::Corrupt(e.to_string()))?;
    match status {
        CheckoutStatus::Open => {}
        CheckoutStatus::Failed | CheckoutStatus::Expired
            if row
                .try_get::<Option<i64>, _>("failed_event_at")?
                .is_some_and(|failed| failed >= event_at) =>
        {
            return Ok(());
        }
        CheckoutStatus::Failed | CheckoutStatus::Expired => {
            change_pending_of(tx, &row.try_get::<String, _>("in_flight")?, Pending::Hold).await?;
        }
        CheckoutStatus::Processing | CheckoutStatus::Succeeded | CheckoutStatus::Returned => {
            return Ok(());
        }
    }
    sqlx::query(
        "UPDATE checkouts SET status = 'processing', method = $1, payment_intent = $2, \
         expected_on = $3, failure_message = '', updated_at = $4, submitted_event_at = $5 \
         WHERE id = $6",
    )
    .bind(method.as_str())
    .bind(payment_reference)
    .bind(date_text(expected_settlement(method, submitted)))
    .bind(now_text())
    .bind(event_at)
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Who hears about a checkout's money: the contact who paid and the account's billing contacts.
struct Payer {
    name: String,
    customer: String,
    customer_id: i64,
    recipients: Vec<String>,
}

async fn payer_of(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
) -> Result<Payer, CheckoutStoreError> {
    // The account's billing contacts joined in: one row each (one with none), one read.
    let rows = sqlx::query(
        "SELECT u.email, u.display_name, c.name, k.customer_id, b.email AS billing \
         FROM checkouts k JOIN users u ON u.id = k.user_id JOIN customers c ON c.id = k.customer_id \
         LEFT JOIN billing_contacts b ON b.customer_id = k.customer_id \
         WHERE k.id = $1 ORDER BY b.email",
    )
    .bind(checkout_id)
    .fetch_all(&mut **tx)
    .await?;
    let payer = rows.first().ok_or(CheckoutError::UnknownCheckout)?;
    let billing = rows
        .iter()
        .filter_map(|row| row.try_get::<Option<String>, _>("billing").transpose())
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Payer {
        name: payer.try_get("display_name")?,
        customer: payer.try_get("name")?,
        customer_id: payer.try_get("customer_id")?,
        recipients: crate::customers::store::contact_then_billing(
            &payer.try_get::<String, _>("email")?,
            billing,
        ),
    })
}

/// The receipt email to the contact who paid and the account's billing contacts, queued with
/// the posting (sent by SMTP when configured; otherwise it waits in the outbox).
async fn queue_receipt(
    tx: &mut Transaction<'_, Any>,
    collected: &Collected<'_>,
    method: PaymentMethod,
    receipt: &PaymentReceipt,
) -> Result<(), CheckoutStoreError> {
    let payer = payer_of(tx, collected.checkout_id).await?;
    let mail = ReceiptMail {
        customer_id: payer.customer_id,
        amount: Money::from_minor(collected.amount_minor, collected.currency),
        received: collected.received,
        method,
        reference: collected.payment_reference,
        receipt,
    };
    let to = ReceiptTo::Payer {
        name: &payer.name,
        customer: &payer.customer,
        recipients: &payer.recipients,
    };
    Ok(receipt_mail::queue(tx, &mail, to).await?)
}

/// Marks a checkout failed or expired (nothing is posted), unless it already succeeded: events
/// arrive in any order, and a success is final. A bank debit that fails while processing
/// releases its invoices and tells the payer (with the bank's reason) and staff. `event_at` is
/// the provider's event time, remembered so that a late "processing" event cannot revive it.
pub async fn close_unpaid_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    checkout_id: &str,
    status: CheckoutStatus,
    message: &str,
    event_at: i64,
) -> Result<(), CheckoutStoreError> {
    if lock_checkout_customer(tx, engine, checkout_id)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let before = sqlx::query(
        "SELECT status, method, currency, amount_minor, submitted_event_at FROM checkouts \
         WHERE id = $1",
    )
    .bind(checkout_id)
    .fetch_one(&mut **tx)
    .await?;
    // A failure older than the debit's submission (a card declined on the page before the
    // customer chose the bank debit), delivered late, does not end the debit.
    let was: String = before.try_get("status")?;
    if was == CheckoutStatus::Processing.as_str()
        && before
            .try_get::<Option<i64>, _>("submitted_event_at")?
            .is_some_and(|submitted| submitted > event_at)
    {
        return Ok(());
    }
    sqlx::query(
        "UPDATE checkouts SET failed_event_at = $1 \
         WHERE id = $2 AND (failed_event_at IS NULL OR failed_event_at < $1)",
    )
    .bind(event_at)
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    if leave_flight(tx, checkout_id, status, message).await? {
        if was == CheckoutStatus::Processing.as_str() && status == CheckoutStatus::Failed {
            let currency = crate::db::currency(&before.try_get::<String, _>("currency")?)?;
            let amount = Money::from_minor(before.try_get("amount_minor")?, currency);
            let method = stored_method(before.try_get::<Option<String>, _>("method")?.as_deref())?
                .unwrap_or(PaymentMethod::Ach);
            notify_debit_failed(tx, checkout_id, method, amount, message).await?;
        }
        return Ok(());
    }
    sqlx::query(
        "UPDATE checkouts SET status = $1, failure_message = $2, updated_at = $3 \
         WHERE id = $4 AND status NOT IN ('succeeded', 'returned', 'processing')",
    )
    .bind(status.as_str())
    .bind(message)
    .bind(now_text())
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn notify_debit_failed(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    method: PaymentMethod,
    amount: Money,
    reason: &str,
) -> Result<(), CheckoutStoreError> {
    let payer = payer_of(tx, checkout_id).await?;
    let write = |locale: Locale| {
        let amount = locale.money(amount.to_minor(), amount.currency());
        let method = method.label_in(locale);
        let subject = tr!(
            locale,
            "payment_failed.subject",
            method = method,
            amount = amount
        );
        let body = tr!(
            locale,
            "payment_failed.body",
            name = payer.name,
            method = method,
            amount = amount,
            customer = payer.customer,
            reason = reason
        );
        (subject, body)
    };
    queue_in_their_language(tx, &payer.recipients, "payment_failed", None, write).await?;
    let staff = staff_emails(&mut **tx).await?;
    let staff_body = format!(
        "The {} payment {checkout_id} of {amount} from {} failed: {reason}\n\
         Its invoices are due again.\n",
        method.label(),
        payer.customer
    );
    queue_to_each(
        tx,
        &staff,
        &format!("Bank debit failed: {} {amount}", payer.customer),
        &staff_body,
        "payment_failed",
    )
    .await?;
    Ok(())
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
        let opened = open_checkout(&db, customer, user, "sandbox", &items, today())
            .await
            .unwrap();
        let (checkout, reviewed) = (opened.id, opened.review);
        let collected = Collected {
            checkout_id: &checkout,
            payment_reference: "pi_test_1",
            method: None,
            currency: Currency::Usd,
            amount_minor: reviewed.total_minor,
            received: today(),
        };
        for attempt in 0..3 {
            let mut tx = db.begin_write().await.unwrap();
            // A late failure event never undoes a success.
            close_unpaid_in(
                &mut tx,
                db.engine(),
                &checkout,
                CheckoutStatus::Failed,
                "declined",
                0,
            )
            .await
            .unwrap();
            let receipt = settle_in(&mut tx, db.engine(), &collected).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(receipt.replayed, attempt > 0);
        }
        let mut tx = db.begin_write().await.unwrap();
        close_unpaid_in(
            &mut tx,
            db.engine(),
            &checkout,
            CheckoutStatus::Failed,
            "declined",
            0,
        )
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

    #[tokio::test]
    async fn the_second_event_of_a_checkout_waits_for_the_first_in_this_process() {
        let wait = std::time::Duration::from_millis(50);
        let first = checkout_turn("cs_turn_test").await;
        assert!(
            tokio::time::timeout(wait, checkout_turn("cs_turn_test"))
                .await
                .is_err(),
            "the twin waited"
        );
        drop(first);
        assert!(
            tokio::time::timeout(wait, checkout_turn("cs_turn_test"))
                .await
                .is_ok(),
            "and went once the first was done"
        );
    }
}
