//! Signing in and out, and "who am I" for the pages.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the pages need to know about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub is_staff: bool,
    pub customer_name: Option<String>,
}

#[server(endpoint = "me")]
pub async fn who_am_i() -> Result<Option<Me>, ServerFnError> {
    let Some(caller) = crate::session::caller() else {
        return Ok(None);
    };
    let ctx = expect_context::<crate::context::AppContext>();
    let customer_name = match caller.customer_id {
        Some(id) => ledgerport::customers::store::customer_name(&ctx.db, id)
            .await
            .map_err(|e| internal("who_am_i", e))?,
        None => None,
    };
    Ok(Some(Me {
        display_name: caller.display_name.clone(),
        email: caller.email.clone(),
        role: caller.role.as_str().to_string(),
        is_staff: caller.is_staff(),
        customer_name,
    }))
}

/// Logs the cause and gives the browser a message without internals.
#[cfg(feature = "ssr")]
pub(crate) fn internal(what: &str, error: impl std::fmt::Display) -> ServerFnError {
    tracing::error!("{what}: {error}");
    ServerFnError::new("Something went wrong on our side; please try again.")
}

#[server(endpoint = "sign-in")]
pub async fn sign_in(email: String, password: String) -> Result<(), ServerFnError> {
    use ledgerport::auth::store::AuthError;
    let ctx = expect_context::<crate::context::AppContext>();
    let ip = crate::session::client_ip();
    match ledgerport::auth::store::sign_in(&ctx.db, &email, &password, &ip).await {
        Ok(caller) => {
            let now = chrono_now();
            let token = ctx
                .keys
                .issue(caller.user_id, &caller.session_id, now)
                .map_err(|e| internal("sign_in token", e))?;
            crate::session::add_response_header(http::header::SET_COOKIE, &ctx.cookie.set(&token));
            leptos_axum::redirect(if caller.is_staff() { "/profile" } else { "/" });
            Ok(())
        }
        Err(AuthError::SignIn(refused)) => {
            Err(ServerFnError::new(capitalise(&refused.to_string())))
        }
        Err(AuthError::Db(e)) => Err(internal("sign_in", e)),
    }
}

#[server(endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let ctx = expect_context::<crate::context::AppContext>();
    if let Some(caller) = crate::session::caller() {
        ledgerport::auth::store::sign_out(&ctx.db, &caller, &crate::session::client_ip())
            .await
            .map_err(|e| internal("sign_out", e))?;
    }
    crate::session::add_response_header(http::header::SET_COOKIE, &ctx.cookie.clear());
    leptos_axum::redirect("/sign-in");
    Ok(())
}

#[cfg(feature = "ssr")]
fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(feature = "ssr")]
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
