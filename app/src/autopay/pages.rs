//! `/autopay`: the account's saved payment methods (with what was agreed, by whom, when and
//! from where), adding one on the provider's page, removing one, and autopay (on with a method,
//! a day and a cap; its latest charges; off). Staff see the same on a customer's page, read only.
//! Plain forms: it works without JavaScript.

use ledgerport::autopay::{AutopaySettings, AutopayStatus, ChargeOn};
use ledgerport::saved_methods::{CONSENT_TEXT, SavedMethod};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    AutopayPageData, RemoveMethod, SaveMethod, TurnOffAutopay, TurnOnAutopay, autopay_page,
    customer_autopay,
};
use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money};
use crate::i18n::{Locale, tr, use_locale};

#[component]
pub fn AutopayPage() -> impl IntoView {
    let save = ServerAction::<SaveMethod>::new();
    let remove = ServerAction::<RemoveMethod>::new();
    let turn_on = ServerAction::<TurnOnAutopay>::new();
    let turn_off = ServerAction::<TurnOffAutopay>::new();
    let save_error = form_error(save);
    let remove_error = form_error(remove);
    let on_error = form_error(turn_on);
    let off_error = form_error(turn_off);
    let query = use_query_map();
    let data = Resource::new(|| (), |_| autopay_page());
    let flag = move |name: &'static str| query.with(|q| q.get(name).is_some());
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "autopay.title")/>
        <h1>{tr!(locale, "autopay.title")}</h1>
        {move || flag("saved").then(|| view! {
            <p class="notice" role="status" data-testid="method-saved">{tr!(locale, "autopay.method_saved")}</p>
        })}
        {move || flag("removed").then(|| view! {
            <p class="notice" role="status">{tr!(locale, "autopay.method_removed")}</p>
        })}
        {move || flag("on").then(|| view! {
            <p class="notice" role="status" data-testid="autopay-on">{tr!(locale, "autopay.is_on")}</p>
        })}
        {move || flag("off").then(|| view! {
            <p class="notice" role="status">{tr!(locale, "autopay.is_off")}</p>
        })}
        <FormError message=Signal::derive(remove_error)/>
        <FormError message=Signal::derive(off_error)/>
        <Loaded data=data let:page>
            {methods_section(page.clone(), Some(remove), locale)}
            {save_form(&page, save, save_error, locale)}
            {autopay_section(page, Some((turn_on, turn_off)), on_error, locale)}
        </Loaded>
    }
}

