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

pub(crate) fn promise_badge(status: PromiseStatus) -> impl IntoView {
    let class = match status {
        PromiseStatus::Open => "badge open",
        PromiseStatus::Kept => "badge paid",
        PromiseStatus::Broken => "badge overdue",
        PromiseStatus::Withdrawn => "badge void",
    };
    view! { <span class=class>{status.label()}</span> }
}

#[component]
pub fn PromisePage() -> impl IntoView {
    let make = ServerAction::<MakePromise>::new();
    let withdraw = ServerAction::<WithdrawPromise>::new();
    let make_error = form_error(make);
    let withdraw_error = form_error(withdraw);
    // The forms redirect here with `?made=` or `?withdrawn=`: refetch then.
    let query = use_query_map();
    let data = Resource::new(move || query.get(), |_| promise_page());
    let made = move || query.with(|q| q.get("made").is_some());
    let withdrawn = move || query.with(|q| q.get("withdrawn").is_some());
    view! {
        <Title text="Promise to pay"/>
        <h1>"Promise to pay"</h1>
        <p class="hint">"Tell us by when you will pay. We send no reminders for the invoices you choose until that day."</p>
        {move || made().then(|| view! {
            <p class="notice" role="status" data-testid="promise-made">"Your promise is recorded. Thank you."</p>
        })}
        {move || withdrawn().then(|| view! {
            <p class="notice" role="status">"Your promise is withdrawn; reminders for its invoices resume."</p>
        })}
        <FormError message=Signal::derive(withdraw_error)/>
        <Loaded data=data let:page>
            {promise_form(page.clone(), make, make_error)}
            {promise_list(page, withdraw)}
        </Loaded>
    }
}

fn promise_form(
    page: PromisePageData,
    make: ServerAction<MakePromise>,
    make_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
) -> AnyView {
    let offer = page.offer;
    if !page.can_promise {
        return view! { <p class="hint">"Your access is read-only; a payer on your account can promise to pay."</p> }
            .into_any();
    }
    if offer.invoices.is_empty() {
        return view! { <p class="empty" data-testid="nothing-to-promise">"Nothing is due that a promise could cover."</p> }
            .into_any();
    }
    view! {
        <section class="card" aria-labelledby="promise-heading">
            <h2 id="promise-heading">"Make a promise"</h2>
            <ActionForm action=make attr:class="form wide">
                {promise_fields(&offer, "I will pay by", "Note for our AR team (optional)")}
                <FormError message=Signal::derive(make_error)/>
                <button class="button" type="submit">"Promise to pay"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// The fields of a promise: the invoices it can cover, the day, the amount and a note. The
/// payer's form and the staff's form around them differ only in who sends them.
fn promise_fields(
    offer: &PromiseOffer,
    day_label: &'static str,
    note_label: &'static str,
) -> AnyView {
    let c = offer.currency;
    view! {
        <div class="table-wrap">
        <table class="table compact" data-testid="promisable">
            <thead><tr>
                <th scope="col">"Promise"</th><th scope="col">"Invoice"</th>
                <th scope="col">"Due date"</th><th scope="col" class="num">"Due now"</th>
            </tr></thead>
            <tbody>
                {offer.invoices.iter().enumerate().map(|(i, inv)| view! {
                    <tr>
                        <td><input type="checkbox" name=format!("invoices[{i}]") value=inv.invoice_id
                            id=format!("promise-{}", inv.invoice_id)
                            aria-label=format!("Promise invoice {}", inv.number)/></td>
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
        <label for="promise-amount">"Amount (" {c.code()} ")"</label>
        <input id="promise-amount" name="amount" inputmode="decimal" class="amount"
            placeholder="Everything due on the chosen invoices"/>
        <label for="promise-note">{note_label}</label>
        <textarea id="promise-note" name="note" maxlength="500" rows="2"></textarea>
    }
    .into_any()
}

fn promise_list(page: PromisePageData, withdraw: ServerAction<WithdrawPromise>) -> AnyView {
    let can_withdraw = page.can_promise;
    let promises = page.offer.promises;
    if promises.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="card" aria-labelledby="promises-heading">
            <h2 id="promises-heading">"Your promises"</h2>
            {promise_table(promises, move |p: &PromiseView| {
                let id = p.id;
                (can_withdraw && p.status == PromiseStatus::Open).then(move || view! {
                    <ActionForm action=withdraw attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button class="button secondary" type="submit">"Withdraw"</button>
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
    action: impl Fn(&PromiseView) -> A + 'static,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
        <table class="table" data-testid="promises">
            <thead><tr>
                <th scope="col">"Status"</th><th scope="col">"Pay by"</th>
                <th scope="col" class="num">"Promised"</th><th scope="col" class="num">"Came in"</th>
                <th scope="col">"Invoices"</th><th scope="col">"Made by"</th><th scope="col"></th>
            </tr></thead>
            <tbody>
                {promises.into_iter().map(|p| {
                    let c = p.currency;
                    let cell = action(&p);
                    view! {
                        <tr>
                            <td>{promise_badge(p.status)}</td>
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
    // The form redirects here with `?promised=` once recorded: the query changes and this
    // refetches. A refusal leaves the page as it is, the form open with what was typed.
    let query = use_query_map();
    let offer = Resource::new(
        move || (customer_id(), query.get()),
        |(id, _)| super::customer_promises(id),
    );
    let recorded = move || query.with(|q| q.get("promised").is_some());
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
                    promise_table(offer.promises.clone(), |_| ()).into_any()
                }}
                {(!offer.invoices.is_empty()).then(|| view! {
                    <details>
                        <summary>"Record a promise made by phone or letter"</summary>
                        <ActionForm action=record attr:class="form wide">
                            <input type="hidden" name="customer_id" value=customer_id/>
                            {promise_fields(&offer, "They will pay by", "Note (the customer sees it)")}
                            <button class="button" type="submit">"Record the promise"</button>
                        </ActionForm>
                    </details>
                })}
            </Loaded>
        </section>
    }
}
