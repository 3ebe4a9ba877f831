//! Recording payments and applying unapplied credit: one transaction each, serialised per
//! customer (a row lock on PostgreSQL, the write lock on SQLite) so that racing payments can
//! never over-apply an invoice.

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::receipt_mail::{self, ReceiptMail, ReceiptTo};
use super::{
    AllocationPlan, AllocationRule, OpenInvoice, PaymentError, PaymentMethod, PaymentRequest,
    PlannedAllocation, RemittanceLine, check_key, plan_allocation,
};
use crate::audit::Actor;
use crate::db::{Db, DbError, Engine, date_text, now_text};
use crate::keys;
use crate::ledger::store::post;
use crate::ledger::{Account, BalancedEntry, EntryKind, EntryLine};
use crate::money::{Currency, Money};
use crate::receivables::store::{
    CashError, change_open_amounts, due_invoices, lock_customer, unapplied_credit_in,
};

/// What a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReceipt {
    pub payment_id: i64,
    pub allocations: Vec<PlannedAllocation>,
    pub unapplied: Money,
    /// True when this reference had already been recorded with the same content.
    pub replayed: bool,
    /// True when nothing was written (a replay found everything done): the caller's transaction
    /// may roll back, sparing a commit that would only wait for the disk.
    pub wrote_nothing: bool,
}

/// Turns a remittance's invoice numbers into this customer's invoice ids: an explicit
/// allocation. A number on another account is reported as unknown, like one that does not exist.
async fn remittance_rule(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    lines: &[RemittanceLine],
) -> Result<AllocationRule, CashError> {
    let mut parts = Vec::with_capacity(lines.len());
    for line in lines {
        let id: Option<i64> =
            sqlx::query("SELECT id FROM invoices WHERE customer_id = $1 AND number = $2")
                .bind(customer_id)
                .bind(&line.number)
                .fetch_optional(&mut **tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        let id = id.ok_or_else(|| super::RemittanceError::UnknownInvoice {
            line: line.line,
            number: line.number.clone(),
        })?;
        parts.push((id, line.amount));
    }
    Ok(AllocationRule::Explicit(parts))
}

/// A payment received outside the portal (cheque, wire, ACH, cash), as staff enter it from the
/// remittance advice. Recorded once per customer and reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflinePayment {
    pub customer_id: i64,
    pub method: PaymentMethod,
    pub amount: Money,
    pub received: NaiveDate,
    pub reference: String,
    /// Invoice numbers and amounts as the customer remitted them; empty: oldest due first.
    pub remitted: Vec<RemittanceLine>,
}

