//! The plan page: a payer accepts or declines a plan staff offered, or asks for one; the
//! account's plans are listed with each instalment's state. Staff see the same plans on the
//! customer's page, offer one, approve or decline a request, withdraw a plan, and a manager sets
//! the limits. Plain forms: it works without JavaScript.

use ledgerport::plans::{Instalment, InstalmentState, Interval, PlanOffer, PlanStatus, PlanView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    AcceptPlan, ApprovePlan, DeclinePlan, OfferPlan, PlanPageData, RequestPlan, SetPlanLimits,
    WithdrawPlan, plan_page,
};
use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money};
use crate::i18n::{Locale, tr, use_locale};

fn plan_badge(status: PlanStatus, locale: Locale) -> impl IntoView {
    let class = match status {
        PlanStatus::Offered | PlanStatus::Requested => "badge open",
        PlanStatus::Active => "badge open",
        PlanStatus::Completed => "badge paid",
        PlanStatus::Broken => "badge overdue",
        PlanStatus::Declined | PlanStatus::Withdrawn => "badge void",
    };
    view! { <span class=class>{status.label_in(locale)}</span> }
}

#[component]
pub fn PlanPage() -> impl IntoView {
    let accept = ServerAction::<AcceptPlan>::new();
    let decline = ServerAction::<DeclinePlan>::new();
    let request = ServerAction::<RequestPlan>::new();
    let accept_error = form_error(accept);
    let decline_error = form_error(decline);
    let request_error = form_error(request);
    let query = use_query_map();
    let data = Resource::new(|| (), |_| plan_page());
    let said = move |key: &'static str| query.with(|q| q.get(key).is_some());
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "plans.title")/>
        <h1>{tr!(locale, "plans.title")}</h1>
        <p class="hint">{tr!(locale, "plans.hint")}</p>
        {move || said("accepted").then(|| view! {
            <p class="notice" role="status" data-testid="plan-accepted">{tr!(locale, "plans.accepted")}</p>
        })}
        {move || said("declined").then(|| view! {
            <p class="notice" role="status">{tr!(locale, "plans.declined")}</p>
        })}
        {move || said("requested").then(|| view! {
            <p class="notice" role="status" data-testid="plan-requested">{tr!(locale, "plans.requested")}</p>
        })}
        <FormError message=Signal::derive(accept_error)/>
        <FormError message=Signal::derive(decline_error)/>
        <Loaded data=data let:page>
            {plan_cards(page.clone(), accept, decline, locale)}
            {request_form(page, request, request_error, locale)}
        </Loaded>
    }
}

/// The account's plans: an offer with its accept and decline buttons, then the others.
fn plan_cards(
    page: PlanPageData,
    accept: ServerAction<AcceptPlan>,
    decline: ServerAction<DeclinePlan>,
    locale: Locale,
) -> AnyView {
    let today = page.offer.today;
    let can_agree = page.can_agree;
    page.offer
        .plans
        .into_iter()
        .map(|plan| {
            let id = plan.id;
            let offered = plan.status == PlanStatus::Offered;
            view! {
                <section class="card" aria-label=tr!(locale, "plans.plan_label", id = id) data-testid="plan">
                    <h2>{plan_badge(plan.status, locale)} " "
                        {tr!(locale, "plans.total_in",
                            amount = money(plan.total_minor, plan.currency),
                            count = plan.instalments.len())}</h2>
                    {plan_details(&plan, today, locale)}
                    {(offered && can_agree).then(|| view! {
                        <p class="hint">{tr!(locale, "plans.accept_hint", days = plan.grace_days)}</p>
                        <ActionForm action=accept attr:class="inline">
                            <input type="hidden" name="id" value=id/>
                            <button class="button" type="submit">{tr!(locale, "plans.accept")}</button>
                        </ActionForm>" "
                        <ActionForm action=decline attr:class="inline">
                            <input type="hidden" name="id" value=id/>
                            <button class="button secondary" type="submit">{tr!(locale, "plans.decline")}</button>
                        </ActionForm>
                    })}
                    {(offered && !can_agree).then(|| view! {
                        <p class="hint">{tr!(locale, "plans.read_only_accept")}</p>
                    })}
                </section>
            }
        })
        .collect_view()
        .into_any()
}

