//! Importing bank statements and matching their credits to customers' invoices.
//!
//! A file is read whole first (a broken file imports nothing), its lines stored keyed by the
//! bank's reference (a line seen before is skipped), and the new credit lines matched in this
//! order, the rule that matched recorded as the reason: the creditor reference of an announced
//! transfer; invoice numbers in the remittance text; the payer's account or name known for one
//! customer with an amount equal to one open invoice or to everything due. A match posts through
//! the same payment posting staff use; the rest waits for staff.

use sqlx::{Any, Row, Transaction};

use super::csv_mapping::CsvMapping;
use super::{
    BankLine, LinePayment, LineStatus, MatchReason, ParsedStatement, StatementError,
    StatementFormat, StatementSummary, StoredLine, bai2, camt, detect_format,
};
use crate::audit::Actor;
use crate::db::{Db, DbError, Engine, date_text, now_text};
use crate::keys;
use crate::money::{Currency, Money};
use crate::payments::receipt_mail::{self, ReceiptMail, ReceiptTo};
use crate::payments::store::record_payment_in;
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::receivables::store::{CashError, due_invoices, lock_customer};
use crate::transfers::CreditorReference;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Unreadable(#[from] StatementError),
    #[error("a CSV statement needs the bank's column mapping: choose one (or save one first)")]
    MappingNeeded,
    #[error("there is no CSV mapping named {0:?}")]
    UnknownMapping(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Cash(#[from] CashError),
    /// Settling an announced transfer failed (a corrupt checkout; nothing is posted).
    #[error(transparent)]
    Settlement(#[from] crate::checkout::store::CheckoutStoreError),
}

crate::from_sqlx_error!(ImportError);

/// What one imported statement brought.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportedStatement {
    pub id: i64,
    pub account: String,
    pub lines_in_file: i64,
    /// Lines not seen in an earlier file.
    pub lines_new: i64,
    /// New credit lines matched and posted automatically.
    pub matched: i64,
}

/// Reads a statement file (camt.053, camt.054 or BAI2 by their content; CSV through the named
/// mapping), stores its new lines and matches their credits. The same file again changes
/// nothing.
pub async fn import_statement(
    db: &Db,
    file_name: &str,
    text: &str,
    mapping: Option<&str>,
    actor: Actor<'_>,
) -> Result<Vec<ImportedStatement>, ImportError> {
    let statements = match detect_format(text) {
        StatementFormat::Camt053 | StatementFormat::Camt054 => camt::parse(text)?,
        StatementFormat::Bai2 => bai2::parse(text)?,
        StatementFormat::Csv => {
            let name = mapping
                .filter(|m| !m.trim().is_empty())
                .ok_or(ImportError::MappingNeeded)?;
            let mapping = csv_mapping(db, name)
                .await?
                .ok_or_else(|| ImportError::UnknownMapping(name.to_string()))?;
            vec![mapping.parse(text)?]
        }
    };
    let mut imported = Vec::with_capacity(statements.len());
    for statement in &statements {
        let (id, new_lines) = store_statement(db, file_name, statement, actor).await?;
        let mut matched = 0;
        for (line_id, line) in &new_lines {
            if crate::payouts::store::match_line_to_payout(db, *line_id, statement.currency, line)
                .await?
                || line.amount_minor > 0
                    && match_line(db, *line_id, &statement.account, statement.currency, line)
                        .await?
                        .is_some()
            {
                matched += 1;
            }
        }
        imported.push(ImportedStatement {
            id,
            account: statement.account.clone(),
            lines_in_file: statement.lines.len() as i64,
            lines_new: new_lines.len() as i64,
            matched,
        });
    }
    Ok(imported)
}

/// Stores a statement and its lines not seen before, with the audit row, in one transaction.
/// Returns the statement's id and its new lines.
async fn store_statement<'a>(
    db: &Db,
    file_name: &str,
    statement: &'a ParsedStatement,
    actor: Actor<'_>,
) -> Result<(i64, Vec<(i64, &'a BankLine)>), ImportError> {
    let mut tx = db.begin_write().await?;
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM bank_statements WHERE account = $1 AND format = $2 AND statement_ref = $3",
    )
    .bind(&statement.account)
    .bind(statement.format.as_str())
    .bind(&statement.statement_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = existing {
        return Ok((id, Vec::new()));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO bank_statements (format, statement_ref, account, currency, opening_minor, \
         opening_on, closing_minor, closing_on, file_name, imported_by, imported_at, \
         lines_in_file, lines_new) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0) RETURNING id",
    )
    .bind(statement.format.as_str())
    .bind(&statement.statement_id)
    .bind(&statement.account)
    .bind(statement.currency.code())
    .bind(statement.opening.map(|b| b.amount_minor))
    .bind(statement.opening.map(|b| date_text(b.on)))
    .bind(statement.closing.map(|b| b.amount_minor))
    .bind(statement.closing.map(|b| date_text(b.on)))
    .bind(file_name)
    .bind(actor.name)
    .bind(now_text())
    .bind(statement.lines.len() as i64)
    .fetch_one(&mut *tx)
    .await?;
    let mut new_lines = Vec::new();
    for line in &statement.lines {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO bank_lines (statement_id, account, bank_reference, booked_on, currency, \
             amount_minor, counterparty, counterparty_account, structured_reference, remittance, \
             end_to_end_id, bank_code, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (account, bank_reference) DO NOTHING RETURNING id",
        )
        .bind(id)
        .bind(&statement.account)
        .bind(&line.bank_reference)
        .bind(date_text(line.booked_on))
        .bind(statement.currency.code())
        .bind(line.amount_minor)
        .bind(&line.counterparty)
        .bind(&line.counterparty_account)
        .bind(&line.structured_reference)
        .bind(&line.remittance)
        .bind(&line.end_to_end_id)
        .bind(&line.bank_code)
        .bind(
            if line.amount_minor > 0 {
                LineStatus::Unmatched
            } else {
                LineStatus::Outgoing
            }
            .as_str(),
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(line_id) = inserted {
            new_lines.push((line_id, line));
        }
    }
    sqlx::query("UPDATE bank_statements SET lines_new = $1 WHERE id = $2")
        .bind(new_lines.len() as i64)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    actor
        .record(
            &mut *tx,
            "bank_statement.import",
            &format!("bank_statement:{id}"),
            &format!(
                "{} {} of {} ({} lines, {} new) from {file_name}",
                statement.format.as_str(),
                statement.statement_id,
                statement.account,
                statement.lines.len(),
                new_lines.len()
            ),
        )
        .await?;
    tx.commit().await?;
    Ok((id, new_lines))
}

/// Matches one new credit line by the first rule that finds its customer and posts it; `None`
/// leaves it for staff. Claimed with a conditional update, so a line posts once.
async fn match_line(
    db: &Db,
    line_id: i64,
    account: &str,
    currency: Currency,
    line: &BankLine,
) -> Result<Option<MatchReason>, ImportError> {
    let mut tx = db.begin_write().await?;
    let engine = db.engine();
    let business_key = keys::bank_line(account, &line.bank_reference);
    let arrival = Arrival {
        line,
        amount: Money::from_minor(line.amount_minor, currency),
        business_key: &business_key,
    };
    let (reason, payment_id) = if let Some(paid) = by_reference(&mut tx, engine, &arrival).await? {
        (MatchReason::Reference, paid)
    } else if let Some(paid) = by_invoice_numbers(&mut tx, engine, &arrival).await? {
        (MatchReason::InvoiceNumbers, paid)
    } else if let Some(paid) = by_payer_and_amount(&mut tx, engine, &arrival).await? {
        (MatchReason::PayerAndAmount, paid)
    } else {
        return Ok(None);
    };
    if !claim_line(&mut tx, line_id, reason, "").await? {
        // Someone (staff, a parallel import) took the line meanwhile: nothing of this stays.
        tx.rollback().await?;
        return Ok(None);
    }
    link_payment(&mut tx, line_id, payment_id).await?;
    tx.commit().await?;
    Ok(Some(reason))
}

/// Takes an unmatched line for posting (the automatic rules, `applied_by` empty, or a person):
/// false when it is no longer unmatched, and then the caller posts nothing.
pub(super) async fn claim_line(
    tx: &mut Transaction<'_, Any>,
    line_id: i64,
    reason: MatchReason,
    applied_by: &str,
) -> Result<bool, DbError> {
    let claimed = sqlx::query(
        "UPDATE bank_lines SET status = 'matched', match_reason = $1, applied_by = $2, \
         applied_at = $3 WHERE id = $4 AND status = 'unmatched' AND amount_minor > 0",
    )
    .bind(reason.as_str())
    .bind(applied_by)
    .bind(now_text())
    .bind(line_id)
    .execute(&mut **tx)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Names the bank line a payment came from.
pub(super) async fn link_payment(
    tx: &mut Transaction<'_, Any>,
    line_id: i64,
    payment_id: i64,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO bank_line_payments (payment_id, line_id) VALUES ($1, $2)")
        .bind(payment_id)
        .bind(line_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A credit line being matched: its money, and the business key its payment posts under.
struct Arrival<'a> {
    line: &'a BankLine,
    amount: Money,
    business_key: &'a str,
}

/// An announced transfer's creditor reference, structured or in the text: the money settles
/// the transfer's invoices as announced (settlement's fallback keeps a different amount as
/// credit, never dropped).
async fn by_reference(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    arrival: &Arrival<'_>,
) -> Result<Option<i64>, ImportError> {
    let Arrival {
        line,
        amount,
        business_key,
    } = *arrival;
    let text = format!("{} {}", line.structured_reference, line.remittance);
    for reference in CreditorReference::find_in(&text) {
        let checkout: Option<(String, String)> =
            sqlx::query_as("SELECT id, currency FROM checkouts WHERE reference = $1")
                .bind(reference.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        let Some((checkout_id, code)) = checkout else {
            continue;
        };
        if code != amount.currency().code() {
            continue;
        }
        let collected = crate::settlement::Collected {
            checkout_id: &checkout_id,
            payment_reference: &line.bank_reference,
            method: Some(PaymentMethod::Wire),
            currency: amount.currency(),
            amount_minor: amount.to_minor(),
            received: line.booked_on,
        };
        let receipt = crate::settlement::settle_as_in(tx, engine, &collected, business_key).await?;
        return Ok(Some(receipt.payment_id));
    }
    Ok(None)
}

/// Invoice numbers written in the remittance text, all of one customer in the line's currency:
/// each gets what is due on it, in the order written, until the money runs out; the rest is
/// that customer's unapplied credit.
async fn by_invoice_numbers(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    arrival: &Arrival<'_>,
) -> Result<Option<i64>, ImportError> {
    let Arrival { line, amount, .. } = *arrival;
    let text = format!("{} {}", line.remittance, line.structured_reference);
    let found = invoices_named_in(&mut **tx, &text, amount.currency()).await?;
    let Some(&NamedInvoice { customer_id, .. }) = found.first() else {
        return Ok(None);
    };
    if found.iter().any(|n| n.customer_id != customer_id) {
        // Numbers of two customers: a person decides.
        return Ok(None);
    }
    lock_customer(tx, engine, customer_id).await?;
    let ids: Vec<i64> = found.iter().map(|n| n.invoice_id).collect();
    let due = due_invoices(&mut **tx, customer_id, &ids).await?;
    let mut left = amount.to_minor();
    let mut parts = Vec::new();
    for id in &ids {
        let due_minor = due
            .iter()
            .find(|d| d.invoice_id == *id)
            .map_or(0, |d| d.due_minor);
        let part = due_minor.min(left);
        if part > 0 {
            parts.push((*id, Money::from_minor(part, amount.currency())));
            left -= part;
        }
    }
    post(
        tx,
        engine,
        customer_id,
        arrival,
        AllocationRule::Explicit(parts),
    )
    .await
    .map(Some)
}

/// An invoice whose number a line's text names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct NamedInvoice {
    /// Where in the text it is named (the order the payer wrote).
    pub(super) position: usize,
    pub(super) invoice_id: i64,
    pub(super) customer_id: i64,
}

/// The invoices (not voided, of customers billed in `currency`) whose numbers appear in
/// `text`, in the order written. Words are looked up as written and in capitals, exactly, by
/// the number's index.
pub(super) async fn invoices_named_in<'e, E>(
    executor: E,
    text: &str,
    currency: Currency,
) -> Result<Vec<NamedInvoice>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let mut tokens: Vec<String> = Vec::new();
    for token in text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '#'))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | '/')))
        .filter(|t| t.len() >= 3 && t.len() <= 40 && t.chars().any(|c| c.is_ascii_digit()))
    {
        for form in [token.to_string(), token.to_ascii_uppercase()] {
            if !tokens.contains(&form) && tokens.len() < 50 {
                tokens.push(form);
            }
        }
    }
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT i.id, i.customer_id, i.number FROM invoices i \
         JOIN customers c ON c.id = i.customer_id \
         WHERE i.number IN ({}) AND c.currency = ${} AND i.voided_at IS NULL",
        crate::db::placeholders(1, tokens.len()),
        tokens.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for token in &tokens {
        query = query.bind(token);
    }
    let rows = query.bind(currency.code()).fetch_all(executor).await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let number: String = row.try_get("number")?;
        found.push(NamedInvoice {
            position: tokens
                .iter()
                .position(|t| *t == number)
                .unwrap_or(usize::MAX),
            invoice_id: row.try_get("id")?,
            customer_id: row.try_get("customer_id")?,
        });
    }
    found.sort();
    Ok(found)
}