/// Records an offline payment, its audit row and its receipt email in one transaction: applied
/// as remitted (or oldest first), discounts taken inside their window, any excess left as
/// unapplied credit. The same reference again returns the first receipt and writes nothing.
pub async fn record_offline_payment(
    db: &Db,
    payment: &OfflinePayment,
    actor: Actor<'_>,
) -> Result<PaymentReceipt, CashError> {
    let mut tx = db.begin_write().await?;
    let rule = if payment.remitted.is_empty() {
        AllocationRule::OldestFirst
    } else {
        remittance_rule(&mut tx, payment.customer_id, &payment.remitted).await?
    };
    let request = PaymentRequest::new(
        payment.customer_id,
        &keys::offline_payment(payment.customer_id, &payment.reference),
        payment.method,
        payment.amount,
        payment.received,
        rule,
        true,
    )?;
    let receipt = record_payment_in(&mut tx, db.engine(), &request).await?;
    let mail = ReceiptMail {
        customer_id: payment.customer_id,
        amount: payment.amount,
        received: payment.received,
        method: payment.method,
        reference: &payment.reference,
        receipt: &receipt,
    };
    receipt_mail::queue(&mut tx, &mail, ReceiptTo::Account).await?;
    if !receipt.replayed {
        actor
            .record(
                &mut *tx,
                "payment.recorded",
                &format!("payment:{}", receipt.payment_id),
                &format!(
                    "{} {} {}",
                    payment.method.as_str(),
                    payment.amount,
                    payment.reference
                ),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(receipt)
}

/// Staff apply a customer's unapplied credit to what is due now on their open invoices, oldest
/// due date first; amounts disputes hold are left alone. The audit row is written in the same
/// transaction. Returns the amount applied.
pub async fn apply_credit_to_due(
    db: &Db,
    customer_id: i64,
    applied_on: NaiveDate,
    actor: Actor<'_>,
) -> Result<Money, CashError> {
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let due = due_invoices(&mut *tx, customer_id, &[]).await?;
    if due.is_empty() {
        return Err(PaymentError::NothingDue.into());
    }
    let mut credit = unapplied_credit_in(&mut *tx, customer_id, currency)
        .await?
        .to_minor();
    let mut parts = Vec::new();
    for invoice in due {
        let used = invoice.due_minor.min(credit);
        if used > 0 {
            credit -= used;
            parts.push((invoice.invoice_id, Money::from_minor(used, currency)));
        }
    }
    if parts.is_empty() {
        return Err(PaymentError::InsufficientCredit {
            available: Money::from_minor(0, currency),
        }
        .into());
    }
    let total = Money::from_minor(parts.iter().map(|(_, m)| m.to_minor()).sum(), currency);
    apply_credit_in(
        &mut tx,
        db.engine(),
        customer_id,
        &keys::staff_credit(&crate::secrets::random_hex(12)),
        Some(total),
        &AllocationRule::Explicit(parts),
        applied_on,
    )
    .await?;
    actor
        .record(
            &mut *tx,
            "credit.applied",
            &format!("customer:{customer_id}"),
            &format!("{} minor units, oldest first", total.to_minor()),
        )
        .await?;
    tx.commit().await?;
    Ok(total)
}

/// Records a payment: allocates it, posts one balanced entry (cash in; receivables, discounts
/// and unapplied credit out) and lowers each invoice's open amount, all in one transaction.
pub async fn record_payment(
    db: &Db,
    request: &PaymentRequest,
) -> Result<PaymentReceipt, CashError> {
    let mut tx = db.begin_write().await?;
    let receipt = record_payment_in(&mut tx, db.engine(), request).await?;
    tx.commit().await?;
    Ok(receipt)
}

/// `record_payment` inside the caller's write transaction, so that a webhook can record its
/// event id and the payment atomically.
pub async fn record_payment_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    request: &PaymentRequest,
) -> Result<PaymentReceipt, CashError> {
    let currency = lock_customer(tx, engine, request.customer_id).await?;
    if let Some(receipt) = replay_payment(tx, request).await? {
        return Ok(receipt);
    }
    record_new_payment_in(tx, engine, currency, request).await
}

/// [`record_payment_in`] for a caller that holds the customer's lock (the account is in
/// `currency`) and has found nothing under the request's business key in this transaction.
pub(crate) async fn record_new_payment_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    currency: Currency,
    request: &PaymentRequest,
) -> Result<PaymentReceipt, CashError> {
    if request.amount.currency() != currency {
        return Err(PaymentError::WrongCurrency {
            expected: currency,
            found: request.amount.currency(),
        }
        .into());
    }
    let invoices = open_invoices(tx, engine, request.customer_id, &request.rule).await?;
    let plan = plan_allocation(
        request.amount.to_minor(),
        currency,
        &invoices,
        &request.rule,
        request.received,
        request.take_discounts,
    );

    let mut lines = vec![EntryLine::debit(
        request.method.cash_account(),
        request.amount,
    )];
    lines.extend(settlement_lines(request.customer_id, currency, &plan));
    let entry = BalancedEntry::new(
        keys::payment_entry(&request.business_key),
        EntryKind::PaymentReceived,
        request.received,
        Some(request.customer_id),
        format!(
            "{} payment {}",
            request.method.as_str(),
            request.business_key
        ),
        lines,
    )?
    .dated_by(request.dated_by);
    let posted = post(tx, &entry).await?;
    let row = sqlx::query(
        "INSERT INTO payments (customer_id, business_key, method, currency, amount_minor, request, \
         received_date, entry_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(request.customer_id)
    .bind(&request.business_key)
    .bind(request.method.as_str())
    .bind(currency.code())
    .bind(request.amount.to_minor())
    .bind(request.canonical())
    .bind(date_text(request.received))
    .bind(posted.entry_id)
    .bind(now_text())
    .fetch_one(&mut **tx)
    .await?;
    let payment_id: i64 = row.try_get(0)?;
    apply_plan(
        tx,
        request.customer_id,
        Some(payment_id),
        posted.entry_id,
        request.received,
        &plan,
    )
    .await?;
    Ok(PaymentReceipt {
        payment_id,
        allocations: plan.allocations,
        unapplied: Money::from_minor(plan.unapplied_minor, currency),
        replayed: false,
        wrote_nothing: false,
    })
}

/// A payment through the provider, by the provider's payment id: (payment id, customer id,
/// method), or `None` while its success has not been posted.
pub async fn provider_payment_in(
    tx: &mut Transaction<'_, Any>,
    payment_reference: &str,
) -> Result<Option<(i64, i64, PaymentMethod)>, CashError> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT id, customer_id, method FROM payments WHERE business_key = $1")
            .bind(keys::card_payment(payment_reference))
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|(id, customer_id, method)| {
        PaymentMethod::parse(&method)
            .map(|m| (id, customer_id, m))
            .ok_or_else(|| DbError::Corrupt(format!("payment method {method:?}")).into())
    })
    .transpose()
}

