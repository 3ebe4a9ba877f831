use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::account::{ChangePassword, SaveEmailChoices, SignOut, email_choice_views, who_am_i};
use crate::components::{FormError, Loaded, form_error, form_succeeded};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| who_am_i());
    let sign_out = ServerAction::<SignOut>::new();
    let change = ServerAction::<ChangePassword>::new();
    let change_error = form_error(change);
    let changed = form_succeeded(change, "changed");
    let save_emails = ServerAction::<SaveEmailChoices>::new();
    let emails_error = form_error(save_emails);
    let emails_saved = form_succeeded(save_emails, "emails");
    let emails = Resource::new(
        move || save_emails.version().get(),
        |_| email_choice_views(),
    );
    view! {
        <Title text="My profile"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        // Customer contacts choose their emails; staff hear of everything they work on.
                        let contact = !me.is_staff && me.customer_name.is_some();
                        view! {
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
                            {(!me.is_staff && !me.needs_second_factor).then(|| view! {
                                <p><a href="/account/billing">"Billing details (address and tax ID on your invoices)"</a></p>
                            })}
                            <ActionForm action=sign_out>
                                <button class="button secondary" type="submit">"Sign out"</button>
                            </ActionForm>
                        </section>
                        <section class="card narrow" aria-labelledby="security-heading">
                            <h2 id="security-heading">"Two-factor sign-in"</h2>
                            {me.needs_second_factor.then(|| view! {
                                <p class="notice" role="alert">"AR managers sign in with two factors: set it up to reach the staff pages."</p>
                            })}
                            <p><a class="button secondary" href="/profile/two-factor">"Set up or change two-factor sign-in"</a></p>
                        </section>
                        {contact.then(|| view! {
                        <section class="card narrow" aria-labelledby="emails-heading">
                            <h2 id="emails-heading">"Emails"</h2>
                            <p class="hint">"Sign-in and security messages, failed payments and changes to our bank details always reach you."</p>
                            <Loaded data=emails loading="Loading…" let:choices>
                                <ActionForm action=save_emails attr:class="form" attr:data-testid="email-choices">
                                    {choices.into_iter().map(|choice| {
                                        let id = format!("email-{}", choice.field);
                                        let label_for = id.clone();
                                        view! {
                                            <label class="check" for=label_for>
                                                <input type="checkbox" id=id name=choice.field checked=choice.wanted/>
                                                " " {choice.label}
                                            </label>
                                        }
                                    }).collect_view()}
                                    <FormError message=Signal::derive(emails_error)/>
                                    {move || emails_saved().then(|| view! {
                                        <p class="notice" role="status">"Email choices saved."</p>
                                    })}
                                    <button class="button" type="submit">"Save email choices"</button>
                                </ActionForm>
                            </Loaded>
                        </section>
                        })}
                        <section class="card narrow" aria-labelledby="password-heading">
                            <h2 id="password-heading">"Change password"</h2>
                            <p class="hint">"Your other signed-in devices are signed out when you change it."</p>
                            <ActionForm action=change attr:class="form">
                                <label for="current">"Current password"</label>
                                <input id="current" type="password" name="current" autocomplete="current-password" required/>
                                <label for="new">"New password"</label>
                                <input id="new" type="password" name="new" autocomplete="new-password"
                                    minlength="8" maxlength="128" required/>
                                <FormError message=Signal::derive(change_error)/>
                                {move || changed().then(|| view! {
                                    <p class="notice" role="status">"Password changed."</p>
                                })}
                                <button class="button" type="submit">"Change password"</button>
                            </ActionForm>
                        </section>
                    }.into_any()
                    }
                    Ok(None) => view! { <Redirect path="/sign-in"/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
