//! Saved payment methods and autopay: the payer's page (save a method on the provider's page,
//! remove one, turn autopay on, change or off), the staff's read of an account's, and "charge
//! autopay now". Each server function authorizes and calls one engine use case in
//! `ledgerport::saved_methods::store` or `ledgerport::autopay::store`.

pub mod pages;

use ledgerport::autopay::{AutopayRun, AutopaySettings};
use ledgerport::money::Currency;
use ledgerport::saved_methods::SavedMethod;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;
#[cfg(feature = "ssr")]
use crate::i18n::tr;

/// An account's saved methods and autopay, and whether the viewer may change them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutopayPageData {
    pub currency: Currency,
    pub methods: Vec<SavedMethod>,
    pub autopay: Option<AutopaySettings>,
    pub can_change: bool,
}

#[cfg(feature = "ssr")]
async fn page_data(customer_id: i64, can_change: bool) -> Result<AutopayPageData, AppError> {
    let db = &crate::context::app().db;
    let currency = ledgerport::customers::store::customer_currency(db, customer_id)
        .await?
        .ok_or_else(|| {
            let locale = crate::i18n::request_locale();
            AppError::NotFound(tr!(locale, "error.no_such_account"))
        })?;
    Ok(AutopayPageData {
        currency,
        methods: ledgerport::saved_methods::store::methods(db, customer_id).await?,
        autopay: ledgerport::autopay::store::settings(db, customer_id).await?,
        can_change,
    })
}

#[server(endpoint = "autopay/page")]
pub async fn autopay_page() -> Result<AutopayPageData, AppError> {
    let (caller, customer_id) = crate::session::require_contact()?;
    page_data(customer_id, caller.can_pay()).await
}

/// Records the payer's consent and returns the provider's page where the method is saved. The
/// browser is redirected there.
#[server(endpoint = "autopay/save-method")]
pub async fn save_method(#[server(default)] consent: String) -> Result<String, AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let ctx = crate::context::app();
    let ip = crate::request::client_ip();
    let url = ledgerport::saved_methods::store::begin_setup(
        &ctx.db,
        ctx.payments.as_ref(),
        customer_id,
        ledgerport::saved_methods::store::SetupBy {
            user_id: caller.user_id,
            email: &caller.email,
            ip: &ip,
        },
        consent == "agreed",
        &format!("{}/autopay", ctx.public_base_url),
    )
    .await?;
    leptos_axum::redirect(&url);
    Ok(url)
}

#[server(endpoint = "autopay/remove-method")]
pub async fn remove_method(id: i64) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let ctx = crate::context::app();
    ledgerport::saved_methods::store::remove(
        &ctx.db,
        ctx.payments.as_ref(),
        customer_id,
        id,
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect("/autopay?removed=1");
    Ok(())
}

/// Turns autopay on with these settings (or changes them): `cap` blank means no cap; it is
/// written in `lang` (`de`: `1234,50`), the language of the page that sent it; the reader's own
/// when blank.
#[server(endpoint = "autopay/turn-on")]
pub async fn turn_on_autopay(
    method_id: i64,
    charge_on: String,
    #[server(default)] cap: String,
    #[server(default)] lang: String,
) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let locale = crate::i18n::Locale::parse(&lang).unwrap_or_else(crate::i18n::request_locale);
    let cap = if cap.trim().is_empty() {
        cap
    } else {
        locale.read_decimal(&cap).ok_or_else(|| {
            AppError::Invalid(tr!(
                locale,
                "amount.unreadable",
                text = format!("{:?}", cap.trim())
            ))
        })?
    };
    let draft = ledgerport::autopay::AutopayDraft {
        method_id,
        charge_on,
        cap,
    };
    ledgerport::autopay::store::turn_on(
        &crate::context::app().db,
        customer_id,
        &draft,
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect("/autopay?on=1");
    Ok(())
}

#[server(endpoint = "autopay/turn-off")]
pub async fn turn_off_autopay() -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    ledgerport::autopay::store::turn_off(&crate::context::app().db, customer_id, caller.actor())
        .await?;
    leptos_axum::redirect("/autopay?off=1");
    Ok(())
}

/// Staff: an account's saved methods and autopay (read only: only the payer sets them).
#[server(endpoint = "admin/customer-autopay")]
pub async fn customer_autopay(customer_id: i64) -> Result<AutopayPageData, AppError> {
    crate::session::require_staff()?;
    page_data(customer_id, false).await
}

/// Managers: run today's autopay charges now (the job runs them hourly).
#[server(endpoint = "admin/run-autopay")]
pub async fn run_autopay() -> Result<AutopayRun, AppError> {
    crate::session::require_manager()?;
    let ctx = crate::context::app();
    Ok(ledgerport::autopay::store::run(
        &ctx.db,
        ctx.payments.as_ref(),
        chrono::Utc::now().date_naive(),
        &ctx.public_base_url,
    )
    .await?)
}
