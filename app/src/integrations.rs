//! Getting invoices in: CSV imports (preview, then commit all or nothing) and the API keys ERPs
//! use. The upload itself is a plain multipart post (`server/src/imports.rs`).

pub mod pages;

use ledgerport::api_keys::ApiKeyRow;
use ledgerport::imports::ImportPreview;
use leptos::prelude::*;

use crate::errors::AppError;

/// The latest uploads, for the import page.
#[server(endpoint = "admin/imports")]
pub async fn recent_imports() -> Result<Vec<ledgerport::imports::ImportSummary>, AppError> {
    crate::session::require_staff()?;
    Ok(ledgerport::imports::store::recent(&crate::context::app().db, 20).await?)
}

/// What committing the import would do (or, once committed, did). Nothing is written.
#[server(endpoint = "admin/import-preview")]
pub async fn preview_import(id: i64) -> Result<ImportPreview, AppError> {
    crate::session::require_staff()?;
    Ok(ledgerport::imports::store::preview(&crate::context::app().db, id).await?)
}

/// Issues every invoice of the import in one transaction; refused while any row has an error.
#[server(endpoint = "admin/commit-import")]
pub async fn commit_import(id: i64) -> Result<usize, AppError> {
    let caller = crate::session::require_staff()?;
    let done = ledgerport::imports::store::commit(
        &crate::context::app().db,
        id,
        caller.user_id,
        &caller.email,
    )
    .await?;
    leptos_axum::redirect(&format!(
        "/admin/imports/{id}?committed={}",
        done.new_invoices()
    ));
    Ok(done.new_invoices())
}

#[server(endpoint = "admin/api-keys")]
pub async fn api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    crate::session::require_manager()?;
    Ok(ledgerport::api_keys::store::list(&crate::context::app().db).await?)
}

/// Creates a key and returns it: the only time anyone sees it.
#[server(endpoint = "admin/create-api-key")]
pub async fn create_api_key(label: String) -> Result<String, AppError> {
    let caller = crate::session::require_manager()?;
    let (_, key) = ledgerport::api_keys::store::create(
        &crate::context::app().db,
        &label,
        caller.user_id,
        &caller.email,
    )
    .await?;
    Ok(key)
}

#[server(endpoint = "admin/revoke-api-key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    ledgerport::api_keys::store::revoke(
        &crate::context::app().db,
        id,
        caller.user_id,
        &caller.email,
    )
    .await?;
    // No redirect: the island's list follows, and a plain post goes back to the page anyway.
    // Loading the page again would take away a new key shown only once.
    Ok(())
}

/// Runs the reminder job now, as of today (the background job does the same every hour).
#[server(endpoint = "admin/run-reminders")]
pub async fn run_reminders() -> Result<ledgerport::reminders::ReminderRun, AppError> {
    crate::session::require_manager()?;
    let app = crate::context::app();
    Ok(ledgerport::reminders::store::run(
        &app.db,
        &app.reminder_schedule,
        chrono::Utc::now().date_naive(),
        &app.public_base_url,
    )
    .await?)
}
