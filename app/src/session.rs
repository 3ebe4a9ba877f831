//! The session cookie and the caller of the current request (server side).

use ledgerport::auth::{Caller, TOKEN_SECONDS};
use ledgerport::users::Role;
use leptos::prelude::*;

use crate::errors::AppError;

/// The caller resolved by the server's session middleware, stored in the request extensions.
#[derive(Clone, Debug, Default)]
pub struct CurrentCaller(pub Option<Caller>);

/// Cookie settings. Over https the cookie is `Secure` and `__Host-` prefixed (no Domain, Path=/).
#[derive(Clone, Debug)]
pub struct SessionCookie {
    pub secure: bool,
}

impl SessionCookie {
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-ledgerport"
        } else {
            "ledgerport_session"
        }
    }

    pub fn set(&self, token: &str) -> String {
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TOKEN_SECONDS}{}",
            self.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    pub fn clear(&self) -> String {
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            self.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The token from a `Cookie` header, if ours is there.
    pub fn read<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name())
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    }
}

/// The caller of the request being served, as resolved by the session middleware.
pub fn caller() -> Option<Caller> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentCaller>().cloned())
        .and_then(|current| current.0)
}

/// The signed-in caller, or 401.
pub fn require_caller() -> Result<Caller, AppError> {
    caller().ok_or(AppError::SignInRequired)
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
        Err(AppError::Forbidden(
            "Your access is read-only; ask a payer on your account, or us, to change it.".into(),
        ))
    }
}

/// AR staff (clerk or manager).
pub fn require_staff() -> Result<Caller, AppError> {
    let caller = require_caller()?;
    if caller.is_staff() {
        Ok(caller)
    } else {
        Err(AppError::Forbidden("Only AR staff can do that.".into()))
    }
}

/// An AR manager.
pub fn require_manager() -> Result<Caller, AppError> {
    let caller = require_staff()?;
    if caller.role == Role::Manager {
        Ok(caller)
    } else {
        Err(AppError::Forbidden(
            "Only an AR manager can do that.".into(),
        ))
    }
}

/// Issues the session cookie for a caller who just signed in and sends them to their start page.
pub fn start(caller: &Caller) -> Result<(), AppError> {
    let ctx = crate::context::app();
    let now = chrono::Utc::now().timestamp();
    let token = ctx
        .keys
        .issue(caller.user_id, &caller.session_id, now)
        .map_err(crate::errors::internal)?;
    add_response_header(http::header::SET_COOKIE, &ctx.cookie.set(&token));
    leptos_axum::redirect(if caller.is_staff() { "/admin" } else { "/" });
    Ok(())
}

/// True when the request is a plain HTML form post (no JavaScript): its answer is a redirect.
pub fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.headers.get(http::header::ACCEPT).cloned())
        .and_then(|accept| accept.to_str().map(|a| a.contains("text/html")).ok())
        .unwrap_or(false)
}

/// The client's address, inserted into the request extensions by the server.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The client's address, for rate limits and the audit log.
pub fn client_ip() -> String {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .extensions
                .get::<ClientAddress>()
                .map(|a| a.0.to_string())
        })
        .unwrap_or_default()
}

/// Adds a header to the response of the current server function or page.
pub fn add_response_header(name: http::HeaderName, value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        response.append_header(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_hardened_and_host_prefixed_over_https() {
        let secure = SessionCookie { secure: true };
        let header = secure.set("tok");
        assert!(header.starts_with("__Host-ledgerport=tok; Path=/; HttpOnly; SameSite=Lax"));
        assert!(header.ends_with("; Secure"));
        let local = SessionCookie { secure: false };
        assert!(!local.set("tok").contains("Secure"));
        assert_eq!(local.read("a=1; ledgerport_session=tok; b=2"), Some("tok"));
        assert_eq!(local.read("ledgerport_session="), None);
    }
}
