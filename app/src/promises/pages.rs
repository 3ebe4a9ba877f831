//! The promise page: the payer chooses invoices, a day and an amount; the account's promises are
//! listed with what has come in on each, and an open one can be withdrawn. Plain forms: it works
//! without JavaScript.

use ledgerport::promises::{PromiseOffer, PromiseStatus, PromiseView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{MakePromise, PromisePageData, RecordPromise, WithdrawPromise, promise_page};
use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money};
use crate::i18n::{Locale, tr, use_locale};

pub(crate) fn promise_badge(status: PromiseStatus, locale: Locale) -> impl IntoView {
    let class = match status {
        PromiseStatus::Open => "badge open",
        PromiseStatus::Kept => "badge paid",
        PromiseStatus::Broken => "badge overdue",
        PromiseStatus::Withdrawn => "badge void",
    };
    view! { <span class=class>{status.label_in(locale)}</span> }
}

#[component]
pub fn PromisePage() -> impl IntoView {
    let make = ServerAction::<MakePromise>::new();
    let withdraw = ServerAction::<WithdrawPromise>::new();
    let make_error = form_error(make);
    let withdraw_error = form_error(withdraw);
    let query = use_query_map();
    let data = Resource::new(|| (), |_| promise_page());
    let made = move || query.with(|q| q.get("made").is_some());
    let withdrawn = move || query.with(|q| q.get("withdrawn").is_some());
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "promises.title")/>
        <h1>{tr!(locale, "promises.title")}</h1>
        <p class="hint">{tr!(locale, "promises.hint")}</p>
        {move || made().then(|| view! {
            <p class="notice" role="status" data-testid="promise-made">{tr!(locale, "promises.made")}</p>
        })}
        {move || withdrawn().then(|| view! {
            <p class="notice" role="status">{tr!(locale, "promises.withdrawn")}</p>
        })}
        <FormError message=Signal::derive(withdraw_error)/>
        <Loaded data=data let:page>
            {promise_form(page.clone(), make, make_error, locale)}
            {promise_list(page, withdraw, locale)}
        </Loaded>
    }
}

