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
    // The forms redirect here with a flag: refetch then.
    let query = use_query_map();
    let data = Resource::new(move || query.get(), |_| autopay_page());
    // The provider's page is outside the app: leave it with a full page load.
    Effect::new(move |_| {
        if let Some(Ok(url)) = save.value().get() {
            #[cfg(feature = "hydrate")]
            if let Err(e) = window().location().set_href(&url) {
                leptos::logging::error!("cannot open the provider's page: {e:?}");
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = url;
        }
    });
    let flag = move |name: &'static str| query.with(|q| q.get(name).is_some());
    view! {
        <Title text="Payment methods and autopay"/>
        <h1>"Payment methods and autopay"</h1>
        {move || flag("saved").then(|| view! {
            <p class="notice" role="status" data-testid="method-saved">"Your payment method is saved."</p>
        })}
        {move || flag("removed").then(|| view! {
            <p class="notice" role="status">"The payment method is removed and will not be charged again."</p>
        })}
        {move || flag("on").then(|| view! {
            <p class="notice" role="status" data-testid="autopay-on">"Autopay is on."</p>
        })}
        {move || flag("off").then(|| view! {
            <p class="notice" role="status">"Autopay is off."</p>
        })}
        <FormError message=Signal::derive(remove_error)/>
        <FormError message=Signal::derive(off_error)/>
        <Loaded data=data let:page>
            {methods_section(page.clone(), Some(remove))}
            {save_form(&page, save, save_error)}
            {autopay_section(page, Some((turn_on, turn_off)), on_error)}
        </Loaded>
    }
}