/// The payer's account (seen on an earlier matched line) or name known for exactly one
/// customer, and an amount equal to one open invoice's due amount or to all that is due.
async fn by_payer_and_amount(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    arrival: &Arrival<'_>,
) -> Result<Option<i64>, ImportError> {
    let Arrival { line, amount, .. } = *arrival;
    let mut customers = paying_from(&mut **tx, &line.counterparty_account).await?;
    if customers.is_empty() {
        customers = named_like(&mut **tx, &line.counterparty, amount.currency()).await?;
    }
    let [customer_id] = customers[..] else {
        return Ok(None);
    };
    let currency = lock_customer(tx, engine, customer_id).await?;
    if currency != amount.currency() {
        return Ok(None);
    }
    let due = due_invoices(&mut **tx, customer_id, &[]).await?;
    let total: i64 = due.iter().map(|d| d.due_minor).sum();
    let equal: Vec<i64> = due
        .iter()
        .filter(|d| d.due_minor == amount.to_minor())
        .map(|d| d.invoice_id)
        .collect();
    let rule = match equal[..] {
        [invoice] => AllocationRule::Explicit(vec![(invoice, amount)]),
        _ if total == amount.to_minor() => AllocationRule::OldestFirst,
        _ => return Ok(None),
    };
    post(tx, engine, customer_id, arrival, rule).await.map(Some)
}

