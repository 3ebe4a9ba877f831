//! What the request being served says about itself, and headers for its response (server side).

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
