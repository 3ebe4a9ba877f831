//! The primitives every money movement uses, in the caller's write transaction: serialise on
//! the customer, change an invoice's open or held amount conditionally, read unapplied credit.
//! `CashError` is why any money movement (payment, credit application, adjustment, refund,
//! dispute transition) was refused or failed; nothing is written in any of its cases.

use sqlx::{Any, Row, Transaction};

use super::DUE_NOW_SQL;
use crate::db::{DbError, Engine};
use crate::ledger::store::PostError;
use crate::ledger::{Account, LedgerError};
use crate::money::{Currency, Money};

/// Why a money movement was refused or failed. Nothing is written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum CashError {
    #[error(transparent)]
    Payment(#[from] crate::payments::PaymentError),
    #[error(transparent)]
    Adjustment(#[from] crate::adjustments::AdjustmentError),
    #[error(transparent)]
    Remittance(#[from] crate::payments::RemittanceError),
    #[error("customer {0} does not exist")]
    UnknownCustomer(i64),
    #[error("reference {0:?} was already used for a different request")]
    KeyConflict(String),
    #[error(transparent)]
    Post(#[from] PostError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(CashError);

impl From<LedgerError> for CashError {
    fn from(e: LedgerError) -> Self {
        CashError::Post(PostError::Ledger(e))
    }
}

/// Serialises money movements per customer (a row lock on PostgreSQL; on SQLite `begin_write`
/// already holds the database write lock) and returns the account currency.
pub async fn lock_customer(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    customer_id: i64,
) -> Result<Currency, CashError> {
    let row = sqlx::query(&format!(
        "SELECT id, currency FROM customers WHERE id = $1{}",
        row_lock(engine)
    ))
    .bind(customer_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CashError::UnknownCustomer(customer_id))?;
    Ok(locked_account(&row)?.1)
}

/// [`lock_customer`] for the account a checkout belongs to, in one statement (a checkout never
/// changes account), before any checkout or invoice row is written, so what is read of the
/// checkout next stays true until the commit. The customer and its currency; `None` for an
/// unknown checkout.
pub async fn lock_checkout_customer(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    checkout_id: &str,
) -> Result<Option<(i64, Currency)>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT id, currency FROM customers \
         WHERE id = (SELECT customer_id FROM checkouts WHERE id = $1){}",
        row_lock(engine)
    ))
    .bind(checkout_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(locked_account).transpose()
}

/// The lock [`lock_checkout_customer`] takes, for a caller that reads the customer with the
/// checkout right after it: on SQLite, whose write transaction already excludes every other
/// writer, no statement at all. On PostgreSQL the read must be a statement of its own after the
/// lock: one that waited for the lock inside its own statement would see the checkout as it was
/// before the lock was granted.
pub async fn lock_before_reading_checkout(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    checkout_id: &str,
) -> Result<(), DbError> {
    if engine == Engine::Postgres {
        lock_checkout_customer(tx, engine, checkout_id).await?;
    }
    Ok(())
}

/// The lock a money movement takes on its customer's row: PostgreSQL's `FOR UPDATE`; nothing on
/// SQLite, whose write transaction already excludes every other writer.
fn row_lock(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => " FOR UPDATE",
        Engine::Sqlite => "",
    }
}

fn locked_account(row: &sqlx::any::AnyRow) -> Result<(i64, Currency), DbError> {
    let id: i64 = row.try_get("id")?;
    let code: String = row.try_get("currency")?;
    let currency = code
        .parse()
        .map_err(|_| DbError::Corrupt(format!("customer {id} currency {code:?}")))?;
    Ok((id, currency))
}

/// `open_minor += delta` (negative to settle, positive to reopen), only if the result stays
/// between zero and the invoice total; otherwise nothing changes and the transaction fails. The
/// customer's open balance moves with it.
pub async fn change_open_amount(
    tx: &mut Transaction<'_, Any>,
    invoice_id: i64,
    delta_minor: i64,
) -> Result<(), DbError> {
    change_open_amounts(tx, &[(invoice_id, delta_minor)]).await
}

/// [`change_open_amount`] for several `(invoice, delta)` changes: each invoice as there, and
/// each customer's open balance once, by the sum of its invoices' changes.
pub async fn change_open_amounts(
    tx: &mut Transaction<'_, Any>,
    changes: &[(i64, i64)],
) -> Result<(), DbError> {
    let mut by_customer: Vec<(i64, i64)> = Vec::new();
    for &(invoice_id, delta_minor) in changes {
        let customer_id: Option<i64> = sqlx::query_scalar(
            "UPDATE invoices SET open_minor = open_minor + $1 \
             WHERE id = $2 AND open_minor + $1 >= 0 AND open_minor + $1 <= total_minor \
             RETURNING customer_id",
        )
        .bind(delta_minor)
        .bind(invoice_id)
        .fetch_optional(&mut **tx)
        .await?;
        let customer_id = customer_id.ok_or_else(|| unchanged(invoice_id, "open", delta_minor))?;
        match by_customer.iter_mut().find(|(id, _)| *id == customer_id) {
            Some((_, sum)) => *sum += delta_minor,
            None => by_customer.push((customer_id, delta_minor)),
        }
    }
    for (customer_id, delta_minor) in by_customer {
        crate::customers::store::add_to_open_balance(tx, customer_id, delta_minor).await?;
    }
    Ok(())
}

/// `held_minor += delta`: a dispute starts holding (positive) or stops (negative). Called in the
/// transition's transaction, under the customer lock, so the hold always equals the active
/// disputes (checked by the ledger health report).
pub async fn change_held_amount(
    tx: &mut Transaction<'_, Any>,
    invoice_id: i64,
    delta_minor: i64,
) -> Result<(), DbError> {
    let done = sqlx::query(
        "UPDATE invoices SET held_minor = held_minor + $1 WHERE id = $2 AND held_minor + $1 >= 0",
    )
    .bind(delta_minor)
    .bind(invoice_id)
    .execute(&mut **tx)
    .await?;
    one_invoice_changed(done.rows_affected(), invoice_id, "held", delta_minor)
}

/// `pending_minor += delta`: a checkout starts carrying money for the invoice (positive) or stops
/// (negative: settled, failed, expired, cancelled). Called in the transaction that changes the
/// checkout's status, so the pending amount always equals the checkouts in flight (checked by
/// the ledger health report).
pub async fn change_pending_amount(
    tx: &mut Transaction<'_, Any>,
    invoice_id: i64,
    delta_minor: i64,
) -> Result<(), DbError> {
    let done = sqlx::query(
        "UPDATE invoices SET pending_minor = pending_minor + $1 \
         WHERE id = $2 AND pending_minor + $1 >= 0",
    )
    .bind(delta_minor)
    .bind(invoice_id)
    .execute(&mut **tx)
    .await?;
    one_invoice_changed(done.rows_affected(), invoice_id, "pending", delta_minor)
}

/// One open invoice at what is due on it now ([`super::due_now`]), as the SQL twin computes it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub due_minor: i64,
}