/// The customers earlier lines from this payer's account were posted to.
pub(super) async fn paying_from<'e, E>(executor: E, account: &str) -> Result<Vec<i64>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    if account.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT p.customer_id FROM bank_lines l \
         JOIN bank_line_payments b ON b.line_id = l.id JOIN payments p ON p.id = b.payment_id \
         WHERE l.counterparty_account = $1",
    )
    .bind(account.trim())
    .fetch_all(executor)
    .await?)
}

/// The customers billed in `currency` whose name is the payer's name (letter case aside).
pub(super) async fn named_like<'e, E>(
    executor: E,
    payer: &str,
    currency: Currency,
) -> Result<Vec<i64>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    if payer.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT id FROM customers WHERE lower(name) = $1 AND currency = $2")
            .bind(payer.trim().to_lowercase())
            .bind(currency.code())
            .fetch_all(executor)
            .await?,
    )
}

/// Posts the arrival as a bank transfer of this customer's, allocated by `rule`, and queues its
/// receipt to the account.
async fn post(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    customer_id: i64,
    arrival: &Arrival<'_>,
    rule: AllocationRule,
) -> Result<i64, ImportError> {
    let request = PaymentRequest::new(
        customer_id,
        arrival.business_key,
        PaymentMethod::Wire,
        arrival.amount,
        arrival.line.booked_on,
        rule,
        true,
    )
    .map_err(CashError::Payment)?
    .dated_by_event();
    let receipt = record_payment_in(tx, engine, &request).await?;
    let mail = ReceiptMail {
        customer_id,
        amount: arrival.amount,
        received: arrival.line.booked_on,
        method: PaymentMethod::Wire,
        reference: &arrival.line.bank_reference,
        receipt: &receipt,
    };
    receipt_mail::queue(tx, &mail, ReceiptTo::Account).await?;
    Ok(receipt.payment_id)
}

