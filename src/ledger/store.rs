//! Posting journal entries: idempotent by business key, append-only, inside the caller's
//! transaction so that the entry and whatever it pays for commit together.

use sqlx::{Any, Row, Transaction};

use super::{Account, BalancedEntry, DateSource, EntryKind, EntryLine, LedgerError};
use crate::db::{DbError, date_text, now_text};
use crate::money::{Currency, Money};

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(PostError);

/// Journal lines written by one INSERT (five parameters each).
const LINES_PER_INSERT: usize = 100;

/// The result of a post: the entry id and whether it was already there (a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    pub entry_id: i64,
    pub replayed: bool,
}

/// Posts `entry` once. Replaying the same business key with the same content returns the first
/// entry; the same key with different content is refused (ledger invariant 4). A date inside a
/// closed period is refused, or, for an outside event's date, moved to the first open day with
/// the event's date kept as `occurred_on` (ledger invariant 18).
pub async fn post(
    tx: &mut Transaction<'_, Any>,
    entry: &BalancedEntry,
) -> Result<Posted, PostError> {
    // On PostgreSQL, the lock an insert takes anyway, taken before the period is read: a close
    // (SHARE ROW EXCLUSIVE) then either committed before this read or waits for this posting.
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("LOCK TABLE journal_entries IN ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    if let Some(target) = entry.reverses() {
        refuse_reversal_of_reversal(tx, target).await?;
    }
    // The usual posting, a new entry on an open day, is one statement that reads the period too.
    if let Some(entry_id) = insert_header(tx, entry, None, Period::MustBeOpen).await? {
        return insert_lines(tx, entry, entry_id).await;
    }
    // Nothing was inserted: the key is taken (a replay), or the day is closed.
    let closed_through = crate::periods::store::closed_through_in(tx).await?;
    let Some(closed_through) = closed_through.filter(|c| entry.effective_date() <= *c) else {
        return replay(tx, entry).await;
    };
    let first_open = closed_through + chrono::Duration::days(1);
    let posted_before: Option<i64> =
        sqlx::query_scalar("SELECT id FROM journal_entries WHERE business_key = $1")
            .bind(entry.business_key())
            .fetch_optional(&mut **tx)
            .await?;
    match (posted_before, entry.date_source()) {
        // Posted before the period closed (or moved then): a replay, compared as usual.
        (Some(_), _) => replay(tx, entry).await,
        (None, DateSource::Event) => {
            let moved = entry.moved_to(first_open);
            let occurred_on = Some(entry.effective_date());
            match insert_header(tx, &moved, occurred_on, Period::CheckedByCaller).await? {
                Some(entry_id) => insert_lines(tx, &moved, entry_id).await,
                None => replay(tx, entry).await,
            }
        }
        (None, DateSource::Chosen) => Err(LedgerError::PeriodClosed {
            date: entry.effective_date(),
            closed_through,
            first_open,
        }
        .into()),
    }
}

/// Whether an entry's header is inserted only on an open day (read in the same statement) or
/// where the caller has already placed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    MustBeOpen,
    CheckedByCaller,
}

/// A reversal reverses an entry, never a reversal.
async fn refuse_reversal_of_reversal(
    tx: &mut Transaction<'_, Any>,
    target: i64,
) -> Result<(), PostError> {
    let row = sqlx::query("SELECT kind FROM journal_entries WHERE id = $1")
        .bind(target)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(LedgerError::NoSuchEntry(target))?;
    if row.try_get::<String, _>(0)? == EntryKind::Reversal.as_str() {
        return Err(LedgerError::ReversalOfReversal(target).into());
    }
    Ok(())
}

