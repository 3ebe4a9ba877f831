//! The customer's pages: account summary, invoices, one invoice, statements, payments.
//! Lists take their filters from the URL (plain GET forms), so they work without JavaScript
//! and every view can be bookmarked.

use chrono::{Datelike, NaiveDate};
use ledgerport::checkout::CheckoutStatus;
use ledgerport::invoices::views::{
    InvoiceDetail, InvoiceFilter, InvoicePage, InvoiceSort, InvoiceStatus, activity_label,
};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use ledgerport::reports::Aging;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::Loaded;
use crate::format::{date, method_label, money};
use crate::portal::{AccountOverview, account_statement, invoice, invoices, payment, payments};

pub(crate) fn status_badge(status: InvoiceStatus) -> impl IntoView {
    let class = match status {
        InvoiceStatus::Open => "badge open",
        InvoiceStatus::Overdue => "badge overdue",
        InvoiceStatus::Paid => "badge paid",
        InvoiceStatus::Void => "badge void",
    };
    view! { <span class=class>{status.label()}</span> }
}

/// The customer's aging as horizontal bars, drawn as SVG so it needs no script and scales.
#[component]
fn AgingChart(aging: Aging, currency: Currency) -> impl IntoView {
    // Disputed amounts are open but not due: a column of their own, out of the buckets.
    let mut columns: Vec<(&'static str, i64)> =
        Aging::LABELS.iter().copied().zip(aging.buckets()).collect();
    columns.push(("In dispute", aging.in_dispute));
    let largest = columns.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    view! {
        <figure class="aging" data-testid="aging">
            <figcaption>"Aging of what you owe"</figcaption>
            <table class="table compact">
                <thead><tr>{columns.iter().map(|(l, _)| view! { <th scope="col">{*l}</th> }).collect_view()}</tr></thead>
                <tbody><tr>{columns.iter().map(|(l, b)| view! {
                    <td class="num" data-testid=(*l == "In dispute").then_some("aging-in-dispute")>{money(*b, currency)}</td>
                }).collect_view()}</tr></tbody>
            </table>
            <svg viewBox="0 0 300 134" role="img" aria-label="Aging buckets as bars" class="bars">
                {columns.iter().enumerate().map(|(i, (label, amount))| {
                    let width = (*amount as f64 / largest as f64 * 220.0).max(if *amount > 0 { 2.0 } else { 0.0 });
                    let y = i as f64 * 22.0;
                    view! {
                        <text x="0" y=y + 14.0 class="bar-label">{*label}</text>
                        <rect x="60" y=y + 3.0 width=width height="14" class=format!("bar bucket-{i}")/>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}

/// A contact's account summary (the start page for a signed-in contact).
pub fn summary_view(o: AccountOverview) -> impl IntoView {
    let s = o.summary;
    let c = s.currency;
    let next = s
        .next_due
        .map(|(day, amount)| format!("{} on {}", money(amount, c), date(day)));
    view! {
        <Title text="Account summary"/>
        <h1>{o.customer_name}</h1>
        <section class="figures" aria-label="Account figures" data-testid="summary">
            <div class="figure"><span class="label">"Balance due"</span>
                <span class="value" data-testid="balance-due">{money(s.balance_due_minor, c)}</span></div>
            <div class="figure"><span class="label">"Overdue"</span>
                <span class="value warn" data-testid="overdue">{money(s.overdue_minor, c)}</span></div>
            {(s.in_dispute_minor > 0).then(|| view! {
                <div class="figure"><span class="label"><a href="/disputes">"In dispute"</a></span>
                    <span class="value" data-testid="in-dispute">{money(s.in_dispute_minor, c)}</span></div>
            })}
            {(s.in_payment_minor > 0).then(|| view! {
                <div class="figure"><span class="label">"Payment in progress"</span>
                    <span class="value" data-testid="in-payment">{money(s.in_payment_minor, c)}</span></div>
            })}
            <div class="figure"><span class="label">"Unapplied credit"</span>
                <span class="value" data-testid="credit">{money(s.unapplied_credit_minor, c)}</span></div>
            <div class="figure"><span class="label">"Next due"</span>
                <span class="value small">{next.unwrap_or_else(|| "Nothing due".into())}</span></div>
        </section>
        <p class="hint">"Balance as of " {date(s.as_of)} ", over " {s.open_invoices} " open invoices. "
            <a href="/invoices?filter=open">"See open invoices"</a>" · "<a href="/statements">"Statements"</a></p>
        {o.promises.iter().map(|p| view! {
            <p class="notice" data-testid="open-promise">"You promised to pay " {money(p.amount_minor, c)}
                " by " {date(p.pay_by)} " (" {money(p.met_minor, c)} " came in so far). "
                <a href="/promise">"See your promises"</a></p>
        }).collect_view()}
        {plan_notice(&s, o.pending_plan)}
        {(s.due_now_minor > 0).then(|| view! {
            <p><a class="button" href="/pay?all=1">"Pay everything due"</a>" "
                <a class="button secondary" href="/promise">"Promise to pay"</a>" "
                {(s.plan.is_none() && o.pending_plan.is_none()).then(|| view! {
                    <a class="button secondary" href="/plan">"Ask for a payment plan"</a>
                })}
                {(s.in_dispute_minor > 0).then(|| view! {
                    <span class="hint">" Disputed amounts are left out until the disputes are resolved."</span>
                })}
                {(s.in_payment_minor > 0).then(|| view! {
                    <span class="hint">" Payments in progress are left out."</span>
                })}</p>
        })}
        <div class="columns">
            <section class="card"><AgingChart aging=s.aging currency=c/></section>
            <section class="card" aria-labelledby="recent-heading">
                <h2 id="recent-heading">"Recent activity"</h2>
                {if o.recent.is_empty() {
                    view! { <p class="empty">"Nothing in the last 90 days."</p> }.into_any()
                } else {
                    view! {
                        <ul class="activity">
                            {o.recent.into_iter().map(|line| view! {
                                <li>
                                    <span class="muted">{date(line.date)}</span>" "
                                    <span>{activity_label(&line.kind)}</span>" "
                                    <span class="muted">{line.description}</span>
                                    <span class="num">{money(line.amount_minor, c)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

/// The account's payment plan on the summary: the next instalment with a link that pays it, or
/// an offer or a request waiting for an answer.
fn plan_notice(
    s: &ledgerport::reports::AccountSummary,
    pending: Option<ledgerport::plans::PlanStatus>,
) -> AnyView {
    use ledgerport::plans::PlanStatus;
    let c = s.currency;
    if let Some(plan) = &s.plan {
        let pay_link = plan
            .next_items
            .iter()
            .fold("/pay?".to_string(), |link, (id, minor)| {
                let amount = ledgerport::money::Money::from_minor(*minor, c).decimal_text();
                format!("{link}invoice={id}&amount={amount}&")
            });
        return view! {
            <p class="notice" data-testid="plan-next">
                {plan.next.map(|next| view! {
                    "Your payment plan: the next instalment, " {money(next.amount_minor, c)}
                    ", is due on " {date(next.due_date)} ". "
                    <a class="button small" href=pay_link.trim_end_matches('&').to_string()>"Pay the next instalment"</a>" "
                })}
                {(plan.late_minor > 0).then(|| view! {
                    <strong>{money(plan.late_minor, c)} " of it is late. "</strong>
                })}
                <a href="/plan">"See your plan"</a>
            </p>
        }
        .into_any();
    }
    match pending {
        Some(PlanStatus::Offered) => view! {
            <p class="notice" data-testid="plan-offered">"A payment plan is offered to you. "
                <a href="/plan">"See the plan and accept or decline it"</a></p>
        }
        .into_any(),
        Some(PlanStatus::Requested) => view! {
            <p class="notice">"Your request for a payment plan waits for our AR team. "
                <a href="/plan">"See your request"</a></p>
        }
        .into_any(),
        _ => ().into_any(),
    }
}

/// The invoice list's state, read from the URL.
#[derive(Clone, PartialEq)]
struct ListState {
    filter: InvoiceFilter,
    search: String,
    sort: InvoiceSort,
    descending: bool,
    page: u32,
}

impl ListState {
    fn href(&self, change: impl FnOnce(&mut ListState)) -> String {
        let mut next = self.clone();
        change(&mut next);
        format!(
            "/invoices?filter={}&q={}&sort={}&dir={}&page={}",
            next.filter.as_str(),
            encode(&next.search),
            next.sort.as_str(),
            if next.descending { "desc" } else { "asc" },
            next.page
        )
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub fn InvoicesPage() -> impl IntoView {
    let query = use_query_map();
    let state = Memo::new(move |_| {
        query.with(|q| ListState {
            filter: InvoiceFilter::parse(&q.get("filter").unwrap_or_default()),
            search: q.get("q").unwrap_or_default(),
            sort: InvoiceSort::parse(&q.get("sort").unwrap_or_default()),
            descending: q.get("dir").as_deref() != Some("asc"),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        })
    });
    let list = Resource::new(
        move || state.get(),
        |s| {
            invoices(
                s.filter.as_str().to_string(),
                s.search,
                s.sort.as_str().to_string(),
                s.descending,
                s.page,
            )
        },
    );
    view! {
        <Title text="Invoices"/>
        <h1>"Invoices"</h1>
        <nav class="tabs" aria-label="Invoice status">
            {move || {
                let s = state.get();
                InvoiceFilter::ALL.into_iter().map(|f| {
                    let href = s.href(|n| { n.filter = f; n.page = 1; });
                    let current = (f == s.filter).then_some("page");
                    let label = match f {
                        InvoiceFilter::All => "All",
                        InvoiceFilter::Open => "Open",
                        InvoiceFilter::Overdue => "Overdue",
                        InvoiceFilter::Paid => "Paid",
                        InvoiceFilter::Void => "Void",
                        InvoiceFilter::InDispute => "In dispute",
                    };
                    view! { <a href=href aria-current=current>{label}</a> }
                }).collect_view()
            }}
        </nav>
        <form method="get" action="/invoices" class="toolbar" role="search">
            <input type="hidden" name="filter" value=move || state.get().filter.as_str()/>
            <label for="q" class="visually-hidden">"Search invoice or PO number"</label>
            <input id="q" type="search" name="q" placeholder="Invoice or PO number" maxlength="100"
                value=move || state.get().search/>
            <label for="sort">"Sort by"</label>
            <select id="sort" name="sort">
                {move || {
                    let current = state.get().sort;
                    InvoiceSort::ALL.into_iter().map(|s| {
                        let label = match s {
                            InvoiceSort::DueDate => "Due date",
                            InvoiceSort::IssueDate => "Issue date",
                            InvoiceSort::Number => "Number",
                            InvoiceSort::Total => "Total",
                            InvoiceSort::Open => "Open amount",
                        };
                        view! { <option value=s.as_str() selected=s == current>{label}</option> }
                    }).collect_view()
                }}
            </select>
            <select name="dir" aria-label="Order">
                <option value="desc" selected=move || state.get().descending>"Newest / largest first"</option>
                <option value="asc" selected=move || !state.get().descending>"Oldest / smallest first"</option>
            </select>
            <button class="button secondary" type="submit">"Apply"</button>
            <a class="button link" href="/documents/invoices.csv" download>"Download CSV"</a>
        </form>
        <Loaded data=list loading="Loading invoices…" let:page>
            {invoice_table(page, state.get_untracked()).into_any()}
        </Loaded>
    }
}

fn invoice_table(page: InvoicePage, state: ListState) -> impl IntoView {
    let c = page.currency;
    let pages = page.pages();
    if page.rows.is_empty() {
        return view! { <p class="empty" data-testid="no-invoices">"No invoices match."</p> }
            .into_any();
    }
    let prev = (page.page > 1).then(|| state.href(|n| n.page = page.page - 1));
    let next = (page.page < pages).then(|| state.href(|n| n.page = page.page + 1));
    view! {
        <form method="get" action="/pay">
        <div class="table-wrap">
        <table class="table" data-testid="invoices">
            <caption class="visually-hidden">"Your invoices"</caption>
            <thead><tr>
                <th scope="col"><span class="visually-hidden">"Select"</span></th>
                <th scope="col">"Invoice"</th><th scope="col">"PO"</th><th scope="col">"Issued"</th>
                <th scope="col">"Due"</th><th scope="col" class="num">"Total"</th>
                <th scope="col" class="num">"Open"</th><th scope="col">"Status"</th>
            </tr></thead>
            <tbody>
                {page.rows.into_iter().map(|row| view! {
                    <tr>
                        <td>{(row.open_minor > 0 && row.status != InvoiceStatus::Void).then(|| view! {
                            <input type="checkbox" name="invoice" value=row.id
                                aria-label=format!("Select {} to pay", row.number)/>
                        })}</td>
                        <td><a href=format!("/invoices/{}", row.id)>{row.number}</a></td>
                        <td>{row.po_number.unwrap_or_default()}</td>
                        <td>{date(row.issue_date)}</td>
                        <td>{date(row.due_date)}</td>
                        <td class="num">{money(row.total_minor, c)}</td>
                        <td class="num">{money(row.open_minor, c)}</td>
                        <td>{status_badge(row.status)}
                            {(row.held_minor > 0).then(|| view! {
                                " "<span class="badge overdue" title=format!("{} in dispute", money(row.held_minor, c))>"In dispute"</span>
                            })}
                            {(row.announced_minor > 0).then(|| view! {
                                " "<span class="badge" data-testid="transfer-badge" title="A bank transfer you announced">
                                    {format!("Transfer announced: {}", money(row.announced_minor, c))}</span>
                            })}
                            {(row.pending_minor > row.announced_minor).then(|| view! {
                                " "<span class="badge" data-testid="in-payment-badge" title=format!("{} on its way", money(row.pending_minor - row.announced_minor, c))>
                                    {format!("Payment in progress: {}", money(row.pending_minor - row.announced_minor, c))}</span>
                            })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <button class="button" type="submit">"Pay selected"</button>
        </form>
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <a href=href rel="prev">"← Previous"</a> })}
            <span data-testid="page-of">"Page " {page.page} " of " {pages} " · " {page.matching} " invoices"</span>
            {next.map(|href| view! { <a href=href rel="next">"Next →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
pub fn InvoiceDetailPage() -> impl IntoView {
    let id = crate::components::id_param();
    let detail = Resource::new(id, invoice);
    view! {
        <Loaded data=detail loading="Loading invoice…" let:d>
            {{
                        let c = d.currency;
                        let terms = if d.discount_bp > 0 {
                            format!("{}% {} days, net {}", d.discount_bp as f64 / 100.0,
                                d.discount_until.map(|u| (u - d.issue_date).num_days()).unwrap_or(0), d.net_days)
                        } else {
                            format!("Net {}", d.net_days)
                        };
                        let paid_in_full = d.open_minor == 0 && d.status == InvoiceStatus::Paid;
                        let due = ledgerport::receivables::due_now(d.open_minor, d.held_minor, d.pending_minor);
                        let number = d.number.clone();
                        view! {
                            <Title text=format!("Invoice {}", d.number)/>
                            <div class="heading-row">
                                <h1>"Invoice " <span data-testid="invoice-number">{d.number.clone()}</span></h1>
                                {status_badge(d.status)}
                                <a class="button secondary" href=format!("/documents/invoices/{}.pdf", d.id)
                                    download=format!("{number}.pdf")>"Download PDF"</a>
                                {(due > 0 && d.status != InvoiceStatus::Void).then(|| view! {
                                    <a class="button" href=format!("/pay?invoice={}", d.id)>
                                        {if d.held_minor > 0 { "Pay the undisputed part" } else if d.pending_minor > 0 { "Pay the rest" } else { "Pay this invoice" }}</a>
                                    <a class="button secondary" href=format!("/invoices/{}/dispute", d.id)>"Dispute lines"</a>
                                })}
                            </div>
                            <dl class="facts inline">
                                <dt>"Issued"</dt><dd>{date(d.issue_date)}</dd>
                                <dt>"Due"</dt><dd>{date(d.due_date)}</dd>
                                <dt>"Terms"</dt><dd>{terms}</dd>
                                <dt>"PO"</dt><dd>{d.po_number.clone().unwrap_or_else(|| "—".into())}</dd>
                                {d.discount_until.filter(|_| !paid_in_full).map(|until| view! {
                                    <dt>"Early-payment discount"</dt><dd>"until " {date(until)}</dd>
                                })}
                            </dl>
                            <div class="table-wrap">
                            <table class="table" data-testid="lines">
                                <caption class="visually-hidden">"Invoice lines"</caption>
                                <thead><tr>
                                    <th scope="col">"#"</th><th scope="col">"Description"</th>
                                    <th scope="col" class="num">"Qty"</th><th scope="col" class="num">"Unit price"</th>
                                    <th scope="col" class="num">"Discount"</th><th scope="col" class="num">"Tax"</th>
                                    <th scope="col" class="num">"Net"</th>
                                </tr></thead>
                                <tbody>
                                    {d.lines.iter().map(|l| view! {
                                        <tr>
                                            <td>{l.line_no}</td>
                                            <td>{l.description.clone()}</td>
                                            <td class="num">{l.quantity_text()}</td>
                                            <td class="num">{money(l.unit_price_minor, c)}</td>
                                            <td class="num">{if l.discount_bp > 0 { format!("{}%", l.discount_bp as f64 / 100.0) } else { "—".into() }}</td>
                                            <td class="num">{money(l.tax_minor, c)}</td>
                                            <td class="num">{money(l.net_minor, c)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    <tr><th scope="row" colspan="6">"Subtotal"</th><td class="num">{money(d.subtotal_minor, c)}</td></tr>
                                    <tr><th scope="row" colspan="6">"Tax"</th><td class="num">{money(d.tax_minor, c)}</td></tr>
                                    <tr><th scope="row" colspan="6">"Total"</th><td class="num" data-testid="total">{money(d.total_minor, c)}</td></tr>
                                    <tr><th scope="row" colspan="6">"Open"</th><td class="num strong" data-testid="open">{money(d.open_minor, c)}</td></tr>
                                    {(d.held_minor > 0).then(|| view! {
                                        <tr><th scope="row" colspan="6">"In dispute (not due)"</th><td class="num" data-testid="held">{money(d.held_minor, c)}</td></tr>
                                    })}
                                    {d.in_progress.iter().map(|p| {
                                        let what = match (p.status, p.method) {
                                            (CheckoutStatus::Processing, Some(PaymentMethod::Wire)) => format!(
                                                "Bank transfer announced{}",
                                                p.expected_on.map(|on| format!(", awaited until {}", date(on))).unwrap_or_default()
                                            ),
                                            (CheckoutStatus::Processing, Some(method)) => format!(
                                                "{} payment processing{}",
                                                method.label(),
                                                p.expected_on.map(|on| format!(", expected {}", date(on))).unwrap_or_default()
                                            ),
                                            _ => "Payment in progress on the payment page".to_string(),
                                        };
                                        view! {
                                            <tr data-testid="in-progress"><th scope="row" colspan="6">
                                                <a href=format!("/payments/checkout/{}", p.checkout_id)>{what}</a></th>
                                                <td class="num">{money(p.amount_minor, c)}</td></tr>
                                        }
                                    }).collect_view()}
                                    {(d.held_minor > 0 || d.pending_minor > 0).then(|| view! {
                                        <tr><th scope="row" colspan="6">"Due now"</th><td class="num strong" data-testid="due-now">{money(due, c)}</td></tr>
                                    })}
                                </tfoot>
                            </table>
                            </div>
                            {(!d.disputes.is_empty()).then(|| view! {
                                <section class="card" aria-labelledby="disputes-heading">
                                    <h2 id="disputes-heading">"Disputes"</h2>
                                    <ul class="activity" data-testid="invoice-disputes">
                                        {d.disputes.iter().map(|x| view! {
                                            <li><a href=format!("/disputes/{}", x.id)>"Dispute #"{x.id}</a>" "
                                                {crate::disputes::pages::status_badge(x.status)}" "
                                                <span class="num">{money(x.disputed_minor, c)}</span>
                                                {(x.credited_minor > 0).then(|| view! { <span class="muted">" credited "{money(x.credited_minor, c)}</span> })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </section>
                            })}
                            {invoice_timeline(&d)}
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// What happened to an invoice since it was issued, oldest first.
pub(crate) fn invoice_timeline(d: &InvoiceDetail) -> impl IntoView + use<> {
    let c = d.currency;
    let paid_in_full = d.open_minor == 0 && d.status == InvoiceStatus::Paid;
    view! {
        <section class="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                <li><span class="muted">{date(d.issue_date)}</span>" Issued for "{money(d.total_minor, c)}</li>
                {d.activity.iter().map(|a| view! {
                    <li>
                        <span class="muted">{date(a.date)}</span>" "
                        {activity_label(&a.kind)}" "
                        <span class="num">{money(-a.amount_minor, c)}</span>
                        " "<span class="muted">{a.description.clone()}</span>
                    </li>
                }).collect_view()}
                {(d.status == InvoiceStatus::Overdue).then(|| view! {
                    <li class="warn">{date(d.due_date)}" Due date passed with "{money(d.open_minor, c)}" open"</li>
                })}
                {paid_in_full.then(|| view! { <li class="ok">"Paid in full"</li> })}
            </ol>
        </section>
    }
}

/// Preset statement periods, relative to today.
fn presets(today: NaiveDate) -> Vec<(&'static str, NaiveDate, NaiveDate)> {
    let first_of_month = today.with_day(1).unwrap_or(today);
    let last_month_end = first_of_month.pred_opt().unwrap_or(first_of_month);
    let last_month_start = last_month_end.with_day(1).unwrap_or(last_month_end);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    vec![
        ("This month", first_of_month, today),
        ("Last month", last_month_start, last_month_end),
        ("Year to date", year_start, today),
    ]
}

#[component]
pub fn StatementsPage() -> impl IntoView {
    let query = use_query_map();
    let today = chrono::Utc::now().date_naive();
    let period = Memo::new(move |_| {
        query.with(|q| {
            let (default_from, default_to) = (presets(today)[1].1, presets(today)[1].2);
            (
                q.get("from").unwrap_or_else(|| default_from.to_string()),
                q.get("to").unwrap_or_else(|| default_to.to_string()),
            )
        })
    });
    let statement = Resource::new(
        move || period.get(),
        |(from, to)| account_statement(from, to),
    );
    view! {
        <Title text="Statements"/>
        <h1>"Statements"</h1>
        <nav class="tabs" aria-label="Statement period">
            {presets(today).into_iter().map(|(label, from, to)| {
                let current = move || (period.get() == (from.to_string(), to.to_string())).then_some("page");
                view! { <a href=format!("/statements?from={from}&to={to}") aria-current=current>{label}</a> }
            }).collect_view()}
        </nav>
        <form method="get" action="/statements" class="toolbar">
            <label for="from">"From"</label>
            <input id="from" type="date" name="from" required value=move || period.get().0/>
            <label for="to">"To"</label>
            <input id="to" type="date" name="to" required value=move || period.get().1/>
            <button class="button secondary" type="submit">"Show"</button>
            <a class="button link" href=move || { let (f, t) = period.get(); format!("/documents/statement.pdf?from={f}&to={t}") } download>"PDF"</a>
            <a class="button link" href=move || { let (f, t) = period.get(); format!("/documents/statement.csv?from={f}&to={t}") } download>"CSV"</a>
        </form>
        <Loaded data=statement loading="Loading statement…" let:s>
            {{
                        let c = s.currency;
                        view! {
                            <section class="card" aria-labelledby="statement-heading" data-testid="statement">
                                <h2 id="statement-heading">{date(s.from)} " – " {date(s.to)}</h2>
                                <div class="table-wrap">
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">"Date"</th><th scope="col">"Activity"</th>
                                        <th scope="col">"Reference"</th><th scope="col" class="num">"Amount"</th>
                                        <th scope="col" class="num">"Balance"</th>
                                    </tr></thead>
                                    <tbody>
                                        <tr class="strong"><td>{date(s.from)}</td><td colspan="3">"Opening balance"</td>
                                            <td class="num" data-testid="opening">{money(s.opening_minor, c)}</td></tr>
                                        {s.lines.iter().map(|l| view! {
                                            <tr>
                                                <td>{date(l.date)}</td>
                                                <td>{activity_label(&l.kind)}</td>
                                                <td>{l.description.clone()}</td>
                                                <td class="num">{money(l.amount_minor, c)}</td>
                                                <td class="num">{money(l.balance_minor, c)}</td>
                                            </tr>
                                        }).collect_view()}
                                        <tr class="strong"><td>{date(s.to)}</td><td colspan="3">"Closing balance"</td>
                                            <td class="num" data-testid="closing">{money(s.closing_minor, c)}</td></tr>
                                    </tbody>
                                </table>
                                </div>
                            </section>
                            <section class="card"><AgingChart aging=s.aging currency=c/></section>
                        }.into_any()
                    }}
        </Loaded>
    }
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| payments());
    view! {
        <Title text="Payments"/>
        <h1>"Payments"</h1>
        <Loaded data=list loading="Loading payments…" let:value>
            {match value {
                    rows if rows.is_empty() => view! { <p class="empty">"No payments yet."</p> }.into_any(),
                    rows => view! {
                        <div class="table-wrap">
                        <table class="table" data-testid="payments">
                            <thead><tr>
                                <th scope="col">"Received"</th><th scope="col">"Method"</th>
                                <th scope="col" class="num">"Amount"</th><th scope="col">"Applied to"</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|p| { let c = p.currency; view! {
                                    <tr>
                                        <td><a href=format!("/payments/{}", p.id)>{date(p.received_date)}</a></td>
                                        <td>{method_label(&p.method)}
                                            {p.returned.map(|why| view! { " "<span class="badge overdue" title=why>"Returned"</span> })}</td>
                                        <td class="num">{money(p.amount_minor, c)}</td>
                                        <td>{p.applied.into_iter().map(|a| a.invoice_number).collect::<Vec<_>>().join(", ")}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }}
        </Loaded>
    }
}

#[component]
pub fn ReceiptPage() -> impl IntoView {
    let id = crate::components::id_param();
    let receipt = Resource::new(id, payment);
    view! {
        <Title text="Payment receipt"/>
        <Loaded data=receipt loading="Loading receipt…" let:p>
            {{ let c = p.currency; view! {
                        <section class="card narrow" data-testid="receipt">
                            <h1>"Payment receipt"</h1>
                            <dl class="facts">
                                <dt>"Received"</dt><dd>{date(p.received_date)}</dd>
                                <dt>"Method"</dt><dd>{method_label(&p.method)}</dd>
                                <dt>"Reference"</dt><dd>{p.reference}</dd>
                                <dt>"Amount"</dt><dd>{money(p.amount_minor, c)}</dd>
                            </dl>
                            {p.returned.map(|why| view! {
                                <p class="error" role="alert" data-testid="returned">
                                    {format!("Your bank returned this payment: {why}. The invoices below are open again.")}</p>
                            })}
                            <p><a class="button secondary" href=format!("/documents/payments/{}.pdf", p.id)
                                download>"Download the receipt (PDF)"</a></p>
                            <h2>"Applied to"</h2>
                            <ul>
                                {p.applied.into_iter().map(|a| view! {
                                    <li><a href=format!("/invoices/{}", a.invoice_id)>{a.invoice_number}</a>": "
                                        {money(a.amount_minor, c)}
                                        {(a.discount_minor > 0).then(|| format!(" (+ {} discount)", money(a.discount_minor, c)))}
                                    </li>
                                }).collect_view()}
                                {(p.unapplied_minor > 0).then(|| view! {
                                    <li>"Credit on your account: " {money(p.unapplied_minor, c)}</li>
                                })}
                            </ul>
                        </section>
                    }.into_any() }}
        </Loaded>
    }
}
