//! Disputes the provider reports on its payments (not portal disputes). On a card it is a
//! chargeback: the money waits in chargebacks receivable until the bank decides. On a bank debit
//! (ACH, SEPA) it is the bank taking the money back (Stripe reports a debit returned after it
//! succeeded, and an unauthorised-debit claim, as a dispute; both are final): the receipt is
//! reversed and exactly the invoices it paid reopen, with the bank's reason.
//!
//! Every dispute is first recorded as reported (`provider_disputes`), whether or not its payment
//! has been posted yet; posting then reads it from there. So the payment and its dispute may
//! arrive in either order, each any number of times, and each posts once.

use chrono::NaiveDate;
use sqlx::{Any, Transaction};

use crate::checkout::store::CheckoutStoreError;
use crate::db::{DbError, Engine, date_text, parse_date};
use crate::keys;
use crate::ledger::{Account, BalancedEntry, DateSource, EntryKind, EntryLine};
use crate::money::{Currency, Money};
use crate::payments::store::{provider_payment_in, record_payment_in};
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::receivables::store::{
    CashError, change_open_amount, lock_customer, unapplied_credit_in,
};
use crate::tr;

/// A dispute as the provider reports it.
#[derive(Debug, Clone)]
pub struct ReportedDispute<'a> {
    pub dispute_id: &'a str,
    /// The provider's payment id (Stripe's PaymentIntent).
    pub payment_reference: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    /// The provider's reason code (`insufficient_funds`, `fraudulent`, …).
    pub reason: &'a str,
    pub reported: NaiveDate,
}

/// What a dispute did to the books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeEffect {
    /// Its payment is not posted (yet): recorded, and applied when the payment posts.
    Waiting,
    /// Applied (now or before) to a payment of ours.
    Applied,
}

/// `charge.dispute.created`: records the dispute and applies it if its payment is known.
pub async fn dispute_opened_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    dispute: &ReportedDispute<'_>,
) -> Result<DisputeEffect, CheckoutStoreError> {
    record(tx, dispute).await?;
    apply_disputes_in(tx, engine, dispute.payment_reference).await
}

/// `charge.dispute.closed` as won or lost: records the decision (the dispute too, if the
/// decision arrived first) and applies it if the payment is known.
pub async fn dispute_decided_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    dispute: &ReportedDispute<'_>,
    won: bool,
) -> Result<DisputeEffect, CheckoutStoreError> {
    record(tx, dispute).await?;
    sqlx::query(
        "UPDATE provider_disputes SET outcome = $1, decided_on = $2 \
         WHERE dispute_id = $3 AND outcome IS NULL",
    )
    .bind(if won { "won" } else { "lost" })
    .bind(date_text(dispute.reported))
    .bind(dispute.dispute_id)
    .execute(&mut **tx)
    .await?;
    apply_disputes_in(tx, engine, dispute.payment_reference).await
}

async fn record(
    tx: &mut Transaction<'_, Any>,
    dispute: &ReportedDispute<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO provider_disputes \
         (dispute_id, payment_intent, currency, amount_minor, reason, opened_on) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dispute_id) DO NOTHING",
    )
    .bind(dispute.dispute_id)
    .bind(dispute.payment_reference)
    .bind(dispute.currency.code())
    .bind(dispute.amount_minor)
    .bind(dispute.reason)
    .bind(date_text(dispute.reported))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A recorded dispute, as posting reads it.
#[derive(sqlx::FromRow)]
struct RecordedDispute {
    dispute_id: String,
    #[sqlx(try_from = "String")]
    currency: Currency,
    amount_minor: i64,
    reason: String,
    #[sqlx(try_from = "crate::db::Day")]
    opened_on: NaiveDate,
    outcome: Option<String>,
    decided_on: Option<String>,
}

