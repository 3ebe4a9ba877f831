//! Staff pages for the books: aging report, journal, trial balance, ledger health, audit log.
//! Every filter is a GET form, so each view is a bookmarkable URL and works without JavaScript.

use ledgerport::ledger::EntryKind;
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use ledgerport::refunds::RefundStatus;
use ledgerport::reports::Aging;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::books::{
    ClosePeriod, ExportJournal, PaymentPageData, PeriodsPageData, RefundPayment, ReopenPeriod,
    ResendRefund, aging_page, audit_log, collections, journal, ledger_health, payment_detail,
    periods_view, reconciliation, staff_payments, trial_balance,
};
use crate::components::{FormError, Loaded, form_error, form_succeeded};
use crate::format::{date, money, timestamp};

/// A query parameter, empty when absent.
fn param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.with(|q| q.get(name).unwrap_or_default())
}

fn page_param() -> impl Fn() -> u32 + Copy + Send + Sync + 'static {
    let page = param("page");
    move || page().parse().unwrap_or(1)
}

/// The books' sections, shown on each of their pages.
#[component]
fn BooksNav() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Books">
            <a href="/admin/reports/aging">"Aging"</a>
            <a href="/admin/reports/collections">"Collections"</a>
            <a href="/admin/payments">"Payments"</a>
            <a href="/admin/reconciliation">"Reconciliation"</a>
            <a href="/admin/journal">"Journal"</a>
            <a href="/admin/trial-balance">"Trial balance"</a>
            <a href="/admin/ledger-health">"Ledger health"</a>
            <a href="/admin/audit">"Audit log"</a>
            <a href="/admin/periods">"Closing the books"</a>
        </nav>
    }
}