/// A saved CSV mapping.
pub async fn csv_mapping(db: &Db, name: &str) -> Result<Option<CsvMapping>, DbError> {
    Ok(sqlx::query_as::<_, CsvMapping>(
        "SELECT name, account, currency, delimiter, date_column, date_format, amount_column, \
         decimal_separator, reference_column, counterparty_column, counterparty_account_column, \
         remittance_column FROM csv_mappings WHERE name = $1",
    )
    .bind(name.trim())
    .fetch_optional(db.pool())
    .await?)
}

/// Saves (or replaces) a bank's CSV mapping after checking it.
pub async fn save_csv_mapping(db: &Db, mapping: &CsvMapping) -> Result<(), ImportError> {
    mapping.check()?;
    sqlx::query(
        "INSERT INTO csv_mappings (name, account, currency, delimiter, date_column, date_format, \
         amount_column, decimal_separator, reference_column, counterparty_column, \
         counterparty_account_column, remittance_column) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (name) DO UPDATE SET account = excluded.account, \
         currency = excluded.currency, delimiter = excluded.delimiter, \
         date_column = excluded.date_column, date_format = excluded.date_format, \
         amount_column = excluded.amount_column, decimal_separator = excluded.decimal_separator, \
         reference_column = excluded.reference_column, \
         counterparty_column = excluded.counterparty_column, \
         counterparty_account_column = excluded.counterparty_account_column, \
         remittance_column = excluded.remittance_column",
    )
    .bind(mapping.name.trim())
    .bind(&mapping.account)
    .bind(mapping.currency.code())
    .bind(&mapping.delimiter)
    .bind(&mapping.date_column)
    .bind(&mapping.date_format)
    .bind(&mapping.amount_column)
    .bind(&mapping.decimal_separator)
    .bind(&mapping.reference_column)
    .bind(&mapping.counterparty_column)
    .bind(&mapping.counterparty_account_column)
    .bind(&mapping.remittance_column)
    .execute(db.write_pool())
    .await?;
    Ok(())
}

