//! Bank statements: what the bank says arrived on (and left) the company's accounts. Files in
//! ISO 20022 camt.053 (end-of-day statement) and camt.054 (notification), BAI2, or CSV with a
//! saved column mapping are read into one shape; each line is keyed by the bank's own
//! reference, so importing the same file again, or an overlapping one, changes nothing.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod apply;
#[cfg(feature = "ssr")]
pub mod bai2;
#[cfg(feature = "ssr")]
pub mod camt;
#[cfg(feature = "ssr")]
pub mod csv_mapping;
#[cfg(feature = "ssr")]
pub mod reconcile;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod suggest;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum StatementFormat {
        Camt053 = "camt.053",
        Camt054 = "camt.054",
        Bai2 = "bai2",
        Csv = "csv",
    }
}

crate::text_enum! {
    /// Why a bank line was matched to a customer: the rule that found it, or a person.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum MatchReason {
        /// The creditor reference of an announced transfer.
        Reference = "reference",
        /// Invoice numbers in the remittance text.
        InvoiceNumbers = "invoice_numbers",
        /// The payer's account or name, and an amount equal to one invoice or to all that is due.
        PayerAndAmount = "payer_amount",
        /// Applied by staff from the queue.
        Staff = "staff",
        /// Not customer money: the payment provider's payout of its balance (`payouts`).
        Payout = "payout",
    }
}

crate::text_enum! {
    /// Where a stored bank line stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum LineStatus {
        /// A credit nothing matched yet: waits for staff.
        Unmatched = "unmatched",
        /// Posted: as customer payments, or as a provider payout.
        Matched = "matched",
        /// Money out of the account (not customer money).
        Outgoing = "outgoing",
    }
}

impl MatchReason {
    pub fn label(self) -> &'static str {
        match self {
            MatchReason::Reference => "Transfer reference",
            MatchReason::InvoiceNumbers => "Invoice numbers in the remittance",
            MatchReason::PayerAndAmount => "Known payer and amount",
            MatchReason::Staff => "Applied by staff",
            MatchReason::Payout => "Stripe payout",
        }
    }
}

/// One account's statement (or notification) as the bank sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedStatement {
    pub format: StatementFormat,
    /// The bank's identifier of this statement (camt `Stmt/Id`, BAI2 file and account).
    pub statement_id: String,
    /// The company's account: an IBAN (electronic form) or the bank's account number.
    pub account: String,
    pub currency: Currency,
    /// Booked balances, when the file has them (camt OPBD/CLBD, BAI2 010/015).
    pub opening: Option<Balance>,
    pub closing: Option<Balance>,
    pub lines: Vec<BankLine>,
}

/// A balance on a day, in minor units (negative: overdrawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub on: NaiveDate,
    pub amount_minor: i64,
}

/// One booked movement on the account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BankLine {
    /// The bank's own reference for this movement: the key that makes imports idempotent.
    pub bank_reference: String,
    pub booked_on: NaiveDate,
    /// Positive: money in (credit); negative: money out (debit).
    pub amount_minor: i64,
    /// The other party: the payer of a credit, the payee of a debit.
    pub counterparty: String,
    /// The other party's account (IBAN or number), when the bank gives it.
    pub counterparty_account: String,
    /// A structured creditor reference (camt `CdtrRefInf/Ref`), as sent.
    pub structured_reference: String,
    /// Free remittance text (camt `Ustrd`, BAI2 text, a CSV column): invoice numbers appear here.
    pub remittance: String,
    /// The payer's own reference (camt `EndToEndId`, BAI2 customer reference).
    pub end_to_end_id: String,
    /// The bank's transaction code (camt `BkTxCd`, BAI2 type code).
    pub bank_code: String,
}

/// An imported statement as the staff pages list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StatementSummary {
    pub id: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub format: StatementFormat,
    pub statement_ref: String,
    pub account: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    pub closing_minor: Option<i64>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::MaybeDay"))]
    pub closing_on: Option<NaiveDate>,
    pub file_name: String,
    pub imported_by: String,
    pub imported_at: String,
    pub lines_in_file: i64,
    pub lines_new: i64,
    pub matched: i64,
    pub unmatched: i64,
}

