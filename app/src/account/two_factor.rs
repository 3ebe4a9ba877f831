//! `/profile/two-factor`: setting up an authenticator app, recovery codes, turning it off.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::{
    BeginTwoFactor, ConfirmTwoFactor, TurnOffTwoFactor, TwoFactorView, two_factor,
};
use crate::components::{FormError, Loaded, form_succeeded, island_form_error, posted_error};
use crate::i18n::{tr, use_locale};

#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let posted = Posted {
        begin: posted_error::<BeginTwoFactor>(),
        confirm: posted_error::<ConfirmTwoFactor>(),
        off: posted_error::<TurnOffTwoFactor>(),
        turned_off: form_succeeded("off")(),
    };
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "two_factor.title")/>
        <section class="card narrow" aria-labelledby="two-factor-heading">
            <h1 id="two-factor-heading">{tr!(locale, "two_factor.title")}</h1>
            <TwoFactorPanel posted/>
            <crate::account::passkeys::PasskeysSection/>
            <p class="muted"><a href="/profile">{tr!(locale, "two_factor.back")}</a></p>
        </section>
    }
}

/// What the panel's forms came back with after a plain HTML post, read from the URL by the
/// server-rendered page (an island cannot read it).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Posted {
    begin: Option<String>,
    confirm: Option<String>,
    off: Option<String>,
    turned_off: bool,
}

/// An island: the recovery codes made when it is turned on are the server function's answer,
/// shown this once (without JavaScript the page offers new ones as a download instead), and the
/// state below follows each form.
#[island(lazy)]
fn TwoFactorPanel(posted: Posted) -> impl IntoView {
    crate::islands::island_alive();
    let begin = ServerAction::<BeginTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let off = ServerAction::<TurnOffTwoFactor>::new();
    let state = Resource::new(
        move || {
            (
                begin.version().get(),
                confirm.version().get(),
                off.version().get(),
            )
        },
        |_| two_factor(),
    );
    let codes = move || confirm.value().get().and_then(Result::ok);
    let turned_off = posted.turned_off;
    let forms = Forms {
        begin,
        confirm,
        off,
        begin_error: island_form_error(begin, posted.begin),
        confirm_error: island_form_error(confirm, posted.confirm),
        off_error: island_form_error(off, posted.off),
        turned_off: Signal::derive(move || {
            turned_off || off.value().with(|v| matches!(v, Some(Ok(_))))
        }),
    };
    view! {
        {move || codes().map(|codes| view! { <RecoveryCodes codes/> })}
        <Loaded data=state let:view>
            <TwoFactorState view forms/>
        </Loaded>
    }
}

/// Where new recovery codes are downloaded (a server route: a file, not a page).
pub const RECOVERY_CODES_FILE: &str = "/profile/recovery-codes.txt";

#[derive(Clone, Copy)]
struct Forms {
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
    off: ServerAction<TurnOffTwoFactor>,
    begin_error: Signal<Option<String>>,
    confirm_error: Signal<Option<String>>,
    off_error: Signal<Option<String>>,
    turned_off: Signal<bool>,
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="notice" role="status" data-testid="recovery-codes">
            <p><strong>{tr!(locale, "two_factor.save_codes")}</strong>" "{tr!(locale, "two_factor.codes_hint")}</p>
            <ul class="codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn TwoFactorState(view: TwoFactorView, forms: Forms) -> impl IntoView {
    let Forms {
        begin_error,
        confirm_error,
        off_error,
        turned_off,
        ..
    } = forms;
    let locale = use_locale();
    if let Some(since) = view.on_since {
        let left = view.recovery_codes_left;
        return view! {
            <p data-testid="two-factor-status">
                {tr!(locale, "two_factor.on_since", date = since)}
            </p>
            <p data-testid="recovery-codes-left">{tr!(locale, "two_factor.codes_left", count = left)}</p>
            // A plain form: the codes arrive as a text file, with or without JavaScript.
            {view.proved.then(|| view! {
                <form method="post" action=RECOVERY_CODES_FILE class="form inline">
                    <button class="button secondary" type="submit">{tr!(locale, "two_factor.download_codes")}</button>
                    <span class="hint">" " {tr!(locale, "two_factor.replaces_codes")}</span>
                </form>
            })}
            {if view.required {
                view! {
                    <p class="hint">"AR managers keep two-factor sign-in on. If you lose your phone "
                        "and your recovery codes, the portal's operator can reset it."</p>
                }.into_any()
            } else {
                view! {
                    <h2>{tr!(locale, "two_factor.turn_it_off")}</h2>
                    <ActionForm action=forms.off attr:class="form">
                        <label for="off-code">{tr!(locale, "two_factor.off_code")}</label>
                        <input id="off-code" name="code" autocomplete="one-time-code" required/>
                        <FormError message=off_error/>
                        <button class="button secondary" type="submit">{tr!(locale, "two_factor.turn_off")}</button>
                    </ActionForm>
                }.into_any()
            }}
        }
        .into_any();
    }
    if let Some(pending) = view.pending {
        return view! {
            <p>{tr!(locale, "two_factor.scan")}</p>
            <div class="qr" inner_html=pending.qr_svg></div>
            <p>{tr!(locale, "two_factor.key")}" "<code data-testid="totp-secret">{pending.secret}</code></p>
            <ActionForm action=forms.confirm attr:class="form">
                <label for="confirm-code">{tr!(locale, "two_factor.confirm_code")}</label>
                <input id="confirm-code" name="code" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9 ]{6,7}" maxlength="7" required/>
                <FormError message=confirm_error/>
                <button class="button" type="submit">{tr!(locale, "two_factor.turn_on")}</button>
            </ActionForm>
            <p class="hint">{tr!(locale, "two_factor.signs_out_others")}</p>
            <ActionForm action=forms.begin attr:class="form inline">
                <FormError message=begin_error/>
                <button class="button secondary" type="submit">{tr!(locale, "two_factor.start_again")}</button>
            </ActionForm>
        }
        .into_any();
    }
    view! {
        {move || turned_off.get().then(|| view! {
            <p class="notice" role="status">{tr!(locale, "two_factor.is_off")}</p>
        })}
        // A manager who signed in with a passkey has proved a second factor already.
        {(view.required && !view.proved && !view.passkey_first).then(|| view! {
            <p class="notice" role="alert" data-testid="two-factor-required">
                "AR managers sign in with two factors. Set up an authenticator app, or add a passkey "
                "below, to reach the staff pages."
            </p>
        })}
        <p data-testid="two-factor-status">{tr!(locale, "two_factor.off_status")}</p>
        {if view.passkey_first {
            view! {
                <p class="notice" role="alert" data-testid="passkey-first">
                    {tr!(locale, "two_factor.passkey_first")}
                </p>
            }.into_any()
        } else {
            view! {
                <ActionForm action=forms.begin attr:class="form inline">
                    <FormError message=begin_error/>
                    <button class="button" type="submit">{tr!(locale, "two_factor.set_up")}</button>
                </ActionForm>
            }.into_any()
        }}
    }
    .into_any()
}
