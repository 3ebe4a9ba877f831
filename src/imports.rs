//! Importing invoices from a CSV file: one row per invoice line, rows of one invoice share its
//! number. An upload is kept, previewed (every row checked, nothing written) and committed all
//! at once or not at all. Invoice numbers make a re-import change nothing.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

/// The columns a file must have (in any order, any case); `po`, `issue_date`,
/// `discount_percent` and `tax_percent` may be left out.
pub const COLUMNS: [&str; 9] = [
    "customer",
    "invoice",
    "po",
    "issue_date",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_percent",
];
pub const REQUIRED_COLUMNS: [&str; 5] = [
    "customer",
    "invoice",
    "description",
    "quantity",
    "unit_price",
];
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_ROWS: usize = 10_000;

/// An upload in the list of recent imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub id: i64,
    pub file_name: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    pub committed_at: Option<String>,
    pub issued: i64,
}

/// A problem with one row of the file (row 1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: u64,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportOutcome {
    /// Will be (or was) issued by this import.
    New,
    /// Already issued with exactly this content: the import leaves it alone.
    AlreadyIssued,
}

/// One invoice found in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedInvoice {
    pub first_row: u64,
    pub customer_number: String,
    pub number: String,
    pub currency: String,
    pub lines: usize,
    pub total_minor: i64,
    pub outcome: ImportOutcome,
}

/// What an import does (previewed) or did (committed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub id: i64,
    pub file_name: String,
    pub uploaded_at: String,
    pub committed_at: Option<String>,
    pub rows: usize,
    pub invoices: Vec<ImportedInvoice>,
    pub errors: Vec<RowError>,
}

impl ImportPreview {
    pub fn new_invoices(&self) -> usize {
        self.invoices
            .iter()
            .filter(|i| i.outcome == ImportOutcome::New)
            .count()
    }

    pub fn can_commit(&self) -> bool {
        self.errors.is_empty() && self.committed_at.is_none() && !self.invoices.is_empty()
    }
}
