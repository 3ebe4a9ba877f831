//! Signing in and out, invitations, password resets and "my profile".

pub mod profile;
pub mod sign_in;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// What the pages need to know about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub is_staff: bool,
    pub is_manager: bool,
    pub can_pay: bool,
    pub customer_name: Option<String>,
}

#[server(endpoint = "me")]
pub async fn who_am_i() -> Result<Option<Me>, AppError> {
    let Some(caller) = crate::session::caller() else {
        return Ok(None);
    };
    Ok(Some(Me {
        display_name: caller.display_name.clone(),
        email: caller.email.clone(),
        role: caller.role.as_str().to_string(),
        is_staff: caller.is_staff(),
        is_manager: caller.role == ledgerport::users::Role::Manager,
        can_pay: caller.can_pay(),
        customer_name: caller.customer_name,
    }))
}

#[server(endpoint = "sign-in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    // No address or password is this long; refused before anything is looked up or recorded.
    if email.len() > 320 || password.len() > 1024 {
        return Err(AppError::Invalid(
            "That email address or password is too long.".into(),
        ));
    }
    let ctx = crate::context::app();
    let caller =
        ledgerport::auth::store::sign_in(&ctx.db, &email, &password, &crate::request::client_ip())
            .await?;
    crate::session::start(&caller)
}

#[server(endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    let ctx = crate::context::app();
    if let Some(caller) = crate::session::caller() {
        ledgerport::auth::store::sign_out(&ctx.db, &caller, &crate::request::client_ip()).await?;
    }
    crate::request::add_response_header(http::header::SET_COOKIE, &ctx.cookie.clear());
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// Sets the password from an invitation link and signs the new contact in.
#[server(endpoint = "accept-invitation")]
pub async fn accept_invitation(token: String, password: String) -> Result<(), AppError> {
    use ledgerport::auth::access::{LinkPurpose, redeem_link};
    let ctx = crate::context::app();
    let caller = redeem_link(
        &ctx.db,
        LinkPurpose::Invitation,
        &token,
        &password,
        &crate::request::client_ip(),
    )
    .await?;
    crate::session::start(&caller)
}

/// Queues a reset link if the account exists; the answer is the same either way.
#[server(endpoint = "request-password-reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use ledgerport::auth::access::{LinkBase, request_password_reset};
    let ctx = crate::context::app();
    let queued = request_password_reset(
        &ctx.db,
        &email,
        &crate::request::client_ip(),
        &LinkBase(&ctx.public_base_url),
    )
    .await?;
    if let Some(outbox_id) = queued {
        crate::context::log_message_in_development(&ctx, outbox_id).await;
    }
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

#[server(endpoint = "reset-password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use ledgerport::auth::access::{LinkPurpose, redeem_link};
    let ctx = crate::context::app();
    let caller = redeem_link(
        &ctx.db,
        LinkPurpose::PasswordReset,
        &token,
        &password,
        &crate::request::client_ip(),
    )
    .await?;
    crate::session::start(&caller)
}

#[server(endpoint = "change-password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    let caller = crate::session::require_caller()?;
    let ctx = crate::context::app();
    ledgerport::auth::access::change_password(
        &ctx.db,
        &caller,
        &current,
        &new,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/profile?changed=1");
    Ok(())
}