/// A stored bank line as the staff pages list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StoredLine {
    pub id: i64,
    pub statement_id: i64,
    pub bank_reference: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub booked_on: NaiveDate,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    pub amount_minor: i64,
    pub counterparty: String,
    pub remittance: String,
    pub structured_reference: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: LineStatus,
    /// A [`MatchReason`]'s text, empty until matched.
    pub match_reason: String,
    pub counterparty_account: String,
    /// Who applied it; empty for the automatic rules.
    pub applied_by: String,
    /// The provider payout it brought, when it is one.
    pub payout_id: Option<String>,
    /// The payments it was posted as (several when staff split it over customers).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub payments: Vec<LinePayment>,
}

/// One payment posted from a bank line: whose, and how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct LinePayment {
    pub line_id: i64,
    pub payment_id: i64,
    pub customer_id: i64,
    pub customer_number: String,
    pub customer_name: String,
    pub amount_minor: i64,
}

crate::text_enum! {
    /// What happens to what a payment left unpaid on an invoice it was applied to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ShortPay {
        /// The rest stays open and due (reminders go on).
        LeaveOpen = "leave_open",
        /// The rest is written off, if it is within the manager's tolerance.
        WriteOff = "write_off",
        /// A short-pay case the customer sees in their disputes holds the rest.
        OpenCase = "open_case",
    }
}

impl ShortPay {
    pub fn label(self) -> &'static str {
        match self {
            ShortPay::LeaveOpen => "Leave the rest open",
            ShortPay::WriteOff => "Write the rest off (within the tolerance)",
            ShortPay::OpenCase => "Open a short-pay case for the customer",
        }
    }
}

/// One row of how staff apply a bank line: a customer, one of their invoices (none: the
/// amount stays as that customer's unapplied credit), and an amount. Written one per line as
/// `CUSTOMER INVOICE AMOUNT` or `CUSTOMER credit AMOUNT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRow {
    /// 1-based, for messages.
    pub row: usize,
    pub customer_number: String,
    pub invoice_number: Option<String>,
    pub amount_minor: i64,
}

/// The word that puts a row's amount on the customer's unapplied credit.
pub const CREDIT_WORD: &str = "credit";

/// The most rows one application may have.
pub const MAXIMUM_APPLICATION_ROWS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowsError {
    #[error(
        "row {0}: write the customer number, the invoice number (or \"credit\"), then the amount"
    )]
    Shape(usize),
    #[error("row {row}: {reason}")]
    Amount { row: usize, reason: String },
    #[error("write at least one row")]
    Empty,
    #[error("at most {MAXIMUM_APPLICATION_ROWS} rows")]
    TooMany,
}

impl ApplicationRow {
    /// Reads the rows staff wrote; amounts in the bank line's currency, positive.
    pub fn parse_all(text: &str, currency: Currency) -> Result<Vec<ApplicationRow>, RowsError> {
        let mut rows = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let row = index + 1;
            let words: Vec<&str> = raw.split_whitespace().collect();
            if words.is_empty() {
                continue;
            }
            if rows.len() == MAXIMUM_APPLICATION_ROWS {
                return Err(RowsError::TooMany);
            }
            let [customer, invoice, amount] = words[..] else {
                return Err(RowsError::Shape(row));
            };
            let amount =
                crate::money::Money::parse(amount, currency).map_err(|e| RowsError::Amount {
                    row,
                    reason: e.to_string(),
                })?;
            if amount.is_zero() || amount.is_negative() {
                return Err(RowsError::Amount {
                    row,
                    reason: "the amount must be positive".into(),
                });
            }
            rows.push(ApplicationRow {
                row,
                customer_number: customer.to_string(),
                invoice_number: (!invoice.eq_ignore_ascii_case(CREDIT_WORD))
                    .then(|| invoice.to_string()),
                amount_minor: amount.to_minor(),
            });
        }
        if rows.is_empty() {
            return Err(RowsError::Empty);
        }
        Ok(rows)
    }

    /// The row as staff write it (what [`ApplicationRow::parse_all`] reads back).
    pub fn text(&self, currency: Currency) -> String {
        format!(
            "{} {} {}",
            self.customer_number,
            self.invoice_number.as_deref().unwrap_or(CREDIT_WORD),
            crate::money::Money::from_minor(self.amount_minor, currency).amount()
        )
    }
}

/// A customer a waiting bank line may belong to, with how it would be applied and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub customer_id: i64,
    pub customer_number: String,
    pub customer_name: String,
    /// Invoices it would pay, in order, and what it would leave as credit.
    pub invoices: Vec<SuggestedInvoice>,
    pub credit_minor: i64,
    /// Why this customer, strongest first.
    pub reasons: Vec<String>,
    pub score: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub due_minor: i64,
    pub apply_minor: i64,
}

