//! Helpers for server-function forms that work with and without JavaScript.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::server_fn::error::ServerFnUrlError;
use leptos_router::hooks::use_query_map;

use crate::errors::AppError;

/// The error to show under a form: the action's result when JavaScript ran it, or the error the
/// server put in the URL when a plain HTML form was posted and redirected back here.
pub fn form_error<S>(action: ServerAction<S>) -> impl Fn() -> Option<String> + Copy + 'static
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let query = use_query_map();
    move || {
        let from_action = action.value().with(|value| match value {
            Some(Err(e)) => Some(Some(e.to_string())),
            Some(Ok(_)) => Some(None),
            None => None,
        });
        from_action.unwrap_or_else(|| {
            query.with(|q| {
                (q.get("__path").as_deref() == Some(S::PATH))
                    .then(|| q.get("__err"))
                    .flatten()
                    .map(|err| ServerFnUrlError::<AppError>::decode_err(&err).to_string())
            })
        })
    }
}