/// Inserts `entry`'s header (keeping the day it was moved from as `occurred_on`) and returns its
/// id; `None` when its key is taken, or, with [`Period::MustBeOpen`], when its day is closed.
async fn insert_header(
    tx: &mut Transaction<'_, Any>,
    entry: &BalancedEntry,
    occurred_on: Option<chrono::NaiveDate>,
    period: Period,
) -> Result<Option<i64>, PostError> {
    // Days are ISO text on both engines, so they compare as text; '' is before every day.
    let open_day = match period {
        Period::MustBeOpen => format!(
            "$3 > COALESCE({}, '')",
            crate::periods::store::LAST_CLOSED_DAY_SQL
        ),
        Period::CheckedByCaller => "TRUE".to_string(),
    };
    let inserted: Option<i64> = sqlx::query_scalar(&format!(
        "INSERT INTO journal_entries \
         (business_key, kind, effective_date, posted_at, customer_id, memo, reverses_entry_id, \
          occurred_on) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE {open_day} \
         ON CONFLICT (business_key) DO NOTHING RETURNING id"
    ))
    .bind(entry.business_key())
    .bind(entry.kind().as_str())
    .bind(date_text(entry.effective_date()))
    .bind(now_text())
    .bind(entry.customer_id())
    .bind(entry.memo())
    .bind(entry.reverses())
    .bind(occurred_on.map(date_text))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted)
}