fn promise_form(
    page: PromisePageData,
    make: ServerAction<MakePromise>,
    make_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    locale: Locale,
) -> AnyView {
    let offer = page.offer;
    if !page.can_promise {
        return view! { <p class="hint">{tr!(locale, "promises.read_only")}</p> }.into_any();
    }
    if offer.invoices.is_empty() {
        return view! { <p class="empty" data-testid="nothing-to-promise">{tr!(locale, "promises.nothing_due")}</p> }
            .into_any();
    }
    view! {
        <section class="card" aria-labelledby="promise-heading">
            <h2 id="promise-heading">{tr!(locale, "promises.make")}</h2>
            <ActionForm action=make attr:class="form wide">
                // The amount below is written in this page's language.
                <input type="hidden" name="lang" value=locale.code()/>
                {promise_fields(
                    &offer,
                    tr!(locale, "promises.pay_by_label"),
                    tr!(locale, "promises.note_label"),
                    locale,
                )}
                <FormError message=Signal::derive(make_error)/>
                <button class="button" type="submit">{tr!(locale, "promises.submit")}</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// The fields of a promise: the invoices it can cover, the day, the amount and a note. The
/// payer's form and the staff's form around them differ only in who sends them (and the
/// language: staff pages are English).
fn promise_fields(
    offer: &PromiseOffer,
    day_label: String,
    note_label: String,
    locale: Locale,
) -> AnyView {
    let c = offer.currency;
    view! {
        <div class="table-wrap">
        <table class="table compact" data-testid="promisable">
            <thead><tr>
                <th scope="col">{tr!(locale, "promises.promise")}</th><th scope="col">{tr!(locale, "invoice.invoice")}</th>
                <th scope="col">{tr!(locale, "promises.due_date")}</th><th scope="col" class="num">{tr!(locale, "invoice.due_now")}</th>
            </tr></thead>
            <tbody>
                {offer.invoices.iter().enumerate().map(|(i, inv)| view! {
                    <tr>
                        <td><input type="checkbox" name=format!("invoices[{i}]") value=inv.invoice_id
                            id=format!("promise-{}", inv.invoice_id)
                            aria-label=tr!(locale, "promises.promise_invoice", number = inv.number.clone())/></td>
                        <td><label for=format!("promise-{}", inv.invoice_id)>{inv.number.clone()}</label></td>
                        <td>{date(inv.due_date)}</td>
                        <td class="num">{money(inv.due_minor, c)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <label for="pay-by">{day_label}</label>
        <input id="pay-by" type="date" name="pay_by" required
            min=offer.today.to_string() max=offer.latest_day.to_string()/>
        <label for="promise-amount">{tr!(locale, "promises.amount_label", currency = c.code())}</label>
        <input id="promise-amount" name="amount" inputmode="decimal" class="amount"
            placeholder=tr!(locale, "promises.amount_placeholder")/>
        <label for="promise-note">{note_label}</label>
        <textarea id="promise-note" name="note" maxlength="500" rows="2"></textarea>
    }
    .into_any()
}

fn promise_list(
    page: PromisePageData,
    withdraw: ServerAction<WithdrawPromise>,
    locale: Locale,
) -> AnyView {
    let can_withdraw = page.can_promise;
    let promises = page.offer.promises;
    if promises.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="card" aria-labelledby="promises-heading">
            <h2 id="promises-heading">{tr!(locale, "promises.yours")}</h2>
            {promise_table(promises, locale, move |p: &PromiseView| {
                let id = p.id;
                (can_withdraw && p.status == PromiseStatus::Open).then(move || view! {
                    <ActionForm action=withdraw attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button class="button secondary" type="submit">{tr!(locale, "promises.withdraw")}</button>
                    </ActionForm>
                })
            })}
        </section>
    }
    .into_any()
}

/// A table of promises, with `action` rendered in the last column of each row.
pub(crate) fn promise_table<A: IntoView + 'static>(
    promises: Vec<PromiseView>,
    locale: Locale,
    action: impl Fn(&PromiseView) -> A + 'static,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
        <table class="table" data-testid="promises">
            <thead><tr>
                <th scope="col">{tr!(locale, "promises.status")}</th><th scope="col">{tr!(locale, "promises.pay_by")}</th>
                <th scope="col" class="num">{tr!(locale, "promises.promised")}</th><th scope="col" class="num">{tr!(locale, "promises.came_in")}</th>
                <th scope="col">{tr!(locale, "promises.invoices")}</th><th scope="col">{tr!(locale, "promises.made_by")}</th><th scope="col"></th>
            </tr></thead>
            <tbody>
                {promises.into_iter().map(|p| {
                    let c = p.currency;
                    let cell = action(&p);
                    view! {
                        <tr>
                            <td>{promise_badge(p.status, locale)}</td>
                            <td>{date(p.pay_by)}</td>
                            <td class="num">{money(p.amount_minor, c)}</td>
                            <td class="num">{money(p.met_minor, c)}</td>
                            <td>{p.invoices.into_iter().map(|(_, number)| number).collect::<Vec<_>>().join(", ")}
                                {(!p.note.is_empty()).then(|| view! { <br/><span class="muted">{p.note}</span> })}</td>
                            <td>{p.made_by}</td>
                            <td>{cell}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// Staff: the account's promises to pay, on the customer's page, and the form to record one
/// the customer gave by phone or letter.
#[component]
pub fn CustomerPromises(
    customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let record = ServerAction::<RecordPromise>::new();
    let record_error = form_error(record);
    let query = use_query_map();
    let offer = Resource::new(customer_id, super::customer_promises);
    let recorded = move || query.with(|q| q.get("promised").is_some());
    // Staff pages are English.
    let locale = Locale::En;
    view! {
        <section class="card" aria-labelledby="promises-heading">
            <h2 id="promises-heading">"Promises to pay"</h2>
            {move || recorded().then(|| view! {
                <p class="notice" role="status" data-testid="promise-recorded">"The promise is recorded, and the customer gets it in writing."</p>
            })}
            <FormError message=Signal::derive(record_error)/>
            <Loaded data=offer let:offer>
                {if offer.promises.is_empty() {
                    view! { <p class="empty">"No promises yet."</p> }.into_any()
                } else {
                    promise_table(offer.promises.clone(), locale, |_| ()).into_any()
                }}
                {(!offer.invoices.is_empty()).then(|| view! {
                    <details>
                        <summary>"Record a promise made by phone or letter"</summary>
                        <ActionForm action=record attr:class="form wide">
                            <input type="hidden" name="customer_id" value=customer_id/>
                            {promise_fields(
                                &offer,
                                "They will pay by".to_string(),
                                "Note (the customer sees it)".to_string(),
                                locale,
                            )}
                            <button class="button" type="submit">"Record the promise"</button>
                        </ActionForm>
                    </details>
                })}
            </Loaded>
        </section>
    }
}
