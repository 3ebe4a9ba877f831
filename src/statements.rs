//! Bank statements: what the bank says arrived on (and left) the company's accounts. Files in
//! ISO 20022 camt.053 (end-of-day statement) and camt.054 (notification), BAI2, or CSV with a
//! saved column mapping are read into one shape; each line is keyed by the bank's own
//! reference, so importing the same file again, or an overlapping one, changes nothing.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod bai2;
#[cfg(feature = "ssr")]
pub mod camt;
#[cfg(feature = "ssr")]
pub mod csv_mapping;
#[cfg(feature = "ssr")]
pub mod store;

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
    }
}

crate::text_enum! {
    /// Where a stored bank line stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum LineStatus {
        /// A credit nothing matched yet: waits for staff.
        Unmatched = "unmatched",
        /// Posted as a payment.
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
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
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