/// Writes the lines of the entry whose header is `entry_id`, and queues its receivables for the
/// daily summary.
async fn insert_lines(
    tx: &mut Transaction<'_, Any>,
    entry: &BalancedEntry,
    entry_id: i64,
) -> Result<Posted, PostError> {
    // A statement per hundred lines: one round trip for any ordinary entry, and a payment over
    // thousands of invoices stays inside the engines' limits on parameters per statement.
    for lines in entry.lines().chunks(LINES_PER_INSERT) {
        let values: Vec<String> = (0..lines.len())
            .map(|n| {
                let p = n * 5;
                format!(
                    "($1, $2, ${}, ${}, ${}, ${}, ${})",
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO journal_lines \
             (entry_id, effective_date, account_code, currency, amount_minor, customer_id, invoice_id) \
             VALUES {}",
            values.join(", ")
        );
        let mut insert_lines = sqlx::query(&sql)
            .bind(entry_id)
            .bind(date_text(entry.effective_date()));
        for line in lines {
            insert_lines = insert_lines
                .bind(line.account.code())
                .bind(line.amount.currency().code())
                .bind(line.amount.to_minor())
                .bind(line.customer_id)
                .bind(line.invoice_id);
        }
        insert_lines.execute(&mut **tx).await?;
    }
    super::daily::queue_entry(tx, entry).await?;
    Ok(Posted {
        entry_id,
        replayed: false,
    })
}

async fn replay(tx: &mut Transaction<'_, Any>, entry: &BalancedEntry) -> Result<Posted, PostError> {
    let existing = sqlx::query(
        "SELECT id, kind, COALESCE(occurred_on, effective_date) AS occurred_on, customer_id, memo, \
         reverses_entry_id FROM journal_entries WHERE business_key = $1",
    )
    .bind(entry.business_key())
    .fetch_one(&mut **tx)
    .await?;
    let entry_id: i64 = existing.try_get("id")?;
    // A late event's entry was moved to the first open day: its own date is `occurred_on`.
    let same_header = existing.try_get::<String, _>("kind")? == entry.kind().as_str()
        && existing.try_get::<String, _>("occurred_on")? == date_text(entry.effective_date())
        && existing.try_get::<Option<i64>, _>("customer_id")? == entry.customer_id()
        && existing.try_get::<String, _>("memo")? == entry.memo()
        && existing.try_get::<Option<i64>, _>("reverses_entry_id")? == entry.reverses();
    let stored = load_lines(tx, entry_id).await?;
    if same_header && same_lines(&stored, entry.lines()) {
        Ok(Posted {
            entry_id,
            replayed: true,
        })
    } else {
        Err(LedgerError::KeyConflict(entry.business_key().to_string()).into())
    }
}

async fn load_lines(
    tx: &mut Transaction<'_, Any>,
    entry_id: i64,
) -> Result<Vec<EntryLine>, PostError> {
    let rows = sqlx::query(
        "SELECT account_code, currency, amount_minor, customer_id, invoice_id \
         FROM journal_lines WHERE entry_id = $1 ORDER BY id",
    )
    .bind(entry_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let code: String = row.try_get("account_code")?;
        let currency: String = row.try_get("currency")?;
        let (Some(account), Ok(currency)) =
            (Account::from_code(&code), currency.parse::<Currency>())
        else {
            // A row the code cannot read can never equal a new entry: report a conflict.
            return Ok(Vec::new());
        };
        lines.push(EntryLine {
            account,
            amount: Money::from_minor(row.try_get("amount_minor")?, currency),
            customer_id: row.try_get("customer_id")?,
            invoice_id: row.try_get("invoice_id")?,
        });
    }
    Ok(lines)
}

fn same_lines(stored: &[EntryLine], requested: &[EntryLine]) -> bool {
    stored.len() == requested.len() && stored.iter().zip(requested).all(|(a, b)| a == b)
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::NaiveDate;
    use sqlx::Row;

    use super::*;
    use crate::db::Engine;
    use crate::testing::{engine, fresh_db};

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn fee_entry(key: &str, minor: i64) -> BalancedEntry {
        BalancedEntry::new(
            key,
            EntryKind::Refund,
            NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
            None,
            "processing fee",
            vec![
                EntryLine::debit(Account::ProcessingFees, usd(minor)),
                EntryLine::credit(Account::StripeClearing, usd(minor)),
            ],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn posting_the_same_key_twice_returns_the_first_entry() {
        let db = fresh_db().await;
        let mut tx = db.begin_write().await.unwrap();
        let first = post(&mut tx, &fee_entry("fee:1", 30)).await.unwrap();
        let again = post(&mut tx, &fee_entry("fee:1", 30)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(!first.replayed);
        assert!(again.replayed);
        assert_eq!(first.entry_id, again.entry_id);
        let lines: i64 = sqlx::query("SELECT count(*) FROM journal_lines")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(lines, 2);
    }

    #[tokio::test]
    async fn the_same_key_with_different_content_is_refused() {
        let db = fresh_db().await;
        let mut tx = db.begin_write().await.unwrap();
        post(&mut tx, &fee_entry("fee:2", 30)).await.unwrap();
        let err = post(&mut tx, &fee_entry("fee:2", 31)).await.unwrap_err();
        assert!(
            matches!(err, PostError::Ledger(LedgerError::KeyConflict(_))),
            "{err}"
        );
    }

    #[tokio::test]
    async fn posted_journal_rows_cannot_be_changed_or_deleted() {
        let db = fresh_db().await;
        let mut tx = db.begin_write().await.unwrap();
        post(&mut tx, &fee_entry("fee:3", 30)).await.unwrap();
        tx.commit().await.unwrap();
        for statement in [
            "UPDATE journal_lines SET amount_minor = 1",
            "DELETE FROM journal_lines",
            "UPDATE journal_entries SET memo = 'edited'",
            "DELETE FROM journal_entries",
        ] {
            let result = sqlx::query(statement).execute(db.pool()).await;
            assert!(result.is_err(), "{statement} must be refused");
        }
    }

    #[tokio::test]
    async fn postgres_refuses_an_unbalanced_entry_written_around_the_code_at_commit() {
        if engine() != Engine::Postgres {
            // SQLite has no deferred triggers; there the check lives only in `BalancedEntry`.
            return;
        }
        let db = fresh_db().await;
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query(
            "INSERT INTO journal_entries (id, business_key, kind, effective_date, posted_at) \
             VALUES (1, 'raw', 'refund', '2026-01-01', '2026-01-01T00:00:00.000000Z')",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        for amount in [100i64, -99] {
            sqlx::query(
                "INSERT INTO journal_lines (entry_id, account_code, currency, amount_minor, effective_date) \
                 VALUES (1, '1000', 'USD', $1, '2026-01-01')",
            )
            .bind(amount)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        let err = tx.commit().await.unwrap_err();
        assert!(err.to_string().contains("does not balance"), "{err}");
    }
}
