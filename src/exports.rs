//! Journal exports for the general ledger. An export is a batch: every entry not in an earlier
//! batch, claimed once, so "everything since the last export" never exports an entry twice and
//! never skips one (an entry that commits while a batch is taken goes into the next). Each batch
//! downloads again in any format: every entry with its lines (CSV), an hledger/Ledger journal,
//! or a daily summary per account in the CSV layouts QuickBooks Online and Xero import.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

#[cfg(feature = "ssr")]
pub mod formats;
#[cfg(feature = "ssr")]
pub mod store;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ExportFormat {
        /// Every entry with its lines.
        Csv = "csv",
        /// A plain-text journal hledger and Ledger read.
        Hledger = "hledger",
        /// One journal per day and currency, a line per account: QuickBooks Online's journal import.
        QuickBooks = "quickbooks",
        /// The same summary in Xero's manual-journal import layout.
        Xero = "xero",
    }
}

impl ExportFormat {
    pub fn file_name(self, batch: i64) -> String {
        match self {
            ExportFormat::Csv => format!("journal-{batch}.csv"),
            ExportFormat::Hledger => format!("journal-{batch}.journal"),
            ExportFormat::QuickBooks => format!("journal-{batch}-quickbooks.csv"),
            ExportFormat::Xero => format!("journal-{batch}-xero.csv"),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Hledger => "text/plain; charset=utf-8",
            _ => "text/csv; charset=utf-8",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Csv => "Entries and lines (CSV)",
            ExportFormat::Hledger => "hledger / Ledger journal",
            ExportFormat::QuickBooks => "QuickBooks Online (daily summary)",
            ExportFormat::Xero => "Xero manual journals (daily summary)",
        }
    }
}

/// One export batch as the staff page and the API list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ExportBatch {
    pub id: i64,
    pub created_by: String,
    pub created_at: String,
    pub entries: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::MaybeDay"))]
    pub first_date: Option<NaiveDate>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::MaybeDay"))]
    pub last_date: Option<NaiveDate>,
}

/// One journal line of an exported entry, with what the formats print about its entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ExportLine {
    pub entry_id: i64,
    pub business_key: String,
    pub kind: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub effective_date: NaiveDate,
    /// The outside event's own date, when it arrived for a closed period.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::MaybeDay"))]
    pub occurred_on: Option<NaiveDate>,
    pub memo: String,
    pub customer: Option<String>,
    pub account_code: String,
    pub account_name: String,
    /// `asset`, `liability`, `revenue`, `contra_revenue` or `expense`.
    pub account_kind: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    /// Signed: debit positive.
    pub amount_minor: i64,
    pub invoice: Option<String>,
}

impl ExportLine {
    pub fn amount(&self) -> Money {
        Money::from_minor(self.amount_minor, self.currency)
    }
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading
/// apostrophe, so an exported memo or name can never execute where it is opened.
pub fn spreadsheet_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_a_spreadsheet_would_run_is_defused() {
        assert_eq!(spreadsheet_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(spreadsheet_cell("-5"), "'-5");
        assert_eq!(spreadsheet_cell("Acme"), "Acme");
    }
}
