pub mod admin;
pub mod books;
pub mod disputes;
pub mod home;
pub mod integrations;
pub mod not_found;
pub mod pay;
pub mod portal;
pub mod profile;
pub mod sign_in;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::errors::AppError;

/// The numeric `:id` of the current route (0 when absent or not a number, which no row has).
pub fn id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        })
    }
}

/// What a page shows when its data call is refused or fails: anonymous visitors go to sign-in,
/// everyone else gets the reason (and, on the server, the matching HTTP status).
pub fn error_view(error: AppError) -> AnyView {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(error.status()),
    ) && error != AppError::SignInRequired
    {
        response.set_status(status);
    }
    match error {
        AppError::SignInRequired => view! { <Redirect path="/sign-in"/> }.into_any(),
        other => view! {
            <section class="card narrow">
                <p class="error" role="alert">{other.to_string()}</p>
            </section>
        }
        .into_any(),
    }
}
