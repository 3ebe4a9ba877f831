//! The books as AR staff read them: the aging report, the journal, the trial balance, ledger
//! health and the audit log. Read-only; each call is one engine query.

pub mod pages;

use chrono::NaiveDate;
use ledgerport::journal::{AuditRow, JournalPage};
use ledgerport::payments::history::PaymentView;
use ledgerport::reports::{
    AgingReport, CollectionMetrics, DailyCollection, ExpectedWeek, HealthReport, TrialBalanceRow,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialBalanceView {
    pub as_of: NaiveDate,
    pub rows: Vec<TrialBalanceRow>,
}

/// Collections over a period: DSO and CEI per currency, cash per day, and what is expected over
/// the coming weeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionsView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub metrics: Vec<(ledgerport::money::Currency, CollectionMetrics)>,
    pub daily: Vec<DailyCollection>,
    pub expected: Vec<ExpectedWeek>,
}

/// Weeks of expected collections shown.
pub const EXPECTED_WEEKS: usize = 8;

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
pub async fn aging_page(
    as_of: String,
    #[server(default)] after: String,
) -> Result<AgingReport, AppError> {
    crate::session::require_staff()?;
    let as_of = date_or_today(&as_of)?;
    let after = ledgerport::paging::parse_position(&after, "report").map_err(AppError::Invalid)?;
    Ok(ledgerport::reports::store::aging_report(&crate::context::app().db, as_of, after).await?)
}

#[server(endpoint = "admin/journal")]
pub async fn journal(
    from: String,
    to: String,
    customer: Option<i64>,
    kind: String,
    account: String,
    #[server(default)] after: String,
) -> Result<JournalPage, AppError> {
    use ledgerport::journal::JournalFilter;
    use ledgerport::paging::parse_position;
    crate::session::require_staff()?;
    let filter = JournalFilter {
        from: optional_date(&from)?,
        to: optional_date(&to)?,
        customer_id: customer,
        kind: (!kind.trim().is_empty()).then(|| kind.trim().to_string()),
        account: (!account.trim().is_empty()).then(|| account.trim().to_string()),
        after: parse_position(&after, "journal").map_err(AppError::Invalid)?,
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

/// Every invariant re-derived, and the subledgers proven against their control accounts as of
/// `as_of` (empty: the books as they stand).
#[server(endpoint = "admin/ledger-health")]
pub async fn ledger_health(#[server(default)] as_of: String) -> Result<HealthReport, AppError> {
    crate::session::require_staff()?;
    let as_of = optional_date(&as_of)?;
    Ok(ledgerport::reports::store::ledger_health(&crate::context::app().db, as_of).await?)
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
    if actor.chars().count() > 200 || action.chars().count() > 200 {
        return Err(AppError::Invalid(
            "Search the audit log with at most 200 characters.".into(),
        ));
    }
    let filter = AuditFilter {
        actor,
        action,
        from: optional_date(&from)?,
        to: optional_date(&to)?,
        page,
    };
    Ok(ledgerport::journal::store::audit(&crate::context::app().db, &filter).await?)
}

/// DSO/CEI, collections per day and expected collections. The period defaults to the last 30
/// days up to today.
#[server(endpoint = "admin/collections")]
pub async fn collections(from: String, to: String) -> Result<CollectionsView, AppError> {
    crate::session::require_staff()?;
    let db = crate::context::app().db;
    let today = chrono::Utc::now().date_naive();
    let to = date_or_today(&to)?;
    let from = optional_date(&from)?.unwrap_or(to - chrono::Duration::days(29));
    if from > to || (to - from).num_days() > 3 * 366 {
        return Err(AppError::Invalid(
            "Choose a period that starts before it ends and spans at most three years.".into(),
        ));
    }
    let mut metrics = Vec::new();
    for currency in ledgerport::customers::store::billed_currencies(&db).await? {
        metrics.push((
            currency,
            ledgerport::reports::store::collection_metrics(&db, currency, from, to).await?,
        ));
    }
    Ok(CollectionsView {
        from,
        to,
        metrics,
        daily: ledgerport::reports::store::collections_per_day(&db, from, to).await?,
        expected: ledgerport::reports::store::expected_collections(&db, today, EXPECTED_WEEKS)
            .await?,
    })
}

/// Payments received, newest first, filtered; 50 a page.
#[server(endpoint = "admin/payments")]
pub async fn staff_payments(
    customer: Option<i64>,
    method: String,
    from: String,
    to: String,
    page: u32,
) -> Result<Vec<PaymentView>, AppError> {
    use ledgerport::payments::history::PaymentFilter;
    crate::session::require_staff()?;
    let method = method.trim();
    if !method.is_empty()
        && method
            .parse::<ledgerport::payments::PaymentMethod>()
            .is_err()
    {
        return Err(AppError::Invalid(format!(
            "{method:?} is not a payment method."
        )));
    }
    let filter = PaymentFilter {
        customer_id: customer,
        method: (!method.is_empty()).then(|| method.to_string()),
        from: optional_date(&from)?,
        to: optional_date(&to)?,
        limit: 50,
        offset: 50 * (i64::from(page.max(1)) - 1),
        ..PaymentFilter::default()
    };
    Ok(ledgerport::payments::history::store::find(&crate::context::app().db, &filter).await?)
}

/// A payment's page: the payment, and whether the viewer may refund it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentPageData {
    pub detail: ledgerport::payments::history::PaymentDetail,
    /// Managers refund; clerks see the refunds but not the form.
    pub may_refund: bool,
}

/// One payment: where it went, its journal entries and its refunds.
#[server(endpoint = "admin/payment")]
pub async fn payment_detail(payment_id: i64) -> Result<PaymentPageData, AppError> {
    let caller = crate::session::require_staff()?;
    let detail =
        ledgerport::payments::history::store::detail(&crate::context::app().db, payment_id)
            .await?
            .ok_or_else(|| AppError::NotFound("There is no such payment.".into()))?;
    Ok(PaymentPageData {
        detail,
        may_refund: caller.role == ledgerport::users::Role::Manager,
    })
}

/// Refunds part or all of a card payment through the payment provider (managers). The ledger
/// posts the refund when the provider's signed event arrives.
#[server(endpoint = "admin/refund-payment")]
pub async fn refund_payment(
    payment_id: i64,
    amount: String,
    reason: String,
) -> Result<(), AppError> {
    use ledgerport::refunds::store::{Requester, refund};
    let caller = crate::session::require_manager()?;
    let app = crate::context::app();
    let by = Requester {
        user_id: caller.user_id,
        email: &caller.email,
    };
    let refund_id = refund(
        &app.db,
        app.payments.as_ref(),
        payment_id,
        &amount,
        &reason,
        by,
    )
    .await?;
    leptos_axum::redirect(&format!(
        "/admin/payments/{payment_id}?refunded={refund_id}"
    ));
    Ok(())
}

/// Sends a refund the provider did not confirm again, under the same idempotency key.
#[server(endpoint = "admin/resend-refund")]
pub async fn resend_refund(payment_id: i64, refund_id: String) -> Result<(), AppError> {
    crate::session::require_manager()?;
    let app = crate::context::app();
    ledgerport::refunds::store::resend(&app.db, app.payments.as_ref(), payment_id, &refund_id)
        .await?;
    leptos_axum::redirect(&format!(
        "/admin/payments/{payment_id}?refunded={refund_id}"
    ));
    Ok(())
}

/// Provider payments against ledger receipts over a period (default: the last 30 days).
#[server(endpoint = "admin/reconciliation")]
pub async fn reconciliation(
    from: String,
    to: String,
) -> Result<Vec<ledgerport::reconciliation::ReconciliationRow>, AppError> {
    crate::session::require_staff()?;
    let to = date_or_today(&to)?;
    let from = optional_date(&from)?.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(AppError::Invalid(
            "The period ends before it starts.".into(),
        ));
    }
    Ok(ledgerport::reconciliation::store::reconcile(&crate::context::app().db, from, to).await?)
}