/// What a plan covers, who proposed and agreed to it, and its instalments with their states.
fn plan_details(plan: &PlanView, today: chrono::NaiveDate, locale: Locale) -> AnyView {
    let c = plan.currency;
    let states = InstalmentState::of_each(&plan.instalments, &plan.standing, today);
    let running = plan.status == PlanStatus::Active;
    let rows: Vec<(Instalment, Option<InstalmentState>)> = plan
        .instalments
        .iter()
        .zip(states)
        .map(|(i, state)| (*i, running.then_some(state)))
        .collect();
    let invoices = plan
        .invoices
        .iter()
        .map(|(_, n)| n.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let proposed_on = plan.proposed_at.get(..10).unwrap_or_default().to_string();
    view! {
        <p>{tr!(locale, "plans.invoices", numbers = invoices)}
            " · " {tr!(locale, "plans.paid_so_far")} " " <span data-testid="plan-paid">{money(plan.standing.paid_minor, c)}</span></p>
        {(!plan.note.is_empty()).then(|| view! { <p class="muted">{plan.note.clone()}</p> })}
        <p class="muted">{tr!(locale, "plans.proposed", by = plan.proposed_by.clone(), date = proposed_on)}
            {plan.accepted.clone().map(|(by, at, from)| {
                let on = at.get(..10).unwrap_or_default().to_string();
                tr!(locale, "plans.agreed", by = by, date = on, address = from)
            })}
            {plan.closed_on.map(|day| tr!(locale, "plans.closed_on", date = date(day)))}</p>
        <div class="table-wrap">
        <table class="table compact" data-testid="instalments">
            <thead><tr><th scope="col">{tr!(locale, "plans.number")}</th><th scope="col">{tr!(locale, "invoice.due")}</th>
                <th scope="col" class="num">{tr!(locale, "statements.amount")}</th><th scope="col">{tr!(locale, "plans.state")}</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(i, state)| view! {
                    <tr>
                        <td>{i.seq}</td>
                        <td>{date(i.due_date)}</td>
                        <td class="num">{money(i.amount_minor, c)}</td>
                        <td>{state.map(|s| s.label_in(locale))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// The payer asks for a plan: only when the account has none open.
fn request_form(
    page: PlanPageData,
    request: ServerAction<RequestPlan>,
    request_error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    locale: Locale,
) -> AnyView {
    let offer = page.offer;
    if offer.plans.iter().any(|p| p.status.is_open()) {
        return ().into_any();
    }
    if !page.can_agree {
        return view! { <p class="hint">{tr!(locale, "plans.read_only_ask")}</p> }.into_any();
    }
    if offer.invoices.is_empty() {
        return view! { <p class="empty" data-testid="nothing-to-plan">{tr!(locale, "plans.nothing_due")}</p> }
            .into_any();
    }
    view! {
        <section class="card" aria-labelledby="request-heading">
            <h2 id="request-heading">{tr!(locale, "plans.ask")}</h2>
            <p class="hint">{tr!(locale, "plans.ask_hint")}</p>
            <ActionForm action=request attr:class="form wide">
                // The amounts of an own schedule are written in this page's language.
                <input type="hidden" name="lang" value=locale.code()/>
                {plan_fields(&offer, tr!(locale, "plans.note_label"), locale)}
                <FormError message=Signal::derive(request_error)/>
                <button class="button" type="submit">{tr!(locale, "plans.ask_submit")}</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// The fields of a plan: the invoices it can cover, how many instalments, the first day, how
/// often, and a note. The payer's request and the staff's offer differ only in who sends them
/// (and the language: staff pages are English).
fn plan_fields(offer: &PlanOffer, note_label: String, locale: Locale) -> AnyView {
    let c = offer.currency;
    let limits = offer.limits;
    // An example line of an own schedule: today and 500 in the account's currency, as this page
    // writes it (`500.00`, `500,00`; `500` for a currency without minor units).
    let scale = c.exponent();
    let example = format!(
        "{} {}",
        offer.today,
        locale.plain_decimal(500 * 10_i64.pow(scale), scale)
    );
    view! {
        <div class="table-wrap">
        <table class="table compact" data-testid="plannable">
            <thead><tr>
                <th scope="col">{tr!(locale, "plans.include")}</th><th scope="col">{tr!(locale, "invoice.invoice")}</th>
                <th scope="col">{tr!(locale, "plans.due_date")}</th><th scope="col" class="num">{tr!(locale, "invoice.due_now")}</th>
            </tr></thead>
            <tbody>
                {offer.invoices.iter().enumerate().map(|(i, inv)| view! {
                    <tr>
                        <td><input type="checkbox" name=format!("invoices[{i}]") value=inv.invoice_id
                            id=format!("plan-{}", inv.invoice_id)
                            aria-label=tr!(locale, "plans.plan_invoice", number = inv.number.clone())/></td>
                        <td><label for=format!("plan-{}", inv.invoice_id)>{inv.number.clone()}</label></td>
                        <td>{date(inv.due_date)}</td>
                        <td class="num">{money(inv.due_minor, c)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <label for="plan-instalments">{tr!(locale, "plans.instalments_label", max = limits.max_instalments)}</label>
        <input id="plan-instalments" name="instalments" type="number" min="2"
            max=limits.max_instalments/>
        <label for="plan-first">{tr!(locale, "plans.first_on")}</label>
        <input id="plan-first" name="first_due" type="date" min=offer.today.to_string()/>
        <label for="plan-interval">{tr!(locale, "plans.then")}</label>
        <select id="plan-interval" name="interval">
            {Interval::ALL.iter().map(|i| view! { <option value=i.as_str()>{i.label_in(locale)}</option> }).collect_view()}
        </select>
        <p class="hint">{tr!(locale, "plans.equal_parts_hint", days = limits.max_days)}</p>
        <label for="plan-schedule">{tr!(locale, "plans.own_schedule")}</label>
        <textarea id="plan-schedule" name="schedule" rows="3"
            placeholder=example></textarea>
        <label for="plan-note">{note_label}</label>
        <textarea id="plan-note" name="note" maxlength="500" rows="2"></textarea>
    }
    .into_any()
}

/// Staff: the account's payment plans on the customer's page, with what staff can do to each,
/// the form to offer one, and the manager's limits.
#[component]
pub fn CustomerPlans(
    customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let offer_action = ServerAction::<OfferPlan>::new();
    let approve = ServerAction::<ApprovePlan>::new();
    let withdraw = ServerAction::<WithdrawPlan>::new();
    let limits_action = ServerAction::<SetPlanLimits>::new();
    let offer_error = form_error(offer_action);
    let approve_error = form_error(approve);
    let withdraw_error = form_error(withdraw);
    let limits_error = form_error(limits_action);
    let query = use_query_map();
    let offer = Resource::new(customer_id, super::customer_plans);
    let changed = move || query.with(|q| q.get("plan").is_some());
    // Staff pages are English.
    let locale = Locale::En;
    view! {
        <section class="card" aria-labelledby="plans-heading">
            <h2 id="plans-heading">"Payment plans"</h2>
            {move || changed().then(|| view! {
                <p class="notice" role="status" data-testid="plan-changed">"Done; the customer is told by email."</p>
            })}
            <FormError message=Signal::derive(offer_error)/>
            <FormError message=Signal::derive(approve_error)/>
            <FormError message=Signal::derive(withdraw_error)/>
            <FormError message=Signal::derive(limits_error)/>
            <Loaded data=offer let:offer>
                {staff_section(offer, customer_id(), StaffActions {
                    offer: offer_action,
                    approve,
                    withdraw,
                    limits: limits_action,
                }, locale)}
            </Loaded>
        </section>
    }
}

#[derive(Clone, Copy)]
struct StaffActions {
    offer: ServerAction<OfferPlan>,
    approve: ServerAction<ApprovePlan>,
    withdraw: ServerAction<WithdrawPlan>,
    limits: ServerAction<SetPlanLimits>,
}

fn staff_section(
    offer: PlanOffer,
    customer_id: i64,
    actions: StaffActions,
    locale: Locale,
) -> AnyView {
    let plans = staff_plans(
        &offer,
        customer_id,
        actions.approve,
        actions.withdraw,
        locale,
    );
    let can_offer = !offer.plans.iter().any(|p| p.status.is_open()) && !offer.invoices.is_empty();
    let form = can_offer.then(|| {
        let fields = plan_fields(&offer, "Note (the customer sees it)".to_string(), locale);
        view! {
            <details>
                <summary>"Offer a payment plan"</summary>
                <ActionForm action=actions.offer attr:class="form wide">
                    <input type="hidden" name="customer_id" value=customer_id/>
                    {fields}
                    <button class="button" type="submit">"Offer the plan"</button>
                </ActionForm>
            </details>
        }
    });
    let limits = limits_form(&offer, customer_id, actions.limits);
    view! { {plans} {form} {limits} }.into_any()
}

fn staff_plans(
    offer: &PlanOffer,
    customer_id: i64,
    approve: ServerAction<ApprovePlan>,
    withdraw: ServerAction<WithdrawPlan>,
    locale: Locale,
) -> AnyView {
    if offer.plans.is_empty() {
        return view! { <p class="empty">"No payment plans yet."</p> }.into_any();
    }
    let today = offer.today;
    offer
        .plans
        .iter()
        .map(|plan| {
            let id = plan.id;
            let status = plan.status;
            view! {
                <div class="plan" data-testid="staff-plan">
                    <h3>{plan_badge(status, locale)} " " {money(plan.total_minor, plan.currency)}
                        " in " {plan.instalments.len()} " instalments"</h3>
                    {plan_details(plan, today, locale)}
                    {(status == PlanStatus::Requested).then(|| view! {
                        <ActionForm action=approve attr:class="inline">
                            <input type="hidden" name="customer_id" value=customer_id/>
                            <input type="hidden" name="id" value=id/>
                            <button class="button" type="submit">"Approve the request"</button>
                        </ActionForm>" "
                    })}
                    {status.is_open().then(|| view! {
                        <ActionForm action=withdraw attr:class="inline">
                            <input type="hidden" name="customer_id" value=customer_id/>
                            <input type="hidden" name="id" value=id/>
                            <button class="button secondary" type="submit">
                                {if status == PlanStatus::Requested { "Decline the request" } else { "Withdraw the plan" }}
                            </button>
                        </ActionForm>
                    })}
                </div>
            }
        })
        .collect_view()
        .into_any()
}

fn limits_form(
    offer: &PlanOffer,
    customer_id: i64,
    action: ServerAction<SetPlanLimits>,
) -> AnyView {
    let limits = offer.limits;
    view! {
        <details>
            <summary>"Limits for every plan: at most " {limits.max_instalments} " instalments over "
                {limits.max_days} " days; " {limits.grace_days} " days of grace"</summary>
            <ActionForm action=action attr:class="form">
                <input type="hidden" name="customer_id" value=customer_id/>
                <label for="limit-instalments">"Most instalments"</label>
                <input id="limit-instalments" name="max_instalments" type="number" min="2" max="60"
                    value=limits.max_instalments required/>
                <label for="limit-days">"Longest plan (days)"</label>
                <input id="limit-days" name="max_days" type="number" min="14" max="1100"
                    value=limits.max_days required/>
                <label for="limit-grace">"Days an instalment may be late before the plan breaks"</label>
                <input id="limit-grace" name="grace_days" type="number" min="0" max="30"
                    value=limits.grace_days required/>
                <p class="hint">"Only an AR manager can change the limits."</p>
                <button class="button secondary" type="submit">"Save the limits"</button>
            </ActionForm>
        </details>
    }
    .into_any()
}
