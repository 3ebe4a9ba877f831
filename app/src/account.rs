//! Signing in and out, invitations, password resets and "my profile".

pub mod passkeys;
pub mod profile;
pub mod sign_in;
pub mod two_factor;

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
    /// An AR manager who has not proved a second factor in this session.
    pub needs_second_factor: bool,
}

#[server(endpoint = "me")]
pub async fn who_am_i() -> Result<Option<Me>, AppError> {
    let Some(caller) = crate::request::caller() else {
        return Ok(None);
    };
    Ok(Some(Me {
        display_name: caller.display_name.clone(),
        email: caller.email.clone(),
        role: caller.role.as_str().to_string(),
        is_staff: caller.is_staff(),
        is_manager: caller.role == ledgerport::users::Role::Manager,
        can_pay: caller.can_pay(),
        needs_second_factor: caller.needs_second_factor(),
        customer_name: caller.customer_name,
    }))
}

#[server(endpoint = "sign-in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    // No address or password is this long; refused before anything is looked up or recorded.
    if email.len() > 320 || password.len() > 1024 {
        let locale = crate::i18n::request_locale();
        return Err(AppError::Invalid(crate::i18n::tr!(
            locale,
            "error.sign_in_too_long"
        )));
    }
    let ctx = crate::context::app();
    let signed_in =
        ledgerport::auth::store::sign_in(&ctx.db, &email, &password, &crate::request::client_ip())
            .await?;
    crate::session::signed_in(signed_in).await
}

/// The second step of a sign-in with two factors: the code from the authenticator app, or a
/// recovery code, against the challenge the password step left in a cookie.
#[server(endpoint = "sign-in-code")]
pub async fn sign_in_code(code: String) -> Result<(), AppError> {
    use ledgerport::auth::two_factor::{TwoFactorError, complete_sign_in};
    if code.len() > 64 {
        let locale = crate::i18n::request_locale();
        return Err(AppError::Invalid(crate::i18n::tr!(
            locale,
            "error.code_too_long"
        )));
    }
    let ctx = crate::context::app();
    let expired = || AppError::Invalid(crate::errors::said(&TwoFactorError::SignInExpired));
    let challenge = crate::session::pending_challenge().ok_or_else(expired)?;
    let outcome = complete_sign_in(&ctx.db, &challenge, &code, &crate::request::client_ip()).await;
    if matches!(outcome, Ok(_) | Err(TwoFactorError::SignInExpired)) {
        crate::request::add_response_header(
            http::header::SET_COOKIE,
            &ctx.cookie.clear_challenge(),
        );
    }
    crate::session::start(&outcome?).await
}

/// Emails a one-time sign-in link if the account exists; the answer is the same either way.
#[server(endpoint = "request-sign-in-link")]
pub async fn request_sign_in_link(email: String) -> Result<(), AppError> {
    email_link(
        ledgerport::auth::access::EmailedLink::SignIn,
        &email,
        "/sign-in/email?sent=1",
    )
    .await
}

/// Queues an emailed link and goes on to the page that says it is on its way.
#[cfg(feature = "ssr")]
async fn email_link(
    link: ledgerport::auth::access::EmailedLink,
    email: &str,
    sent: &str,
) -> Result<(), AppError> {
    use ledgerport::auth::access::{LinkBase, request_link};
    let ctx = crate::context::app();
    let queued = request_link(
        &ctx.db,
        link,
        email,
        &crate::request::client_ip(),
        &LinkBase(&ctx.public_base_url),
    )
    .await?;
    if let Some(outbox_id) = queued {
        crate::context::log_message_in_development(&ctx, outbox_id).await;
    }
    leptos_axum::redirect(sent);
    Ok(())
}

/// Signs in with an emailed link (a button press: mail scanners that open links sign no one in).
#[server(endpoint = "sign-in-link")]
pub async fn sign_in_with_link(token: String) -> Result<(), AppError> {
    let ctx = crate::context::app();
    let signed_in = ledgerport::auth::access::redeem_sign_in_link(
        &ctx.db,
        &token,
        &crate::request::client_ip(),
    )
    .await?;
    crate::session::signed_in(signed_in).await
}

#[server(endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    let ctx = crate::context::app();
    if let Some(caller) = crate::request::caller() {
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
    let signed_in = redeem_link(
        &ctx.db,
        LinkPurpose::Invitation,
        &token,
        &password,
        &crate::request::client_ip(),
    )
    .await?;
    crate::session::signed_in(signed_in).await
}

/// Queues a reset link if the account exists; the answer is the same either way.
#[server(endpoint = "request-password-reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    email_link(
        ledgerport::auth::access::EmailedLink::PasswordReset,
        &email,
        "/forgot-password?sent=1",
    )
    .await
}

#[server(endpoint = "reset-password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use ledgerport::auth::access::{LinkPurpose, redeem_link};
    let ctx = crate::context::app();
    let signed_in = redeem_link(
        &ctx.db,
        LinkPurpose::PasswordReset,
        &token,
        &password,
        &crate::request::client_ip(),
    )
    .await?;
    crate::session::signed_in(signed_in).await
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

/// One optional kind of message on the profile: its label and whether the person receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChoiceView {
    /// The form field: the outbox kind (`reminder`, `receipt`, `dispute`).
    pub field: String,
    pub label: String,
    pub wanted: bool,
}

