use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::account::{
    AcceptInvitation, RequestPasswordReset, RequestSignInLink, ResetPassword, SignIn, SignInCode,
    SignInWithLink,
};
use crate::components::{FormError, form_error, form_succeeded};

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = form_error(sign_in);
    view! {
        <Title text="Sign in"/>
        <section class="card narrow" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">"Sign in"</h1>
            <ActionForm action=sign_in attr:class="form">
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit" disabled=move || sign_in.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            <p class="muted">
                <a href="/forgot-password">"Forgot your password?"</a>
                " · "
                <a href="/sign-in/email">"Email me a sign-in link instead"</a>
            </p>
        </section>
    }
}

/// The second step for a user with two-factor sign-in.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let submit = ServerAction::<SignInCode>::new();
    let error = form_error(submit);
    view! {
        <Title text="Enter your code"/>
        <section class="card narrow" aria-labelledby="code-heading">
            <h1 id="code-heading">"Enter your code"</h1>
            <p>"Open your authenticator app and enter the 6-digit code it shows for Ledgerport. "
               "Lost your phone? Enter one of your recovery codes instead."</p>
            <ActionForm action=submit attr:class="form">
                <label for="code">"Code"</label>
                <input id="code" name="code" autocomplete="one-time-code" autocapitalize="off"
                    spellcheck="false" maxlength="64" required/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit" disabled=move || submit.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            <p class="muted"><a href="/sign-in">"Start again"</a></p>
        </section>
    }
}

/// Asking for a one-time sign-in link by email.
#[component]
pub fn SignInEmailPage() -> impl IntoView {
    let request = ServerAction::<RequestSignInLink>::new();
    let error = form_error(request);
    let sent = form_succeeded(request, "sent");
    view! {
        <Title text="Sign in by email"/>
        <section class="card narrow" aria-labelledby="email-link-heading">
            <h1 id="email-link-heading">"Sign in by email"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>"We email you a link that signs you in once, without your password."</p>
                    <ActionForm action=request attr:class="form">
                        <label for="email">"Email"</label>
                        <input id="email" type="email" name="email" autocomplete="username" required/>
                        <FormError message=Signal::derive(error)/>
                        <button class="button" type="submit">"Email me a sign-in link"</button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="sign-in-link-sent">
                    "If that address has an account, a sign-in link is on its way. It works once, for 15 minutes."
                </p>
            </Show>
            <p class="muted"><a href="/sign-in">"Back to sign in"</a></p>
        </section>
    }
}

/// Where an emailed sign-in link lands: a button signs in (a link opened by a mail scanner
/// signs no one in, and nothing changes on GET).
#[component]
pub fn SignInLinkPage() -> impl IntoView {
    let submit = ServerAction::<SignInWithLink>::new();
    let error = form_error(submit);
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    view! {
        <Title text="Sign in"/>
        <section class="card narrow" aria-labelledby="link-heading">
            <h1 id="link-heading">"Sign in to Ledgerport"</h1>
            <ActionForm action=submit attr:class="form">
                <input type="hidden" name="token" value=token/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">"Sign in"</button>
            </ActionForm>
            <p class="muted"><a href="/sign-in/email">"Ask for a new link"</a></p>
        </section>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let error = form_error(request);
    let sent = form_succeeded(request, "sent");
    view! {
        <Title text="Reset your password"/>
        <section class="card narrow" aria-labelledby="forgot-heading">
            <h1 id="forgot-heading">"Reset your password"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <ActionForm action=request attr:class="form">
                        <label for="email">"Email"</label>
                        <input id="email" type="email" name="email" autocomplete="username" required/>
                        <FormError message=Signal::derive(error)/>
                        <button class="button" type="submit">"Send me a reset link"</button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="reset-sent">
                    "If that address has an account, a reset link is on its way. It works once, for an hour."
                </p>
            </Show>
            <p class="muted"><a href="/sign-in">"Back to sign in"</a></p>
        </section>
    }
}

/// The hidden link token and a new password with its rules, shared by the invitation and reset pages.
#[component]
fn NewPasswordFields() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    view! {
        <input type="hidden" name="token" value=token/>
        <label for="password">"New password"</label>
        <input id="password" type="password" name="password" autocomplete="new-password"
            minlength="8" maxlength="128" required aria-describedby="password-rules"/>
        <p id="password-rules" class="hint">"At least 8 characters; common passwords are refused."</p>
    }
}

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = form_error(accept);
    view! {
        <Title text="Accept your invitation"/>
        <section class="card narrow" aria-labelledby="accept-heading">
            <h1 id="accept-heading">"Welcome to Ledgerport"</h1>
            <p>"Choose a password to finish setting up your access."</p>
            <ActionForm action=accept attr:class="form">
                <NewPasswordFields/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">"Set password and sign in"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let error = form_error(reset);
    view! {
        <Title text="Choose a new password"/>
        <section class="card narrow" aria-labelledby="reset-heading">
            <h1 id="reset-heading">"Choose a new password"</h1>
            <ActionForm action=reset attr:class="form">
                <NewPasswordFields/>
                <FormError message=Signal::derive(error)/>
                <button class="button" type="submit">"Save and sign in"</button>
            </ActionForm>
        </section>
    }
}
