//! Payment plans: the customer's plan page (accept or decline an offer, ask for a plan, see the
//! instalments) and the staff's side (offer one, approve or decline a request, withdraw a plan,
//! and the manager's limits). Each server function authorizes and calls one engine use case in
//! `ledgerport::plans::store`.

pub mod pages;

use ledgerport::plans::PlanOffer;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// The plan page's data: the account's plans, what a plan could cover, and whether the viewer
/// may agree to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPageData {
    pub offer: PlanOffer,
    pub can_agree: bool,
}

#[cfg(feature = "ssr")]
fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[cfg(feature = "ssr")]
fn draft(
    invoices: Vec<i64>,
    instalments: String,
    first_due: String,
    interval: String,
    schedule: String,
    note: String,
    locale: ledgerport::locale::Locale,
) -> ledgerport::plans::PlanDraft {
    ledgerport::plans::PlanDraft {
        invoice_ids: invoices,
        instalments,
        first_due,
        interval,
        schedule,
        note,
        locale,
    }
}

/// Proposes a plan as `caller`, from the request's address: the one call behind the payer's
/// request and the staff's offer.
#[cfg(feature = "ssr")]
async fn propose(
    customer_id: i64,
    draft: &ledgerport::plans::PlanDraft,
    caller: &ledgerport::auth::Caller,
    by_staff: bool,
) -> Result<i64, ledgerport::plans::store::PlanStoreError> {
    let ip = crate::request::client_ip();
    ledgerport::plans::store::propose(
        &crate::context::app().db,
        customer_id,
        draft,
        today(),
        ledgerport::plans::store::PlanActor {
            user_id: caller.user_id,
            email: &caller.email,
            ip: &ip,
        },
        by_staff,
    )
    .await
}

#[server(endpoint = "plans/page")]
pub async fn plan_page() -> Result<PlanPageData, AppError> {
    let (caller, customer_id) = crate::session::require_contact()?;
    let offer = ledgerport::plans::store::offer(&crate::context::app().db, customer_id, today())
        .await?
        .ok_or_else(crate::errors::account_gone)?;
    Ok(PlanPageData {
        offer,
        can_agree: caller.can_pay(),
    })
}

/// A payer asks for a plan over the chosen invoices; asking records their agreement to it. The
/// amounts of an own `schedule` are written in `lang` (`de`: `1234,50`), the language of the
/// page that sent it; the reader's own when blank.
#[server(endpoint = "plans/request")]
pub async fn request_plan(
    #[server(default)] invoices: Vec<i64>,
    #[server(default)] instalments: String,
    #[server(default)] first_due: String,
    #[server(default)] interval: String,
    #[server(default)] schedule: String,
    #[server(default)] note: String,
    #[server(default)] lang: String,
) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let locale = crate::i18n::Locale::parse(&lang).unwrap_or_else(crate::i18n::request_locale);
    let plan = draft(
        invoices,
        instalments,
        first_due,
        interval,
        schedule,
        note,
        locale,
    );
    let id = propose(customer_id, &plan, &caller, false).await?;
    leptos_axum::redirect(&format!("/plan?requested={id}"));
    Ok(())
}

#[server(endpoint = "plans/accept")]
pub async fn accept_plan(id: i64) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let ip = crate::request::client_ip();
    ledgerport::plans::store::accept(
        &crate::context::app().db,
        customer_id,
        id,
        today(),
        ledgerport::plans::store::PlanActor {
            user_id: caller.user_id,
            email: &caller.email,
            ip: &ip,
        },
    )
    .await?;
    leptos_axum::redirect(&format!("/plan?accepted={id}"));
    Ok(())
}

#[server(endpoint = "plans/decline")]
pub async fn decline_plan(id: i64) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    ledgerport::plans::store::decline(
        &crate::context::app().db,
        customer_id,
        id,
        today(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/plan?declined={id}"));
    Ok(())
}

/// Staff: the account's plans, what a plan could cover now, and the limits.
#[server(endpoint = "admin/customer-plans")]
pub async fn customer_plans(customer_id: i64) -> Result<PlanOffer, AppError> {
    crate::session::require_staff()?;
    ledgerport::plans::store::offer(&crate::context::app().db, customer_id, today())
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))
}

/// Staff offer a plan; a payer of the account accepts or declines it in the portal.
#[server(endpoint = "admin/offer-plan")]
pub async fn offer_plan(
    customer_id: i64,
    #[server(default)] invoices: Vec<i64>,
    #[server(default)] instalments: String,
    #[server(default)] first_due: String,
    #[server(default)] interval: String,
    #[server(default)] schedule: String,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    use ledgerport::plans::store::PlanStoreError;
    let caller = crate::session::require_staff()?;
    let plan = draft(
        invoices,
        instalments,
        first_due,
        interval,
        schedule,
        note,
        ledgerport::locale::Locale::En,
    );
    let id = propose(customer_id, &plan, &caller, true)
        .await
        .map_err(|e| match e {
            PlanStoreError::UnknownCustomer => {
                AppError::NotFound("There is no such customer.".into())
            }
            other => other.into(),
        })?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?plan={id}"));
    Ok(())
}

/// Staff approve a payer's request.
#[server(endpoint = "admin/approve-plan")]
pub async fn approve_plan(customer_id: i64, id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    ledgerport::plans::store::approve(
        &crate::context::app().db,
        customer_id,
        id,
        today(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?plan={id}"));
    Ok(())
}

/// Staff withdraw an offer or a running plan, or decline a payer's request.
#[server(endpoint = "admin/withdraw-plan")]
pub async fn withdraw_plan(customer_id: i64, id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    ledgerport::plans::store::withdraw(
        &crate::context::app().db,
        customer_id,
        id,
        today(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?plan={id}"));
    Ok(())
}

/// A manager sets the limits every new plan must keep.
#[server(endpoint = "admin/plan-limits")]
pub async fn set_plan_limits(
    customer_id: i64,
    max_instalments: String,
    max_days: String,
    grace_days: String,
) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    let limits = ledgerport::plans::PlanLimits::parse(&max_instalments, &max_days, &grace_days)
        .map_err(|errors| AppError::Invalid(ledgerport::invoices::draft::describe(&errors)))?;
    ledgerport::plans::store::set_limits(&crate::context::app().db, &limits, caller.actor())
        .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?limits=1"));
    Ok(())
}
