//! The caller of the current request and what each role may do (server side).

use ledgerport::auth::Caller;
use ledgerport::users::Role;
use leptos::prelude::*;

use crate::errors::AppError;
use crate::request::add_response_header;

/// The signed-in caller, or 401.
pub fn require_caller() -> Result<Caller, AppError> {
    crate::request::caller().ok_or(AppError::SignInRequired)
}

/// A customer contact and the one account they may see. Staff work customers from the admin view.
pub fn require_contact() -> Result<(Caller, i64), AppError> {
    let caller = require_caller()?;
    match caller.customer_id {
        Some(customer_id) => Ok((caller, customer_id)),
        None => Err(AppError::Forbidden(
            "This page is for customer contacts; AR staff use the admin view.".into(),
        )),
    }
}

/// A contact allowed to pay and dispute (role payer).
pub fn require_payer() -> Result<(Caller, i64), AppError> {
    let (caller, customer_id) = require_contact()?;
    if caller.can_pay() {
        Ok((caller, customer_id))
    } else {
        let locale = crate::i18n::request_locale();
        Err(AppError::Forbidden(crate::i18n::tr!(
            locale,
            "error.read_only"
        )))
    }
}

/// AR staff (clerk or manager; a manager with a second factor in this session).
pub fn require_staff() -> Result<Caller, AppError> {
    let caller = require_caller()?;
    check_staff(&caller)?;
    Ok(caller)
}

/// The staff rule for a caller already resolved (plain HTTP routes use it too).
pub fn check_staff(caller: &Caller) -> Result<(), AppError> {
    if caller.needs_second_factor() {
        return Err(AppError::Forbidden(
            "AR managers sign in with two factors: set up two-factor sign-in on your profile first."
                .into(),
        ));
    }
    if caller.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden("Only AR staff can do that.".into()))
    }
}

/// An AR manager.
pub fn require_manager() -> Result<Caller, AppError> {
    let caller = require_caller()?;
    check_manager(&caller)?;
    Ok(caller)
}

/// [`require_manager`]'s rule for a caller already in hand (a plain HTTP route).
pub fn check_manager(caller: &Caller) -> Result<(), AppError> {
    check_staff(caller)?;
    if caller.role == Role::Manager {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only an AR manager can do that.".into(),
        ))
    }
}

/// After a first factor: a session, or the page asking for the code (the challenge kept in a
/// short-lived cookie until then).
pub async fn signed_in(signed: ledgerport::auth::store::SignedIn) -> Result<(), AppError> {
    use ledgerport::auth::store::SignedIn;
    match signed {
        SignedIn::Session(caller) => start(&caller).await,
        SignedIn::CodeNeeded { challenge } => {
            let ctx = crate::context::app();
            add_response_header(
                http::header::SET_COOKIE,
                &ctx.cookie.set_challenge(&challenge),
            );
            leptos_axum::redirect("/sign-in/code");
            Ok(())
        }
    }
}

/// The challenge of the sign-in waiting for a code, from its cookie.
pub fn pending_challenge() -> Option<String> {
    let cookie = &crate::context::app().cookie;
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| cookie.read_challenge(value).map(str::to_string))
    })
}

/// Issues the session cookie for a caller who just signed in and sends them to their start page
/// (a manager without a second factor to setting one up). A contact who never chose a language
/// keeps the one their browser asks for, for the PDFs and emails too (staff read English).
pub async fn start(caller: &Caller) -> Result<(), AppError> {
    let ctx = crate::context::app();
    if caller.locale.is_none() && !caller.role.is_staff() {
        ledgerport::users::store::adopt_browser_locale(
            &ctx.db,
            caller.user_id,
            ledgerport::locale::Locale::of_reader(
                None,
                crate::request::accept_language().as_deref(),
            ),
        )
        .await?;
    }
    let now = chrono::Utc::now().timestamp();
    let token = ctx
        .keys
        .issue(caller.user_id, &caller.session_id, now)
        .map_err(crate::errors::internal)?;
    add_response_header(http::header::SET_COOKIE, &ctx.cookie.set(&token));
    leptos_axum::redirect(if caller.needs_second_factor() {
        "/profile/two-factor"
    } else if caller.is_staff() {
        "/admin"
    } else {
        "/"
    });
    Ok(())
}