/// Applies a customer's unapplied credit to open invoices (oldest first, or as listed), up to
/// `amount` (all available credit when `None`). Idempotent by `business_key`.
pub async fn apply_credit(
    db: &Db,
    customer_id: i64,
    business_key: &str,
    amount: Option<Money>,
    rule: &AllocationRule,
    applied_on: NaiveDate,
) -> Result<Vec<PlannedAllocation>, CashError> {
    let mut tx = db.begin_write().await?;
    let applied = apply_credit_in(
        &mut tx,
        db.engine(),
        customer_id,
        business_key,
        amount,
        rule,
        applied_on,
    )
    .await?;
    tx.commit().await?;
    Ok(applied)
}

/// `apply_credit` inside the caller's write transaction.
pub async fn apply_credit_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    customer_id: i64,
    business_key: &str,
    amount: Option<Money>,
    rule: &AllocationRule,
    applied_on: NaiveDate,
) -> Result<Vec<PlannedAllocation>, CashError> {
    check_key(business_key)?;
    let currency = lock_customer(tx, engine, customer_id).await?;
    let entry_key = keys::credit_entry(business_key);
    let memo = format!(
        "unapplied credit applied: amount={};rule={};date={applied_on}",
        amount.map_or_else(|| "all".to_string(), |a| a.to_minor().to_string()),
        rule.canonical()
    );
    if let Some((entry_id, first_memo)) = existing_entry(tx, &entry_key).await? {
        if first_memo != memo {
            return Err(CashError::KeyConflict(business_key.to_string()));
        }
        return allocations_of_entry(tx, entry_id).await;
    }
    let available = unapplied_credit_in(&mut **tx, customer_id, currency).await?;
    let wanted = match amount {
        Some(a) if a.currency() != currency => {
            return Err(PaymentError::WrongCurrency {
                expected: currency,
                found: a.currency(),
            }
            .into());
        }
        Some(a) if a.is_negative() || a.is_zero() => return Err(PaymentError::NotPositive.into()),
        Some(a) if a.amount() > available.amount() => {
            return Err(PaymentError::InsufficientCredit { available }.into());
        }
        Some(a) => a,
        None => available,
    };
    if wanted.is_zero() {
        return Err(PaymentError::InsufficientCredit { available }.into());
    }
    rule.check(wanted)?;
    let invoices = open_invoices(tx, engine, customer_id, rule).await?;
    let mut plan = plan_allocation(
        wanted.to_minor(),
        currency,
        &invoices,
        rule,
        applied_on,
        false,
    );
    // Credit that finds no invoice simply stays unapplied.
    plan.unapplied_minor = 0;
    let applied: i64 = plan.allocations.iter().map(|a| a.amount_minor).sum();
    if applied == 0 {
        return Ok(Vec::new());
    }
    let mut lines = vec![
        EntryLine::debit(
            Account::UnappliedCredit,
            Money::from_minor(applied, currency),
        )
        .for_customer(customer_id),
    ];
    lines.extend(settlement_lines(customer_id, currency, &plan));
    let entry = BalancedEntry::new(
        entry_key,
        EntryKind::CreditApplied,
        applied_on,
        Some(customer_id),
        memo,
        lines,
    )?;
    let posted = post(tx, &entry).await?;
    apply_plan(tx, customer_id, None, posted.entry_id, applied_on, &plan).await?;
    Ok(plan.allocations)
}