/// The account's saved methods, with what was agreed; a Remove button for payers.
fn methods_section(page: AutopayPageData, remove: Option<ServerAction<RemoveMethod>>) -> AnyView {
    if page.methods.is_empty() {
        return view! {
            <section class="card" aria-labelledby="methods-heading">
                <h2 id="methods-heading">"Saved payment methods"</h2>
                <p class="empty" data-testid="no-methods">"No payment method is saved."</p>
            </section>
        }
        .into_any();
    }
    let remove = remove.filter(|_| page.can_change);
    view! {
        <section class="card" aria-labelledby="methods-heading">
            <h2 id="methods-heading">"Saved payment methods"</h2>
            <div class="table-wrap">
            <table class="table" data-testid="saved-methods">
                <thead><tr>
                    <th scope="col">"Method"</th><th scope="col">"Expires"</th>
                    <th scope="col">"Saved by"</th><th scope="col">"Agreement"</th><th scope="col"></th>
                </tr></thead>
                <tbody>
                    {page.methods.into_iter().map(|m| method_row(m, remove)).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
    .into_any()
}

fn method_row(method: SavedMethod, remove: Option<ServerAction<RemoveMethod>>) -> impl IntoView {
    let id = method.id;
    let name = method.name();
    let in_use = method.autopay;
    view! {
        <tr>
            <td>
                {name.clone()} " " <span class="hint">"(" {method.kind.label()} ")"</span>
                {in_use.then(|| view! { " " <span class="badge open">"Autopay"</span> })}
            </td>
            <td>{method.expires.unwrap_or_else(|| "–".into())}</td>
            <td>
                {method.consented_by} <br/>
                <span class="hint">{method.consented_at} " from " {method.consented_ip}</span>
            </td>
            <td><details><summary>"What was agreed"</summary><p class="hint">{method.consent_text}</p></details></td>
            <td>
                {remove.map(|remove| view! {
                    <ActionForm action=remove attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button class="button secondary" type="submit"
                            aria-label=format!("Remove {name}")>"Remove"</button>
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
) -> AnyView {
    if !page.can_change {
        return view! { <p class="hint">"Your access is read-only; a payer on your account can save payment methods and set autopay."</p> }
            .into_any();
    }
    view! {
        <section class="card" aria-labelledby="save-heading">
            <h2 id="save-heading">"Save a card or bank account"</h2>
            <p class="hint">"You enter it on our payment provider's secure page; its number never reaches us."</p>
            <ActionForm action=save attr:class="form wide">
                <p>{CONSENT_TEXT}</p>
                <label class="check">
                    <input type="checkbox" name="consent" value="agreed" required/>
                    " I agree"
                </label>
                <FormError message=Signal::derive(save_error)/>
                <button class="button" type="submit">"Save a payment method"</button>
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
) -> AnyView {
    let currency = page.currency;
    let status = autopay_status(page.autopay.as_ref(), currency);
    let charges = page
        .autopay
        .as_ref()
        .map(|a| charges_table(a, currency).into_any());
    let form = actions
        .filter(|_| page.can_change && !page.methods.is_empty())
        .map(|(turn_on, turn_off)| autopay_form(&page, turn_on, turn_off, on_error));
    view! {
        <section class="card" aria-labelledby="autopay-heading">
            <h2 id="autopay-heading">"Autopay"</h2>
            <p class="hint">"Autopay charges invoices as they fall due. Disputed amounts and payments already on their way are never charged; each charge sends a receipt; a declined charge is tried again after 1, 3 and 5 days."</p>
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
) -> AnyView {
    let Some(a) = autopay else {
        return view! { <p data-testid="autopay-status">"Autopay is off."</p> }.into_any();
    };
    let cap = a
        .cap_minor
        .map(|cap| format!(", at most {} per charge", money(cap, currency)))
        .unwrap_or_default();
    let text = match a.status {
        AutopayStatus::On => format!(
            "Autopay is on: {} charges {}{cap}. Set by {}.",
            a.method,
            a.charge_on.label().to_lowercase(),
            a.set_by
        ),
        AutopayStatus::Waiting => format!(
            "Autopay has stopped: {}. Set it again to resume.",
            a.waiting_reason
        ),
        AutopayStatus::Off => "Autopay is off.".to_string(),
    };
    view! { <p data-testid="autopay-status">{text}</p> }.into_any()
}

fn autopay_form(
    page: &AutopayPageData,
    turn_on: ServerAction<TurnOnAutopay>,
    turn_off: ServerAction<TurnOffAutopay>,
    on_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
) -> AnyView {
    let current = page.autopay.as_ref();
    let chosen_method = current.map(|a| a.method_id);
    let chosen_day = current.map_or(ChargeOn::DueDate, |a| a.charge_on);
    let cap = current
        .and_then(|a| a.cap_minor)
        .map(|cap| ledgerport::money::Money::from_minor(cap, page.currency).decimal_text())
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
            <label for="autopay-method">"Charge"</label>
            <select id="autopay-method" name="method_id">
                {options.into_iter().map(|(id, name)| view! {
                    <option value=id selected=chosen_method == Some(id)>{name}</option>
                }).collect_view()}
            </select>
            <fieldset>
                <legend>"When"</legend>
                {ChargeOn::ALL.into_iter().map(|day| view! {
                    <label class="check">
                        <input type="radio" name="charge_on" value=day.as_str() checked=day == chosen_day/>
                        " " {day.label()}
                    </label>
                }).collect_view()}
            </fieldset>
            <label for="autopay-cap">"At most per charge (" {currency} ", optional)"</label>
            <input id="autopay-cap" name="cap" inputmode="decimal" class="amount" value=cap placeholder="No cap"/>
            <FormError message=Signal::derive(on_error)/>
            <button class="button" type="submit">{if is_on { "Save autopay" } else { "Turn autopay on" }}</button>
        </ActionForm>
        {is_on.then(|| view! {
            <ActionForm action=turn_off attr:class="inline">
                <button class="button secondary" type="submit">"Turn autopay off"</button>
            </ActionForm>
        })}
    }
    .into_any()
}

fn charges_table(
    autopay: &AutopaySettings,
    currency: ledgerport::money::Currency,
) -> impl IntoView {
    let charges = autopay.charges.clone();
    (!charges.is_empty()).then(|| view! {
        <h3>"Latest charges"</h3>
        <div class="table-wrap">
        <table class="table compact" data-testid="autopay-charges">
            <thead><tr>
                <th scope="col">"Date"</th><th scope="col" class="num">"Amount"</th>
                <th scope="col">"Attempt"</th><th scope="col">"Result"</th>
            </tr></thead>
            <tbody>
                {charges.into_iter().map(|c| view! {
                    <tr>
                        <td>{date(c.charged_on)}</td>
                        <td class="num">{money(c.amount_minor, currency)}</td>
                        <td>{c.attempt}</td>
                        <td>{c.result.label()} {(!c.message.is_empty()).then(|| format!(": {}", c.message))}</td>
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
    view! {
        <Loaded data=data let:page>
            {methods_section(page.clone(), None)}
            {autopay_section(page, None, no_error)}
        </Loaded>
    }
}
