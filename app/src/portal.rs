//! What a customer contact reads: the account summary, invoices, statements and payments.
//! Every function takes the account from the session, never from the browser.

pub mod pages;

use chrono::NaiveDate;
use ledgerport::invoices::views::{InvoiceDetail, InvoicePage};
use ledgerport::payments::history::PaymentView;
use ledgerport::reports::{AccountSummary, ActivityLine, Statement};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;
use crate::i18n::{Locale, tr};

/// The summary page: the account's figures and its latest activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOverview {
    pub customer_name: String,
    pub summary: AccountSummary,
    /// Newest first.
    pub recent: Vec<ActivityLine>,
    /// The account's open promises to pay, newest first.
    pub promises: Vec<ledgerport::promises::PromiseView>,
}

/// How far back "recent activity" looks, and how many rows it shows.
pub const RECENT_DAYS: i64 = 90;
pub const RECENT_ROWS: usize = 8;
/// A statement covers at most this many days (ten years), which bounds the work per request.
pub const STATEMENT_MAX_DAYS: i64 = 3660;

#[cfg(feature = "ssr")]
fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A contact's summary page (the start page calls it for a signed-in contact).
#[cfg(feature = "ssr")]
pub async fn overview(caller: ledgerport::auth::Caller) -> Result<AccountOverview, AppError> {
    use ledgerport::reports::store::{account_summary, recent_activity};
    let (Some(customer_id), Some(customer_name)) = (caller.customer_id, caller.customer_name)
    else {
        return Err(crate::errors::account_gone());
    };
    let db = crate::context::app().db;
    let today = today();
    let summary = account_summary(&db, customer_id, today)
        .await?
        .ok_or_else(crate::errors::account_gone)?;
    let from = today - chrono::Duration::days(RECENT_DAYS);
    let recent = recent_activity(&db, customer_id, from, today, RECENT_ROWS).await?;
    // Most accounts have no open promise: then none is read.
    let promises = if summary.open_promises > 0 {
        ledgerport::promises::store::customer_promises(&db, customer_id, true).await?
    } else {
        Vec::new()
    };
    Ok(AccountOverview {
        customer_name,
        summary,
        recent,
        promises,
    })
}

#[server(endpoint = "portal/invoices")]
pub async fn invoices(
    filter: String,
    search: String,
    sort: String,
    descending: bool,
    page: u32,
) -> Result<InvoicePage, AppError> {
    use ledgerport::invoices::views::{InvoiceFilter, InvoiceQuery, InvoiceSort};
    let (_, customer_id) = crate::session::require_contact()?;
    if search.chars().count() > 100 || search.chars().any(char::is_control) {
        let locale = crate::i18n::request_locale();
        return Err(AppError::Invalid(tr!(locale, "error.search_too_long")));
    }
    let query = InvoiceQuery {
        filter: InvoiceFilter::parse(&filter),
        search,
        sort: InvoiceSort::parse(&sort),
        descending,
        page: page.max(1),
        ..InvoiceQuery::default()
    };
    ledgerport::invoices::reading::list_invoices(
        &crate::context::app().db,
        customer_id,
        &query,
        today(),
    )
    .await?
    .ok_or_else(crate::errors::account_gone)
}

#[server(endpoint = "portal/invoice")]
pub async fn invoice(id: i64) -> Result<InvoiceDetail, AppError> {
    let (_, customer_id) = crate::session::require_contact()?;
    ledgerport::invoices::reading::invoice_detail(
        &crate::context::app().db,
        customer_id,
        id,
        today(),
    )
    .await?
    .ok_or_else(|| {
        let locale = crate::i18n::request_locale();
        AppError::NotFound(tr!(locale, "error.no_such_invoice"))
    })
}

/// Checks a statement period: both dates, in order, at most ten years (the reasons in `locale`).
/// A period ending after `today` ends today: a statement, and the code printed on it, show a
/// balance the account has reached, never one of a day still to come.
pub fn statement_period_in(
    locale: Locale,
    from: &str,
    to: &str,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), String> {
    let from = from
        .trim()
        .parse::<NaiveDate>()
        .map_err(|_| tr!(locale, "error.start_not_a_date"))?;
    let to = to
        .trim()
        .parse::<NaiveDate>()
        .map_err(|_| tr!(locale, "error.end_not_a_date"))?;
    if from > to {
        return Err(tr!(locale, "error.period_order"));
    }
    if from > today {
        return Err(tr!(locale, "error.period_in_future"));
    }
    let to = to.min(today);
    if (to - from).num_days() > STATEMENT_MAX_DAYS {
        return Err(tr!(locale, "error.period_too_long"));
    }
    Ok((from, to))
}

#[server(endpoint = "portal/statement")]
pub async fn account_statement(from: String, to: String) -> Result<Statement, AppError> {
    let (_, customer_id) = crate::session::require_contact()?;
    let locale = crate::i18n::request_locale();
    let (from, to) = statement_period_in(locale, &from, &to, today()).map_err(AppError::Invalid)?;
    ledgerport::reports::store::statement(&crate::context::app().db, customer_id, from, to)
        .await?
        .ok_or_else(crate::errors::account_gone)
}

#[server(endpoint = "portal/payments")]
pub async fn payments() -> Result<Vec<PaymentView>, AppError> {
    let (_, customer_id) = crate::session::require_contact()?;
    Ok(ledgerport::payments::history::store::payments(
        &crate::context::app().db,
        customer_id,
        None,
        500,
    )
    .await?)
}

#[server(endpoint = "portal/payment")]
pub async fn payment(id: i64) -> Result<PaymentView, AppError> {
    let (_, customer_id) = crate::session::require_contact()?;
    let no_such_payment = || {
        let locale = crate::i18n::request_locale();
        AppError::NotFound(tr!(locale, "error.no_such_payment"))
    };
    if id <= 0 {
        return Err(no_such_payment());
    }
    ledgerport::payments::history::store::payments(
        &crate::context::app().db,
        customer_id,
        Some(id),
        1,
    )
    .await?
    .pop()
    .ok_or_else(no_such_payment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_period_must_be_two_ordered_dates_within_ten_years() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let period = |from, to| statement_period_in(Locale::En, from, to, today);
        assert!(period("2026-01-01", "2026-01-31").is_ok());
        assert!(period("2026-02-01", "2026-01-31").is_err());
        assert!(period("yesterday", "2026-01-31").is_err());
        assert!(period("1990-01-01", "2026-01-31").is_err());
    }

    #[test]
    fn a_statement_period_ends_today_at_the_latest_and_cannot_start_after_it() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let period = |from, to| statement_period_in(Locale::En, from, to, today);
        assert_eq!(
            period("2026-12-01", "2026-12-31"),
            Ok((NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), today))
        );
        assert_eq!(
            period("2026-12-08", "2026-12-31"),
            Err("A statement cannot start after today.".to_string())
        );
        assert_eq!(
            statement_period_in(Locale::De, "2027-01-01", "2027-01-31", today),
            Err("Ein Kontoauszug kann nicht nach heute beginnen.".to_string())
        );
    }
}
