//! `/profile/two-factor`: setting up an authenticator app, recovery codes, turning it off.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::{
    BeginTwoFactor, ConfirmTwoFactor, TurnOffTwoFactor, TwoFactorView, two_factor,
};
use crate::components::{FormError, Loaded, form_error, form_succeeded};

#[component]
pub fn TwoFactorPage() -> impl IntoView {
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
    // The codes made when it was turned on, shown once (with JavaScript; without it the page
    // offers new ones as a download instead).
    let codes = move || confirm.value().get().and_then(Result::ok);
    let forms = Forms {
        begin,
        confirm,
        off,
    };
    view! {
        <Title text="Two-factor sign-in"/>
        <section class="card narrow" aria-labelledby="two-factor-heading">
            <h1 id="two-factor-heading">"Two-factor sign-in"</h1>
            {move || codes().map(|codes| view! { <RecoveryCodes codes/> })}
            <Loaded data=state let:view>
                <TwoFactorState view forms/>
            </Loaded>
            <p class="muted"><a href="/profile">"Back to my profile"</a></p>
        </section>
    }
}

/// Where new recovery codes are downloaded (a server route: a file, not a page).
pub const RECOVERY_CODES_FILE: &str = "/profile/recovery-codes.txt";

#[derive(Clone, Copy)]
struct Forms {
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
    off: ServerAction<TurnOffTwoFactor>,
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-testid="recovery-codes">
            <p><strong>"Save these recovery codes now."</strong>" Each one signs you in once if you lose "
               "your phone. They are not shown again; any older codes stopped working."</p>
            <ul class="codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn TwoFactorState(view: TwoFactorView, forms: Forms) -> impl IntoView {
    let begin_error = form_error(forms.begin);
    let confirm_error = form_error(forms.confirm);
    let off_error = form_error(forms.off);
    let turned_off = form_succeeded(forms.off, "off");
    if let Some(since) = view.on_since {
        let left = view.recovery_codes_left;
        return view! {
            <p data-testid="two-factor-status">
                "On since " {since} ". Signing in asks for a code from your authenticator app."
            </p>
            <p data-testid="recovery-codes-left">{format!("{left} unused recovery codes.")}</p>
            // A plain form: the codes arrive as a text file, with or without JavaScript.
            {view.proved.then(|| view! {
                <form method="post" action=RECOVERY_CODES_FILE class="form inline">
                    <button class="button secondary" type="submit">"Download new recovery codes"</button>
                    <span class="hint">" Replaces the codes you have."</span>
                </form>
            })}
            {if view.required {
                view! {
                    <p class="hint">"AR managers keep two-factor sign-in on. If you lose your phone "
                        "and your recovery codes, the portal's operator can reset it."</p>
                }.into_any()
            } else {
                view! {
                    <h2>"Turn it off"</h2>
                    <ActionForm action=forms.off attr:class="form">
                        <label for="off-code">"A code from your app, or a recovery code"</label>
                        <input id="off-code" name="code" autocomplete="one-time-code" required/>
                        <FormError message=Signal::derive(off_error)/>
                        <button class="button secondary" type="submit">"Turn off two-factor sign-in"</button>
                    </ActionForm>
                }.into_any()
            }}
        }
        .into_any();
    }
    if let Some(pending) = view.pending {
        return view! {
            <p>"Scan this code with your authenticator app (for example Google Authenticator, "
               "Microsoft Authenticator or 1Password), or type the key into it."</p>
            <div class="qr" inner_html=pending.qr_svg></div>
            <p>"Key: " <code data-testid="totp-secret">{pending.secret}</code></p>
            <ActionForm action=forms.confirm attr:class="form">
                <label for="confirm-code">"The 6-digit code the app shows"</label>
                <input id="confirm-code" name="code" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9 ]{6,7}" maxlength="7" required/>
                <FormError message=Signal::derive(confirm_error)/>
                <button class="button" type="submit">"Turn on"</button>
            </ActionForm>
            <p class="hint">"Turning it on signs you out on your other devices."</p>
            <ActionForm action=forms.begin attr:class="form inline">
                <FormError message=Signal::derive(begin_error)/>
                <button class="button secondary" type="submit">"Start again with a new key"</button>
            </ActionForm>
        }
        .into_any();
    }
    view! {
        {move || turned_off().then(|| view! {
            <p class="notice" role="status">"Two-factor sign-in is off."</p>
        })}
        {view.required.then(|| view! {
            <p class="notice" role="alert" data-testid="two-factor-required">
                "AR managers sign in with two factors. Set it up to reach the staff pages."
            </p>
        })}
        <p data-testid="two-factor-status">"Off: your password alone signs you in. With two-factor sign-in, "
           "signing in also asks for a code from an app on your phone."</p>
        <ActionForm action=forms.begin attr:class="form inline">
            <FormError message=Signal::derive(begin_error)/>
            <button class="button" type="submit">"Set up two-factor sign-in"</button>
        </ActionForm>
    }
    .into_any()
}
