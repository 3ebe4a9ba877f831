//! `POST /admin/imports`: staff upload a CSV of invoices (multipart, field `file`). The file is
//! kept and the browser goes to its preview page; nothing is issued until staff commit there.

use app::errors::AppError;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, post};
use ledgerport::imports::MAX_BYTES;
use ledgerport::imports::store::upload;

use crate::disputes::Refusal;
use crate::guard::SignedIn;
use crate::state::ServerState;

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![(
        "/admin/imports",
        post(upload_file).layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024)),
    )]
}

async fn upload_file(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    const BACK: &str = "/admin/imports";
    if !caller.is_staff() {
        return Refusal::new(
            BACK,
            AppError::Forbidden("Only AR staff can do that.".into()),
        )
        .respond(&headers);
    }
    match read_file(multipart).await {
        Ok((name, bytes)) => match upload(&state.app.db, &name, &bytes, caller.user_id).await {
            Ok(id) => Redirect::to(&format!("/admin/imports/{id}")).into_response(),
            Err(e) => Refusal::new(BACK, e).respond(&headers),
        },
        Err(e) => Refusal::new(BACK, e).respond(&headers),
    }
}

/// The `file` part: its name and bytes.
async fn read_file(mut multipart: Multipart) -> Result<(String, Vec<u8>), AppError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::Invalid(format!("The upload could not be read: {}", e.body_text()))
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload.csv").to_string();
            let bytes = field.bytes().await.map_err(unreadable)?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(AppError::Invalid("Choose a CSV file to upload.".into()))
}
