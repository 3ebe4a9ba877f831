//! Middleware every request passes: who is calling (session cookie), same-origin proof for
//! anything that changes state, no NUL characters in text, and the hardening headers.

use std::net::SocketAddr;

use app::request::ClientAddress;
use app::request::CurrentCaller;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ledgerport::auth::store::resolve_session;
use ledgerport::auth::{Caller, RENEW_AFTER_SECONDS};

use crate::state::ServerState;

/// Resolves the session cookie into the request's `CurrentCaller`, and renews the token of an
/// active session once it is older than a minute (sliding idle timeout).
pub async fn session(
    State(state): State<ServerState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(addr)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        request.extensions_mut().insert(ClientAddress(addr.ip()));
    }
    let cookie = &state.app.cookie;
    let claims = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| cookie.read(v))
        .and_then(|token| state.app.keys.verify(token).ok());
    let mut caller = None;
    if let Some(claims) = &claims
        && let Ok(user_id) = claims.sub.parse::<i64>()
    {
        match resolve_session(&state.app.db, &claims.sid, user_id).await {
            Ok(found) => caller = found,
            Err(e) => tracing::error!("session lookup failed: {e}"),
        }
    }
    let locale = Caller::request_locale(caller.as_ref(), accept_language(request.headers()));
    request
        .extensions_mut()
        .insert(CurrentCaller(caller.clone()));
    let mut response = app::request::answer_in(locale, next.run(request)).await;

    let response_sets_cookie = response.headers().contains_key(header::SET_COOKIE);
    match (&caller, &claims) {
        (Some(caller), Some(claims)) if !response_sets_cookie => {
            let now = chrono::Utc::now().timestamp();
            if now - claims.iat >= RENEW_AFTER_SECONDS
                && let Ok(token) = state
                    .app
                    .keys
                    .issue(caller.user_id, &caller.session_id, now)
                && let Ok(value) = HeaderValue::from_str(&cookie.set(&token))
            {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        // A cookie that no longer names an open session is removed.
        (None, _) if !response_sets_cookie && claims.is_some() => {
            if let Ok(value) = HeaderValue::from_str(&cookie.clear()) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        _ => {}
    }
    response
}

/// Paths called by other servers with their own authentication (signatures, API keys); they
/// carry no cookie, so there is no ambient authority to forge.
const CROSS_SITE_ALLOWED: [&str; 2] = ["/webhooks/", "/api/v1/"];

/// Refuses a state-changing request unless the browser says it comes from our own origin.
pub async fn same_origin(
    State(state): State<ServerState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let exempt = CROSS_SITE_ALLOWED
        .iter()
        .any(|p| request.uri().path().starts_with(p));
    if safe || exempt || is_same_origin(request.headers(), &state.public_origin) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "cross-site request refused: this action must come from the portal itself",
        )
            .into_response()
    }
}

/// The largest form or JSON body read here, as axum's own extractors allow.
const TEXT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// How a refusal written before any handler runs looks: the portal's plain text, or (chosen
/// by the router) the ERP API's JSON.
pub type Refusal = fn(StatusCode, &'static str) -> Response;

/// The portal's refusals before a handler: a status and a sentence.
pub fn plain_refusal(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

/// Refuses text carrying a NUL character (`%00` in a query or form, `\u0000` in JSON) with a
/// 400: no field has a use for it, and PostgreSQL cannot store it in text. Files (multipart)
/// may hold any bytes and are checked by their own handlers.
pub async fn refuse_nul_characters(request: Request, next: Next, refuse: Refusal) -> Response {
    let refused = || {
        refuse(
            StatusCode::BAD_REQUEST,
            "text may not contain NUL characters (\\0)",
        )
    };
    let query = request.uri().query().unwrap_or_default();
    if query.contains("%00") || query.contains('\0') || request.uri().path().contains("%00") {
        return refused();
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let marker = if content_type.starts_with("application/x-www-form-urlencoded") {
        "%00"
    } else if content_type.starts_with("application/json") {
        "\\u0000"
    } else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, TEXT_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request is larger than 2 MB",
            );
        }
    };
    if bytes.contains(&0) || bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
        return refused();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn is_same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (header("sec-fetch-site"), header("origin")) {
        (Some("same-origin"), _) => true,
        (Some(_), _) => false,
        (None, Some(origin)) => origin == public_origin,
        (None, None) => false,
    }
}

/// Hardening headers on every response. Pages set their own CSP (with the script nonce);
/// everything else gets one that allows nothing to run.
pub async fn security_headers(
    State(state): State<ServerState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if state.https {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Whoever is signed in, taken from the session for plain HTTP routes.
pub struct SignedIn(pub ledgerport::auth::Caller);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedIn {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentCaller>()
            .and_then(|current| current.0.clone())
            .map(SignedIn)
            .ok_or((StatusCode::UNAUTHORIZED, "Please sign in first."))
    }
}

/// The languages a browser asks for (`Accept-Language`).
fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
}

/// The client's address from the request extensions, for rate limits and the audit log of a plain
/// HTTP route (server functions use `app::request::client_ip`).
pub fn client_ip(address: Option<axum::Extension<ClientAddress>>) -> String {
    address
        .map(|axum::Extension(ClientAddress(ip))| ip.to_string())
        .unwrap_or_default()
}

/// A customer contact and their account, taken from the session for plain HTTP routes (the
/// server functions use `app::session::require_contact`, which applies the same rule).
pub struct ContactSession {
    pub customer_id: i64,
    /// The language their documents are printed in: theirs, else their browser's.
    pub locale: ledgerport::locale::Locale,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ContactSession {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(caller) =
            <SignedIn as axum::extract::FromRequestParts<S>>::from_request_parts(parts, state)
                .await?;
        let customer_id = caller.customer_id.ok_or((
            StatusCode::FORBIDDEN,
            "Documents are for customer contacts; AR staff use the admin view.",
        ))?;
        Ok(ContactSession {
            customer_id,
            locale: app::request::locale(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn only_same_origin_browsers_may_change_state() {
        let origin = "http://127.0.0.1:3000";
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            origin
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            origin
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            origin
        ));
        assert!(is_same_origin(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            origin
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example")]),
            origin
        ));
        assert!(!is_same_origin(&headers(&[]), origin));
    }
}
