//! What every page shares: the loading/error skeleton around a page's data, the numeric route
//! parameter, form errors (of server-rendered forms and of islands), and the not-found page.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::server_fn::error::ServerFnUrlError;
use leptos_meta::Title;
#[cfg(not(feature = "hydrate"))]
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::errors::AppError;
use crate::i18n::{Locale, tr, use_locale};

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

/// The skeleton around a page's data: "Loading…" while the resource resolves, `children` with the
/// value once it arrives, and [`error_view`] (sign-in, or the reason with its HTTP status) when the
/// call is refused. With async SSR the finished page is what the browser receives.
#[component]
pub fn Loaded<T, V, F>(data: Resource<Result<T, AppError>>, children: F) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let children = Arc::new(children);
    let locale = use_locale();
    view! {
        <Suspense fallback=move || view! { <p class="muted">{tr!(locale, "app.loading")}</p> }>
            {move || {
                let children = Arc::clone(&children);
                Suspend::new(async move {
                    match data.await {
                        Ok(value) => children(value).into_any(),
                        Err(error) => error_view(error),
                    }
                })
            }}
        </Suspense>
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
        // In the browser this runs inside an island, which has no router: a full page load.
        #[cfg(feature = "hydrate")]
        AppError::SignInRequired => {
            if let Err(e) = window().location().set_href("/sign-in") {
                leptos::logging::error!("cannot open the sign-in page: {e:?}");
            }
            ().into_any()
        }
        #[cfg(not(feature = "hydrate"))]
        AppError::SignInRequired => view! { <Redirect path="/sign-in"/> }.into_any(),
        other => view! {
            <section class="card narrow">
                <p class="error" role="alert">{other.message(use_locale())}</p>
            </section>
        }
        .into_any(),
    }
}

/// The error to show under a server-rendered form: the one the server put in the URL when the
/// form was posted and redirected back here. Outside `#[island]`s no form runs in the browser
/// (islands mode), so this is the only way its errors come back. The form's action only names
/// the server function, by its type.
pub fn form_error<S>(_form: ServerAction<S>) -> impl Fn() -> Option<String> + Copy + 'static
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let query = use_query_map();
    let locale = use_locale();
    move || query.with(|q| error_in_url::<S>(q, locale))
}

/// The error a plain post of `S` was redirected back with, read once on the server for an
/// island's `posted` prop.
pub fn posted_error<S>() -> Option<String>
where
    S: ServerFn<Error = AppError>,
{
    let locale = use_locale();
    use_query_map().with_untracked(|q| error_in_url::<S>(q, locale))
}

fn error_in_url<S>(query: &ParamsMap, locale: Locale) -> Option<String>
where
    S: ServerFn<Error = AppError>,
{
    (query.get("__path").as_deref() == Some(S::PATH))
        .then(|| query.get("__err"))
        .flatten()
        .map(|err| ServerFnUrlError::<AppError>::decode_err(&err).message(locale))
}

/// The error to show under a form inside an `#[island]`: the server function's answer once the
/// island has posted it, else `posted`, which the page read from the URL (a plain post before
/// the island came alive). Islands run without the router, so they cannot read the URL.
pub fn island_form_error<S>(form: ServerAction<S>, posted: Option<String>) -> Signal<Option<String>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let locale = use_locale();
    Signal::derive(move || {
        form.value().with(|value| match value {
            Some(Err(e)) => Some(e.message(locale)),
            Some(Ok(_)) => None,
            None => posted.clone(),
        })
    })
}

/// True once a server-rendered form succeeded: the server redirected back with `flag` in the URL.
pub fn form_succeeded(flag: &'static str) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.with(|q| q.get(flag).is_some())
}

/// A form's error, announced to screen readers.
#[component]
pub fn FormError(message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|text| view! { <p class="error" role="alert">{text}</p> })
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "not_found.title")/>
        <section class="card narrow">
            <h1>{tr!(locale, "not_found.title")}</h1>
            <p>{tr!(locale, "not_found.text")}" "<a href="/">{tr!(locale, "not_found.back")}</a></p>
        </section>
    }
}
