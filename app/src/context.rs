//! What the server hands to every server function and SSR render.

use ledgerport::auth::tokens::SigningKeys;
use ledgerport::db::Db;
use leptos::prelude::*;

/// Shared, cheaply cloneable server state, provided with `provide_context`.
#[derive(Clone, Debug)]
pub struct AppContext {
    pub db: Db,
    pub keys: SigningKeys,
    pub cookie: crate::cookie::SessionCookie,
    /// Links in messages point here (PUBLIC_BASE_URL).
    pub public_base_url: String,
    /// Development without SMTP: queued messages are also written to the log.
    pub log_messages: bool,
    /// Stripe Checkout or the offline sandbox.
    pub payments: std::sync::Arc<dyn ledgerport::checkout::PaymentProvider>,
    /// When payment reminders go out (REMINDER_SCHEDULE).
    pub reminder_schedule: ledgerport::reminders::Schedule,
    /// How long an approved change of a receiving bank account waits before customers see it
    /// (BANK_ACCOUNT_CHANGE_WAIT_HOURS).
    pub bank_account_change_wait: chrono::Duration,
    /// Passkey sign-in, where the portal's origin can carry it (PASSKEY_ORIGIN).
    pub passkeys: Option<std::sync::Arc<ledgerport::auth::passkeys::RelyingParty>>,
}

/// The server state; every server function and SSR render runs with it provided.
pub fn app() -> AppContext {
    expect_context::<AppContext>()
}

/// In development, shows a queued message (with its link) in the log, since no mail goes out.
pub async fn log_message_in_development(ctx: &AppContext, outbox_id: i64) {
    if !ctx.log_messages {
        return;
    }
    if let Ok(Some(message)) = ledgerport::outbox::store::message(&ctx.db, outbox_id).await {
        tracing::info!(
            "outbox #{} to {} ({}):\n{}",
            message.id,
            message.recipient,
            message.subject,
            message.body
        );
    }
}
