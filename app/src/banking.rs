//! Staff: bank statements imported (upload, recent statements), Stripe's payouts, one
//! statement's lines with how each credit was matched and its reconciliation, and the
//! cash-application queue.

pub mod pages;

use ledgerport::money::Currency;
use ledgerport::payouts::{Payout, ProviderBalance};
use ledgerport::statements::{BankReconciliation, QueuedLine, StatementSummary, StoredLine};
use leptos::prelude::*;

use crate::errors::AppError;

/// The upload form's choices, the latest statements, the provider's latest payouts and what
/// it still holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BankPageData {
    pub mappings: Vec<String>,
    pub statements: Vec<StatementSummary>,
    pub payouts: Vec<Payout>,
    pub at_provider: Vec<ProviderBalance>,
}

#[server(endpoint = "admin/bank-statements")]
pub async fn bank_overview() -> Result<BankPageData, AppError> {
    crate::session::require_staff()?;
    let db = crate::context::app().db;
    Ok(BankPageData {
        mappings: ledgerport::statements::store::csv_mapping_names(&db).await?,
        statements: ledgerport::statements::store::recent_statements(&db, 50).await?,
        payouts: ledgerport::payouts::store::recent_payouts(&db, 20).await?,
        at_provider: ledgerport::payouts::store::provider_balances(&db).await?,
    })
}

/// One statement: its lines with where each went, and its reconciliation (when the bank gave a
/// closing balance).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatementPageData {
    pub summary: StatementSummary,
    pub lines: Vec<StoredLine>,
    pub reconciliation: Option<BankReconciliation>,
}

#[server(endpoint = "admin/bank-statement")]
pub async fn bank_statement(id: i64) -> Result<StatementPageData, AppError> {
    crate::session::require_staff()?;
    let db = crate::context::app().db;
    let (summary, lines) = ledgerport::statements::store::statement(&db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such bank statement.".into()))?;
    Ok(StatementPageData {
        summary,
        lines,
        reconciliation: ledgerport::statements::reconcile::reconcile_statement(&db, id).await?,
    })
}

/// The cash-application queue: waiting credit lines with their suggestions, and the write-off
/// tolerances.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CashQueueData {
    /// Credit lines waiting in all (the page shows the oldest).
    pub waiting: i64,
    pub lines: Vec<QueuedLine>,
    pub tolerances: Vec<(Currency, i64)>,
    /// Managers set the tolerances.
    pub may_set_tolerance: bool,
}

#[server(endpoint = "admin/cash-queue")]
pub async fn cash_queue() -> Result<CashQueueData, AppError> {
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let (waiting, lines) = ledgerport::statements::suggest::cash_queue(&db, 25).await?;
    let tolerances = ledgerport::statements::apply::write_off_tolerances(&db)
        .await?
        .into_iter()
        .map(|m| (m.currency(), m.to_minor()))
        .collect();
    Ok(CashQueueData {
        waiting,
        lines,
        tolerances,
        may_set_tolerance: caller.role == ledgerport::users::Role::Manager,
    })
}

/// Applies a waiting bank line as staff wrote it: one row per line, `CUSTOMER INVOICE AMOUNT`
/// or `CUSTOMER credit AMOUNT`, adding up to the line; `short_pay` decides what rows leave
/// unpaid on their invoices.
#[server(endpoint = "admin/apply-bank-line")]
pub async fn apply_bank_line(
    line_id: i64,
    rows: String,
    #[server(default)] short_pay: String,
) -> Result<(), AppError> {
    use ledgerport::statements::apply::{LineApplication, apply_line};
    use ledgerport::statements::{ApplicationRow, ShortPay};
    let caller = crate::session::require_staff()?;
    if rows.trim().is_empty() {
        return Err(AppError::invalid(ledgerport::statements::RowsError::Empty));
    }
    let db = crate::context::app().db;
    let currency = ledgerport::statements::store::line_currency(&db, line_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such bank line.".into()))?;
    let rows = ApplicationRow::parse_all(&rows, currency).map_err(AppError::invalid)?;
    let short_pay = if short_pay.trim().is_empty() {
        ShortPay::LeaveOpen
    } else {
        ShortPay::parse(short_pay.trim()).ok_or_else(|| {
            AppError::Invalid(format!(
                "{short_pay:?} is not a choice for a short payment."
            ))
        })?
    };
    let application = LineApplication {
        line_id,
        rows: &rows,
        short_pay,
    };
    apply_line(&db, &application, caller.actor()).await?;
    leptos_axum::redirect(&format!("/admin/cash-application?applied={line_id}"));
    Ok(())
}

/// Keeps a whole waiting line as unapplied credit of one customer (by customer number).
#[server(endpoint = "admin/keep-bank-line-as-credit")]
pub async fn keep_bank_line_as_credit(line_id: i64, customer: String) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    if customer.trim().is_empty() {
        return Err(AppError::Invalid(
            "Give the number of the customer whose credit it is.".into(),
        ));
    }
    let db = crate::context::app().db;
    ledgerport::statements::apply::keep_as_credit(&db, line_id, &customer, caller.actor()).await?;
    leptos_axum::redirect(&format!("/admin/cash-application?applied={line_id}"));
    Ok(())
}

/// Sets the largest short payment staff may write off in a currency (managers only).
#[server(endpoint = "admin/write-off-tolerance")]
pub async fn set_write_off_tolerance(currency: String, amount: String) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    let currency: Currency = currency.trim().parse().map_err(AppError::invalid)?;
    let amount =
        ledgerport::money::Money::parse(amount.trim(), currency).map_err(AppError::invalid)?;
    ledgerport::statements::apply::set_write_off_tolerance(
        &crate::context::app().db,
        amount,
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect("/admin/cash-application?tolerance=1");
    Ok(())
}