/// A statement with how many of its lines are matched and waiting.
const SUMMARY: &str = "SELECT s.id, s.format, s.statement_ref, s.account, s.currency, \
     s.closing_minor, s.closing_on, s.file_name, s.imported_by, s.imported_at, s.lines_in_file, \
     s.lines_new, \
     (SELECT count(*) FROM bank_lines l WHERE l.statement_id = s.id AND l.status = 'matched') \
       AS matched, \
     (SELECT count(*) FROM bank_lines l WHERE l.statement_id = s.id AND l.status = 'unmatched') \
       AS unmatched \
     FROM bank_statements s";

/// The latest imported statements, newest first.
pub async fn recent_statements(db: &Db, limit: i64) -> Result<Vec<StatementSummary>, DbError> {
    Ok(sqlx::query_as::<_, StatementSummary>(&format!(
        "{SUMMARY} ORDER BY s.id DESC LIMIT {}",
        limit.clamp(1, 200)
    ))
    .fetch_all(db.pool())
    .await?)
}

/// One statement and its lines, in the bank's order.
pub async fn statement(
    db: &Db,
    statement_id: i64,
) -> Result<Option<(StatementSummary, Vec<StoredLine>)>, DbError> {
    let summary = sqlx::query_as::<_, StatementSummary>(&format!("{SUMMARY} WHERE s.id = $1"))
        .bind(statement_id)
        .fetch_optional(db.pool())
        .await?;
    let Some(summary) = summary else {
        return Ok(None);
    };
    Ok(Some((summary, statement_lines(db, statement_id).await?)))
}