/// Applies every recorded dispute of a provider payment, once each: called when a dispute
/// arrives and when the payment itself posts. Each posting is keyed, so calling it again
/// changes nothing.
pub async fn apply_disputes_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    payment_reference: &str,
) -> Result<DisputeEffect, CheckoutStoreError> {
    let Some((payment_id, customer_id, method)) =
        provider_payment_in(tx, payment_reference).await?
    else {
        return Ok(DisputeEffect::Waiting);
    };
    let payment = Disputed {
        payment_id,
        customer_id,
        method,
        reference: payment_reference,
    };
    apply_disputes_of_in(tx, engine, &payment).await?;
    Ok(DisputeEffect::Applied)
}

/// [`apply_disputes_in`] for a payment the caller has just posted (so it knows it). The number
/// of the payment's recorded disputes: with none, nothing was written.
pub(crate) async fn apply_disputes_of_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    payment: &Disputed<'_>,
) -> Result<usize, CheckoutStoreError> {
    let disputes: Vec<RecordedDispute> = sqlx::query_as(
        "SELECT dispute_id, currency, amount_minor, reason, opened_on, outcome, decided_on \
         FROM provider_disputes WHERE payment_intent = $1 ORDER BY opened_on, dispute_id",
    )
    .bind(payment.reference)
    .fetch_all(&mut **tx)
    .await?;
    let method = payment.method;
    for dispute in &disputes {
        let decided = match (&dispute.outcome, &dispute.decided_on) {
            (Some(outcome), Some(on)) => Some((outcome == "won", parse_date(on)?)),
            _ => None,
        };
        if method.is_bank_debit() {
            return_debit_in(tx, engine, payment, dispute).await?;
            if let Some((true, on)) = decided {
                returned_money_back_in(tx, engine, payment, dispute, on).await?;
            }
        } else {
            post_chargeback_in(tx, payment, dispute).await?;
            if let Some((won, on)) = decided {
                close_chargeback_in(tx, payment, dispute, won, on).await?;
            }
        }
    }
    Ok(disputes.len())
}

/// The posted payment a dispute is about.
pub(crate) struct Disputed<'a> {
    pub(crate) payment_id: i64,
    pub(crate) customer_id: i64,
    pub(crate) method: PaymentMethod,
    /// The provider's payment id.
    pub(crate) reference: &'a str,
}

/// A card chargeback: the money leaves the Stripe clearing account and waits in chargebacks
/// receivable until the bank decides.
async fn post_chargeback_in(
    tx: &mut Transaction<'_, Any>,
    payment: &Disputed<'_>,
    dispute: &RecordedDispute,
) -> Result<(), CheckoutStoreError> {
    // Posted already (before disputes were recorded, perhaps on another day): done.
    if posted(tx, &keys::chargeback(&dispute.dispute_id)).await? {
        return Ok(());
    }
    let amount = Money::from_minor(dispute.amount_minor, dispute.currency);
    let entry = BalancedEntry::new(
        keys::chargeback(&dispute.dispute_id),
        EntryKind::Chargeback,
        dispute.opened_on,
        Some(payment.customer_id),
        format!(
            "card chargeback {} on {}",
            dispute.dispute_id, payment.reference
        ),
        vec![
            EntryLine::debit(Account::ChargebacksReceivable, amount),
            EntryLine::credit(Account::StripeClearing, amount),
        ],
    )
    .map_err(CashError::from)?
    .dated_by(DateSource::Event);
    crate::ledger::store::post(tx, &entry)
        .await
        .map_err(CashError::from)?;
    Ok(())
}

/// A card dispute the bank has decided. Won: the money comes back from chargebacks receivable
/// to the clearing account. Lost: it is written off to chargeback losses.
async fn close_chargeback_in(
    tx: &mut Transaction<'_, Any>,
    payment: &Disputed<'_>,
    dispute: &RecordedDispute,
    won: bool,
    decided: NaiveDate,
) -> Result<(), CheckoutStoreError> {
    if posted(tx, &keys::chargeback_closed(&dispute.dispute_id)).await? {
        return Ok(());
    }
    let amount = Money::from_minor(dispute.amount_minor, dispute.currency);
    let (outcome, destination) = if won {
        ("won", Account::StripeClearing)
    } else {
        ("lost", Account::ChargebackLosses)
    };
    let entry = BalancedEntry::new(
        keys::chargeback_closed(&dispute.dispute_id),
        EntryKind::ChargebackClosed,
        decided,
        Some(payment.customer_id),
        format!(
            "card dispute {} on {} {outcome}",
            dispute.dispute_id, payment.reference
        ),
        vec![
            EntryLine::debit(destination, amount),
            EntryLine::credit(Account::ChargebacksReceivable, amount),
        ],
    )
    .map_err(CashError::from)?
    .dated_by(DateSource::Event);
    crate::ledger::store::post(tx, &entry)
        .await
        .map_err(CashError::from)?;
    Ok(())
}

