//! Promises to pay: the payer's promise page (make one, see and withdraw the account's promises)
//! and the staff's side (an account's promises, and recording one the customer gave by phone).
//! Each server function authorizes and calls one engine use case in `ledgerport::promises::store`.

pub mod pages;

use ledgerport::promises::PromiseOffer;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// The promise page's data: what can be promised and whether the viewer may promise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromisePageData {
    pub offer: PromiseOffer,
    pub can_promise: bool,
}

#[cfg(feature = "ssr")]
fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Records a promise as `caller` made it, from the request's address: the one call behind the
/// payer's form and the staff's.
#[cfg(feature = "ssr")]
async fn record(
    customer_id: i64,
    draft: &ledgerport::promises::PromiseDraft,
    caller: &ledgerport::auth::Caller,
    by_staff: bool,
) -> Result<i64, ledgerport::promises::store::PromiseStoreError> {
    let ip = crate::request::client_ip();
    ledgerport::promises::store::make_promise(
        &crate::context::app().db,
        customer_id,
        draft,
        today(),
        ledgerport::promises::store::MadeBy {
            user_id: caller.user_id,
            email: &caller.email,
            ip: &ip,
            by_staff,
        },
    )
    .await
}

#[server(endpoint = "promises/offer")]
pub async fn promise_page() -> Result<PromisePageData, AppError> {
    let (caller, customer_id) = crate::session::require_contact()?;
    let offer = ledgerport::promises::store::offer(&crate::context::app().db, customer_id, today())
        .await?
        .ok_or_else(crate::errors::account_gone)?;
    Ok(PromisePageData {
        offer,
        can_promise: caller.can_pay(),
    })
}

/// Promises to pay the chosen invoices by `pay_by`: `amount` blank means everything due on them;
/// it is written in `lang` (`de`: `1234,50`), the language of the page that sent it; the
/// reader's own when blank.
#[server(endpoint = "promises/make")]
pub async fn make_promise(
    #[server(default)] invoices: Vec<i64>,
    pay_by: String,
    #[server(default)] amount: String,
    #[server(default)] note: String,
    #[server(default)] lang: String,
) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let locale = crate::i18n::Locale::parse(&lang).unwrap_or_else(crate::i18n::request_locale);
    let draft = ledgerport::promises::PromiseDraft {
        invoice_ids: invoices,
        pay_by,
        amount,
        note,
        locale,
    };
    let id = record(customer_id, &draft, &caller, false).await?;
    leptos_axum::redirect(&format!("/promise?made={id}"));
    Ok(())
}

#[server(endpoint = "promises/withdraw")]
pub async fn withdraw_promise(id: i64) -> Result<(), AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    ledgerport::promises::store::withdraw_promise(
        &crate::context::app().db,
        customer_id,
        id,
        today(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/promise?withdrawn={id}"));
    Ok(())
}

/// Staff: what can be promised on an account, and its latest promises of any status.
#[server(endpoint = "admin/customer-promises")]
pub async fn customer_promises(customer_id: i64) -> Result<PromiseOffer, AppError> {
    crate::session::require_staff()?;
    ledgerport::promises::store::offer(&crate::context::app().db, customer_id, today())
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))
}

/// Staff record a promise the customer gave them by phone or letter; the account's contacts get
/// it in writing.
#[server(endpoint = "admin/record-promise")]
pub async fn record_promise(
    customer_id: i64,
    #[server(default)] invoices: Vec<i64>,
    pay_by: String,
    #[server(default)] amount: String,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    use ledgerport::promises::store::PromiseStoreError;
    let caller = crate::session::require_staff()?;
    let draft = ledgerport::promises::PromiseDraft {
        invoice_ids: invoices,
        pay_by,
        amount,
        note,
        locale: ledgerport::locale::Locale::En,
    };
    let id = record(customer_id, &draft, &caller, true)
        .await
        .map_err(|e| match e {
            PromiseStoreError::UnknownCustomer => {
                AppError::NotFound("There is no such customer.".into())
            }
            other => other.into(),
        })?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?promised={id}"));
    Ok(())
}
