//! The whole book's receivables by currency, posting day and due date (`receivables_by_day`):
//! what every whole-book report "as of a day" reads (aging, DSO, CEI) instead of every journal
//! line. It stays exact without a row two postings would share: a posting appends its sums to a
//! queue in its own transaction, `fold` moves the queue into the summary, and readers add the
//! two (`BOOK_BY_DAY`). The ledger health report proves the sum equal to the journal.

use std::collections::BTreeMap;

use sqlx::{Any, Transaction};

use super::{Account, EntryKind};
use crate::db::{Db, DbError, Engine};

/// The advisory lock `fold` holds on PostgreSQL (any constant no other code uses).
const FOLD_LOCK: i64 = 0x4c50_4441_494c_59; // "LPDAILY"

/// Summary and queue together: the rows a reader sums, exact at every moment (a fold moves rows
/// from one to the other in one transaction).
pub const BOOK_BY_DAY: &str = "(SELECT currency, effective_date, due_date, amount_minor, issued_minor \
     FROM receivables_by_day UNION ALL \
     SELECT currency, effective_date, due_date, amount_minor, issued_minor \
     FROM receivables_by_day_queue)";

/// Where `add_entries` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A posting among others: appended, nothing locked that another posting needs.
    Queue,
    /// A bulk load, the only writer: straight into the summary.
    Summary,
}

/// The receivables lines of entries `first..=last` (one posting, or a bulk load's batch), summed
/// per currency, day and due date, in the transaction that posted them.
pub async fn add_entries(
    tx: &mut Transaction<'_, Any>,
    first_entry: i64,
    last_entry: i64,
    into: Target,
) -> Result<(), DbError> {
    let sums = format!(
        "SELECT l.currency, l.effective_date, i.due_date, sum(l.amount_minor), \
                sum(CASE WHEN e.kind = '{issued}' THEN l.amount_minor ELSE 0 END) \
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id \
         JOIN invoices i ON i.id = l.invoice_id \
         WHERE l.entry_id BETWEEN $1 AND $2 AND l.account_code = '{ar}' \
         GROUP BY l.currency, l.effective_date, i.due_date ORDER BY 1, 2, 3",
        issued = EntryKind::InvoiceIssued.as_str(),
        ar = Account::AccountsReceivable.code(),
    );
    let sql = match into {
        Target::Queue => format!(
            "INSERT INTO receivables_by_day_queue \
             (currency, effective_date, due_date, amount_minor, issued_minor) {sums}"
        ),
        Target::Summary => format!(
            "INSERT INTO receivables_by_day \
             (currency, effective_date, due_date, amount_minor, issued_minor) {sums} {ADD_ON_CONFLICT}"
        ),
    };
    sqlx::query(&sql)
        .bind(first_entry)
        .bind(last_entry)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const ADD_ON_CONFLICT: &str = "ON CONFLICT (currency, effective_date, due_date) DO UPDATE SET \
     amount_minor = receivables_by_day.amount_minor + excluded.amount_minor, \
     issued_minor = receivables_by_day.issued_minor + excluded.issued_minor";

/// Moves the queue into the summary and returns how many queued rows it took. The rows this
/// transaction deletes are exactly the rows it adds: a posting that commits meanwhile stays
/// queued for the next fold, and folds take turns.
pub async fn fold(db: &Db) -> Result<usize, DbError> {
    let mut tx = db.begin_write().await?;
    if db.engine() == Engine::Postgres {
        // One fold at a time (SQLite's write lock already serialises them): a second instance's
        // fold waits here rather than on the queue's rows.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FOLD_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    let taken: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "DELETE FROM receivables_by_day_queue \
         RETURNING currency, effective_date, due_date, amount_minor, issued_minor",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut sums: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for (currency, day, due, amount, issued) in &taken {
        let sum = sums
            .entry((currency.clone(), day.clone(), due.clone()))
            .or_default();
        sum.0 += amount;
        sum.1 += issued;
    }
    // In key order, so two folds (or a fold and a bulk load) lock summary rows in one order.
    for ((currency, day, due), (amount, issued)) in sums {
        sqlx::query(&format!(
            "INSERT INTO receivables_by_day \
             (currency, effective_date, due_date, amount_minor, issued_minor) \
             VALUES ($1, $2, $3, $4, $5) {ADD_ON_CONFLICT}"
        ))
        .bind(currency)
        .bind(day)
        .bind(due)
        .bind(amount)
        .bind(issued)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(taken.len())
}