#[server(endpoint = "email-choices")]
pub async fn email_choice_views() -> Result<Vec<EmailChoiceView>, AppError> {
    let (caller, _) = crate::session::require_contact()?;
    let choices =
        ledgerport::users::store::email_choices(&crate::context::app().db, caller.user_id).await?;
    Ok(choices
        .into_iter()
        .map(|(choice, wanted)| EmailChoiceView {
            field: choice.as_str().to_string(),
            label: email_choice_label(choice),
            wanted,
        })
        .collect())
}

/// How the profile names an optional kind of message, in the page's language.
#[cfg(feature = "ssr")]
fn email_choice_label(choice: ledgerport::users::EmailChoice) -> String {
    use crate::i18n::tr;
    use ledgerport::users::EmailChoice;
    let locale = crate::i18n::request_locale();
    match choice {
        EmailChoice::Reminders => tr!(locale, "profile.emails.reminders"),
        EmailChoice::Receipts => tr!(locale, "profile.emails.receipts"),
        EmailChoice::Disputes => tr!(locale, "profile.emails.disputes"),
    }
}

/// A contact chooses the language of their pages, PDFs and emails. The answer is a redirect
/// that the browser follows as a full page load (the form is a plain one), so the whole page
/// is rendered again in the new language.
#[server(endpoint = "save-language")]
pub async fn save_language(language: String) -> Result<(), AppError> {
    let (caller, _) = crate::session::require_contact()?;
    let locale = crate::i18n::Locale::parse(&language)
        .filter(|locale| locale.code() == language)
        .ok_or_else(|| {
            let reader = crate::i18n::request_locale();
            AppError::Invalid(crate::i18n::tr!(reader, "error.choose_language"))
        })?;
    ledgerport::users::store::save_locale(
        &crate::context::app().db,
        &caller,
        locale,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/profile?language=1");
    Ok(())
}

/// Saves the profile's email choices: a ticked box sends its field (`on`), an unticked one
/// nothing.
#[server(endpoint = "save-email-choices")]
pub async fn save_email_choices(
    #[server(default)] reminder: Option<String>,
    #[server(default)] receipt: Option<String>,
    #[server(default)] dispute: Option<String>,
) -> Result<(), AppError> {
    use ledgerport::users::EmailChoice;
    // Customer contacts only: staff hear of every dispute and case they work on.
    let (caller, _) = crate::session::require_contact()?;
    let wanted: Vec<EmailChoice> = [
        (EmailChoice::Reminders, reminder),
        (EmailChoice::Receipts, receipt),
        (EmailChoice::Disputes, dispute),
    ]
    .into_iter()
    .filter_map(|(choice, ticked)| ticked.map(|_| choice))
    .collect();
    ledgerport::users::store::save_email_choices(
        &crate::context::app().db,
        &caller,
        &wanted,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/profile?emails=1");
    Ok(())
}

/// A user's two-factor sign-in as their profile shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorView {
    /// When it was turned on (a date), if it is on.
    pub on_since: Option<String>,
    /// Enrolment started: what the authenticator app needs, waiting for its first code.
    pub pending: Option<PendingEnrolment>,
    pub recovery_codes_left: i64,
    /// AR managers must keep it on.
    pub required: bool,
    /// This session proved a second factor (new recovery codes need that).
    pub proved: bool,
    /// The user has a passkey this session has not used: setting up an app waits for it.
    pub passkey_first: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrolment {
    /// The secret in groups of four, to type into an app by hand.
    pub secret: String,
    /// The `otpauth://` address as an SVG QR code (drawn on the server; no QR code in the WASM).
    pub qr_svg: String,
}

#[server(endpoint = "two-factor")]
pub async fn two_factor() -> Result<TwoFactorView, AppError> {
    let caller = crate::session::require_caller()?;
    let state = ledgerport::auth::two_factor::state(&crate::context::app().db, &caller).await?;
    let pending = match state.pending {
        Some(enrolment) => Some(PendingEnrolment {
            secret: ledgerport::printed::in_groups_of_four(&enrolment.secret, " "),
            qr_svg: qr_svg(&enrolment.otpauth_url)?,
        }),
        None => None,
    };
    Ok(TwoFactorView {
        on_since: state.on_since.map(|at| at.chars().take(10).collect()),
        pending,
        recovery_codes_left: state.recovery_codes_left,
        required: caller.role == ledgerport::users::Role::Manager,
        proved: caller.second_factor,
        passkey_first: state.passkey_first,
    })
}

/// A QR code as an SVG element, sized by the page's CSS.
#[cfg(feature = "ssr")]
fn qr_svg(text: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(crate::errors::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Starts enrolment: a new secret, shown on the page until the app's first code confirms it.
#[server(endpoint = "two-factor-begin")]
pub async fn begin_two_factor() -> Result<(), AppError> {
    let caller = crate::session::require_caller()?;
    ledgerport::auth::two_factor::begin(&crate::context::app().db, &caller).await?;
    Ok(())
}

/// Finishes enrolment with the app's first code; answers the recovery codes (shown once).
#[server(endpoint = "two-factor-confirm")]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    let caller = crate::session::require_caller()?;
    let codes = ledgerport::auth::two_factor::confirm(
        &crate::context::app().db,
        &caller,
        &code,
        &crate::request::client_ip(),
    )
    .await?;
    Ok(codes)
}

#[server(endpoint = "two-factor-off")]
pub async fn turn_off_two_factor(code: String) -> Result<(), AppError> {
    let caller = crate::session::require_caller()?;
    ledgerport::auth::two_factor::turn_off(
        &crate::context::app().db,
        &caller,
        &code,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/profile/two-factor?off=1");
    Ok(())
}
