//! Passkeys: signing in with one, and the list on the two-factor page where one is added or
//! removed. The browser's half of each ceremony is `public/passkeys.js` (WebAuthn has no
//! form-only way): it asks a `begin` server function for the options, lets the browser make or
//! use the key, and posts the answer in a plain HTML form, so the session cookie, the redirect
//! and any error come back exactly as a password sign-in's do. Without JavaScript, or in a
//! browser without passkeys, these forms stay hidden.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::{Deserialize, Serialize};

use crate::components::{FormError, form_error, form_succeeded};
use crate::errors::AppError;
use crate::i18n::{tr, use_locale};

/// A ceremony for the browser: its id, and the options for `navigator.credentials` (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub options: String,
}

/// The longest answer a browser sends back (an attestation with a certificate chain fits).
#[cfg(feature = "ssr")]
const ANSWER_MAX_BYTES: usize = 64 * 1024;

#[cfg(feature = "ssr")]
fn relying_party() -> Result<std::sync::Arc<ledgerport::auth::passkeys::RelyingParty>, AppError> {
    crate::context::app().passkeys.ok_or_else(|| {
        AppError::Unavailable("Passkeys are not set up on this portal (PASSKEY_ORIGIN).".into())
    })
}

/// What the browser sent, refused before anything is looked up when it cannot be an answer.
#[cfg(feature = "ssr")]
fn check_answer(ceremony: &str, answer: &str) -> Result<(), AppError> {
    if ceremony.len() > 128 || answer.len() > ANSWER_MAX_BYTES {
        return Err(AppError::Invalid(crate::errors::said(
            &ledgerport::auth::passkeys::PasskeyError::BadAnswer,
        )));
    }
    Ok(())
}

#[cfg(feature = "ssr")]
impl From<ledgerport::auth::passkeys::Ceremony> for PasskeyCeremony {
    fn from(ceremony: ledgerport::auth::passkeys::Ceremony) -> Self {
        PasskeyCeremony {
            ceremony: ceremony.id,
            options: ceremony.options_json,
        }
    }
}

/// Starts a sign-in by passkey (anyone may ask; an address holds only a few at once).
#[server(endpoint = "passkey-sign-in-begin")]
pub async fn begin_passkey_sign_in() -> Result<PasskeyCeremony, AppError> {
    let ctx = crate::context::app();
    let ceremony = ledgerport::auth::passkeys::begin_sign_in(
        &ctx.db,
        &*relying_party()?,
        &crate::request::client_ip(),
    )
    .await?;
    Ok(ceremony.into())
}

/// Signs in with the browser's answer to a passkey ceremony: a session that counts as two factors.
#[server(endpoint = "passkey-sign-in")]
pub async fn passkey_sign_in(ceremony: String, answer: String) -> Result<(), AppError> {
    check_answer(&ceremony, &answer)?;
    let ctx = crate::context::app();
    let caller = ledgerport::auth::passkeys::finish_sign_in(
        &ctx.db,
        &*relying_party()?,
        &ceremony,
        &answer,
        &crate::request::client_ip(),
    )
    .await?;
    crate::session::start(&caller).await
}

/// Starts adding a passkey for the signed-in user.
#[server(endpoint = "passkey-add-begin")]
pub async fn begin_adding_passkey() -> Result<PasskeyCeremony, AppError> {
    let caller = crate::session::require_caller()?;
    let ceremony = ledgerport::auth::passkeys::begin_adding(
        &crate::context::app().db,
        &*relying_party()?,
        &caller,
        &crate::request::client_ip(),
    )
    .await?;
    Ok(ceremony.into())
}