/// `/admin/reports/aging?as_of=YYYY-MM-DD`: every customer's aging, 50 a page (largest balance
/// first as of today, newest account first as of a past date), with totals per currency.
#[component]
pub fn AgingReportPage() -> impl IntoView {
    let (as_of, after) = (param("as_of"), param("after"));
    let report = Resource::new(
        move || (as_of(), after()),
        |(as_of, after)| aging_page(as_of, after),
    );
    view! {
        <Title text="Aging report"/>
        <h1>"Aging report"</h1>
        <BooksNav/>
        <Loaded data=report let:r>
            {{
                        let link = move |after: String| format!("/admin/reports/aging?as_of={}&after={after}", r.as_of);
                        let deeper = !after().is_empty();
                        view! {
                            <form class="filters" method="get" action="/admin/reports/aging">
                                <label>"As of "<input type="date" name="as_of" value=r.as_of.to_string()/></label>
                                <button class="button secondary" type="submit">"Show"</button>
                            </form>
                            <p class="hint">"As of " {date(r.as_of)} ". "
                                {if r.ranked_by_balance { "Largest balance first" } else { "Newest account first (entries are posted after this date, so balances are not ranked)" }}
                                ", 50 a page. Amounts in each customer's currency. "
                                <a href=format!("/documents/reports/aging.csv?as_of={}", r.as_of)>"Download CSV"</a>" (every customer)"</p>
                            <div class="table-wrap">
                            <table class="table" data-testid="aging-report">
                                <caption class="visually-hidden">"Aging by customer"</caption>
                                <thead><tr>
                                    <th scope="col">"Customer"</th>
                                    {Aging::LABELS.iter().map(|l| view! { <th scope="col" class="num">{*l}</th> }).collect_view()}
                                    <th scope="col" class="num">"In dispute"</th><th scope="col" class="num">"Total"</th>
                                </tr></thead>
                                <tbody>
                                    {r.customers.iter().map(|c| view! {
                                        <tr>
                                            <td><a href=format!("/admin/customers/{}", c.customer_id)>{c.name.clone()}</a>
                                                " "<span class="muted">{c.number.clone()}</span>
                                                " · "<a href=format!("/admin/journal?customer={}", c.customer_id)>"entries"</a></td>
                                            {aging_cells(c.aging, c.currency)}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    {r.totals.into_iter().map(|(currency, aging)| view! {
                                        <tr class="strong"><th scope="row">"Whole book " {currency.code()}</th>{aging_cells(aging, currency)}</tr>
                                    }).collect_view()}
                                </tfoot>
                            </table>
                            </div>
                            <nav class="pager" aria-label="Pages">
                                {deeper.then(|| view! { <a href=link(String::new())>"← First page"</a> })}
                                {r.next.map(|(balance, id)| view! {
                                    <a href=link(format!("{balance}.{id}")) rel="next">"Next 50 customers →"</a>
                                })}
                            </nav>
                        }.into_any()
                    }}
        </Loaded>
    }
}

fn aging_cells(aging: Aging, currency: Currency) -> impl IntoView {
    let mut cells: Vec<i64> = aging.buckets().to_vec();
    cells.push(aging.in_dispute);
    cells.push(aging.total());
    cells
        .into_iter()
        .map(|amount| view! { <td class="num">{money(amount, currency)}</td> })
        .collect_view()
}

/// Signed minor units in a stored currency code (unknown codes shown as plain numbers).
fn amount(minor: i64, code: &str) -> String {
    match code.parse::<Currency>() {
        Ok(currency) => money(minor, currency),
        Err(_) => format!("{minor} {code}"),
    }
}

/// `/admin/journal`: entries newest first with their lines; filters by date, customer, kind, account.
#[component]
pub fn JournalPage() -> impl IntoView {
    let (from, to, customer, kind, account, after) = (
        param("from"),
        param("to"),
        param("customer"),
        param("kind"),
        param("account"),
        param("after"),
    );
    let entries = Resource::new(
        move || {
            (
                from(),
                to(),
                customer().parse::<i64>().ok(),
                kind(),
                account(),
                after(),
            )
        },
        |(from, to, customer, kind, account, after)| {
            journal(from, to, customer, kind, account, after)
        },
    );
    view! {
        <Title text="Journal"/>
        <h1>"Journal"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/journal">
            <label>"From "<input type="date" name="from" value=from/></label>
            <label>"To "<input type="date" name="to" value=to/></label>
            <label>"Kind "<select name="kind">
                {std::iter::once("").chain(EntryKind::ALL.map(EntryKind::as_str)).map(|k| view! {
                        <option value=k selected=move || kind() == k>{if k.is_empty() { "Any" } else { k }}</option>
                    }).collect_view()}
            </select></label>
            <label>"Account "<input name="account" size="5" inputmode="numeric" value=account/></label>
            <input type="hidden" name="customer" value=customer/>
            <button class="button secondary" type="submit">"Filter"</button>
        </form>
        <Loaded data=entries let:p>
            {{
                        // Filter values are dates, digits and entry kinds: nothing to escape.
                        let link = move |after: String| format!(
                            "/admin/journal?from={}&to={}&customer={}&kind={}&account={}&after={after}",
                            from(), to(), customer(), kind(), account()
                        );
                        let deeper = !after().is_empty();
                        view! {
                            <JournalEntries entries=p.entries/>
                            <nav class="pager" aria-label="Pages">
                                {deeper.then(|| view! { <a href=link(String::new())>"← Newest"</a> })}
                                {p.next.map(|(day, id)| view! {
                                    <a href=link(format!("{day}.{id}")) rel="next">"Older →"</a>
                                })}
                            </nav>
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// Journal entries with their lines, debits and credits in their own columns.
#[component]
fn JournalEntries(entries: Vec<ledgerport::journal::JournalEntryView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
        <table class="table compact" data-testid="journal">
            <caption class="visually-hidden">"Journal entries"</caption>
            <thead><tr>
                <th scope="col">"Date"</th><th scope="col">"Entry"</th><th scope="col">"Account"</th>
                <th scope="col">"Invoice"</th><th scope="col" class="num">"Debit"</th><th scope="col" class="num">"Credit"</th>
            </tr></thead>
            {entries.into_iter().map(|e| view! {
                <tbody class="entry">
                    <tr class="strong">
                        <td>{date(e.effective_date)}</td>
                        <td colspan="5">{e.kind.clone()}" · "{e.memo.clone()}
                            {e.customer.clone().map(|c| view! { " · "<span class="muted">{c}</span> })}
                            " "<span class="muted" title=timestamp(&e.posted_at)>"#"{e.id}</span></td>
                    </tr>
                    {e.lines.into_iter().map(|l| view! {
                        <tr>
                            <td></td><td></td>
                            <td>{l.account_code.clone()}" "{l.account_name.clone()}</td>
                            <td>{l.invoice_number.clone().unwrap_or_default()}</td>
                            <td class="num">{(l.amount_minor > 0).then(|| amount(l.amount_minor, &l.currency))}</td>
                            <td class="num">{(l.amount_minor < 0).then(|| amount(-l.amount_minor, &l.currency))}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            }).collect_view()}
        </table>
        </div>
    }
}

/// A bar chart drawn as SVG on the server: one bar per value, labelled
/// below, with the largest value written at the top. Pictures the table next to it; the
/// table stays the accessible source.
#[component]
fn BarChart(title: String, bars: Vec<(String, i64)>, currency: Currency) -> impl IntoView {
    const WIDTH: i64 = 640;
    const HEIGHT: i64 = 180;
    const BASE: i64 = 150;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let slot = WIDTH / (bars.len() as i64).max(1);
    let every = (bars.len() / 10).max(1);
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title.clone()>
                <line x1="0" y1=BASE x2=WIDTH y2=BASE class="chart-axis"/>
                {bars.iter().enumerate().map(|(i, (label, value))| {
                    let height = (value.max(&0) * (BASE - 20)) / max;
                    let x = i as i64 * slot;
                    view! {
                        <rect x=x + 2 y=BASE - height width=(slot - 4).max(1) height=height class="chart-bar">
                            <title>{format!("{label}: {}", money(*value, currency))}</title>
                        </rect>
                        {(i % every == 0).then(|| view! {
                            <text x=x + slot / 2 y=HEIGHT - 12 class="chart-label" text-anchor="middle">{label.clone()}</text>
                        })}
                    }
                }).collect_view()}
                <text x="4" y="12" class="chart-label">{money(max, currency)}</text>
            </svg>
            <figcaption class="hint">{title}</figcaption>
        </figure>
    }
}

/// `/admin/reports/collections?from=&to=`: DSO and CEI for the period, cash collected per day,
/// and collections expected over the next weeks, each as a chart and a table with a CSV.
#[component]
pub fn CollectionsPage() -> impl IntoView {
    let from = param("from");
    let to = param("to");
    let report = Resource::new(move || (from(), to()), |(from, to)| collections(from, to));
    view! {
        <Title text="Collections"/>
        <h1>"Collections"</h1>
        <BooksNav/>
        <Loaded data=report let:r>
            {{
                        let period = format!("from={}&to={}", r.from, r.to);
                        let currencies: Vec<Currency> = r.metrics.iter().map(|(c, _)| *c).collect();
                        view! {
                            <form class="filters" method="get" action="/admin/reports/collections">
                                <label>"From "<input type="date" name="from" value=r.from.to_string()/></label>
                                <label>"To "<input type="date" name="to" value=r.to.to_string()/></label>
                                <button class="button secondary" type="submit">"Show"</button>
                            </form>
                            <h2>"DSO and CEI, " {date(r.from)} " – " {date(r.to)}</h2>
                            <p class="hint">"DSO = ending receivables ÷ credit sales × days. CEI = (beginning + sales − ending) ÷ (beginning + sales − ending current) × 100. "
                                <a href=format!("/documents/reports/dso.csv?{period}")>"Download CSV"</a></p>
                            <table class="table" data-testid="dso-cei">
                                <thead><tr><th scope="col">"Currency"</th><th scope="col" class="num">"Beginning AR"</th><th scope="col" class="num">"Credit sales"</th>
                                    <th scope="col" class="num">"Ending AR"</th><th scope="col" class="num">"Ending current"</th>
                                    <th scope="col" class="num">"DSO (days)"</th><th scope="col" class="num">"CEI"</th></tr></thead>
                                <tbody>
                                    {r.metrics.iter().map(|(c, m)| view! {
                                        <tr><td>{c.code()}</td>
                                            <td class="num">{money(m.beginning_ar_minor, *c)}</td><td class="num">{money(m.credit_sales_minor, *c)}</td>
                                            <td class="num">{money(m.ending_ar_minor, *c)}</td><td class="num">{money(m.ending_current_ar_minor, *c)}</td>
                                            <td class="num">{m.dso_days.map(|d| d.to_string()).unwrap_or_else(|| "–".into())}</td>
                                            <td class="num">{m.cei_percent.map(|d| format!("{d} %")).unwrap_or_else(|| "–".into())}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>

                            <h2>"Collected per day"</h2>
                            <p class="hint"><a href=format!("/documents/reports/collections.csv?{period}")>"Download CSV"</a></p>
                            {currencies.iter().map(|currency| {
                                let bars: Vec<(String, i64)> = r.daily.iter().filter(|d| d.currency == *currency)
                                    .map(|d| (d.date.format("%d %b").to_string(), d.amount_minor)).collect();
                                (!bars.is_empty()).then(|| view! {
                                    <BarChart title=format!("Cash collected per day in {}", currency.code()) bars=bars currency=*currency/>
                                })
                            }).collect_view()}
                            <table class="table" data-testid="collections-daily">
                                <thead><tr><th scope="col">"Date"</th><th scope="col">"Currency"</th><th scope="col" class="num">"Payments"</th><th scope="col" class="num">"Collected"</th></tr></thead>
                                <tbody>
                                    {r.daily.iter().map(|d| view! {
                                        <tr><td>{date(d.date)}</td><td>{d.currency.code()}</td><td class="num">{d.payments}</td><td class="num">{money(d.amount_minor, d.currency)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {r.daily.is_empty().then(|| view! { <p class="empty">"Nothing was collected in this period."</p> })}

                            <h2>"Expected in the next " {crate::books::EXPECTED_WEEKS} " weeks"</h2>
                            <p class="hint">"Each open invoice's amount due now (disputed amounts left out), on its due date plus its customer's average lateness over the past year; overdue amounts count this week. "
                                <a href="/documents/reports/expected.csv">"Download CSV"</a></p>
                            {currencies.iter().map(|currency| {
                                let bars: Vec<(String, i64)> = r.expected.iter().filter(|w| w.currency == *currency)
                                    .map(|w| (w.week_start.format("%d %b").to_string(), w.amount_minor)).collect();
                                (!bars.is_empty()).then(|| view! {
                                    <BarChart title=format!("Expected per week in {}", currency.code()) bars=bars currency=*currency/>
                                })
                            }).collect_view()}
                            <table class="table" data-testid="collections-expected">
                                <thead><tr><th scope="col">"Week of"</th><th scope="col">"Currency"</th><th scope="col" class="num">"Expected"</th></tr></thead>
                                <tbody>
                                    {r.expected.iter().map(|w| view! {
                                        <tr><td>{date(w.week_start)}</td><td>{w.currency.code()}</td><td class="num">{money(w.amount_minor, w.currency)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// `/admin/payments?customer=&method=&from=&to=&page=`: every payment received, newest first,
/// with where it was applied.
#[component]
pub fn StaffPaymentsPage() -> impl IntoView {
    let customer = param("customer");
    let method = param("method");
    let from = param("from");
    let to = param("to");
    let page = page_param();
    let list = Resource::new(
        move || (customer(), method(), from(), to(), page()),
        |(customer, method, from, to, page)| {
            staff_payments(customer.parse().ok(), method, from, to, page)
        },
    );
    view! {
        <Title text="Payments"/>
        <h1>"Payments"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/payments">
            <label>"Method "<select name="method">
                {std::iter::once("").chain(PaymentMethod::ALL.map(PaymentMethod::as_str)).map(|m| view! {
                    <option value=m selected=move || method() == m>{if m.is_empty() { "any" } else { m }}</option>
                }).collect_view()}
            </select></label>
            <label>"From "<input type="date" name="from" value=from/></label>
            <label>"To "<input type="date" name="to" value=to/></label>
            <input type="hidden" name="customer" value=customer/>
            <button class="button secondary" type="submit">"Show"</button>
        </form>
        <Loaded data=list let:value>
            {match value {
                    rows if rows.is_empty() => view! { <p class="empty">"No payments match."</p> }.into_any(),
                    rows => {
                        let full = rows.len() == 50;
                        view! {
                            <div class="table-wrap">
                            <table class="table" data-testid="staff-payments">
                                <thead><tr><th scope="col">"Received"</th><th scope="col">"Customer"</th><th scope="col">"Method"</th>
                                    <th scope="col">"Reference"</th><th scope="col" class="num">"Amount"</th><th scope="col">"Applied to"</th>
                                    <th scope="col" class="num">"Unapplied"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|p| view! {
                                        <tr>
                                            <td>{date(p.received_date)}</td>
                                            <td><a href=format!("/admin/customers/{}", p.customer_id)>{p.customer_number.clone()}</a></td>
                                            <td>{p.method.clone()}</td>
                                            <td><a href=format!("/admin/payments/{}", p.id)>{p.reference.clone()}</a></td>
                                            <td class="num">{money(p.amount_minor, p.currency)}</td>
                                            <td>{p.applied.iter().map(|a| format!("{} {}", a.invoice_number, money(a.amount_minor, p.currency))).collect::<Vec<_>>().join(", ")}</td>
                                            <td class="num">{money(p.unapplied_minor, p.currency)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            <nav class="pager" aria-label="Pages">
                                {(page() > 1).then(|| view! { <a href=format!("/admin/payments?customer={}&method={}&from={}&to={}&page={}", customer(), method(), from(), to(), page() - 1)>"Newer"</a> })}
                                {full.then(|| view! { <a href=format!("/admin/payments?customer={}&method={}&from={}&to={}&page={}", customer(), method(), from(), to(), page() + 1)>"Older"</a> })}
                            </nav>
                        }.into_any()
                    }
                }}
        </Loaded>
    }
}

/// `/admin/payments/:id`: where one payment went, every journal entry it caused, its refunds,
/// and (for managers, on card payments) the refund form.
#[component]
pub fn PaymentPage() -> impl IntoView {
    let id = crate::components::id_param();
    let refund = ServerAction::<RefundPayment>::new();
    let resend = ServerAction::<ResendRefund>::new();
    let data = Resource::new(id, payment_detail);
    view! {
        <Title text="Payment"/>
        <BooksNav/>
        <Loaded data=data let:value>
            {{
                        let PaymentPageData { detail: d, may_refund } = value;
                        let p = d.payment;
                        let currency = p.currency;
                        let pending = d.refunds.iter().any(|r| r.status == RefundStatus::Requested);
                        let payment_id = p.id;
                        view! {
                            <h1>"Payment " {p.reference.clone()}</h1>
                            <dl class="facts" data-testid="payment-facts">
                                <dt>"Customer"</dt><dd><a href=format!("/admin/customers/{}", p.customer_id)>{p.customer_number.clone()}</a></dd>
                                <dt>"Received"</dt><dd>{date(p.received_date)}</dd>
                                <dt>"Method"</dt><dd>{p.method.clone()}</dd>
                                <dt>"Amount"</dt><dd data-testid="payment-amount">{money(p.amount_minor, currency)}</dd>
                                <dt>"Unapplied"</dt><dd>{money(p.unapplied_minor, currency)}</dd>
                                {d.checkout_id.clone().map(|c| view! { <dt>"Portal checkout"</dt><dd>{c}</dd> })}
                                {d.refundable_minor.map(|r| view! { <dt>"Still refundable"</dt><dd data-testid="refundable">{money(r, currency)}</dd> })}
                            </dl>
                            <h2>"Applied to"</h2>
                            {if p.applied.is_empty() {
                                view! { <p class="empty">"Not applied to any invoice."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="table" data-testid="payment-allocations">
                                        <thead><tr><th scope="col">"Invoice"</th><th scope="col" class="num">"Applied"</th><th scope="col" class="num">"Discount taken"</th></tr></thead>
                                        <tbody>
                                            {p.applied.iter().map(|a| view! {
                                                <tr>
                                                    <td>{a.invoice_number.clone()}</td>
                                                    <td class="num">{money(a.amount_minor, currency)}</td>
                                                    <td class="num">{money(a.discount_minor, currency)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            <h2>"Refunds"</h2>
                            {if d.refunds.is_empty() {
                                view! { <p class="empty">"No refunds requested in the portal."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="table" data-testid="payment-refunds">
                                        <thead><tr><th scope="col">"Requested"</th><th scope="col">"By"</th><th scope="col" class="num">"Amount"</th>
                                            <th scope="col">"Reason"</th><th scope="col">"Status"</th><th scope="col">"Provider"</th></tr></thead>
                                        <tbody>
                                            {d.refunds.clone().into_iter().map(|r| view! {
                                                <tr>
                                                    <td>{timestamp(&r.created_at)}</td>
                                                    <td>{r.requested_by.clone()}</td>
                                                    <td class="num">{money(r.amount_minor, r.currency)}</td>
                                                    <td>{r.reason.clone()}</td>
                                                    <td>{r.status.as_str()}
                                                        {(!r.failure_message.is_empty()).then(|| view! { <span class="muted">" · "{r.failure_message.clone()}</span> })}</td>
                                                    <td>{r.provider_refund_id.clone().unwrap_or_else(|| "–".into())}
                                                        {(may_refund && r.status == RefundStatus::Requested).then(|| view! {
                                                            <ActionForm action=resend attr:class="inline">
                                                                <input type="hidden" name="payment_id" value=payment_id/>
                                                                <input type="hidden" name="refund_id" value=r.id.clone()/>
                                                                <button class="button secondary" type="submit">"Send again"</button>
                                                            </ActionForm>
                                                        })}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            {pending.then(|| view! { <p class="hint">"A requested refund the provider has not confirmed stays reserved; sending it again uses the same key, so it is never paid twice."</p> })}
                            {(may_refund && d.refundable_minor.is_some_and(|r| r > 0)).then(|| view! {
                                <RefundForm action=refund payment_id=p.id/>
                            })}
                            <h2>"Journal entries"</h2>
                            <JournalEntries entries=d.entries/>
                        }.into_any()
                }}
        </Loaded>
    }
}

/// Refunds part or all of a card payment through the provider.
#[component]
fn RefundForm(action: ServerAction<RefundPayment>, payment_id: i64) -> impl IntoView {
    let error = form_error(action);
    let done = form_succeeded("refunded");
    view! {
        <section class="card narrow" aria-labelledby="refund-heading">
            <h2 id="refund-heading">"Refund through the payment provider"</h2>
            <p class="hint">"The money goes back to the card. The ledger posts the refund when the provider confirms it: first from the account's unapplied credit, then by reopening the invoices this payment settled."</p>
            <ActionForm action=action attr:class="form">
                <input type="hidden" name="payment_id" value=payment_id/>
                <label for="refund-amount">"Refund amount"</label>
                <input id="refund-amount" name="amount" required inputmode="decimal"/>
                <label for="refund-reason">"Reason"</label>
                <input id="refund-reason" name="reason" required maxlength="500"/>
                <FormError message=Signal::derive(error)/>
                {move || done().then(|| view! { <p class="notice" role="status" data-testid="refund-sent">"Refund sent."</p> })}
                <button class="button" type="submit">"Refund"</button>
            </ActionForm>
        </section>
    }
}

/// `/admin/reconciliation?from=&to=`: each payment the provider reported against its receipt in
/// the ledger; differences first.
#[component]
pub fn ReconciliationPage() -> impl IntoView {
    let from = param("from");
    let to = param("to");
    let rows = Resource::new(
        move || (from(), to()),
        |(from, to)| reconciliation(from, to),
    );
    view! {
        <Title text="Reconciliation"/>
        <h1>"Reconciliation"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/reconciliation">
            <label>"From "<input type="date" name="from" value=from/></label>
            <label>"To "<input type="date" name="to" value=to/></label>
            <button class="button secondary" type="submit">"Show"</button>
        </form>
        <p class="hint">"Every payment the provider reported collected (through its signed events) next to the receipt posted in the ledger, and every card receipt next to the provider payment behind it. Anything that does not match is flagged."</p>
        <Loaded data=rows let:value>
            {{
                        let mut rows = value;
                        rows.sort_by_key(|r| r.difference.is_none());
                        let flagged = rows.iter().filter(|r| r.difference.is_some()).count();
                        view! {
                            <p data-testid="reconciliation-summary" class=if flagged == 0 { "notice" } else { "error" }>
                                {rows.len()} " payments; " {flagged} " differences"
                            </p>
                            <div class="table-wrap">
                            <table class="table" data-testid="reconciliation">
                                <thead><tr><th scope="col">"Date"</th><th scope="col">"Customer"</th><th scope="col">"Provider payment"</th>
                                    <th scope="col" class="num">"Provider amount"</th><th scope="col">"Receipt"</th>
                                    <th scope="col" class="num">"Ledger amount"</th><th scope="col">"Status"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| {
                                        let figure = move |minor: Option<i64>| minor.map(|m| money(m, r.currency)).unwrap_or_else(|| "–".into());
                                        view! {
                                            <tr class=if r.difference.is_some() { "flagged" } else { "" }>
                                                <td>{r.date.clone()}</td>
                                                <td><a href=format!("/admin/customers/{}", r.customer_id)>{r.customer_number.clone()}</a></td>
                                                <td>{r.checkout_id.clone().map(|id| format!("{} {id}", r.provider.clone().unwrap_or_default())).unwrap_or_else(|| "–".into())}</td>
                                                <td class="num">{figure(r.provider_amount_minor)}</td>
                                                <td>{r.reference.clone().unwrap_or_else(|| "–".into())}</td>
                                                <td class="num">{figure(r.ledger_amount_minor)}</td>
                                                <td>{r.difference.map(|d| d.label()).unwrap_or("matched")}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any()
                }}
        </Loaded>
    }
}

/// `/admin/trial-balance?as_of=`: each account's balance as of a date; debits equal credits.
#[component]
pub fn TrialBalancePage() -> impl IntoView {
    let as_of = param("as_of");
    let balance = Resource::new(as_of, trial_balance);
    view! {
        <Title text="Trial balance"/>
        <h1>"Trial balance"</h1>
        <BooksNav/>
        <Loaded data=balance let:t>
            {{
                        let mut totals: Vec<(String, i64, i64)> = Vec::new();
                        for r in &t.rows {
                            let net = r.debit_minor - r.credit_minor;
                            match totals.iter_mut().find(|(c, _, _)| *c == r.currency) {
                                Some((_, d, c)) => { *d += net.max(0); *c += (-net).max(0); }
                                None => totals.push((r.currency.clone(), net.max(0), (-net).max(0))),
                            }
                        }
                        view! {
                            <form class="filters" method="get" action="/admin/trial-balance">
                                <label>"As of "<input type="date" name="as_of" value=t.as_of.to_string()/></label>
                                <button class="button secondary" type="submit">"Show"</button>
                            </form>
                            <div class="table-wrap">
                            <table class="table" data-testid="trial-balance">
                                <caption>"As of " {date(t.as_of)}</caption>
                                <thead><tr><th scope="col">"Account"</th><th scope="col">"Currency"</th>
                                    <th scope="col" class="num">"Debit"</th><th scope="col" class="num">"Credit"</th></tr></thead>
                                <tbody>
                                    {t.rows.iter().map(|r| {
                                        let net = r.debit_minor - r.credit_minor;
                                        view! {
                                            <tr>
                                                <td>{r.account_code.clone()}" "{r.account_name.clone()}</td><td>{r.currency.clone()}</td>
                                                <td class="num">{(net > 0).then(|| amount(net, &r.currency))}</td>
                                                <td class="num">{(net < 0).then(|| amount(-net, &r.currency))}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    {totals.into_iter().map(|(currency, debit, credit)| view! {
                                        <tr class="strong" data-testid="trial-balance-total">
                                            <th scope="row">"Total"</th><td>{currency.clone()}</td>
                                            <td class="num">{amount(debit, &currency)}</td><td class="num">{amount(credit, &currency)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tfoot>
                            </table>
                            </div>
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// `/admin/ledger-health`: re-derives every balance and lists any broken invariant.
#[component]
pub fn LedgerHealthPage() -> impl IntoView {
    let as_of = param("as_of");
    let report = Resource::new(as_of, ledger_health);
    view! {
        <Title text="Ledger health"/>
        <h1>"Ledger health"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/ledger-health">
            <label>"Subledgers as of "<input type="date" name="as_of" value=as_of/></label>
            <button class="button secondary" type="submit">"Check"</button>
        </form>
        <Loaded data=report let:h>
            {view! {
                        <p data-testid="health-counts">"Checked " {h.entries} " entries, " {h.lines} " lines and " {h.invoices} " invoices."</p>
                        {control_table(&h.controls, h.as_of)}
                        {if h.violations.is_empty() {
                            view! { <p class="notice" data-testid="health-ok">"No violations: every entry balances, every invoice matches its ledger lines, every hold matches its disputes."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="error" data-testid="health-violations">
                                    {h.violations.into_iter().map(|v| view! { <li>{v}</li> }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    }.into_any()}
        </Loaded>
    }
}

/// `/admin/audit`: who did what and when, newest first (managers).
#[component]
pub fn AuditPage() -> impl IntoView {
    let (actor, action, from, to, page) = (
        param("actor"),
        param("action"),
        param("from"),
        param("to"),
        page_param(),
    );
    let rows = Resource::new(
        move || (actor(), action(), from(), to(), page()),
        |(actor, action, from, to, page)| audit_log(actor, action, from, to, page),
    );
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/audit">
            <label>"Who "<input name="actor" value=actor placeholder="email or name"/></label>
            <label>"Action "<input name="action" value=action placeholder="e.g. dispute."/></label>
            <label>"From "<input type="date" name="from" value=from/></label>
            <label>"To "<input type="date" name="to" value=to/></label>
            <button class="button secondary" type="submit">"Filter"</button>
        </form>
        <Loaded data=rows let:rows>
            {{
                        let next = (rows.len() as u32 == ledgerport::journal::AUDIT_PER_PAGE).then(|| format!(
                            "/admin/audit?actor={}&action={}&from={}&to={}&page={}", actor(), action(), from(), to(), page() + 1));
                        view! {
                            <div class="table-wrap">
                            <table class="table compact" data-testid="audit">
                                <caption class="visually-hidden">"Audit records"</caption>
                                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th>
                                    <th scope="col">"Subject"</th><th scope="col">"Detail"</th><th scope="col">"From"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr><td>{timestamp(&r.at)}</td><td>{r.actor}</td><td>{r.action}</td>
                                            <td>{r.subject}</td><td>{r.detail}</td><td>{r.ip}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            {next.map(|href| view! { <nav class="pager"><a href=href rel="next">"Older →"</a></nav> })}
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// Each subledger against its control account, per currency.
fn control_table(
    controls: &[ledgerport::reports::ControlCheck],
    as_of: Option<chrono::NaiveDate>,
) -> AnyView {
    let caption = match as_of {
        Some(day) => format!(
            "Subledgers against their control accounts as of {}",
            date(day)
        ),
        None => "Subledgers against their control accounts, as the books stand".to_string(),
    };
    view! {
        <div class="table-wrap">
        <table class="table" data-testid="control-checks">
            <caption>{caption}</caption>
            <thead><tr><th scope="col">"Control account"</th><th scope="col">"Currency"</th>
                <th scope="col" class="num">"Subledger"</th><th scope="col" class="num">"Control account"</th>
                <th scope="col" class="num">"Difference"</th><th scope="col">"Why"</th></tr></thead>
            <tbody>
                {controls.iter().map(|c| view! {
                    <tr>
                        <td>{match c.account_code.as_str() {
                            "1100" => "1100 Accounts receivable (open invoices)",
                            _ => "2200 Unapplied credit (customers' credit)",
                        }}</td>
                        <td>{c.currency.code()}</td>
                        <td class="num">{money(c.subledger_minor, c.currency)}</td>
                        <td class="num">{money(c.control_minor, c.currency)}</td>
                        <td class="num">{money(c.difference_minor(), c.currency)}</td>
                        <td>{c.causes.join("; ")}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// `/admin/periods`: through which day the books are closed, how they got there, and (for
/// managers) closing a month or reopening one with a reason.
#[component]
pub fn PeriodsPage() -> impl IntoView {
    // Each change redirects here with its own query, which reads the page again.
    let query = use_query_map();
    let view_data = Resource::new(
        move || query.with(|q| (q.get("closed"), q.get("reopened"), q.get("exported"))),
        |_| periods_view(),
    );
    view! {
        <Title text="Closing the books"/>
        <h1>"Closing the books"</h1>
        <BooksNav/>
        <Loaded data=view_data let:v>
            {periods_body(v)}
        </Loaded>
    }
}

fn periods_body(v: PeriodsPageData) -> AnyView {
    let close = ServerAction::<ClosePeriod>::new();
    let close_error = form_error(close);
    let reopen = ServerAction::<ReopenPeriod>::new();
    let reopen_error = form_error(reopen);
    let state = match v.periods.closed_through {
        Some(through) => format!(
            "The books are closed through {}: nothing can be dated on or before it. Late bank and provider events post on {}.",
            date(through),
            v.periods.first_open_day().map(date).unwrap_or_default()
        ),
        None => "No period is closed: entries may carry any date.".to_string(),
    };
    view! {
        <section class="card" aria-labelledby="periods-heading">
            <h2 id="periods-heading">"Where the books stand"</h2>
            <p data-testid="closed-through">{state}</p>
            <p class="hint">"Before closing a month, review the "<a href="/admin/trial-balance">"trial balance"</a>", the "
                <a href="/admin/ledger-health">"subledgers against their control accounts"</a>" and each "
                <a href="/admin/bank">"bank statement's reconciliation"</a>". Closing a month closes every month before it."</p>
            {v.may_change.then(|| view! {
                <ActionForm action=close attr:class="form inline">
                    <label for="close-month">"Close "</label>
                    <select id="close-month" name="month">
                        {v.closable.iter().map(|(key, label)| view! { <option value=key.clone()>{label.clone()}</option> }).collect_view()}
                    </select>
                    <button class="button" type="submit" disabled=v.closable.is_empty()>"Close the month"</button>
                </ActionForm>
                <FormError message=Signal::derive(close_error)/>
                {(!v.reopenable.is_empty()).then(|| view! {
                    <ActionForm action=reopen attr:class="form">
                        <label for="reopen-month">"Reopen (with every month after it)"</label>
                        <select id="reopen-month" name="month">
                            {v.reopenable.iter().map(|(key, label)| view! { <option value=key.clone()>{label.clone()}</option> }).collect_view()}
                        </select>
                        <label for="reopen-reason">"Why"</label>
                        <input id="reopen-reason" name="reason" required maxlength="500"/>
                        <button class="button secondary" type="submit">"Reopen"</button>
                    </ActionForm>
                    <FormError message=Signal::derive(reopen_error)/>
                })}
            })}
        </section>
        {exports_section(&v.exports)}
        <section class="card" aria-labelledby="period-history-heading">
            <h2 id="period-history-heading">"Closes and reopenings"</h2>
            <div class="table-wrap">
            <table class="table" data-testid="period-history">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                    <th scope="col">"Closed through after it"</th><th scope="col">"Why"</th></tr></thead>
                <tbody>
                    {v.periods.history.iter().map(|c| view! {
                        <tr>
                            <td>{timestamp(&c.changed_at)}</td>
                            <td>{c.changed_by.clone()}</td>
                            <td>{format!("{} {}", match c.action {
                                ledgerport::periods::PeriodAction::Close => "Closed",
                                ledgerport::periods::PeriodAction::Reopen => "Reopened",
                            }, c.month)}</td>
                            <td>{c.closed_through.map(date).unwrap_or_default()}</td>
                            <td>{c.reason.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
    .into_any()
}

/// The journal export for the general ledger: take a new batch, download any batch again.
fn exports_section(batches: &[ledgerport::exports::ExportBatch]) -> AnyView {
    use ledgerport::exports::ExportFormat;
    let export = ServerAction::<ExportJournal>::new();
    let export_error = form_error(export);
    let query = use_query_map();
    let nothing_new = move || query.with(|q| q.get("exported").as_deref() == Some("none"));
    view! {
        <section class="card" aria-labelledby="exports-heading">
            <h2 id="exports-heading">"Journal export for the general ledger"</h2>
            <p class="hint">"Each export takes every journal entry not exported before, so the general ledger gets each entry once. "
                "Any batch downloads again: every entry with its lines, an hledger journal, or a daily summary per account for QuickBooks Online or Xero."</p>
            <ActionForm action=export attr:class="form inline">
                <button class="button" type="submit">"Export what is new"</button>
            </ActionForm>
            <FormError message=Signal::derive(export_error)/>
            <Show when=nothing_new>
                <p class="notice" data-testid="nothing-to-export">"Nothing new to export: every entry is in a batch already."</p>
            </Show>
            {(!batches.is_empty()).then(|| view! {
                <div class="table-wrap">
                <table class="table" data-testid="export-batches">
                    <thead><tr><th scope="col">"Batch"</th><th scope="col">"Taken"</th><th scope="col" class="num">"Entries"</th>
                        <th scope="col">"Dated"</th><th scope="col">"Download"</th></tr></thead>
                    <tbody>
                        {batches.iter().map(|b| view! {
                            <tr data-batch=b.id>
                                <td>{b.id}</td>
                                <td>{timestamp(&b.created_at)} " by " {b.created_by.clone()}</td>
                                <td class="num">{b.entries}</td>
                                <td>{match (b.first_date, b.last_date) {
                                    (Some(first), Some(last)) => format!("{} – {}", date(first), date(last)),
                                    _ => String::new(),
                                }}</td>
                                <td>{ExportFormat::ALL.map(|f| view! {
                                    <a href=format!("/documents/journal-exports/{}/{}", b.id, f.as_str()) download=f.file_name(b.id) rel="external">{f.label()}</a>" "
                                }).collect_view()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            })}
        </section>
    }
    .into_any()
}
