use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::account::{SignIn, who_am_i};

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let me = Resource::new(|| (), |_| who_am_i());
    let error = move || {
        sign_in
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| {
                e.to_string()
                    .trim_start_matches("error running server function: ")
                    .to_string()
            })
    };

    view! {
        <Title text="Sign in"/>
        <Suspense>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(_)) => view! { <Redirect path="/"/> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
        <section class="card narrow" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">"Sign in"</h1>
            <ActionForm action=sign_in attr:class="form">
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required/>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button class="button" type="submit" disabled=move || sign_in.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
        </section>
    }
}
