//! `POST /profile/recovery-codes.txt`: new recovery codes for two-factor sign-in, as a text file
//! to keep. A plain form posts here, so it works without JavaScript; the old codes stop working.

use app::account::two_factor::RECOVERY_CODES_FILE;
use app::errors::AppError;
use app::request::ClientAddress;
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use ledgerport::auth::two_factor::new_recovery_codes;
use ledgerport::tr;

use crate::disputes::Refusal;
use crate::guard::{SignedIn, client_ip};
use crate::state::ServerState;

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![(RECOVERY_CODES_FILE, post(download))]
}

async fn download(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
) -> Response {
    let ip = client_ip(address);
    match new_recovery_codes(&state.app.db, &caller, &ip).await {
        Ok(codes) => {
            let locale = app::request::locale();
            let body = tr!(
                locale,
                "recovery_codes.file",
                email = caller.email,
                made = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
                codes = codes.join("\n")
            );
            (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"ledgerport-recovery-codes.txt\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => Refusal::new("/profile/two-factor", AppError::from(e)).respond(&headers),
    }
}
