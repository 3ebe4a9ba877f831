//! The books as AR staff read them: the aging report, the journal, the trial balance, ledger
//! health and the audit log. Read-only; each call is one engine query.

use chrono::NaiveDate;
use ledgerport::journal::{AuditRow, JournalPage};
use ledgerport::reports::{CustomerAging, HealthReport, TrialBalanceRow};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgingReportView {
    pub as_of: NaiveDate,
    pub customers: Vec<CustomerAging>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialBalanceView {
    pub as_of: NaiveDate,
    pub rows: Vec<TrialBalanceRow>,
}

/// `YYYY-MM-DD`, or today when empty.
#[cfg(feature = "ssr")]
fn date_or_today(text: &str) -> Result<NaiveDate, AppError> {
    if text.trim().is_empty() {
        return Ok(chrono::Utc::now().date_naive());
    }
    text.trim()
        .parse()
        .map_err(|_| AppError::Invalid(format!("{text:?} is not a date like 2026-11-23.")))
}

#[cfg(feature = "ssr")]
fn optional_date(text: &str) -> Result<Option<NaiveDate>, AppError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        date_or_today(text).map(Some)
    }
}

#[server(endpoint = "admin/aging")]
pub async fn aging_report(as_of: String) -> Result<AgingReportView, AppError> {
    crate::session::require_staff()?;
    let as_of = date_or_today(&as_of)?;
    let customers =
        ledgerport::reports::store::aging_by_customer(&crate::context::app().db, as_of).await?;
    Ok(AgingReportView { as_of, customers })
}

#[server(endpoint = "admin/journal")]
pub async fn journal(
    from: String,
    to: String,
    customer: Option<i64>,
    kind: String,
    account: String,
    page: u32,
) -> Result<JournalPage, AppError> {
    use ledgerport::journal::JournalFilter;
    crate::session::require_staff()?;
    let filter = JournalFilter {
        from: optional_date(&from)?,
        to: optional_date(&to)?,
        customer_id: customer,
        kind: (!kind.trim().is_empty()).then(|| kind.trim().to_string()),
        account: (!account.trim().is_empty()).then(|| account.trim().to_string()),
        page,
    };
    Ok(ledgerport::journal::store::entries(&crate::context::app().db, &filter).await?)
}

#[server(endpoint = "admin/trial-balance")]
pub async fn trial_balance(as_of: String) -> Result<TrialBalanceView, AppError> {
    crate::session::require_staff()?;
    let as_of = date_or_today(&as_of)?;
    let rows = ledgerport::reports::store::trial_balance(&crate::context::app().db, as_of).await?;
    Ok(TrialBalanceView { as_of, rows })
}

#[server(endpoint = "admin/ledger-health")]
pub async fn ledger_health() -> Result<HealthReport, AppError> {
    crate::session::require_staff()?;
    Ok(ledgerport::reports::store::ledger_health(&crate::context::app().db).await?)
}

/// Who did what: managers only (it shows every user's actions and addresses).
#[server(endpoint = "admin/audit")]
pub async fn audit_log(
    actor: String,
    action: String,
    from: String,
    to: String,
    page: u32,
) -> Result<Vec<AuditRow>, AppError> {
    use ledgerport::journal::AuditFilter;
    crate::session::require_manager()?;
    let filter = AuditFilter {
        actor,
        action,
        from: optional_date(&from)?,
        to: optional_date(&to)?,
        page,
    };
    Ok(ledgerport::journal::store::audit(&crate::context::app().db, &filter).await?)
}