impl Suggestion {
    /// The suggestion as application rows (what staff apply with one click, or edit).
    pub fn rows(&self) -> Vec<ApplicationRow> {
        let mut rows: Vec<ApplicationRow> = self
            .invoices
            .iter()
            .map(|i| ApplicationRow {
                row: 0,
                customer_number: self.customer_number.clone(),
                invoice_number: Some(i.number.clone()),
                amount_minor: i.apply_minor,
            })
            .collect();
        if self.credit_minor > 0 {
            rows.push(ApplicationRow {
                row: 0,
                customer_number: self.customer_number.clone(),
                invoice_number: None,
                amount_minor: self.credit_minor,
            });
        }
        rows
    }

    /// Whether applying it leaves part of an invoice unpaid (staff then decide about the rest).
    pub fn pays_short(&self) -> bool {
        self.invoices.iter().any(|i| i.apply_minor < i.due_minor)
    }
}

/// A credit line waiting for staff, with its suggestions (best first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedLine {
    pub line: StoredLine,
    pub suggestions: Vec<Suggestion>,
}

/// A statement's closing balance against the ledger's bank account on that day, and what
/// explains the difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankReconciliation {
    pub currency: Currency,
    pub on: NaiveDate,
    pub bank_closing_minor: i64,
    /// The ledger's Bank account (1000) in this currency, as of `on`.
    pub ledger_minor: i64,
    /// Lines of this account booked up to `on` that the ledger has no posting for: credits
    /// waiting for staff, and money out (fees, payouts to suppliers) the AR ledger does not
    /// record.
    pub unposted: Vec<StoredLine>,
    pub unposted_minor: i64,
    /// Receipts posted to the Bank account up to `on` that no bank line brought (typed in by
    /// staff, or not on a statement yet).
    pub unlined: Vec<UnlinedPosting>,
    pub unlined_minor: i64,
}

impl BankReconciliation {
    /// Bank closing − ledger.
    pub fn difference_minor(&self) -> i64 {
        self.bank_closing_minor - self.ledger_minor
    }

    /// What the listed items do not explain: the account's balance from before the ledger's
    /// first posting, or an error to look for. (Bank = ledger + unposted lines − unlined
    /// postings + unexplained.)
    pub fn unexplained_minor(&self) -> i64 {
        self.difference_minor() - self.unposted_minor + self.unlined_minor
    }
}

/// A posting to the Bank account without a bank line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct UnlinedPosting {
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub effective_date: NaiveDate,
    pub entry_id: i64,
    pub memo: String,
    pub customer_number: Option<String>,
    pub payment_id: Option<i64>,
    /// The provider payout it posted, when it is one.
    pub payout_id: Option<String>,
    pub amount_minor: i64,
}

/// Why a statement file could not be read: where, and what is wrong. Nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct StatementError {
    /// "line 12", "line 40, <Amt>", "the file".
    pub at: String,
    pub message: String,
}

impl StatementError {
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> StatementError {
        StatementError {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// The format a file is in, from its first bytes: XML is camt (053 or 054 by its root), a
/// first record `01,` is BAI2, anything else CSV (which needs a mapping).
pub fn detect_format(text: &str) -> StatementFormat {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('<') {
        if start.contains("BkToCstmrDbtCdtNtfctn") {
            StatementFormat::Camt054
        } else {
            StatementFormat::Camt053
        }
    } else if start.starts_with("01,") {
        StatementFormat::Bai2
    } else {
        StatementFormat::Csv
    }
}

/// Reads an amount the bank wrote as decimal text in `currency`: extra zero decimals are
/// fine, finer amounts are not.
#[cfg(feature = "ssr")]
pub(crate) fn decimal_minor(
    text: &str,
    currency: Currency,
    at: &str,
) -> Result<i64, StatementError> {
    crate::money::Money::parse(text.trim(), currency)
        .map(crate::money::Money::to_minor)
        .map_err(|e| StatementError::new(at, format!("amount {:?}: {e}", text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_told_by_the_first_bytes() {
        assert_eq!(
            detect_format("\u{feff}<?xml version=\"1.0\"?><Document><BkToCstmrStmt>"),
            StatementFormat::Camt053
        );
        assert_eq!(
            detect_format("<Document><BkToCstmrDbtCdtNtfctn>"),
            StatementFormat::Camt054
        );
        assert_eq!(
            detect_format("01,BANK,ACME,261201,0800,1,,,2/\n"),
            StatementFormat::Bai2
        );
        assert_eq!(detect_format("Date;Amount;Text\n"), StatementFormat::Csv);
    }
}
