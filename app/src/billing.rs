//! Whose documents these are: the customer's own billing details (a payer keeps them; staff see
//! them on the account's page) and the company profile with its logo (a manager keeps it). Every
//! invoice, statement, receipt and transfer instruction prints both.

pub mod pages;

use ledgerport::company::CompanyProfile;
use ledgerport::customers::billing::BillingDetails;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// Where the company profile page uploads the logo (a plain multipart form, served by the
/// server's `company_logo` routes), removes it, and shows it.
pub const COMPANY_LOGO: &str = "/admin/company/logo";
pub const COMPANY_LOGO_REMOVE: &str = "/admin/company/logo/remove";
pub const COMPANY_LOGO_IMAGE: &str = "/admin/company/logo.png";

/// The company profile page's data: the profile, and the logo's size in pixels when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyForm {
    pub profile: CompanyProfile,
    pub logo: Option<(u32, u32)>,
}

/// The billing details page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingPage {
    pub details: BillingDetails,
    /// Payers edit; viewers read.
    pub can_edit: bool,
}

#[server(endpoint = "billing-details")]
pub async fn account_billing_details() -> Result<BillingPage, AppError> {
    let (caller, customer_id) = crate::session::require_contact()?;
    let details = ledgerport::customers::billing::store::billing_details(
        &crate::context::app().db,
        customer_id,
    )
    .await?
    .ok_or_else(crate::errors::account_gone)?;
    Ok(BillingPage {
        details,
        can_edit: caller.can_pay(),
    })
}

#[server(endpoint = "save-billing-details")]
pub async fn save_billing_details(
    address: String,
    country: String,
    tax_id: String,
    standing_po: String,
) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let details = BillingDetails::parse(&address, &country, &tax_id)
        .and_then(|details| details.with_standing_po(&standing_po))
        .map_err(|refused| AppError::Invalid(crate::errors::said(&refused)))?;
    ledgerport::customers::billing::store::save_billing_details(
        &crate::context::app().db,
        &caller,
        customer_id,
        &details,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/account/billing?saved=1");
    Ok(())
}

/// An account's billing details, for staff (read only: the customer keeps them).
#[server(endpoint = "admin/billing-details")]
pub async fn customer_billing_details(customer_id: i64) -> Result<BillingDetails, AppError> {
    crate::session::require_staff()?;
    ledgerport::customers::billing::store::billing_details(&crate::context::app().db, customer_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))
}

#[server(endpoint = "admin/company")]
pub async fn company_profile_form() -> Result<CompanyForm, AppError> {
    crate::session::require_manager()?;
    let db = &crate::context::app().db;
    Ok(CompanyForm {
        profile: ledgerport::company::store::company_profile(db).await?,
        logo: ledgerport::company::store::company_logo(db)
            .await?
            .map(|logo| (logo.width(), logo.height())),
    })
}

#[server(endpoint = "admin/save-company")]
pub async fn save_company_profile(
    legal_name: String,
    address: String,
    tax_numbers: String,
    billing_contact: String,
) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    let profile = CompanyProfile::parse(&legal_name, &address, &tax_numbers, &billing_contact)
        .map_err(AppError::invalid)?;
    ledgerport::company::store::save_company_profile(
        &crate::context::app().db,
        &caller,
        &profile,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/admin/company?saved=1");
    Ok(())
}
