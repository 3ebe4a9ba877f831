//! The company's logo, kept by a manager on the company profile page: uploaded as a file (a plain
//! multipart form, so it works without JavaScript), removed, and shown back on that page.

use app::billing::{COMPANY_LOGO, COMPANY_LOGO_IMAGE, COMPANY_LOGO_REMOVE};
use app::errors::AppError;
use app::request::ClientAddress;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use ledgerport::company::{LOGO_MAX_BYTES, Logo};

use crate::disputes::Refusal;
use crate::documents::logo::LogoImage;
use crate::guard::{SignedIn, client_ip};
use crate::state::ServerState;

/// Where the manager comes back to.
const PAGE: &str = "/admin/company";

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![
        // Room for the largest logo and the form around it; anything bigger is refused unread.
        (
            COMPANY_LOGO,
            post(upload).layer(DefaultBodyLimit::max(LOGO_MAX_BYTES + 64 * 1024)),
        ),
        (COMPANY_LOGO_REMOVE, post(remove)),
        (COMPANY_LOGO_IMAGE, get(image)),
    ]
}

/// `POST /admin/company/logo`: the file in the field `logo`, a PNG. It is decoded before it is
/// stored, so a file that only looks like a PNG is refused here, not left off every document.
async fn upload(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let result = async {
        // Who may, before what they sent is read.
        app::session::check_manager(&caller)?;
        let multipart = multipart.map_err(|e| AppError::Invalid(e.body_text()))?;
        let bytes = logo_file(multipart).await?;
        let logo = Logo::parse(bytes).map_err(AppError::invalid)?;
        LogoImage::decode(logo.png()).map_err(|e| {
            AppError::Invalid(format!("The file could not be read as a PNG image ({e})."))
        })?;
        ledgerport::company::store::save_company_logo(
            &state.app.db,
            &caller,
            Some(&logo),
            &client_ip(address),
        )
        .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("{PAGE}?logo=saved")).into_response(),
        Err(error) => Refusal::new(PAGE, error).respond(&headers),
    }
}

/// The bytes of the form's `logo` file.
async fn logo_file(mut multipart: Multipart) -> Result<Vec<u8>, AppError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::Invalid(format!("The form could not be read: {}", e.body_text()))
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() == Some("logo") {
            return Ok(field.bytes().await.map_err(unreadable)?.to_vec());
        }
    }
    Err(AppError::Invalid("Choose a PNG file to upload.".into()))
}

/// `POST /admin/company/logo/remove`: documents are printed without a logo again.
async fn remove(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
) -> Response {
    match ledgerport::company::store::save_company_logo(
        &state.app.db,
        &caller,
        None,
        &client_ip(address),
    )
    .await
    {
        Ok(()) => Redirect::to(&format!("{PAGE}?logo=removed")).into_response(),
        Err(error) => Refusal::new(PAGE, error).respond(&headers),
    }
}

/// `GET /admin/company/logo.png`: the stored logo, for staff (the profile page shows it).
async fn image(State(state): State<ServerState>, SignedIn(caller): SignedIn) -> Response {
    if !caller.is_staff() {
        return (
            StatusCode::FORBIDDEN,
            "Only AR staff see the company profile.",
        )
            .into_response();
    }
    match ledgerport::company::store::company_logo(&state.app.db).await {
        Ok(Some(logo)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-store"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            logo.png().to_vec(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "No logo has been uploaded.").into_response(),
        Err(e) => {
            let error = AppError::from(e);
            let status =
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, error.to_string()).into_response()
        }
    }
}
