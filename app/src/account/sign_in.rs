//! Signing in, and what leads to it. The forms that start or change a session are plain HTML
//! forms: their answer is a redirect the browser follows as a full page load, so the next page
//! renders in the language of the person now signed in (docs/i18n.md).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::account::{
    AcceptInvitation, RequestPasswordReset, RequestSignInLink, ResetPassword, SignIn, SignInCode,
    SignInWithLink,
};
use crate::components::{FormError, form_error, form_succeeded};
use crate::i18n::{tr, use_locale};

#[component]
pub fn SignInPage() -> impl IntoView {
    let locale = use_locale();
    let sign_in = ServerAction::<SignIn>::new();
    let error = form_error(sign_in);
    view! {
        <Title text=tr!(locale, "signin.title")/>
        <section class="card narrow" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">{tr!(locale, "signin.title")}</h1>
            <form method="post" action=SignIn::PATH class="form">
                <label for="email">{tr!(locale, "signin.email")}</label>
                <input id="email" type="email" name="email" autocomplete="username" required/>
                <label for="password">{tr!(locale, "signin.password")}</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">
                    {tr!(locale, "signin.title")}
                </button>
            </form>
            <crate::account::passkeys::PasskeySignInForm/>
            <p class="muted">
                <a href="/forgot-password">{tr!(locale, "signin.forgot")}</a>
                " · "
                <a href="/sign-in/email">{tr!(locale, "signin.link_instead")}</a>
            </p>
        </section>
    }
}

/// The second step for a user with two-factor sign-in.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let locale = use_locale();
    let submit = ServerAction::<SignInCode>::new();
    let error = form_error(submit);
    view! {
        <Title text=tr!(locale, "signin.code_title")/>
        <section class="card narrow" aria-labelledby="code-heading">
            <h1 id="code-heading">{tr!(locale, "signin.code_title")}</h1>
            <p>{tr!(locale, "signin.code_hint")}</p>
            <form method="post" action=SignInCode::PATH class="form">
                <label for="code">{tr!(locale, "signin.code")}</label>
                <input id="code" name="code" autocomplete="one-time-code" autocapitalize="off"
                    spellcheck="false" maxlength="64" required/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">
                    {tr!(locale, "signin.title")}
                </button>
            </form>
            <p class="muted"><a href="/sign-in">{tr!(locale, "signin.start_again")}</a></p>
        </section>
    }
}

/// Asking for a one-time sign-in link by email.
#[component]
pub fn SignInEmailPage() -> impl IntoView {
    let locale = use_locale();
    let request = ServerAction::<RequestSignInLink>::new();
    let error = form_error(request);
    let sent = form_succeeded("sent");
    view! {
        <Title text=tr!(locale, "signin.by_email")/>
        <section class="card narrow" aria-labelledby="email-link-heading">
            <h1 id="email-link-heading">{tr!(locale, "signin.by_email")}</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>{tr!(locale, "signin.by_email_hint")}</p>
                    <ActionForm action=request attr:class="form">
                        <label for="email">{tr!(locale, "signin.email")}</label>
                        <input id="email" type="email" name="email" autocomplete="username" required/>
                        <FormError message=Signal::derive(error)/>
                        <button class="button" type="submit">{tr!(locale, "signin.send_link")}</button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="sign-in-link-sent">
                    {tr!(locale, "signin.link_sent")}
                </p>
            </Show>
            <p class="muted"><a href="/sign-in">{tr!(locale, "signin.back")}</a></p>
        </section>
    }
}

/// Where an emailed sign-in link lands: a button signs in (a link opened by a mail scanner
/// signs no one in, and nothing changes on GET).
#[component]
pub fn SignInLinkPage() -> impl IntoView {
    let locale = use_locale();
    let submit = ServerAction::<SignInWithLink>::new();
    let error = form_error(submit);
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    view! {
        <Title text=tr!(locale, "signin.title")/>
        <section class="card narrow" aria-labelledby="link-heading">
            <h1 id="link-heading">{tr!(locale, "signin.to_ledgerport")}</h1>
            <form method="post" action=SignInWithLink::PATH class="form">
                <input type="hidden" name="token" value=token/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">{tr!(locale, "signin.title")}</button>
            </form>
            <p class="muted"><a href="/sign-in/email">{tr!(locale, "signin.new_link")}</a></p>
        </section>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let locale = use_locale();
    let request = ServerAction::<RequestPasswordReset>::new();
    let error = form_error(request);
    let sent = form_succeeded("sent");
    view! {
        <Title text=tr!(locale, "signin.reset_title")/>
        <section class="card narrow" aria-labelledby="forgot-heading">
            <h1 id="forgot-heading">{tr!(locale, "signin.reset_title")}</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <ActionForm action=request attr:class="form">
                        <label for="email">{tr!(locale, "signin.email")}</label>
                        <input id="email" type="email" name="email" autocomplete="username" required/>
                        <FormError message=Signal::derive(error)/>
                        <button class="button" type="submit">{tr!(locale, "signin.send_reset")}</button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="reset-sent">
                    {tr!(locale, "signin.reset_sent")}
                </p>
            </Show>
            <p class="muted"><a href="/sign-in">{tr!(locale, "signin.back")}</a></p>
        </section>
    }
}

/// The hidden link token and a new password with its rules, shared by the invitation and reset pages.
#[component]
fn NewPasswordFields() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    view! {
        <input type="hidden" name="token" value=token/>
        <label for="password">{tr!(locale, "signin.new_password")}</label>
        <input id="password" type="password" name="password" autocomplete="new-password"
            minlength="8" maxlength="128" required aria-describedby="password-rules"/>
        <p id="password-rules" class="hint">{tr!(locale, "signin.password_rules")}</p>
    }
}

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let locale = use_locale();
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = form_error(accept);
    view! {
        <Title text=tr!(locale, "signin.accept_title")/>
        <section class="card narrow" aria-labelledby="accept-heading">
            <h1 id="accept-heading">{tr!(locale, "signin.welcome")}</h1>
            <p>{tr!(locale, "signin.choose_password")}</p>
            <form method="post" action=AcceptInvitation::PATH class="form">
                <NewPasswordFields/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">{tr!(locale, "signin.set_password")}</button>
            </form>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let locale = use_locale();
    let reset = ServerAction::<ResetPassword>::new();
    let error = form_error(reset);
    view! {
        <Title text=tr!(locale, "signin.choose_new")/>
        <section class="card narrow" aria-labelledby="reset-heading">
            <h1 id="reset-heading">{tr!(locale, "signin.choose_new")}</h1>
            <form method="post" action=ResetPassword::PATH class="form">
                <NewPasswordFields/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">{tr!(locale, "signin.save_and_sign_in")}</button>
            </form>
        </section>
    }
}