/// Closing the books: where they stand, and the months the forms offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodsPageData {
    pub periods: ledgerport::periods::Periods,
    /// (YYYY-MM, "November 2026"), latest first.
    pub closable: Vec<(String, String)>,
    pub reopenable: Vec<(String, String)>,
    pub may_change: bool,
    /// The journal export batches, newest first.
    pub exports: Vec<ledgerport::exports::ExportBatch>,
}

#[server(endpoint = "admin/periods")]
pub async fn periods_view() -> Result<PeriodsPageData, AppError> {
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let periods = ledgerport::periods::store::periods(&db, 50).await?;
    let offered = |months: Vec<ledgerport::periods::Month>| {
        months.into_iter().map(|m| (m.key(), m.label())).collect()
    };
    Ok(PeriodsPageData {
        closable: offered(periods.closable(chrono::Utc::now().date_naive())),
        reopenable: offered(periods.reopenable()),
        periods,
        may_change: caller.role == ledgerport::users::Role::Manager,
        exports: ledgerport::exports::store::batches(&db, 20).await?,
    })
}

/// Exports every journal entry not exported yet as a new batch (staff); nothing new, no batch.
#[server(endpoint = "admin/export-journal")]
pub async fn export_journal() -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    let batch =
        ledgerport::exports::store::export_new_entries(&crate::context::app().db, caller.actor())
            .await?;
    leptos_axum::redirect(&match batch {
        Some(batch) => format!("/admin/periods?exported={}", batch.id),
        None => "/admin/periods?exported=none".to_string(),
    });
    Ok(())
}

/// Closes a month and every month before it (managers).
#[server(endpoint = "admin/close-period")]
pub async fn close_period(month: String) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    let month = ledgerport::periods::Month::parse(&month).map_err(AppError::invalid)?;
    let through = ledgerport::periods::store::close_month(
        &crate::context::app().db,
        month,
        chrono::Utc::now().date_naive(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/periods?closed={through}"));
    Ok(())
}

/// Reopens a month and every month after it, with the reason (managers).
#[server(endpoint = "admin/reopen-period")]
pub async fn reopen_period(month: String, reason: String) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    let month = ledgerport::periods::Month::parse(&month).map_err(AppError::invalid)?;
    let through = ledgerport::periods::store::reopen_month(
        &crate::context::app().db,
        month,
        &reason,
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/periods?reopened={through}"));
    Ok(())
}