/// A bank line's currency, if there is such a line.
pub async fn line_currency(db: &Db, line_id: i64) -> Result<Option<Currency>, DbError> {
    let code: Option<String> = sqlx::query_scalar("SELECT currency FROM bank_lines WHERE id = $1")
        .bind(line_id)
        .fetch_optional(db.pool())
        .await?;
    code.map(|c| crate::db::currency(&c)).transpose()
}

/// The saved CSV mappings' names.
pub async fn csv_mapping_names(db: &Db) -> Result<Vec<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM csv_mappings ORDER BY name")
            .fetch_all(db.pool())
            .await?,
    )
}

/// The lines of one statement, in the bank's order, with the payments each was posted as.
pub async fn statement_lines(db: &Db, statement_id: i64) -> Result<Vec<StoredLine>, DbError> {
    let mut lines = sqlx::query_as::<_, StoredLine>(&format!(
        "{STORED_LINE} WHERE l.statement_id = $1 ORDER BY l.id"
    ))
    .bind(statement_id)
    .fetch_all(db.pool())
    .await?;
    let payments = sqlx::query_as::<_, LinePayment>(
        "SELECT b.line_id, b.payment_id, p.customer_id, c.number AS customer_number, \
         c.name AS customer_name, p.amount_minor FROM bank_lines l \
         JOIN bank_line_payments b ON b.line_id = l.id \
         JOIN payments p ON p.id = b.payment_id JOIN customers c ON c.id = p.customer_id \
         WHERE l.statement_id = $1 ORDER BY b.payment_id",
    )
    .bind(statement_id)
    .fetch_all(db.pool())
    .await?;
    for payment in payments {
        // Lines are in id order.
        if let Ok(at) = lines.binary_search_by_key(&payment.line_id, |l| l.id) {
            lines[at].payments.push(payment);
        }
    }
    Ok(lines)
}

