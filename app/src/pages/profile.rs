use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::account::{SignOut, who_am_i};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| who_am_i());
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <Title text="My profile"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! {
                        <section class="card narrow" aria-labelledby="profile-heading">
                            <h1 id="profile-heading">"My profile"</h1>
                            <dl class="facts" data-testid="profile">
                                <dt>"Name"</dt>
                                <dd>{me.display_name}</dd>
                                <dt>"Email"</dt>
                                <dd>{me.email}</dd>
                                <dt>"Role"</dt>
                                <dd data-testid="role">{me.role}</dd>
                                {me.customer_name.map(|name| view! { <dt>"Account"</dt><dd>{name}</dd> })}
                            </dl>
                            <ActionForm action=sign_out>
                                <button class="button secondary" type="submit">"Sign out"</button>
                            </ActionForm>
                        </section>
                    }.into_any(),
                    Ok(None) => view! { <Redirect path="/sign-in"/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