/// The account's saved methods, with what was agreed; a Remove button for payers.
fn methods_section(
    page: AutopayPageData,
    remove: Option<ServerAction<RemoveMethod>>,
    locale: Locale,
) -> AnyView {
    if page.methods.is_empty() {
        return view! {
            <section class="card" aria-labelledby="methods-heading">
                <h2 id="methods-heading">{tr!(locale, "autopay.saved_methods")}</h2>
                <p class="empty" data-testid="no-methods">{tr!(locale, "autopay.no_methods")}</p>
            </section>
        }
        .into_any();
    }
    let remove = remove.filter(|_| page.can_change);
    view! {
        <section class="card" aria-labelledby="methods-heading">
            <h2 id="methods-heading">{tr!(locale, "autopay.saved_methods")}</h2>
            <div class="table-wrap">
            <table class="table" data-testid="saved-methods">
                <thead><tr>
                    <th scope="col">{tr!(locale, "autopay.method")}</th><th scope="col">{tr!(locale, "autopay.expires")}</th>
                    <th scope="col">{tr!(locale, "autopay.saved_by")}</th><th scope="col">{tr!(locale, "autopay.agreement")}</th><th scope="col"></th>
                </tr></thead>
                <tbody>
                    {page.methods.into_iter().map(|m| method_row(m, remove, locale)).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
    .into_any()
}

fn method_row(
    method: SavedMethod,
    remove: Option<ServerAction<RemoveMethod>>,
    locale: Locale,
) -> impl IntoView {
    let id = method.id;
    let name = method.name();
    let in_use = method.autopay;
    let consented = tr!(
        locale,
        "autopay.consented_from",
        at = method.consented_at,
        address = method.consented_ip
    );
    view! {
        <tr>
            <td>
                {name.clone()} " " <span class="hint">"(" {method.kind.label_in(locale)} ")"</span>
                {in_use.then(|| view! { " " <span class="badge open">{tr!(locale, "autopay.badge")}</span> })}
            </td>
            <td>{method.expires.unwrap_or_else(|| "–".into())}</td>
            <td>
                {method.consented_by} <br/>
                <span class="hint">{consented}</span>
            </td>
            <td><details><summary>{tr!(locale, "autopay.what_was_agreed")}</summary><p class="hint">{method.consent_text}</p></details></td>
            <td>
                {remove.map(|remove| view! {
                    <ActionForm action=remove attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button class="button secondary" type="submit"
                            aria-label=tr!(locale, "autopay.remove_named", name = name.clone())>{tr!(locale, "autopay.remove")}</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

fn save_form(
    page: &AutopayPageData,
    save: ServerAction<SaveMethod>,
    save_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    locale: Locale,
) -> AnyView {
    if !page.can_change {
        return view! { <p class="hint">{tr!(locale, "autopay.read_only")}</p> }.into_any();
    }
    view! {
        <section class="card" aria-labelledby="save-heading">
            <h2 id="save-heading">{tr!(locale, "autopay.save_heading")}</h2>
            <p class="hint">{tr!(locale, "autopay.save_hint")}</p>
            <ActionForm action=save attr:class="form wide">
                // The agreement is recorded word for word with the method, as the engine keeps it.
                <p>{CONSENT_TEXT}</p>
                <label class="check">
                    <input type="checkbox" name="consent" value="agreed" required/>
                    " " {tr!(locale, "autopay.i_agree")}
                </label>
                <FormError message=Signal::derive(save_error)/>
                <button class="button" type="submit">{tr!(locale, "autopay.save_method")}</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

type AutopayActions = (ServerAction<TurnOnAutopay>, ServerAction<TurnOffAutopay>);

fn autopay_section(
    page: AutopayPageData,
    actions: Option<AutopayActions>,
    on_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    locale: Locale,
) -> AnyView {
    let currency = page.currency;
    let status = autopay_status(page.autopay.as_ref(), currency, locale);
    let charges = page
        .autopay
        .as_ref()
        .map(|a| charges_table(a, currency, locale).into_any());
    let form = actions
        .filter(|_| page.can_change && !page.methods.is_empty())
        .map(|(turn_on, turn_off)| autopay_form(&page, turn_on, turn_off, on_error, locale));
    view! {
        <section class="card" aria-labelledby="autopay-heading">
            <h2 id="autopay-heading">{tr!(locale, "autopay.heading")}</h2>
            <p class="hint">{tr!(locale, "autopay.hint")}</p>
            {status}
            {form}
            {charges}
        </section>
    }
    .into_any()
}

fn autopay_status(
    autopay: Option<&AutopaySettings>,
    currency: ledgerport::money::Currency,
    locale: Locale,
) -> AnyView {
    let Some(a) = autopay else {
        return view! { <p data-testid="autopay-status">{tr!(locale, "autopay.is_off")}</p> }
            .into_any();
    };
    let cap = a
        .cap_minor
        .map(|cap| tr!(locale, "autopay.cap_text", amount = money(cap, currency)))
        .unwrap_or_default();
    let text = match a.status {
        AutopayStatus::On => tr!(
            locale,
            "autopay.status_on",
            method = a.method.clone(),
            when = a.charge_on.phrase_in(locale),
            cap = cap,
            by = a.set_by.clone()
        ),
        AutopayStatus::Waiting => tr!(
            locale,
            "autopay.status_waiting",
            reason = a.waiting_reason.clone()
        ),
        AutopayStatus::Off => tr!(locale, "autopay.is_off"),
    };
    view! { <p data-testid="autopay-status">{text}</p> }.into_any()
}

fn autopay_form(
    page: &AutopayPageData,
    turn_on: ServerAction<TurnOnAutopay>,
    turn_off: ServerAction<TurnOffAutopay>,
    on_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    locale: Locale,
) -> AnyView {
    let current = page.autopay.as_ref();
    let chosen_method = current.map(|a| a.method_id);
    let chosen_day = current.map_or(ChargeOn::DueDate, |a| a.charge_on);
    // As this page writes amounts in a form field: `1234.50`, `1234,50`.
    let cap = current
        .and_then(|a| a.cap_minor)
        .map(|cap| locale.plain_decimal(cap, page.currency.exponent()))
        .unwrap_or_default();
    let is_on = current.is_some_and(|a| a.status != AutopayStatus::Off);
    let options = page
        .methods
        .iter()
        .map(|m| (m.id, m.name()))
        .collect::<Vec<_>>();
    let currency = page.currency.code();
    view! {
        <ActionForm action=turn_on attr:class="form wide">
            // The cap below is written in this page's language.
            <input type="hidden" name="lang" value=locale.code()/>
            <label for="autopay-method">{tr!(locale, "autopay.charge")}</label>
            <select id="autopay-method" name="method_id">
                {options.into_iter().map(|(id, name)| view! {
                    <option value=id selected=chosen_method == Some(id)>{name}</option>
                }).collect_view()}
            </select>
            <fieldset>
                <legend>{tr!(locale, "autopay.when")}</legend>
                {ChargeOn::ALL.into_iter().map(|day| view! {
                    <label class="check">
                        <input type="radio" name="charge_on" value=day.as_str() checked=day == chosen_day/>
                        " " {day.label_in(locale)}
                    </label>
                }).collect_view()}
            </fieldset>
            <label for="autopay-cap">{tr!(locale, "autopay.cap_label", currency = currency)}</label>
            <input id="autopay-cap" name="cap" inputmode="decimal" class="amount" value=cap
                placeholder=tr!(locale, "autopay.no_cap")/>
            <FormError message=Signal::derive(on_error)/>
            <button class="button" type="submit">
                {if is_on { tr!(locale, "autopay.save") } else { tr!(locale, "autopay.turn_on") }}
            </button>
        </ActionForm>
        {is_on.then(|| view! {
            <ActionForm action=turn_off attr:class="inline">
                <button class="button secondary" type="submit">{tr!(locale, "autopay.turn_off")}</button>
            </ActionForm>
        })}
    }
    .into_any()
}

fn charges_table(
    autopay: &AutopaySettings,
    currency: ledgerport::money::Currency,
    locale: Locale,
) -> impl IntoView {
    let charges = autopay.charges.clone();
    (!charges.is_empty()).then(|| view! {
        <h3>{tr!(locale, "autopay.latest_charges")}</h3>
        <div class="table-wrap">
        <table class="table compact" data-testid="autopay-charges">
            <thead><tr>
                <th scope="col">{tr!(locale, "statements.date")}</th><th scope="col" class="num">{tr!(locale, "statements.amount")}</th>
                <th scope="col">{tr!(locale, "autopay.attempt")}</th><th scope="col">{tr!(locale, "autopay.result")}</th>
            </tr></thead>
            <tbody>
                {charges.into_iter().map(|c| view! {
                    <tr>
                        <td>{date(c.charged_on)}</td>
                        <td class="num">{money(c.amount_minor, currency)}</td>
                        <td>{c.attempt}</td>
                        <td>{c.result.label_in(locale)} {(!c.message.is_empty()).then(|| format!(": {}", c.message))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    })
}

/// On the staff customer page: the account's saved methods and autopay, read only.
#[component]
pub fn CustomerAutopay(
    customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let data = Resource::new(customer_id, customer_autopay);
    let no_error = || None::<String>;
    // Staff pages are English.
    let locale = Locale::En;
    view! {
        <Loaded data=data let:page>
            {methods_section(page.clone(), None, locale)}
            {autopay_section(page, None, no_error, locale)}
        </Loaded>
    }
}