/// A bank line as stored (`l`), for [`StoredLine`].
pub(super) const STORED_LINE: &str = "SELECT l.id, l.statement_id, l.bank_reference, l.booked_on, \
     l.currency, l.amount_minor, l.counterparty, l.remittance, l.structured_reference, l.status, \
     l.match_reason, l.counterparty_account, l.applied_by, \
     (SELECT po.id FROM payouts po WHERE po.bank_line_id = l.id) AS payout_id FROM bank_lines l";

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::checkout::PayItem;
    use crate::testing::fixtures::{
        assert_ledger_healthy, camt054_credits, demo_acme, open_minor, rows,
    };
    use crate::testing::fresh_db;

    const CLERK: Actor<'static> = Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };

    async fn line_status(db: &Db, reference: &str) -> (String, String) {
        sqlx::query_as("SELECT status, match_reason FROM bank_lines WHERE bank_reference = $1")
            .bind(reference)
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn credits_are_matched_by_reference_then_invoice_number_and_the_same_file_again_changes_nothing()
     {
        let db = fresh_db().await;
        let (customer, user, open) = demo_acme(&db).await;
        let (transferred, transferred_open) = open[0];
        let (numbered, numbered_open) = open[1];
        let announced = crate::transfers::store::announce_transfer(
            &db,
            customer,
            user,
            &[PayItem {
                invoice_id: transferred,
                amount_minor: transferred_open,
            }],
            chrono::Utc::now().date_naive(),
        )
        .await
        .unwrap();
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
            .bind(numbered)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let text = camt054_credits(&[
            (
                "B-1",
                transferred_open,
                "Acme Corp",
                announced.reference.as_str(),
                "transfer",
            ),
            (
                "B-2",
                numbered_open,
                "Acme Corp",
                "",
                &format!("Paying {number}, thanks"),
            ),
            ("B-3", 12_345, "Somebody Unknown", "", "for services"),
        ]);
        let imported = import_statement(&db, "ntf.xml", &text, None, CLERK)
            .await
            .unwrap();
        assert_eq!(
            (
                imported[0].lines_in_file,
                imported[0].lines_new,
                imported[0].matched
            ),
            (3, 3, 2)
        );
        assert_eq!(
            line_status(&db, "B-1").await,
            ("matched".into(), "reference".into())
        );
        assert_eq!(
            line_status(&db, "B-2").await,
            ("matched".into(), "invoice_numbers".into())
        );
        assert_eq!(
            line_status(&db, "B-3").await,
            ("unmatched".into(), String::new())
        );
        assert_eq!(open_minor(&db, transferred).await, 0);
        assert_eq!(open_minor(&db, numbered).await, 0);
        let transfer_status: String =
            sqlx::query_scalar("SELECT status FROM checkouts WHERE id = $1")
                .bind(&announced.id)
                .fetch_one(&db.pool().clone())
                .await
                .unwrap();
        assert_eq!(transfer_status, "succeeded");
        // The same file again, and an overlapping one: nothing new, nothing posted twice.
        let payments = rows(&db, "payments").await;
        let again = import_statement(&db, "ntf.xml", &text, None, CLERK)
            .await
            .unwrap();
        assert_eq!((again[0].lines_new, again[0].matched), (0, 0));
        let overlapping = text.replace("NTF-TEST", "NTF-TEST-2");
        let overlap = import_statement(&db, "ntf2.xml", &overlapping, None, CLERK)
            .await
            .unwrap();
        assert_eq!((overlap[0].lines_in_file, overlap[0].lines_new), (3, 0));
        assert_eq!(rows(&db, "payments").await, payments);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_known_payer_paying_exactly_one_invoice_is_matched_and_a_broken_file_posts_nothing() {
        let db = fresh_db().await;
        let (_, _, open) = demo_acme(&db).await;
        let (invoice, amount) = open[1];
        let text = camt054_credits(&[("P-1", amount, "ACME FABRICATION LTD", "", "")]);
        import_statement(&db, "ntf.xml", &text, None, CLERK)
            .await
            .unwrap();
        assert_eq!(
            line_status(&db, "P-1").await,
            ("matched".into(), "payer_amount".into())
        );
        assert_eq!(open_minor(&db, invoice).await, 0);
        let before = rows(&db, "bank_lines").await;
        let broken = camt054_credits(&[("P-2", 100, "Acme Corporation", "", "")])
            .replace("<CdtDbtInd>CRDT", "<CdtDbtInd>CREDIT");
        assert!(matches!(
            import_statement(&db, "broken.xml", &broken, None, CLERK).await,
            Err(ImportError::Unreadable(_))
        ));
        assert_eq!(rows(&db, "bank_lines").await, before);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_csv_statement_is_read_through_its_bank_mapping() {
        let db = fresh_db().await;
        demo_acme(&db).await;
        let text = "Buchungstag;Betrag;Referenz;Auftraggeber;Verwendungszweck\n\
                    04.12.2026;1.234,50;CSV-1;Unknown GmbH;Rechnung 77\n\
                    04.12.2026;-10,00;CSV-2;Bank;Fee\n";
        assert!(matches!(
            import_statement(&db, "bank.csv", text, None, CLERK).await,
            Err(ImportError::MappingNeeded)
        ));
        let mapping = CsvMapping {
            name: "Sparkasse".into(),
            account: "DE89370400440532013000".into(),
            currency: Currency::Eur,
            delimiter: ";".into(),
            date_column: "Buchungstag".into(),
            date_format: "%d.%m.%Y".into(),
            amount_column: "Betrag".into(),
            decimal_separator: ",".into(),
            reference_column: "Referenz".into(),
            counterparty_column: "Auftraggeber".into(),
            counterparty_account_column: String::new(),
            remittance_column: "Verwendungszweck".into(),
        };
        save_csv_mapping(&db, &mapping).await.unwrap();
        let imported = import_statement(&db, "bank.csv", text, Some("Sparkasse"), CLERK)
            .await
            .unwrap();
        assert_eq!((imported[0].lines_new, imported[0].matched), (2, 0));
        let lines = statement_lines(&db, imported[0].id).await.unwrap();
        assert_eq!(
            lines.iter().map(|l| l.amount_minor).collect::<Vec<_>>(),
            vec![123_450, -1_000]
        );
        assert_eq!(lines[1].status, LineStatus::Outgoing);
    }
}
