use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::account::{
    ChangePassword, SaveEmailChoices, SaveLanguage, SignOut, email_choice_views, who_am_i,
};
use crate::components::{FormError, Loaded, form_error, form_succeeded};
use crate::i18n::{Locale, tr, use_locale};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| who_am_i());
    let change = ServerAction::<ChangePassword>::new();
    let change_error = form_error(change);
    let changed = form_succeeded("changed");
    let save_emails = ServerAction::<SaveEmailChoices>::new();
    let emails_error = form_error(save_emails);
    let emails_saved = form_succeeded("emails");
    let emails = Resource::new(|| (), |_| email_choice_views());
    let locale = use_locale();
    let query = use_query_map();
    let language_saved = move || query.with(|q| q.get("language").is_some());
    view! {
        <Title text=tr!(locale, "profile.title")/>
        <Suspense fallback=move || view! { <p class="muted">{tr!(locale, "app.loading")}</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        // Customer contacts choose their emails; staff hear of everything they work on.
                        let contact = !me.is_staff && me.customer_name.is_some();
                        view! {
                        <section class="card narrow" aria-labelledby="profile-heading">
                            <h1 id="profile-heading">{tr!(locale, "profile.title")}</h1>
                            <dl class="facts" data-testid="profile">
                                <dt>{tr!(locale, "profile.name")}</dt>
                                <dd>{me.display_name}</dd>
                                <dt>{tr!(locale, "profile.email")}</dt>
                                <dd>{me.email}</dd>
                                <dt>{tr!(locale, "profile.role")}</dt>
                                <dd data-testid="role">{me.role}</dd>
                                {me.customer_name.map(|name| view! { <dt>{tr!(locale, "profile.account")}</dt><dd>{name}</dd> })}
                            </dl>
                            {(!me.is_staff && !me.needs_second_factor).then(|| view! {
                                <p><a href="/account/billing">{tr!(locale, "profile.billing_link")}</a></p>
                            })}
                            // A plain form, like signing in: the next page is a visitor's.
                            <form method="post" action=SignOut::PATH>
                                <button class="button secondary" type="submit">{tr!(locale, "profile.sign_out")}</button>
                            </form>
                        </section>
                        {contact.then(|| view! {
                        <section class="card narrow" aria-labelledby="language-heading">
                            <h2 id="language-heading">{tr!(locale, "profile.language")}</h2>
                            <p class="hint">{tr!(locale, "profile.language_hint")}</p>
                            // A plain form: its redirect loads the whole page again, in the new language.
                            <form method="post" action=SaveLanguage::PATH class="form" data-testid="language">
                                <label for="language">{tr!(locale, "profile.language")}</label>
                                <select id="language" name="language">
                                    {Locale::ALL.into_iter().map(|option| view! {
                                        <option value=option.code() selected=option == locale>{option.name()}</option>
                                    }).collect_view()}
                                </select>
                                {move || language_saved().then(|| view! {
                                    <p class="notice" role="status">{tr!(locale, "profile.language_saved")}</p>
                                })}
                                <button class="button" type="submit">{tr!(locale, "profile.save_language")}</button>
                            </form>
                        </section>
                        })}
                        <section class="card narrow" aria-labelledby="security-heading">
                            <h2 id="security-heading">{tr!(locale, "profile.two_factor")}</h2>
                            {me.needs_second_factor.then(|| view! {
                                <p class="notice" role="alert">"AR managers sign in with two factors: set it up to reach the staff pages."</p>
                            })}
                            <p><a class="button secondary" href="/profile/two-factor">{tr!(locale, "profile.two_factor_link")}</a></p>
                        </section>
                        {contact.then(|| view! {
                        <section class="card narrow" aria-labelledby="emails-heading">
                            <h2 id="emails-heading">{tr!(locale, "profile.emails")}</h2>
                            <p class="hint">{tr!(locale, "profile.emails_hint")}</p>
                            <Loaded data=emails let:choices>
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
                                        <p class="notice" role="status">{tr!(locale, "profile.emails_saved")}</p>
                                    })}
                                    <button class="button" type="submit">{tr!(locale, "profile.save_emails")}</button>
                                </ActionForm>
                            </Loaded>
                        </section>
                        })}
                        <section class="card narrow" aria-labelledby="password-heading">
                            <h2 id="password-heading">{tr!(locale, "profile.change_password")}</h2>
                            <p class="hint">{tr!(locale, "profile.password_hint")}</p>
                            <ActionForm action=change attr:class="form">
                                <label for="current">{tr!(locale, "profile.current_password")}</label>
                                <input id="current" type="password" name="current" autocomplete="current-password" required/>
                                <label for="new">{tr!(locale, "profile.new_password")}</label>
                                <input id="new" type="password" name="new" autocomplete="new-password"
                                    minlength="8" maxlength="128" required/>
                                <FormError message=Signal::derive(change_error)/>
                                {move || changed().then(|| view! {
                                    <p class="notice" role="status">{tr!(locale, "profile.password_changed")}</p>
                                })}
                                <button class="button" type="submit">{tr!(locale, "profile.change_password")}</button>
                            </ActionForm>
                        </section>
                    }.into_any()
                    }
                    Ok(None) => view! { <Redirect path="/sign-in"/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(locale)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
