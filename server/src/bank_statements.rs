//! Bank statements in: staff upload a file (multipart: `file`, and `mapping` for a CSV) at
//! `POST /admin/bank-statements` (the ERP API's `POST /api/v1/bank-statements` is in `api`).
//! Both import through the one engine use case.

use app::errors::AppError;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, post};
use ledgerport::audit::Actor;
use ledgerport::statements::store::import_statement;

use crate::disputes::Refusal;
use crate::guard::SignedIn;
use crate::state::ServerState;

/// A day's statement of a busy account is a few MB; 10,000 camt entries are about 12 MB.
pub const MAX_STATEMENT_BYTES: usize = 32 * 1024 * 1024;

/// The staff upload; it needs the session, so the router mounts it inside its layer.
pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![(
        "/admin/bank-statements",
        post(upload_statement).layer(DefaultBodyLimit::max(MAX_STATEMENT_BYTES + 64 * 1024)),
    )]
}

/// The statement as text (every format is text).
pub(crate) fn text_of(bytes: &[u8]) -> Result<&str, AppError> {
    std::str::from_utf8(bytes).map_err(|_| {
        AppError::Invalid("The statement is not UTF-8 text (camt XML, BAI2 or CSV).".into())
    })
}

async fn upload_statement(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    const BACK: &str = "/admin/bank";
    if !caller.is_staff() {
        return Refusal::new(
            BACK,
            AppError::Forbidden("Only AR staff can do that.".into()),
        )
        .respond(&headers);
    }
    let imported = async {
        let (name, bytes, mapping) = read_upload(multipart).await?;
        let actor = Actor {
            user_id: Some(caller.user_id),
            name: &caller.email,
        };
        Ok::<_, AppError>(
            import_statement(
                &state.app.db,
                &name,
                text_of(&bytes)?,
                mapping.as_deref(),
                actor,
            )
            .await?,
        )
    }
    .await;
    match imported {
        Ok(statements) => match statements.first() {
            Some(first) => Redirect::to(&format!("/admin/bank/{}", first.id)).into_response(),
            None => Redirect::to(BACK).into_response(),
        },
        Err(e) => Refusal::new(BACK, e).respond(&headers),
    }
}

/// The `file` part (name and bytes) and the `mapping` field.
async fn read_upload(
    mut multipart: Multipart,
) -> Result<(String, Vec<u8>, Option<String>), AppError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::Invalid(format!("The upload could not be read: {}", e.body_text()))
    };
    let mut file = None;
    let mut mapping = None;
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("statement").to_string();
                file = Some((name, field.bytes().await.map_err(unreadable)?.to_vec()));
            }
            Some("mapping") => {
                mapping = Some(field.text().await.map_err(unreadable)?);
            }
            _ => {}
        }
    }
    let (name, bytes) =
        file.ok_or_else(|| AppError::Invalid("Choose a statement file to upload.".into()))?;
    Ok((name, bytes, mapping))
}
