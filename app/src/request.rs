//! What the request being served says about itself, and headers for its response (server side).

use ledgerport::auth::Caller;
use ledgerport::locale::Locale;
use leptos::prelude::*;

/// True when the request is a plain HTML form post (no JavaScript): its answer is a redirect.
pub fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.headers.get(http::header::ACCEPT).cloned())
        .and_then(|accept| accept.to_str().map(|a| a.contains("text/html")).ok())
        .unwrap_or(false)
}

/// The languages the browser asks for (`Accept-Language`).
pub fn accept_language() -> Option<String> {
    use_context::<http::request::Parts>()?
        .headers
        .get(http::header::ACCEPT_LANGUAGE)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// The caller resolved by the server's session middleware, stored in the request extensions.
#[derive(Clone, Debug, Default)]
pub struct CurrentCaller(pub Option<Caller>);

/// The caller of the request being served, as resolved by the session middleware.
pub fn caller() -> Option<Caller> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentCaller>().cloned())
        .and_then(|current| current.0)
}

tokio::task_local! {
    /// The language of the request being answered, set by the server's session middleware for
    /// every request: how code that has no page or server function around it (a plain HTTP
    /// route turning an engine error into a refusal) knows it.
    static ANSWERED_IN: Locale;
}

/// Answers a request (`answer`) in `locale`: what [`locale`] gives while it runs.
pub async fn answer_in<F: std::future::Future>(locale: Locale, answer: F) -> F::Output {
    ANSWERED_IN.scope(locale, answer).await
}

/// The language this request is answered in: a contact's or visitor's own, English for staff
/// ([`Caller::request_locale`]).
pub fn locale() -> Locale {
    match use_context::<http::request::Parts>() {
        Some(_) => Caller::request_locale(caller().as_ref(), accept_language().as_deref()),
        // A plain HTTP route: the middleware's answer for this request.
        None => ANSWERED_IN.try_with(|locale| *locale).unwrap_or_default(),
    }
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
