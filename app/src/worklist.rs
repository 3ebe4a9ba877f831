//! The collections worklist for staff: every account with something to chase, worst first, with
//! its next action, last contact, notes and collector. Each server function authorizes and calls
//! one use case in `ledgerport::collections::store`.

pub mod pages;

use ledgerport::collections::Worklist;
use leptos::prelude::*;

use crate::errors::AppError;

/// One page of the worklist. `collector`: empty for everyone's accounts, `me`, `unassigned`, or
/// a member of staff's id.
#[server(endpoint = "admin/worklist")]
pub async fn worklist_page(collector: String, page: i64) -> Result<Worklist, AppError> {
    use ledgerport::collections::CollectorFilter;
    let caller = crate::session::require_staff()?;
    let collector = match collector.as_str() {
        "" => CollectorFilter::Everyone,
        "me" => CollectorFilter::User(caller.user_id),
        "unassigned" => CollectorFilter::Unassigned,
        id => CollectorFilter::User(
            id.parse()
                .map_err(|_| AppError::Invalid(format!("{id:?} is not a collector.")))?,
        ),
    };
    if page < 1 {
        return Err(AppError::Invalid("Pages are numbered from 1.".into()));
    }
    Ok(ledgerport::collections::store::worklist(
        &crate::context::app().db,
        collector,
        page,
        chrono::Utc::now().date_naive(),
    )
    .await?)
}

/// Notes what happened with an account (a call, a letter, what was agreed).
#[server(endpoint = "admin/collection-note")]
pub async fn add_collection_note(customer_id: i64, body: String) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    ledgerport::collections::store::add_note(
        &crate::context::app().db,
        customer_id,
        &body,
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/worklist?noted={customer_id}"));
    Ok(())
}

/// Gives an account to a member of staff to chase; an empty `collector` takes it back.
#[server(endpoint = "admin/assign-collector")]
pub async fn assign_collector(customer_id: i64, collector: String) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    let collector = match collector.as_str() {
        "" => None,
        id => Some(
            id.parse()
                .map_err(|_| AppError::Invalid(format!("{id:?} is not a collector.")))?,
        ),
    };
    ledgerport::collections::store::assign_collector(
        &crate::context::app().db,
        customer_id,
        collector,
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/worklist?assigned={customer_id}"));
    Ok(())
}
