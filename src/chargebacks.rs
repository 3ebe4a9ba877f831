//! Card chargebacks opened by the customer's bank (not portal disputes) and the bank's decision.
//! Each is posted once per provider dispute id, whatever order the events come in.

use chrono::NaiveDate;
use sqlx::{Any, Transaction};

use crate::checkout::store::CheckoutStoreError;
use crate::keys;
use crate::ledger::{Account, BalancedEntry, EntryKind, EntryLine};
use crate::money::{Currency, Money};
use crate::receivables::store::CashError;
use crate::settlement::provider_payment;

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
    let Some((_, customer_id)) = provider_payment(tx, payment_reference).await? else {
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
    let Some((_, customer_id)) = provider_payment(tx, payment_reference).await? else {
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