async fn posted(tx: &mut Transaction<'_, Any>, business_key: &str) -> Result<bool, DbError> {
    Ok(
        sqlx::query("SELECT 1 FROM journal_entries WHERE business_key = $1")
            .bind(business_key)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// The bank's reason code as the customer reads it.
pub fn return_reason(code: &str) -> String {
    match code {
        "insufficient_funds" => "the account had insufficient funds".into(),
        "incorrect_account_details" => "the account details are incorrect".into(),
        "bank_cannot_process" => "the bank could not process the debit".into(),
        "debit_not_authorized" | "fraudulent" | "unrecognized" => {
            "the account holder reported the debit as not authorised".into()
        }
        "account_closed" => "the account is closed".into(),
        other => format!("the bank returned it ({})", other.replace('_', " ")),
    }
}

/// A bank debit that came back: the receipt's entry is reversed line for line (cash out of the
/// clearing account, each invoice it paid reopened by exactly what it settled, discounts taken
/// back, credit it left removed), once per payment, and the payer and staff are told why.
async fn return_debit_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    payment: &Disputed<'_>,
    dispute: &RecordedDispute,
) -> Result<(), CheckoutStoreError> {
    let currency = lock_customer(tx, engine, payment.customer_id).await?;
    let already = sqlx::query("SELECT 1 FROM payment_returns WHERE payment_id = $1")
        .bind(payment.payment_id)
        .fetch_optional(&mut **tx)
        .await?;
    if already.is_some() {
        return Ok(());
    }
    let entry_id: i64 = sqlx::query_scalar("SELECT entry_id FROM payments WHERE id = $1")
        .bind(payment.payment_id)
        .fetch_one(&mut **tx)
        .await?;
    let posted: Vec<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT account_code, amount_minor, customer_id, invoice_id FROM journal_lines \
         WHERE entry_id = $1 ORDER BY id",
    )
    .bind(entry_id)
    .fetch_all(&mut **tx)
    .await?;
    let left_as_credit: i64 = posted
        .iter()
        .filter(|(code, ..)| code == Account::UnappliedCredit.code())
        .map(|(_, amount, ..)| -amount)
        .sum();
    let credit = unapplied_credit_in(&mut **tx, payment.customer_id, currency)
        .await?
        .to_minor();
    if left_as_credit > credit {
        return Err(CheckoutStoreError::ReturnBeyondCredit {
            payment_reference: payment.reference.to_string(),
            missing_minor: left_as_credit - credit,
        });
    }
    let mut lines = Vec::with_capacity(posted.len());
    for (code, amount, customer_id, invoice_id) in &posted {
        let account = Account::from_code(code)
            .ok_or_else(|| DbError::Corrupt(format!("account {code:?}")))?;
        let mut line = EntryLine::debit(account, Money::from_minor(-amount, currency));
        line.customer_id = *customer_id;
        line.invoice_id = *invoice_id;
        lines.push(line);
        if code == Account::AccountsReceivable.code()
            && let Some(invoice_id) = invoice_id
        {
            change_open_amount(tx, *invoice_id, -amount).await?;
        }
    }
    let reason = return_reason(&dispute.reason);
    let entry = BalancedEntry::new(
        keys::payment_return(&dispute.dispute_id),
        EntryKind::Reversal,
        dispute.opened_on,
        Some(payment.customer_id),
        format!(
            "{} {} returned by the bank: {reason}",
            payment.method.label(),
            payment.reference
        ),
        lines,
    )
    .map_err(CashError::from)?
    .reversing(entry_id)
    .dated_by(DateSource::Event);
    let reversal = crate::ledger::store::post(tx, &entry)
        .await
        .map_err(CashError::from)?;
    sqlx::query(
        "INSERT INTO payment_returns (payment_id, dispute_id, reason, returned_on, entry_id) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(payment.payment_id)
    .bind(&dispute.dispute_id)
    .bind(&reason)
    .bind(date_text(dispute.opened_on))
    .bind(reversal.entry_id)
    .execute(&mut **tx)
    .await?;
    let message = format!("Your bank returned this payment: {reason}.");
    sqlx::query(
        "UPDATE checkouts SET status = 'returned', failure_message = $1, updated_at = $2 \
         WHERE payment_id = $3",
    )
    .bind(&message)
    .bind(crate::db::now_text())
    .bind(payment.payment_id)
    .execute(&mut **tx)
    .await?;
    notify_returned(tx, payment, dispute, &reason).await
}

async fn notify_returned(
    tx: &mut Transaction<'_, Any>,
    payment: &Disputed<'_>,
    dispute: &RecordedDispute,
    reason: &str,
) -> Result<(), CheckoutStoreError> {
    let amount = Money::from_minor(dispute.amount_minor, dispute.currency);
    let numbers: Vec<String> = sqlx::query_scalar(
        "SELECT i.number FROM allocations a JOIN invoices i ON i.id = a.invoice_id \
         WHERE a.payment_id = $1 ORDER BY i.number",
    )
    .bind(payment.payment_id)
    .fetch_all(&mut **tx)
    .await?;
    let reopened = if numbers.is_empty() {
        String::new()
    } else {
        format!(" Invoices {} are open again.", numbers.join(", "))
    };
    let mut payer: Vec<String> = sqlx::query_scalar(
        "SELECT u.email FROM checkouts k JOIN users u ON u.id = k.user_id \
         WHERE k.payment_id = $1 AND u.disabled_at IS NULL",
    )
    .bind(payment.payment_id)
    .fetch_all(&mut **tx)
    .await?;
    for billing in crate::customers::store::billing_emails(&mut **tx, payment.customer_id).await? {
        if !payer.contains(&billing) {
            payer.push(billing);
        }
    }
    let label = payment.method.label();
    let write = |locale: crate::locale::Locale| {
        let method = payment.method.label_in(locale);
        let amount = locale.money(dispute.amount_minor, dispute.currency);
        let reopened = if numbers.is_empty() {
            String::new()
        } else {
            tr!(
                locale,
                "payment_returned.reopened",
                numbers = numbers.join(", ")
            )
        };
        let subject = tr!(
            locale,
            "payment_returned.subject",
            method = method,
            amount = amount
        );
        let body = tr!(
            locale,
            "payment_returned.body",
            method = method,
            amount = amount,
            reference = payment.reference,
            reason = reason,
            reopened = reopened
        );
        (subject, body)
    };
    crate::outbox::store::queue_in_their_language(tx, &payer, "payment_returned", None, write)
        .await?;
    crate::outbox::store::queue_to_staff(
        tx,
        &format!("Bank debit returned: {amount}"),
        &format!(
            "The {label} payment {} of {amount} was returned by the bank: {reason}. \
             The receipt is reversed.{reopened}\n",
            payment.reference
        ),
        "payment_returned",
    )
    .await?;
    Ok(())
}

/// A returned debit's dispute decided in the business's favour: the money comes back, as the
/// customer's unapplied credit for staff to apply (the invoices were reopened by the return).
async fn returned_money_back_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    payment: &Disputed<'_>,
    dispute: &RecordedDispute,
    decided: NaiveDate,
) -> Result<(), CheckoutStoreError> {
    let request = PaymentRequest::new(
        payment.customer_id,
        &keys::return_won(&dispute.dispute_id),
        payment.method,
        Money::from_minor(dispute.amount_minor, dispute.currency),
        decided,
        AllocationRule::Explicit(Vec::new()),
        false,
    )
    .map_err(CashError::Payment)?
    .dated_by_event();
    record_payment_in(tx, engine, &request).await?;
    Ok(())
}