/// A conditional update of one invoice's amount either changed that row or refused: the
/// transaction must then fail rather than carry on with a stale amount.
fn one_invoice_changed(
    rows: u64,
    invoice_id: i64,
    amount: &str,
    delta_minor: i64,
) -> Result<(), DbError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(unchanged(invoice_id, amount, delta_minor))
    }
}

fn unchanged(invoice_id: i64, amount: &str, delta_minor: i64) -> DbError {
    DbError::Corrupt(format!(
        "invoice {invoice_id} cannot change its {amount} amount by {delta_minor}; nothing was written"
    ))
}

/// The customer's invoices with something due now, oldest due date first, narrowed to
/// `invoice_ids` unless that is empty. Read on `executor`: the pool for a page, the write
/// transaction (under the customer lock) when the amounts are about to be paid.
pub async fn due_invoices<'e, E>(
    executor: E,
    customer_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<DueInvoice>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let all: Vec<DueInvoice> = sqlx::query_as(&format!(
        "SELECT i.id AS invoice_id, i.number, {DUE_NOW_SQL} AS due_minor FROM invoices i \
         WHERE i.customer_id = $1 AND {DUE_NOW_SQL} > 0 AND i.voided_at IS NULL \
         ORDER BY i.due_date, i.id"
    ))
    .bind(customer_id)
    .fetch_all(executor)
    .await?;
    Ok(all
        .into_iter()
        .filter(|d| invoice_ids.is_empty() || invoice_ids.contains(&d.invoice_id))
        .collect())
}

/// The customer's unapplied credit (a positive amount): the credit balance of their
/// unapplied-credit sub-ledger, read on `executor` (a transaction that holds the customer's lock
/// when the credit is about to be used).
pub async fn unapplied_credit_in<'e, E>(
    executor: E,
    customer_id: i64,
    currency: Currency,
) -> Result<Money, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT COALESCE(CAST(sum(amount_minor) AS BIGINT), 0) FROM journal_lines \
         WHERE customer_id = $1 AND account_code = $2",
    )
    .bind(customer_id)
    .bind(Account::UnappliedCredit.code())
    .fetch_one(executor)
    .await?;
    let balance: i64 = row.try_get(0)?;
    Ok(Money::from_minor(-balance, currency))
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::super::{DUE_NOW_SQL, HELD_OF_OPEN_SQL, due_now, held_of_open};
    use crate::testing::fresh_db;

    #[tokio::test]
    async fn the_sql_of_due_now_gives_the_rust_rule_on_this_engine() {
        let db = fresh_db().await;
        for (open, held, pending) in [
            (0, 0, 0),
            (10_000, 0, 0),
            (10_000, 2_500, 0),
            (1_000, 2_500, 0),
            (500, 500, 0),
            (10_000, 2_500, 4_000),
            (10_000, 0, 10_000),
            (1_000, 500, 800),
        ] {
            let sql = format!(
                "SELECT CAST({DUE_NOW_SQL} AS BIGINT), CAST({HELD_OF_OPEN_SQL} AS BIGINT) \
                 FROM (SELECT CAST($1 AS BIGINT) AS open_minor, CAST($2 AS BIGINT) AS held_minor, \
                       CAST($3 AS BIGINT) AS pending_minor) i"
            );
            let (due, held_part): (i64, i64) = sqlx::query_as(&sql)
                .bind(open)
                .bind(held)
                .bind(pending)
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(
                due,
                due_now(open, held, pending),
                "open {open}, held {held}, pending {pending}"
            );
            assert_eq!(
                held_part,
                held_of_open(open, held),
                "open {open}, held {held}"
            );
        }
    }
}