/// The credit side of a settlement: receivables per invoice (cash + discount), the discount
/// expense, and any excess as unapplied credit.
fn settlement_lines(customer_id: i64, currency: Currency, plan: &AllocationPlan) -> Vec<EntryLine> {
    let mut lines = Vec::new();
    for a in &plan.allocations {
        let settled = Money::from_minor(a.amount_minor + a.discount_minor, currency);
        lines.push(
            EntryLine::credit(Account::AccountsReceivable, settled)
                .for_customer(customer_id)
                .for_invoice(a.invoice_id),
        );
        if a.discount_minor > 0 {
            lines.push(
                EntryLine::debit(
                    Account::SalesDiscounts,
                    Money::from_minor(a.discount_minor, currency),
                )
                .for_customer(customer_id)
                .for_invoice(a.invoice_id),
            );
        }
    }
    if plan.unapplied_minor > 0 {
        lines.push(
            EntryLine::credit(
                Account::UnappliedCredit,
                Money::from_minor(plan.unapplied_minor, currency),
            )
            .for_customer(customer_id),
        );
    }
    lines
}

/// Lowers open amounts (conditionally, so a stale plan fails instead of going below zero) and
/// records where the money went.
async fn apply_plan(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    payment_id: Option<i64>,
    entry_id: i64,
    applied_on: NaiveDate,
    plan: &AllocationPlan,
) -> Result<(), CashError> {
    let settled: Vec<(i64, i64)> = plan
        .allocations
        .iter()
        .map(|a| (a.invoice_id, -(a.amount_minor + a.discount_minor)))
        .collect();
    change_open_amounts(tx, &settled).await?;
    let applied_on = date_text(applied_on);
    for chunk in plan.allocations.chunks(ALLOCATIONS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|n| {
                let p = n * 3;
                format!("($1, ${}, $2, $3, ${}, ${}, $4)", p + 5, p + 6, p + 7)
            })
            .collect();
        let sql = format!(
            "INSERT INTO allocations (customer_id, invoice_id, payment_id, entry_id, amount_minor, \
             discount_minor, applied_date) VALUES {}",
            values.join(", ")
        );
        let mut insert = sqlx::query(&sql)
            .bind(customer_id)
            .bind(payment_id)
            .bind(entry_id)
            .bind(&applied_on);
        for a in chunk {
            insert = insert
                .bind(a.invoice_id)
                .bind(a.amount_minor)
                .bind(a.discount_minor);
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Allocations written by one INSERT (three parameters each, four shared).
const ALLOCATIONS_PER_INSERT: usize = 100;

/// Listed invoices read by one statement.
const INVOICES_PER_READ: usize = 1000;

/// The invoices a rule may touch, locked, in the order the rule uses. Explicit invoices must
/// belong to the customer and not be void.
async fn open_invoices(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    customer_id: i64,
    rule: &AllocationRule,
) -> Result<Vec<OpenInvoice>, CashError> {
    let lock = if engine == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    match rule {
        AllocationRule::OldestFirst => {
            let rows = sqlx::query(&format!(
                "SELECT id, total_minor, open_minor, discount_bp, discount_until, voided_at FROM invoices \
                 WHERE customer_id = $1 AND open_minor > 0 AND voided_at IS NULL ORDER BY due_date, id{lock}"
            ))
            .bind(customer_id)
            .fetch_all(&mut **tx)
            .await?;
            rows.iter().map(open_invoice).collect()
        }
        AllocationRule::Explicit(parts) => {
            // One read per thousand listed invoices (within both engines' parameter limits),
            // then checked in the order listed.
            let ids: Vec<i64> = parts.iter().map(|(invoice_id, _)| *invoice_id).collect();
            let mut rows = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(INVOICES_PER_READ) {
                let sql = format!(
                    "SELECT id, total_minor, open_minor, discount_bp, discount_until, voided_at \
                     FROM invoices WHERE customer_id = $1 AND id IN ({}) ORDER BY id{lock}",
                    crate::db::placeholders(2, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(customer_id);
                for id in chunk {
                    query = query.bind(*id);
                }
                rows.extend(query.fetch_all(&mut **tx).await?);
            }
            let by_id = rows
                .iter()
                .map(|row| Ok((row.try_get::<i64, _>("id")?, row)))
                .collect::<Result<std::collections::HashMap<i64, &AnyRow>, sqlx::Error>>()?;
            let mut invoices = Vec::with_capacity(ids.len());
            for invoice_id in ids {
                let row = *by_id
                    .get(&invoice_id)
                    .ok_or(PaymentError::InvoiceNotFound(invoice_id))?;
                if row.try_get::<Option<String>, _>("voided_at")?.is_some() {
                    return Err(PaymentError::InvoiceVoid(invoice_id).into());
                }
                invoices.push(open_invoice(row)?);
            }
            Ok(invoices)
        }
    }
}

pub(crate) fn open_invoice(row: &AnyRow) -> Result<OpenInvoice, CashError> {
    let discount_until: Option<String> = row.try_get("discount_until")?;
    let discount_bp: i64 = row.try_get("discount_bp")?;
    Ok(OpenInvoice {
        id: row.try_get("id")?,
        total_minor: row.try_get("total_minor")?,
        open_minor: row.try_get("open_minor")?,
        discount_bp: u32::try_from(discount_bp).unwrap_or(0),
        discount_until: discount_until.and_then(|d| d.parse().ok()),
    })
}

async fn replay_payment(
    tx: &mut Transaction<'_, Any>,
    request: &PaymentRequest,
) -> Result<Option<PaymentReceipt>, CashError> {
    let Some(row) = sqlx::query(
        "SELECT p.id, p.customer_id, p.request, p.entry_id, p.currency FROM payments p WHERE p.business_key = $1",
    )
    .bind(&request.business_key)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let same = row.try_get::<i64, _>("customer_id")? == request.customer_id
        && row.try_get::<String, _>("request")? == request.canonical();
    if !same {
        return Err(CashError::KeyConflict(request.business_key.clone()));
    }
    let payment_id: i64 = row.try_get("id")?;
    let allocations = allocations_of_entry(tx, row.try_get("entry_id")?).await?;
    let applied: i64 = allocations.iter().map(|a| a.amount_minor).sum();
    Ok(Some(PaymentReceipt {
        payment_id,
        allocations,
        unapplied: Money::from_minor(
            request.amount.to_minor() - applied,
            request.amount.currency(),
        ),
        replayed: true,
        wrote_nothing: true,
    }))
}

async fn existing_entry(
    tx: &mut Transaction<'_, Any>,
    key: &str,
) -> Result<Option<(i64, String)>, CashError> {
    let row = sqlx::query("SELECT id, memo FROM journal_entries WHERE business_key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?)
}

async fn allocations_of_entry(
    tx: &mut Transaction<'_, Any>,
    entry_id: i64,
) -> Result<Vec<PlannedAllocation>, CashError> {
    let rows = sqlx::query(
        "SELECT invoice_id, amount_minor, discount_minor FROM allocations WHERE entry_id = $1 ORDER BY id",
    )
    .bind(entry_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PlannedAllocation {
                invoice_id: r.try_get("invoice_id")?,
                amount_minor: r.try_get("amount_minor")?,
                discount_minor: r.try_get("discount_minor")?,
            })
        })
        .collect()
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