/// Adds the passkey the browser just made, under the name the user gave it.
#[server(endpoint = "passkey-add")]
pub async fn add_passkey(ceremony: String, name: String, answer: String) -> Result<(), AppError> {
    check_answer(&ceremony, &answer)?;
    let caller = crate::session::require_caller()?;
    ledgerport::auth::passkeys::finish_adding(
        &crate::context::app().db,
        &*relying_party()?,
        &caller,
        &ceremony,
        &name,
        &answer,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/profile/two-factor?passkey_added=1");
    Ok(())
}

#[server(endpoint = "passkey-remove")]
pub async fn remove_passkey(id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_caller()?;
    ledgerport::auth::passkeys::remove(
        &crate::context::app().db,
        &caller,
        id,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect("/profile/two-factor?passkey_removed=1");
    Ok(())
}

/// One of the user's passkeys as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The user's passkeys, whether this session may add one, and whether the portal offers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeysView {
    pub offered: bool,
    pub passkeys: Vec<PasskeyView>,
    pub may_add: bool,
    /// This session proved a second factor (removing a passkey needs that).
    pub proved: bool,
}

#[server(endpoint = "passkeys")]
pub async fn passkeys() -> Result<PasskeysView, AppError> {
    let caller = crate::session::require_caller()?;
    let ctx = crate::context::app();
    let list = ledgerport::auth::passkeys::list(&ctx.db, &caller).await?;
    Ok(PasskeysView {
        offered: ctx.passkeys.is_some(),
        passkeys: list
            .passkeys
            .into_iter()
            .map(|key| PasskeyView {
                id: key.id,
                name: key.name,
                created_at: key.created_at,
                last_used_at: key.last_used_at,
            })
            .collect(),
        may_add: list.may_add,
        proved: caller.second_factor,
    })
}

/// The texts `passkeys.js` shows when the browser's half fails, in the page's language.
#[component]
fn BrowserFailures() -> impl IntoView {
    let locale = use_locale();
    view! {
        <p class="error" role="alert" data-passkey-error hidden
            data-cancelled=tr!(locale, "passkeys.cancelled")
            data-failed=tr!(locale, "passkeys.failed")></p>
    }
}

/// The sign-in page's passkey button (shown only where the browser can use one here).
#[component]
pub fn PasskeySignInForm() -> impl IntoView {
    let locale = use_locale();
    let submit = ServerAction::<PasskeySignIn>::new();
    let error = form_error(submit);
    view! {
        <form method="post" action=PasskeySignIn::PATH class="form passkey-form" data-needs-passkeys
            data-passkey-sign-in data-begin=BeginPasskeySignIn::PATH>
            <p class="or"><span>{tr!(locale, "passkeys.or")}</span></p>
            <input type="hidden" name="ceremony"/>
            <input type="hidden" name="answer"/>
            <BrowserFailures/>
            <FormError message=Signal::derive(error)/>
            <button class="button secondary" type="submit">{tr!(locale, "passkeys.sign_in")}</button>
        </form>
    }
}

/// The passkeys section of the two-factor page.
#[component]
pub fn PasskeysSection() -> impl IntoView {
    // The forms post without JavaScript's help (passkeys.js fills in the answer and submits),
    // so their outcome arrives in the address: these actions only read it.
    let add = ServerAction::<AddPasskey>::new();
    let remove = ServerAction::<RemovePasskey>::new();
    let remove_error = form_error(remove);
    let added = form_succeeded("passkey_added");
    let removed = form_succeeded("passkey_removed");
    let state = Resource::new(|| (), |_| passkeys());
    let locale = use_locale();
    view! {
        <section aria-labelledby="passkeys-heading" data-testid="passkeys">
            <h2 id="passkeys-heading">{tr!(locale, "passkeys.title")}</h2>
            <p>{tr!(locale, "passkeys.what")}</p>
            {move || added().then(|| view! {
                <p class="notice" role="status">{tr!(locale, "passkeys.added")}</p>
            })}
            {move || removed().then(|| view! {
                <p class="notice" role="status">{tr!(locale, "passkeys.removed")}</p>
            })}
            <FormError message=Signal::derive(remove_error)/>
            <crate::components::Loaded data=state let:view>
                <PasskeyList view add/>
            </crate::components::Loaded>
        </section>
    }
}

#[component]
fn PasskeyList(view: PasskeysView, add: ServerAction<AddPasskey>) -> impl IntoView {
    let locale = use_locale();
    let add_error = form_error(add);
    if !view.offered {
        return view! { <p class="hint">{tr!(locale, "passkeys.not_offered")}</p> }.into_any();
    }
    let keys = view.passkeys.into_iter().map(|key| {
        let used = match key.last_used_at {
            Some(at) => tr!(locale, "passkeys.last_used", date = crate::format::timestamp(&at)),
            None => tr!(locale, "passkeys.never_used"),
        };
        view! {
            <li data-testid="passkey">
                <strong>{key.name}</strong>
                <span class="muted">
                    " · " {tr!(locale, "passkeys.added_on", date = crate::format::timestamp(&key.created_at))}
                    " · " {used}
                </span>
                {view.proved.then(|| view! {
                    <form method="post" action=RemovePasskey::PATH class="form inline">
                        <input type="hidden" name="id" value=key.id/>
                        <button class="button secondary small" type="submit">{tr!(locale, "passkeys.remove")}</button>
                    </form>
                })}
            </li>
        }
    }).collect_view();
    view! {
        <ul class="passkeys">{keys}</ul>
        {if view.may_add {
            view! {
                <form method="post" action=AddPasskey::PATH class="form" data-needs-passkeys
                    data-passkey-add data-begin=BeginAddingPasskey::PATH>
                    <label for="passkey-name">{tr!(locale, "passkeys.name")}</label>
                    <input id="passkey-name" name="name" maxlength="60" required
                        placeholder=tr!(locale, "passkeys.name_example")/>
                    <input type="hidden" name="ceremony"/>
                    <input type="hidden" name="answer"/>
                    <BrowserFailures/>
                    <FormError message=Signal::derive(add_error)/>
                    <button class="button" type="submit">{tr!(locale, "passkeys.add")}</button>
                </form>
                <p class="hint" data-without-passkeys>{tr!(locale, "passkeys.needs_browser")}</p>
            }.into_any()
        } else {
            view! { <p class="hint">{tr!(locale, "passkeys.prove_first")}</p> }.into_any()
        }}
    }
    .into_any()
}
