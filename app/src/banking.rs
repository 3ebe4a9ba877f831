//! Staff: bank statements imported (upload, recent statements) and one statement's lines with
//! how each credit was matched.

pub mod pages;

use ledgerport::statements::{StatementSummary, StoredLine};
use leptos::prelude::*;

use crate::errors::AppError;

/// The upload form's choices and the latest statements.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BankPageData {
    pub mappings: Vec<String>,
    pub statements: Vec<StatementSummary>,
}

#[server(endpoint = "admin/bank-statements")]
pub async fn bank_overview() -> Result<BankPageData, AppError> {
    crate::session::require_staff()?;
    let db = crate::context::app().db;
    Ok(BankPageData {
        mappings: ledgerport::statements::store::csv_mapping_names(&db).await?,
        statements: ledgerport::statements::store::recent_statements(&db, 50).await?,
    })
}

#[server(endpoint = "admin/bank-statement")]
pub async fn bank_statement(id: i64) -> Result<(StatementSummary, Vec<StoredLine>), AppError> {
    crate::session::require_staff()?;
    ledgerport::statements::store::statement(&crate::context::app().db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such bank statement.".into()))
}
