//! Checkouts in the database: review, open, and settle or fail them from provider events.

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use super::{
    CheckoutError, CheckoutStatus, CheckoutView, MAXIMUM_CHARGE_MINOR, MAXIMUM_INVOICES,
    MINIMUM_CHARGE_MINOR, PayItem, PaymentReview, ReviewLine,
};
use crate::db::{Db, DbError, Engine, now_text, parse_date};
use crate::keys;
use crate::money::{Currency, Money};
use crate::payments::store::{PaymentReceipt, open_invoice, record_payment_in};
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest, plan_allocation};
use crate::receivables::due_now;
use crate::receivables::store::{CashError, due_invoices, lock_customer, unapplied_credit_in};

#[derive(Debug, thiserror::Error)]
pub enum CheckoutStoreError {
    #[error(transparent)]
    Refused(#[from] CheckoutError),
    #[error(transparent)]
    Cash(#[from] CashError),
    #[error(
        "a refund on {payment_reference} exceeds what its payment settled and left as credit by {unplaced_minor} minor units"
    )]
    RefundBeyondPayment {
        payment_reference: String,
        unplaced_minor: i64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for CheckoutStoreError {
    fn from(e: sqlx::Error) -> Self {
        CheckoutStoreError::Db(DbError::Query(e))
    }
}

/// Checks the customer's choice against the invoices as they are now and computes where the
/// money goes, discounts included. Nothing is written.
pub async fn review(
    db: &Db,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<PaymentReview, CheckoutStoreError> {
    if items.is_empty() {
        return Err(CheckoutError::NothingSelected.into());
    }
    if items.len() > MAXIMUM_INVOICES {
        return Err(CheckoutError::TooManyInvoices.into());
    }
    let mut seen = std::collections::BTreeSet::new();
    if !items.iter().all(|i| seen.insert(i.invoice_id)) {
        return Err(CheckoutError::DuplicateInvoice.into());
    }
    let currency = crate::customers::store::customer_currency(db, customer_id)
        .await?
        .ok_or(CashError::UnknownCustomer(customer_id))?;
    let mut invoices = Vec::with_capacity(items.len());
    let mut facts = Vec::with_capacity(items.len());
    for item in items {
        let row = sqlx::query(
            "SELECT id, number, due_date, total_minor, open_minor, held_minor, discount_bp, \
                    discount_until, voided_at FROM invoices WHERE id = $1 AND customer_id = $2",
        )
        .bind(item.invoice_id)
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(CheckoutError::UnknownInvoice(item.invoice_id))?;
        let number: String = row.try_get("number")?;
        let invoice = open_invoice(&row)?;
        if row.try_get::<Option<String>, _>("voided_at")?.is_some() || invoice.open_minor == 0 {
            return Err(CheckoutError::NotPayable(number).into());
        }
        if item.amount_minor <= 0 {
            return Err(CheckoutError::NotPositive { number }.into());
        }
        if item.amount_minor > invoice.open_minor {
            return Err(CheckoutError::MoreThanOpen { number }.into());
        }
        // What open disputes hold is not due; the rest of the invoice stays payable.
        let held: i64 = row.try_get("held_minor")?;
        let payable = due_now(invoice.open_minor, held);
        if item.amount_minor > payable {
            return Err(CheckoutError::InDispute {
                number,
                payable: Money::from_minor(payable, currency).to_string(),
            }
            .into());
        }
        facts.push((number, parse_date(&row.try_get::<String, _>("due_date")?)?));
        invoices.push(invoice);
    }
    let parts = items
        .iter()
        .map(|i| (i.invoice_id, Money::from_minor(i.amount_minor, currency)))
        .collect();
    let asked: i64 = items.iter().map(|i| i.amount_minor).sum();
    let plan = plan_allocation(
        asked,
        currency,
        &invoices,
        &AllocationRule::Explicit(parts),
        today,
        true,
    );
    let lines: Vec<ReviewLine> = invoices
        .iter()
        .zip(facts)
        .map(|(invoice, (number, due_date))| {
            let planned = plan.allocations.iter().find(|a| a.invoice_id == invoice.id);
            ReviewLine {
                invoice_id: invoice.id,
                number,
                due_date,
                open_minor: invoice.open_minor,
                pay_minor: planned.map_or(0, |a| a.amount_minor),
                discount_minor: planned.map_or(0, |a| a.discount_minor),
            }
        })
        .collect();
    let total_minor: i64 = lines.iter().map(|l| l.pay_minor).sum();
    if total_minor < MINIMUM_CHARGE_MINOR {
        return Err(CheckoutError::BelowMinimum {
            minimum: Money::from_minor(MINIMUM_CHARGE_MINOR, currency).to_string(),
        }
        .into());
    }
    if total_minor > MAXIMUM_CHARGE_MINOR {
        return Err(CheckoutError::AboveMaximum {
            maximum: Money::from_minor(MAXIMUM_CHARGE_MINOR, currency).to_string(),
        }
        .into());
    }
    let unapplied_credit_minor = unapplied_credit_in(db.pool(), customer_id, currency)
        .await?
        .to_minor();
    Ok(PaymentReview {
        currency,
        lines,
        total_minor,
        unapplied_credit_minor,
    })
}

fn new_checkout_id() -> String {
    format!("lp_{}", crate::secrets::random_hex(12))
}

/// Reviews again and records the checkout the provider will be asked to collect.
pub async fn open_checkout(
    db: &Db,
    customer_id: i64,
    user_id: i64,
    provider: &str,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<(String, PaymentReview), CheckoutStoreError> {
    let review = review(db, customer_id, items, today).await?;
    let id = new_checkout_id();
    let allocations: Vec<PayItem> = review
        .lines
        .iter()
        .map(|l| PayItem {
            invoice_id: l.invoice_id,
            amount_minor: l.pay_minor,
        })
        .collect();
    sqlx::query(
        "INSERT INTO checkouts (id, customer_id, user_id, provider, currency, amount_minor, \
         allocations, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(customer_id)
    .bind(user_id)
    .bind(provider)
    .bind(review.currency.code())
    .bind(review.total_minor)
    .bind(PayItem::list_text(&allocations))
    .bind(now_text())
    .execute(db.pool())
    .await?;
    Ok((id, review))
}

/// Remembers the provider's session for a checkout (for reconciliation and support).
pub async fn attach_provider_session(
    db: &Db,
    checkout_id: &str,
    session_id: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE checkouts SET provider_session_id = $1, updated_at = $2 WHERE id = $3")
        .bind(session_id)
        .bind(now_text())
        .bind(checkout_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A checkout of this customer.
pub async fn checkout_view(
    db: &Db,
    customer_id: i64,
    checkout_id: &str,
) -> Result<Option<CheckoutView>, DbError> {
    let Some(row) = sqlx::query(
        "SELECT id, status, currency, amount_minor, failure_message, payment_id FROM checkouts \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(checkout_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let status: String = row.try_get("status")?;
    let currency: String = row.try_get("currency")?;
    Ok(Some(CheckoutView {
        id: row.try_get("id")?,
        status: CheckoutStatus::parse(&status)
            .ok_or_else(|| DbError::Corrupt(format!("checkout status {status:?}")))?,
        currency: currency
            .parse()
            .map_err(|_| DbError::Corrupt(format!("currency {currency:?}")))?,
        amount_minor: row.try_get("amount_minor")?,
        failure_message: row.try_get("failure_message")?,
        payment_id: row.try_get("payment_id")?,
    }))
}

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
        let number: String = sqlx::query("SELECT number FROM invoices WHERE id = $1")
            .bind(a.invoice_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
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

/// The open invoices among `invoice_ids` (all open invoices when empty), each at what is due
/// now (open less what disputes hold): the starting point of the pay page.
pub async fn full_amounts(
    db: &Db,
    customer_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<PayItem>, DbError> {
    Ok(due_invoices(db.pool(), customer_id, invoice_ids)
        .await?
        .into_iter()
        .map(|d| PayItem {
            invoice_id: d.invoice_id,
            amount_minor: d.due_minor,
        })
        .collect())
}

/// Pays the chosen invoices from the customer's unapplied credit first, in the order given,
/// each up to its chosen amount and to what is due now on it. Returns what is left for the card
/// (invoices the credit did not cover, at their remaining amounts).
pub async fn apply_credit_first(
    db: &Db,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<Vec<PayItem>, CheckoutStoreError> {
    use crate::payments::AllocationRule;
    // Every invoice named must be this customer's (one query; ids are numbers, so literals).
    let ids: Vec<i64> = items.iter().map(|i| i.invoice_id).collect();
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let ours: Vec<i64> = if ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query(&format!(
            "SELECT id FROM invoices WHERE customer_id = $1 AND id IN ({list})"
        ))
        .bind(customer_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?
    };
    if let Some(unknown) = ids.iter().find(|id| !ours.contains(id)) {
        return Err(CheckoutError::UnknownInvoice(*unknown).into());
    }
    // Read what is due and the credit under the customer lock, in the transaction that uses
    // them, so two tabs cannot both spend the same credit.
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let due = due_invoices(&mut *tx, customer_id, &ids).await?;
    let mut credit = unapplied_credit_in(&mut *tx, customer_id, currency)
        .await?
        .to_minor();
    let mut parts = Vec::new();
    for item in items {
        let payable = due
            .iter()
            .find(|d| d.invoice_id == item.invoice_id)
            .map_or(0, |d| d.due_minor);
        let used = item.amount_minor.min(payable).min(credit).max(0);
        if used > 0 {
            credit -= used;
            parts.push((item.invoice_id, Money::from_minor(used, currency)));
        }
    }
    if parts.is_empty() {
        return Err(CheckoutError::NoCredit.into());
    }
    let total = parts.iter().map(|(_, m)| m.to_minor()).sum();
    let applied = crate::payments::store::apply_credit_in(
        &mut tx,
        db.engine(),
        customer_id,
        &keys::portal_credit(&crate::secrets::random_hex(12)),
        Some(Money::from_minor(total, currency)),
        &AllocationRule::Explicit(parts),
        today,
    )
    .await?;
    tx.commit().await?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let settled: i64 = applied
                .iter()
                .filter(|a| a.invoice_id == item.invoice_id)
                .map(|a| a.amount_minor + a.discount_minor)
                .sum();
            let left = item.amount_minor - settled;
            (left > 0).then_some(PayItem {
                invoice_id: item.invoice_id,
                amount_minor: left,
            })
        })
        .collect())
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

/// A card chargeback opened by the customer's bank (not a portal dispute): the money leaves the
/// Stripe clearing account and waits in chargebacks receivable until the bank decides. Posted
/// once per provider dispute id; `false` when the payment is not one of ours.
pub async fn post_chargeback_in(
    tx: &mut Transaction<'_, Any>,
    payment_reference: &str,
    dispute_id: &str,
    currency: Currency,
    amount_minor: i64,
    opened: NaiveDate,
) -> Result<bool, CheckoutStoreError> {
    use crate::ledger::{Account, BalancedEntry, EntryKind, EntryLine};
    let Some((_, customer_id)) = stripe_payment(tx, payment_reference).await? else {
        return Ok(false);
    };
    // A decision that arrived first has posted it already, perhaps on another day.
    if chargeback_posted(tx, dispute_id).await? {
        return Ok(true);
    }
    let amount = Money::from_minor(amount_minor, currency);
    let entry = BalancedEntry::new(
        keys::chargeback(dispute_id),
        EntryKind::Chargeback,
        opened,
        Some(customer_id),
        format!("card chargeback {dispute_id} on {payment_reference}"),
        vec![
            EntryLine::debit(Account::ChargebacksReceivable, amount),
            EntryLine::credit(Account::StripeClearing, amount),
        ],
    )
    .map_err(CashError::from)?;
    crate::ledger::store::post(tx, &entry)
        .await
        .map_err(CashError::from)?;
    Ok(true)
}

/// Our payment posted for a provider payment id, and its customer: (payment id, customer id).
async fn stripe_payment(
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

async fn chargeback_posted(
    tx: &mut Transaction<'_, Any>,
    dispute_id: &str,
) -> Result<bool, CheckoutStoreError> {
    Ok(
        sqlx::query("SELECT 1 FROM journal_entries WHERE business_key = $1")
            .bind(keys::chargeback(dispute_id))
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// A card dispute the bank has decided. Won: the money comes back from chargebacks receivable
/// to the clearing account. Lost: it is written off to chargeback losses. If the decision
/// arrives before the dispute itself (events are unordered), the chargeback is posted first.
/// Returns false when the payment is not ours.
pub async fn close_chargeback_in(
    tx: &mut Transaction<'_, Any>,
    payment_reference: &str,
    dispute_id: &str,
    currency: Currency,
    amount_minor: i64,
    won: bool,
    closed: NaiveDate,
) -> Result<bool, CheckoutStoreError> {
    use crate::ledger::{Account, BalancedEntry, EntryKind, EntryLine};
    let Some((_, customer_id)) = stripe_payment(tx, payment_reference).await? else {
        return Ok(false);
    };
    post_chargeback_in(
        tx,
        payment_reference,
        dispute_id,
        currency,
        amount_minor,
        closed,
    )
    .await?;
    let amount = Money::from_minor(amount_minor, currency);
    let (outcome, destination) = if won {
        ("won", Account::StripeClearing)
    } else {
        ("lost", Account::ChargebackLosses)
    };
    let entry = BalancedEntry::new(
        keys::chargeback_closed(dispute_id),
        EntryKind::ChargebackClosed,
        closed,
        Some(customer_id),
        format!("card dispute {dispute_id} on {payment_reference} {outcome}"),
        vec![
            EntryLine::debit(destination, amount),
            EntryLine::credit(Account::ChargebacksReceivable, amount),
        ],
    )
    .map_err(CashError::from)?;
    crate::ledger::store::post(tx, &entry)
        .await
        .map_err(CashError::from)?;
    Ok(true)
}

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
    use crate::adjustments::store::adjust_in;
    use crate::adjustments::{AdjustmentHeader, AdjustmentRequest, RefundSource};
    let Some((payment_id, customer_id)) = stripe_payment(tx, payment_reference).await? else {
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
        .map_err(CashError::from)?;
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
    use crate::seed::seed_demo;
    use crate::testing::fixtures::{assert_ledger_healthy, open_minor};
    use crate::testing::fresh_db;

    async fn acme(db: &Db) -> (i64, i64, Vec<(i64, i64)>) {
        seed_demo(db).await.unwrap();
        let customer: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let user: i64 = sqlx::query("SELECT id FROM users WHERE email = 'pat@acme.example'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let open = full_amounts(db, customer, &[]).await.unwrap();
        (
            customer,
            user,
            open.iter()
                .map(|i| (i.invoice_id, i.amount_minor))
                .collect(),
        )
    }

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    #[tokio::test]
    async fn the_review_grants_the_discount_only_for_a_full_payment_inside_the_window() {
        let db = fresh_db().await;
        let (customer, _, open) = acme(&db).await;
        // The newest invoice was issued 5 days ago on 2/10 net 30.
        let (newest, newest_open) = *open.last().unwrap();
        let full = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: newest,
                amount_minor: newest_open,
            }],
            today(),
        )
        .await
        .unwrap();
        let line = &full.lines[0];
        assert!(line.discount_minor > 0);
        assert_eq!(line.pay_minor + line.discount_minor, newest_open);
        assert_eq!(full.total_minor, line.pay_minor);
        let partial = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: newest,
                amount_minor: 1_000,
            }],
            today(),
        )
        .await
        .unwrap();
        assert_eq!(
            (partial.lines[0].pay_minor, partial.lines[0].discount_minor),
            (1_000, 0)
        );
    }

    #[tokio::test]
    async fn the_review_refuses_too_much_too_little_and_other_accounts_invoices() {
        let db = fresh_db().await;
        let (customer, _, open) = acme(&db).await;
        let (id, amount) = open[0];
        let too_much = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: amount + 1,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            too_much,
            Err(CheckoutStoreError::Refused(
                CheckoutError::MoreThanOpen { .. }
            ))
        ));
        let too_little = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: 10,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            too_little,
            Err(CheckoutStoreError::Refused(
                CheckoutError::BelowMinimum { .. }
            ))
        ));
        let negative = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: -5,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            negative,
            Err(CheckoutStoreError::Refused(
                CheckoutError::NotPositive { .. }
            ))
        ));
        let northwind: i64 = sqlx::query("SELECT min(i.id) FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE c.number = 'C-1002'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let foreign = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: northwind,
                amount_minor: 100,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            foreign,
            Err(CheckoutStoreError::Refused(CheckoutError::UnknownInvoice(
                _
            )))
        ));
    }

    #[tokio::test]
    async fn a_settled_checkout_posts_once_however_often_and_in_whatever_order_events_come() {
        let db = fresh_db().await;
        let (customer, user, open) = acme(&db).await;
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
    async fn refund_events_for_one_charge_arriving_at_once_post_the_largest_running_total_once() {
        let db = fresh_db().await;
        let (customer, user, open) = acme(&db).await;
        let items = [PayItem {
            invoice_id: open[0].0,
            amount_minor: open[0].1,
        }];
        let (checkout, reviewed) = open_checkout(&db, customer, user, "sandbox", &items, today())
            .await
            .unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let collected = Collected {
            checkout_id: &checkout,
            payment_reference: "pi_refunded_at_once",
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
