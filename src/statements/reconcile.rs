//! Bank reconciliation: a statement's closing balance against the ledger's Bank account in its
//! currency on the closing day, with what explains the difference listed: lines of the account
//! the ledger has no posting for, and Bank postings no line brought (payments typed in, and
//! provider payouts not on a statement yet). The ledger keeps one Bank
//! account per currency, as the company keeps one receiving account per currency.

use super::store::STORED_LINE;
use super::{BankReconciliation, StoredLine, UnlinedPosting};
use crate::db::{Db, DbError, date_text};
use crate::ledger::Account;

/// Items listed per side; the totals always cover all of them.
const LISTED: i64 = 500;

/// Lines of the account booked up to the day that posted nothing (`l`).
const UNPOSTED: &str = "l.account = $1 AND l.booked_on <= $2 AND l.status <> 'matched'";

/// Bank postings up to the day (`jl`) that no bank line brought: neither a payment from a line
/// nor a provider payout matched to one.
const UNLINED: &str = "FROM journal_lines jl JOIN journal_entries je ON je.id = jl.entry_id \
     LEFT JOIN payments p ON p.entry_id = jl.entry_id \
     LEFT JOIN customers c ON c.id = je.customer_id \
     WHERE jl.account_code = $1 AND jl.currency = $2 AND jl.effective_date <= $3 \
     AND NOT EXISTS (SELECT 1 FROM bank_line_payments b WHERE b.payment_id = p.id) \
     AND NOT EXISTS (SELECT 1 FROM payouts po JOIN bank_lines bl ON bl.id = po.bank_line_id \
                     WHERE po.paid_entry_id = jl.entry_id AND bl.booked_on <= $3)";

/// The reconciliation of one statement; `None` when there is no such statement or the bank
/// gave no closing balance.
pub async fn reconcile_statement(
    db: &Db,
    statement_id: i64,
) -> Result<Option<BankReconciliation>, DbError> {
    let pool = db.pool();
    let statement: Option<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT account, currency, closing_minor, closing_on FROM bank_statements WHERE id = $1",
    )
    .bind(statement_id)
    .fetch_optional(pool)
    .await?;
    let Some((account, code, Some(bank_closing_minor), Some(on))) = statement else {
        return Ok(None);
    };
    let currency = crate::db::currency(&code)?;
    let on = crate::db::parse_date(&on)?;
    let day = date_text(on);
    let bank = Account::Bank.code();
    let ledger_minor: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(sum(amount_minor), 0) AS BIGINT) FROM journal_lines \
         WHERE account_code = $1 AND currency = $2 AND effective_date <= $3",
    )
    .bind(bank)
    .bind(currency.code())
    .bind(&day)
    .fetch_one(pool)
    .await?;
    let unposted = sqlx::query_as::<_, StoredLine>(&format!(
        "{STORED_LINE} WHERE {UNPOSTED} ORDER BY l.booked_on, l.id LIMIT {LISTED}"
    ))
    .bind(&account)
    .bind(&day)
    .fetch_all(pool)
    .await?;
    let unposted_minor: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(sum(l.amount_minor), 0) AS BIGINT) FROM bank_lines l \
         WHERE {UNPOSTED}"
    ))
    .bind(&account)
    .bind(&day)
    .fetch_one(pool)
    .await?;
    let unlined = sqlx::query_as::<_, UnlinedPosting>(&format!(
        "SELECT jl.effective_date, jl.entry_id, je.memo, c.number AS customer_number, \
         p.id AS payment_id, (SELECT po.id FROM payouts po WHERE po.paid_entry_id = jl.entry_id \
         OR po.failed_entry_id = jl.entry_id) AS payout_id, jl.amount_minor {UNLINED} \
         ORDER BY jl.effective_date, jl.id LIMIT {LISTED}"
    ))
    .bind(bank)
    .bind(currency.code())
    .bind(&day)
    .fetch_all(pool)
    .await?;
    let unlined_minor: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(sum(jl.amount_minor), 0) AS BIGINT) {UNLINED}"
    ))
    .bind(bank)
    .bind(currency.code())
    .bind(&day)
    .fetch_one(pool)
    .await?;
    Ok(Some(BankReconciliation {
        currency,
        on,
        bank_closing_minor,
        ledger_minor,
        unposted,
        unposted_minor,
        unlined,
        unlined_minor,
    }))
}
