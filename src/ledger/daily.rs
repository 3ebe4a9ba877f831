//! The whole book's receivables by currency, posting day and due date (`receivables_by_day`):
//! what every whole-book report "as of a day" reads (aging, DSO, CEI) instead of every journal
//! line. It stays exact without a row two postings would share: a posting appends its sums to a
//! queue in its own transaction, `fold` moves the queue into the summary, and readers add the
//! two (`BOOK_BY_DAY`). The ledger health report proves the sum equal to the journal.

use std::collections::BTreeMap;

use sqlx::{Any, Transaction};

use super::{Account, BalancedEntry, EntryKind};
use crate::db::{Db, DbError, Engine, date_text};

/// The advisory lock `fold` holds on PostgreSQL (any constant no other code uses).
const FOLD_LOCK: i64 = 0x004c_5044_4149_4c59; // "LPDAILY"

/// Summary and queue together: the rows a reader sums, exact at every moment (a fold moves rows
/// from one to the other in one transaction).
pub const BOOK_BY_DAY: &str = "(SELECT currency, effective_date, due_date, amount_minor, issued_minor \
     FROM receivables_by_day UNION ALL \
     SELECT currency, effective_date, due_date, amount_minor, issued_minor \
     FROM receivables_by_day_queue)";

/// A posting's receivables lines summed per currency and due date, appended to the queue in the
/// posting's transaction. Read from the entry itself and its invoices' due dates by key (joined
/// in the insert), so the cost does not depend on the size of the journal.
pub async fn queue_entry(
    tx: &mut Transaction<'_, Any>,
    entry: &BalancedEntry,
) -> Result<(), DbError> {
    let issued = entry.kind() == EntryKind::InvoiceIssued;
    let mut sums: BTreeMap<(i64, &str), (i64, i64)> = BTreeMap::new();
    for line in entry.lines() {
        let (Account::AccountsReceivable, Some(invoice_id)) = (line.account, line.invoice_id)
        else {
            continue;
        };
        let sum = sums
            .entry((invoice_id, line.amount.currency().code()))
            .or_default();
        sum.0 += line.amount.to_minor();
        if issued {
            sum.1 += line.amount.to_minor();
        }
    }
    let day = date_text(entry.effective_date());
    let sums: Vec<_> = sums.into_iter().collect();
    for chunk in sums.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|n| {
                let p = n * 4;
                format!("(${}, ${}, ${}, ${})", p + 2, p + 3, p + 4, p + 5)
            })
            .collect();
        // VALUES columns are column1… on both engines. A line naming no existing invoice would
        // give a NULL due date, which the queue refuses: the posting fails rather than skew reports.
        let sql = format!(
            "INSERT INTO receivables_by_day_queue \
             (currency, effective_date, due_date, amount_minor, issued_minor) \
             SELECT v.column2, $1, i.due_date, sum(v.column3), sum(v.column4) \
             FROM (VALUES {}) AS v LEFT JOIN invoices i ON i.id = v.column1 \
             GROUP BY v.column2, i.due_date",
            values.join(", ")
        );
        let mut insert = sqlx::query(&sql).bind(&day);
        for ((invoice_id, currency), (amount, issued)) in chunk {
            insert = insert
                .bind(*invoice_id)
                .bind(*currency)
                .bind(*amount)
                .bind(*issued);
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Receivables lines (per invoice and currency) summed by one INSERT (four parameters each): a
/// payment over a thousand invoices is one statement, within both engines' parameter limits.
const ROWS_PER_INSERT: usize = 1000;

/// A bulk load's entries `first..=last` (the only writer then), summed per currency, day and
/// due date straight into the summary, in the load's transaction. The lines are found by their
/// entries: `|| ''` keeps SQLite, which has no statistics, off the account's index, where it read
/// every receivable line of the book for each batch (223 ms a batch at 120,000 lines, 0.37 ms by
/// entry).
pub async fn add_loaded_entries(
    tx: &mut Transaction<'_, Any>,
    first_entry: i64,
    last_entry: i64,
) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO receivables_by_day \
         (currency, effective_date, due_date, amount_minor, issued_minor) \
         SELECT l.currency, l.effective_date, i.due_date, sum(l.amount_minor), \
                sum(CASE WHEN e.kind = '{issued}' THEN l.amount_minor ELSE 0 END) \
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id \
         JOIN invoices i ON i.id = l.invoice_id \
         WHERE l.entry_id BETWEEN $1 AND $2 AND l.account_code || '' = '{ar}' \
         GROUP BY l.currency, l.effective_date, i.due_date ORDER BY 1, 2, 3 {ADD_ON_CONFLICT}",
        issued = EntryKind::InvoiceIssued.as_str(),
        ar = Account::AccountsReceivable.code(),
    );
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
